/**
 * The error for a datagram larger than a datagram server's `maxPacketSize`.
 *
 * @module
 */

/**
 * A datagram was larger than the server's `maxPacketSize`. The kernel hands
 * over only as many bytes as the receive buffer holds and drops the rest, so
 * the true size is unknown: the server reads `maxPacketSize + 1` bytes to
 * tell. With `onTooLong: "error"` (the default) the handler is not run and
 * this error goes to `handleError()`; the server keeps serving.
 *
 * @example
 * ```ts
 * import { DatagramTooLongError } from "@socketserver/core";
 * import assert from "node:assert/strict";
 *
 * const error = new DatagramTooLongError(8192);
 * assert.ok(error instanceof RangeError);
 * assert.equal(
 *   error.message,
 *   "Cannot handle datagram: it exceeds maxPacketSize 8192 bytes (the rest was cut off by the kernel)",
 * );
 * ```
 */
export class DatagramTooLongError extends RangeError {
  /** The limit that was exceeded, in bytes. */
  readonly maxPacketSize: number;

  /**
   * Creates the error for a datagram over the limit.
   *
   * @param maxPacketSize The limit that was exceeded, in bytes.
   */
  constructor(maxPacketSize: number) {
    super(
      `Cannot handle datagram: it exceeds maxPacketSize ${maxPacketSize} bytes (the rest was cut off by the kernel)`,
    );
    this.name = "DatagramTooLongError";
    this.maxPacketSize = maxPacketSize;
  }
}
