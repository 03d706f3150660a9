/**
 * The error a TLS server reports when a client's handshake fails or stalls.
 *
 * @module
 */

import { formatAddress } from "./format_address.ts";

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
 * import assert from "node:assert/strict";
 *
 * const cause = new Deno.errors.InvalidData("received corrupt message of type InvalidContentType");
 * const error = new TLSHandshakeError({ transport: "tcp", hostname: "127.0.0.1", port: 40000 }, cause);
 * assert.ok(error instanceof TLSHandshakeError);
 * assert.equal(error.cause, cause);
 * assert.equal(
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
