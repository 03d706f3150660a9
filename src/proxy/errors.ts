/**
 * The error for a PROXY protocol header that does not parse.
 *
 * @module
 */

/**
 * A PROXY protocol header (v1 or v2) that breaks the specification: a bad
 * signature, version, command, family, address, port or TLV, a CRC32C that
 * does not match, a header longer than allowed, or a stream that ended
 * inside the header. The server closes such a connection and reports this
 * error through `handleError()`.
 *
 * @example Tell a bad header from other errors
 * ```ts
 * import { ProxyProtocolError } from "@socketserver/core/proxy";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new ProxyProtocolError("v1 source port 70000 is out of range 0 to 65535", 32);
 * assert(error instanceof SyntaxError);
 * assertEquals(error.offset, 32);
 * assertEquals(
 *   error.message,
 *   "Cannot parse PROXY header: v1 source port 70000 is out of range 0 to 65535 (offset 32)",
 * );
 * ```
 */
export class ProxyProtocolError extends SyntaxError {
  /** Where in the header the problem starts, in bytes from its first byte. */
  readonly offset: number;
  /** What is wrong, without the `Cannot parse PROXY header:` prefix. */
  readonly reason: string;

  /**
   * Creates the error for a header that breaks the specification.
   *
   * @param reason What is wrong, for the message.
   * @param offset Where the problem starts, from the header's first byte.
   */
  constructor(reason: string, offset: number) {
    super(`Cannot parse PROXY header: ${reason} (offset ${offset})`);
    this.name = "ProxyProtocolError";
    this.reason = reason;
    this.offset = offset;
  }
}
