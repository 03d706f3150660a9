/**
 * Typed I/O errors. Both subclass `Deno.errors.TimedOut`, so code that already
 * checks for Deno's timeout error keeps working.
 *
 * @module
 */

/**
 * A read waited longer than the handler's `timeout` for bytes that did not
 * come. The connection stays usable: bytes that arrive later are not lost.
 *
 * @example
 * ```ts
 * import { ReadTimeoutError } from "@socketserver/core";
 * import assert from "node:assert/strict";
 *
 * const error = new ReadTimeoutError(2);
 * assert.ok(error instanceof Deno.errors.TimedOut);
 * assert.equal(error.message, "Cannot read: no data for 2 s (timeout 2 s)");
 * ```
 */
export class ReadTimeoutError extends Deno.errors.TimedOut {
  /** The timeout that expired, in seconds. */
  readonly timeout: number;

  /**
   * Creates the error for a read that timed out.
   *
   * @param timeout The timeout that expired, in seconds.
   */
  constructor(timeout: number) {
    super(`Cannot read: no data for ${timeout} s (timeout ${timeout} s)`);
    this.name = "ReadTimeoutError";
    this.timeout = timeout;
  }
}

/**
 * A write could not be sent within `writeTimeout` because the peer is not
 * reading: the bytes stay unsent and the connection should be closed.
 *
 * @example
 * ```ts
 * import { WriteTimeoutError } from "@socketserver/core";
 * import assert from "node:assert/strict";
 *
 * const error = new WriteTimeoutError(5, 65536);
 * assert.equal(error.message, "Cannot write: 65536 bytes unsent after 5 s (writeTimeout 5 s)");
 * ```
 */
export class WriteTimeoutError extends Deno.errors.TimedOut {
  /** The timeout that expired, in seconds. */
  readonly timeout: number;
  /** How many bytes were still waiting to be sent. */
  readonly unsent: number;

  /**
   * Creates the error for a send that timed out.
   *
   * @param timeout The timeout that expired, in seconds.
   * @param unsent How many bytes were still waiting to be sent.
   */
  constructor(timeout: number, unsent: number) {
    super(`Cannot write: ${unsent} bytes unsent after ${timeout} s (writeTimeout ${timeout} s)`);
    this.name = "WriteTimeoutError";
    this.timeout = timeout;
    this.unsent = unsent;
  }
}
