/**
 * The error a {@linkcode ForkingTCPServer} reports when one of its workers
 * ends unexpectedly.
 *
 * @module
 */

import { describeError } from "../_error_report.ts";

/**
 * A ForkingTCPServer worker ended without being asked to: an uncaught error
 * or promise rejection in it, its handler module failing to import, its
 * listener failing to bind, or `Deno.exit()` / `self.close()` called in it.
 * The server reports it through `handleError(error, null, null)` and
 * starts a replacement after `restartDelay` seconds. The connections that
 * worker was serving are closed; the others are not affected.
 *
 * @example Tell a crashed worker from a handler's error
 * ```ts
 * import { WorkerCrashError } from "@socketserver/core/forking";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new WorkerCrashError(1, 0.2, new Error("boom"));
 * assert(error instanceof WorkerCrashError);
 * assertEquals(error.workerId, 1);
 * assertEquals(error.restartDelay, 0.2);
 * assertEquals(error.message, "Worker 1 crashed, restarting it in 0.2 s: Error: boom");
 * ```
 */
export class WorkerCrashError extends Error {
  /** The worker's slot, 0 to `workers - 1`; its replacement keeps it. */
  readonly workerId: number;
  /**
   * Seconds until the replacement starts (doubling while the slot keeps
   * crashing), or `null` when the server is shutting down and none will.
   */
  readonly restartDelay: number | null;

  /**
   * Describes the crash.
   *
   * @param workerId The worker's slot.
   * @param restartDelay Seconds until the replacement starts, or `null`.
   * @param cause What ended the worker; also the error's `cause`.
   */
  constructor(workerId: number, restartDelay: number | null, cause: unknown) {
    const restart = restartDelay === null ? "" : `, restarting it in ${restartDelay} s`;
    super(`Worker ${workerId} crashed${restart}: ${describeError(cause)}`, { cause });
    this.name = "WorkerCrashError";
    this.workerId = workerId;
    this.restartDelay = restartDelay;
  }
}
