// Internal: what ForkingTCPServer's main side and its workers share: the
// messages between them, errors made cloneable, and loading the handler class.

import type { RequestHandlerClass } from "../../handlers/base_request_handler.ts";
import type { ServerStats } from "../base_server.ts";
import type { StreamServerOptions } from "../stream_server.ts";
import type { TCPBoundAddress } from "../tcp_server.ts";

/** The stream server options a worker's server takes: only cloneable values. */
export type CloneableServerOptions = Omit<
  StreamServerOptions<TCPBoundAddress>,
  "signal" | "onListen"
>;

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
  requestQueueSize: number;
  noDelay: boolean;
  keepAlive: boolean;
  /** maxConnections, blockOnClose, drainTimeout, the PROXY protocol settings … */
  serverOptions: CloneableServerOptions;
  /** ForkingTCPServerOptions.workerData, cloned. */
  workerData: unknown;
}

/** Main thread to worker. */
export type ToWorker =
  | { type: "start"; settings: WorkerSettings }
  /** Stop accepting, drain (as `serverClose()` does), then answer `closed`. */
  | { type: "stop" };

/** Worker to main thread. */
export type FromWorker =
  | { type: "listening" }
  /** Counters, pushed when they changed (checked every STATS_PUSH_INTERVAL_MS). */
  | { type: "stats"; stats: ServerStats }
  /** An error the worker's server reported: goes to the main side's handleError(). */
  | { type: "error"; error: ClonedError; clientAddress: Deno.Addr | null }
  /** A handler called `server.shutdown()`: the whole pool shuts down. */
  | { type: "shutdown" }
  /** Uncaught error or rejection, failed import or bind, Deno.exit(), self.close(). */
  | { type: "crash"; error: ClonedError }
  /** Drained after `stop`; the final counters. */
  | { type: "closed"; stats: ServerStats };

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

/** `Error: message` for an error, its text otherwise. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Imports the handler module and returns the named class: the same check in
 * the main thread (first, so a mistake surfaces from `serveForever()`) and in
 * each worker.
 *
 * @throws {TypeError} The export is missing or not a class.
 */
export async function loadHandlerClass(
  module: string,
  exportName: string,
): Promise<RequestHandlerClass<Deno.Conn, Deno.Addr>> {
  const namespace: Record<string, unknown> = await import(module);
  const Handler = namespace[exportName];
  if (typeof Handler !== "function") {
    const exports = Object.keys(namespace).join(", ") || "none";
    throw new TypeError(
      `Cannot load handler: ${module} has no class exported as "${exportName}" (its exports: ${exports})`,
    );
  }
  return Handler as RequestHandlerClass<Deno.Conn, Deno.Addr>;
}

/**
 * Throws where SO_REUSEPORT does not spread connections over listeners.
 * Deno sets `reusePort` on Linux only and silently ignores it elsewhere, so
 * the workers' binds would fail or one listener would get every connection.
 *
 * @throws {Deno.errors.NotSupported} Not Linux.
 */
export function assertReusePortBalancing(os: string): void {
  if (os !== "linux") {
    throw new Deno.errors.NotSupported(
      `Cannot use ForkingTCPServer on ${os}: it needs SO_REUSEPORT load balancing, which Deno offers on Linux only (use ThreadingTCPServer)`,
    );
  }
}

/**
 * Throws unless Deno may read `url` when it is a local file: a Worker's
 * module and a dynamically imported handler module both need `--allow-read`,
 * and without it the failure would come later, from inside a worker.
 *
 * @throws {Deno.errors.NotCapable} Read access is not granted.
 */
export function assertReadable(url: URL, what: string): void {
  if (url.protocol !== "file:") return;
  const path = decodeURIComponent(url.pathname);
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Cannot start ForkingTCPServer: loading ${what} ${path} in each worker needs read access (run with --allow-read)`,
    );
  }
}
