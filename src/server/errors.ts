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
 * import { DatagramTooLongError } from "@socketserver/core/server";
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
 * import { TLSHandshakeError } from "@socketserver/core/server";
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

/**
 * A datagram server dropped a reply that would have sent an unverified peer
 * more than `amplificationFactor` times the bytes received from it, the
 * limit QUIC sets before a peer's address is validated (RFC 9000 §8). A
 * forged source address can make a small request send a large reply to a
 * victim; the limit caps what the server adds to such an attack. The
 * handler is not interrupted (its send resolves with 0 bytes sent); the
 * server reports the drop through `handleError()`, at most once per 10 s,
 * with `dropped` counting the drops since the last report.
 *
 * @example Read the numbers of a dropped reply
 * ```ts
 * import { AmplificationLimitError } from "@socketserver/core/server";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const peer = { transport: "udp" as const, hostname: "192.0.2.7", port: 5353 };
 * const error = new AmplificationLimitError(peer, 24, 0, 2, 3, 1);
 * assert(error instanceof RangeError);
 * assertEquals(error.replyLength, 24);
 * assertEquals(
 *   error.message,
 *   "Cannot reply to 192.0.2.7:5353: 24 bytes would make 24 sent for 2 received, over amplificationFactor 3 for an unverified peer (1 reply dropped since the last report)",
 * );
 * ```
 */
export class AmplificationLimitError extends RangeError {
  /** The peer the reply was for. */
  readonly peer: Deno.Addr;
  /** The dropped reply's length, in bytes. */
  readonly replyLength: number;
  /** Bytes sent to the peer before this reply. */
  readonly sent: number;
  /** Bytes received from the peer (as far as the server's table remembers). */
  readonly received: number;
  /** The limit in force. */
  readonly amplificationFactor: number;
  /** Replies dropped (by either guard) since the previous report, this one included. */
  readonly dropped: number;

  /**
   * Describes a reply over the budget.
   *
   * @param peer The peer the reply was for.
   * @param replyLength The reply's length, in bytes.
   * @param sent Bytes sent to the peer before.
   * @param received Bytes received from the peer.
   * @param amplificationFactor The limit in force.
   * @param dropped Replies dropped since the previous report.
   */
  constructor(
    peer: Deno.Addr,
    replyLength: number,
    sent: number,
    received: number,
    amplificationFactor: number,
    dropped: number,
  ) {
    super(
      `Cannot reply to ${formatAddress(peer)}: ${replyLength} bytes would make ${
        sent + replyLength
      } sent for ${received} received, over amplificationFactor ${amplificationFactor} for an unverified peer (${
        droppedSince(dropped)
      })`,
    );
    this.name = "AmplificationLimitError";
    this.peer = peer;
    this.replyLength = replyLength;
    this.sent = sent;
    this.received = received;
    this.amplificationFactor = amplificationFactor;
    this.dropped = dropped;
  }
}

/**
 * A datagram server dropped a reply byte-identical to the last datagram
 * received from its peer, an unverified peer that had already been
 * answered so. Two echo-like services (an echo, a time server that returns
 * text without a directive as it came) would bounce one forged datagram
 * between them forever; refusing to answer a datagram with itself again
 * breaks such a loop after one round trip. The first such reply to a peer
 * goes out (a client trying an echo service once); a protocol that echoes
 * on purpose verifies its peers (`verifyPeer()`). Reported like
 * {@linkcode AmplificationLimitError}.
 *
 * @example Read the numbers of a dropped reflection
 * ```ts
 * import { ReflectedReplyError } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * const peer = { transport: "udp" as const, hostname: "192.0.2.7", port: 7 };
 * const error = new ReflectedReplyError(peer, 5, 3);
 * assertEquals(
 *   error.message,
 *   "Cannot reply to 192.0.2.7:7: the 5-byte reply repeats the peer's datagram back to it again, a reflection loop's signature, to an unverified peer (3 replies dropped since the last report)",
 * );
 * ```
 */
export class ReflectedReplyError extends RangeError {
  /** The peer the reply was for. */
  readonly peer: Deno.Addr;
  /** The dropped reply's length, in bytes. */
  readonly replyLength: number;
  /** Replies dropped (by either guard) since the previous report, this one included. */
  readonly dropped: number;

  /**
   * Describes a dropped reflection.
   *
   * @param peer The peer the reply was for.
   * @param replyLength The reply's length, in bytes.
   * @param dropped Replies dropped since the previous report.
   */
  constructor(peer: Deno.Addr, replyLength: number, dropped: number) {
    super(
      `Cannot reply to ${
        formatAddress(peer)
      }: the ${replyLength}-byte reply repeats the peer's datagram back to it again, a reflection loop's signature, to an unverified peer (${
        droppedSince(dropped)
      })`,
    );
    this.name = "ReflectedReplyError";
    this.peer = peer;
    this.replyLength = replyLength;
    this.dropped = dropped;
  }
}

function droppedSince(dropped: number): string {
  return `${dropped} ${dropped === 1 ? "reply" : "replies"} dropped since the last report`;
}
