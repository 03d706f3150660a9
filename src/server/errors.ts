/**
 * The errors the servers report through `handleError()`.
 *
 * @module
 */

import { formatAddress } from "./format_address.ts";

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
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new DatagramTooLongError(8192);
 * assert(error instanceof RangeError);
 * assertEquals(
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

/**
 * A client's TLS handshake failed (a plain-TCP client, a bad or refused
 * client hello, a client that rejected the certificate) or did not finish
 * within the server's `handshakeTimeout`. `TLSServer` hands it to
 * `handleError()` and closes the connection before any handler runs; the
 * server keeps serving. `cause` holds Deno's error (`Deno.errors.InvalidData`,
 * `Deno.errors.UnexpectedEof`, `Deno.errors.TimedOut` for the timeout, ...).
 *
 * Servers facing the internet see many of these (scanners, plain-HTTP
 * probes): a `handleError` override can keep them out of the log.
 *
 * @example Tell a handshake failure from a handler error
 * ```ts
 * import { TLSHandshakeError } from "@socketserver/core";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const cause = new Deno.errors.InvalidData("received corrupt message of type InvalidContentType");
 * const error = new TLSHandshakeError({ transport: "tcp", hostname: "127.0.0.1", port: 40000 }, cause);
 * assert(error instanceof TLSHandshakeError);
 * assertEquals(error.cause, cause);
 * assertEquals(
 *   error.message,
 *   "Cannot complete TLS handshake with 127.0.0.1:40000: received corrupt message of type InvalidContentType",
 * );
 * ```
 */
export class TLSHandshakeError extends Error {
  /** The client whose handshake failed. */
  readonly clientAddress: Deno.Addr;

  /**
   * Creates the error for one client's failed handshake.
   *
   * @param clientAddress The client.
   * @param cause What the handshake threw (its message ends this one).
   */
  constructor(clientAddress: Deno.Addr, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Cannot complete TLS handshake with ${formatAddress(clientAddress)}: ${reason}`, {
      cause,
    });
    this.name = "TLSHandshakeError";
    this.clientAddress = clientAddress;
  }
}
