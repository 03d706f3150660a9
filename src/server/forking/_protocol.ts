// Internal: the messages between ForkingTCPServer's main thread and its
// workers, and errors made cloneable for them.

import type { ServerStats } from "../base_server.ts";
import type { WorkerServerSettings } from "./_worker_server.ts";

/** What a worker needs to serve: sent with the `start` message. */
export interface WorkerSettings {
  /** The worker's slot, 0 to workers - 1; a replacement keeps it. */
  workerId: number;
  hostname: string;
  port: number;
  /** The handler module's absolute URL. */
  module: string;
  /** The handler class's export name in that module. */
  exportName: string;
  /** The main server's settings in force, which the worker's server takes as options. */
  server: WorkerServerSettings;
  /** ForkingTCPServerOptions.workerData, cloned. */
  workerData: unknown;
}

/** Main thread to worker. */
export type ToWorker =
  | { type: "start"; settings: WorkerSettings }
  /** Stop accepting, drain (as `serverClose()` does), then answer `closed`. */
  | { type: "stop" };

/** A worker's counters; its errors reach the main thread one by one instead. */
export type WorkerStats = Pick<ServerStats, "requests" | "active">;

/** Worker to main thread. */
export type FromWorker =
  | { type: "listening" }
  /** Counters, pushed when they changed (checked every STATS_PUSH_INTERVAL_MS). */
  | { type: "stats"; stats: WorkerStats }
  /** An error the worker's server reported: goes to the main side's handleError(). */
  | { type: "error"; error: ClonedError; clientAddress: Deno.Addr | null }
  /** A handler called `server.shutdown()`: the whole pool shuts down. */
  | { type: "shutdown" }
  /** Uncaught error or rejection, failed import or bind, Deno.exit(), self.close(). */
  | { type: "crash"; error: ClonedError }
  /** Drained after `stop`; the final counters. */
  | { type: "closed"; stats: WorkerStats };

/**
 * How often a worker compares its counters with the last ones it posted.
 * A timer, not a message per request: the counters cost nothing on the hot path.
 */
export const STATS_PUSH_INTERVAL_MS = 50;

/** An error as plain data: `postMessage` keeps neither subclasses nor Deno's error classes. */
export interface ClonedError {
  name: string;
  message: string;
  stack?: string;
}

/** Makes `error` cloneable, keeping its class name, message and stack. */
export function cloneError(error: unknown): ClonedError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: "Error", message: String(error) };
}

/**
 * Rebuilds an error: a `Deno.errors` class or a built-in one (`TypeError` …)
 * by its name, so `isPeerGone()` and `instanceof` work on the main side;
 * another class becomes an `Error` with the original name.
 */
export function reviveError(cloned: ClonedError): Error {
  const denoClass = (Deno.errors as Record<string, unknown>)[cloned.name];
  const builtIn = (globalThis as Record<string, unknown>)[cloned.name];
  // AggregateError takes its errors first: it becomes a plain Error with that name.
  const ErrorClass = [denoClass, builtIn].find((candidate) =>
    typeof candidate === "function" && candidate !== AggregateError &&
    (candidate === Error || candidate.prototype instanceof Error)
  ) as ErrorConstructor | undefined;
  let error: Error;
  try {
    error = new (ErrorClass ?? Error)(cloned.message);
    if (error.name !== cloned.name) error.name = cloned.name;
  } catch {
    // A class whose name cannot be set (DOMException): a plain Error says the same.
    error = new Error(cloned.message);
    error.name = cloned.name;
  }
  if (cloned.stack !== undefined) error.stack = cloned.stack;
  return error;
}
