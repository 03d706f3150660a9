/**
 * Typed I/O errors. The timeouts subclass `Deno.errors.TimedOut`, so code
 * that already checks for Deno's timeout error keeps working; the memory
 * budget's error is a `RangeError`.
 *
 * @module
 */

/**
 * A read waited longer than the reader's `timeout` (Python's socket timeout)
 * for bytes that did not come. The connection stays usable: the read stays
 * in flight, and the next one gets the bytes that arrive later.
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
 * reading: the writer closes the connection, and the bytes stay unsent.
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
 * (a byte now and then, never a whole frame) is caught, which
 * `idleTimeout` is not, since no wait is silent for long. The reader closes
 * the connection.
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
 * No byte arrived within the reader's `idleTimeout` while it waited for one,
 * between frames or in the middle of one: the client is connected but
 * silent. The reader closes the connection (unlike the per-read `timeout`,
 * whose {@linkcode ReadTimeoutError} leaves it usable).
 *
 * @example The numbers are in the message
 * ```ts
 * import { IdleTimeoutError } from "@socketserver/core";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const idle = new IdleTimeoutError(60);
 * assert(idle instanceof Deno.errors.TimedOut);
 * assertEquals(idle.message, "Cannot read: idle for 60 s (idleTimeout 60 s)");
 * const midFrame = new IdleTimeoutError(60, 5);
 * assertEquals(
 *   midFrame.message,
 *   "Cannot read: idle for 60 s with 5 bytes of a frame buffered (idleTimeout 60 s)",
 * );
 * ```
 */
export class IdleTimeoutError extends Deno.errors.TimedOut {
  /** The idle timeout that expired, in seconds. */
  readonly timeout: number;
  /** Bytes of an unfinished frame buffered when it expired (0 between frames). */
  readonly buffered: number;

  /**
   * Creates the error for a connection that stayed silent.
   *
   * @param timeout The idle timeout that expired, in seconds.
   * @param buffered Bytes of an unfinished frame buffered then.
   */
  constructor(timeout: number, buffered: number = 0) {
    const during = buffered > 0 ? ` with ${buffered} bytes of a frame buffered` : "";
    super(`Cannot read: idle for ${timeout} s${during} (idleTimeout ${timeout} s)`);
    this.name = "IdleTimeoutError";
    this.timeout = timeout;
    this.buffered = buffered;
  }
}

/**
 * The server's frame memory budget (`maxFrameMemory`) ran over, and this
 * connection was among those holding the most: it is closed so that the
 * others can go on. What counts is read-buffer memory past a connection's
 * 64 KiB read-ahead: the buffers of frames too large for it, which grow as
 * their bytes arrive.
 *
 * @example The numbers are in the message
 * ```ts
 * import { FrameMemoryError } from "@socketserver/core";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new FrameMemoryError(8_388_608, 268_500_000, 268_435_456);
 * assert(error instanceof RangeError);
 * assertEquals(error.held, 8_388_608);
 * assertEquals(
 *   error.message,
 *   "Cannot buffer frame: this connection held 8388608 bytes of 268500000 held by all, over maxFrameMemory 268435456",
 * );
 * ```
 */
export class FrameMemoryError extends RangeError {
  /** Bytes this connection's frames held. */
  readonly held: number;
  /** Bytes all connections' frames held when the budget ran over. */
  readonly total: number;
  /** The budget, in bytes. */
  readonly limit: number;

  /**
   * Creates the error for a connection closed to keep frame memory in bounds.
   *
   * @param held Bytes this connection's frames held.
   * @param total Bytes all connections' frames held.
   * @param limit The budget, in bytes.
   */
  constructor(held: number, total: number, limit: number) {
    super(
      `Cannot buffer frame: this connection held ${held} bytes of ${total} held by all, over maxFrameMemory ${limit}`,
    );
    this.name = "FrameMemoryError";
    this.held = held;
    this.total = total;
    this.limit = limit;
  }
}
