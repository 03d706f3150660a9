/**
 * Typed I/O errors. Each subclasses `Deno.errors.TimedOut`, so code that already
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
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new ReadTimeoutError(2);
 * assert(error instanceof Deno.errors.TimedOut);
 * assertEquals(error.message, "Cannot read: no data for 2 s (timeout 2 s)");
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
 * import { assertEquals } from "@std/assert";
 *
 * const error = new WriteTimeoutError(5, 65536);
 * assertEquals(error.message, "Cannot write: 65536 bytes unsent after 5 s (writeTimeout 5 s)");
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

/**
 * A frame was started but not finished within the reader's `frameTimeout`:
 * its first bytes came, the rest did not. This is how a slowloris client
 * (a byte now and then, never a whole frame) is caught; the per-read
 * `timeout` is not, since each read gets a byte. Bytes already received
 * stay buffered, but the connection should be closed (the stream handler
 * lets the error end `handle()`, so the server closes it).
 *
 * @example The numbers are in the message
 * ```ts
 * import { FrameTimeoutError } from "@socketserver/core";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new FrameTimeoutError(30, 17);
 * assert(error instanceof Deno.errors.TimedOut);
 * assertEquals(error.buffered, 17);
 * assertEquals(
 *   error.message,
 *   "Cannot read frame: not complete after 30 s with 17 bytes buffered (frameTimeout 30 s)",
 * );
 * ```
 */
export class FrameTimeoutError extends Deno.errors.TimedOut {
  /** The timeout that expired, in seconds. */
  readonly timeout: number;
  /** Bytes of the unfinished frame still buffered when it expired. */
  readonly buffered: number;

  /**
   * Creates the error for a frame that took too long.
   *
   * @param timeout The frame timeout that expired, in seconds.
   * @param buffered Bytes of the frame still buffered.
   */
  constructor(timeout: number, buffered: number) {
    super(
      `Cannot read frame: not complete after ${timeout} s with ${buffered} bytes buffered (frameTimeout ${timeout} s)`,
    );
    this.name = "FrameTimeoutError";
    this.timeout = timeout;
    this.buffered = buffered;
  }
}

/**
 * Nothing of the next frame (or chunk) arrived within the reader's
 * `idleTimeout`: the client is connected but silent. Unlike the per-read
 * `timeout`, it never fires while a frame is being received (that is
 * `frameTimeout`'s job).
 *
 * @example The numbers are in the message
 * ```ts
 * import { IdleTimeoutError } from "@socketserver/core";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new IdleTimeoutError(300);
 * assert(error instanceof Deno.errors.TimedOut);
 * assertEquals(error.message, "Cannot read: idle for 300 s with no frame started (idleTimeout 300 s)");
 * ```
 */
export class IdleTimeoutError extends Deno.errors.TimedOut {
  /** The timeout that expired, in seconds. */
  readonly timeout: number;

  /**
   * Creates the error for a connection that stayed silent.
   *
   * @param timeout The idle timeout that expired, in seconds.
   */
  constructor(timeout: number) {
    super(`Cannot read: idle for ${timeout} s with no frame started (idleTimeout ${timeout} s)`);
    this.name = "IdleTimeoutError";
    this.timeout = timeout;
  }
}
