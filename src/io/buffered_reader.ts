/**
 * The read side of a connection (`rfile`): one reused buffer, filled with
 * `conn.read()`, from which bytes, lines and frames are taken.
 *
 * @module
 */

import { ByteWindow } from "../framing/byte_window.ts";
import type { Codec, FrameDecoder } from "../framing/codec.ts";
import { DEFAULT_MAX_FRAME_LENGTH } from "../framing/codec.ts";
import { DelimiterCodec } from "../framing/delimiter.ts";
import { FrameTooLongError, IncompleteFrameError } from "../framing/errors.ts";
import { LinesCodec } from "../framing/lines.ts";
import {
  deadlineAfter,
  type Drain,
  drainOf,
  holders,
  NEVER,
  NOT_WAITING,
  tick,
  unwatch,
  watch,
  type WatchKind,
} from "./_watchdog.ts";
import type { BufferedWriter } from "./buffered_writer.ts";
import { FrameTimeoutError, IdleTimeoutError, ReadTimeoutError } from "./errors.ts";
import type { FrameMemoryBudget } from "./frame_memory_budget.ts";

/** Anything with Deno's `read(p)` contract, such as a `Deno.Conn`. */
export interface ByteSource {
  /**
   * Reads into `p`.
   *
   * @param p Where the bytes go.
   * @returns How many bytes were read, or `null` at end of stream.
   */
  read(p: Uint8Array): Promise<number | null>;
  /**
   * Closes the source, so that a read in flight fails. The reader calls it
   * when `idleTimeout`, `frameTimeout`, the memory budget or a drain ends
   * its wait. A source without it still works: each wait that has a
   * deadline then costs a promise of its own.
   */
  close?(): void;
}

/** Options for {@linkcode BufferedReader}. */
export interface BufferedReaderOptions {
  /**
   * Python's socket timeout: seconds a read may wait for the peer before it
   * fails with {@linkcode ReadTimeoutError}. The connection stays usable:
   * the read stays in flight, and the next one gets the late bytes. `null`
   * waits forever. It cannot outlast `idleTimeout`, which closes.
   *
   * @default {null}
   */
  timeout?: number | null;
  /**
   * Seconds a wait may go without a byte, between frames or in the middle
   * of one: then it fails with {@linkcode IdleTimeoutError} and the reader
   * closes its source. `null` waits forever.
   *
   * @default {null}
   */
  idleTimeout?: number | null;
  /**
   * Seconds a frame may take to arrive whole once its first byte is here:
   * then `readFrame()`, `frames()`, `readline()`, `lines()` or
   * `readExactly()` fails with {@linkcode FrameTimeoutError} and the reader
   * closes its source. It catches a slowloris client (a byte now and then,
   * never a whole frame), which `idleTimeout` does not. `null` sets no
   * limit.
   *
   * @default {null}
   */
  frameTimeout?: number | null;
  /**
   * The first buffer size in bytes. It doubles while reads fill it (up to
   * 64 KiB of read-ahead, more only while one frame needs it), so an idle
   * connection pins little memory.
   *
   * @default {1024}
   */
  bufferSize?: number;
  /**
   * Lets the reader reuse its buffer: frames and chunks it returns are then
   * views valid only until the next read (as Go's `bufio.Scanner` and Deno
   * std's `BufReader` do), and no buffer is allocated per frame. For
   * handlers that are done with each frame before they read the next, such
   * as an echo or a proxy; it makes large frames about twice as fast. With
   * the default, frames stay valid for good (the reader never overwrites
   * bytes it handed out) at the cost of a fresh buffer now and then.
   *
   * @default {false}
   */
  reuseBuffer?: boolean;
  /**
   * Called each time the reader is about to wait on the socket, unless a
   * `writer` is given (which is flushed then instead).
   *
   * @default {undefined}
   */
  beforeWait?: () => Promise<void> | void;
  /**
   * The connection's writer. The reader flushes it each time it is about to
   * wait, so replies to a batch of pipelined frames leave in one write, and
   * lets it finish sending before it closes the connection on a drain.
   *
   * @default {undefined}
   */
  writer?: BufferedWriter;
  /**
   * A server's graceful stop: once it aborts, a wait for the first byte of
   * a new frame (or of a `read()`) ends as end of stream at the watchdog's
   * next look (within 0.1 s), for a reader waiting then as for a later wait,
   * unless bytes come first: bytes already on their way are read. The
   * reader then closes the idle connection itself, after its writer has
   * sent what it holds. A frame under way is read to its end.
   *
   * @default {undefined}
   */
  draining?: AbortSignal;
  /**
   * The server-wide budget for frame memory: the reader accounts there for
   * what its buffer holds past its 64 KiB read-ahead, and fails with
   * `FrameMemoryError` (closing its source) when it is among the largest
   * holders of an overdrawn budget.
   *
   * @default {undefined}
   */
  memoryBudget?: FrameMemoryBudget;
}

/** Read-ahead stops growing here; only a frame that needs more goes past it. */
const MAX_READ_AHEAD = 64 * 1024;
/**
 * A frame of a declared size grows the buffer by at most this many times the
 * bytes of it that have arrived (plus the read-ahead): never to the declared
 * size up front, and still in one step for a 256 KiB frame read 64 KiB at a
 * time.
 */
const FRAME_GROWTH = 4;
/** The longest line `readline()` accepts unless told otherwise, as Python's `_MAXLINE`. */
const DEFAULT_LINE_LIMIT = 64 * 1024;
/** The longest delay `setTimeout` honours (2^31 - 1 ms), in seconds. */
const MAX_TIMER_SECONDS = 2_147_483;
const RESOLVED_FALSE: Promise<boolean> = Promise.resolve(false);
/** `#fault` after `close()`: the error itself is made only if a read comes. */
const CLOSED = Symbol("closed");

/** `#frameDeadline` of a frame whose bytes came but that has not waited yet (no deadline set). */
const STARTED = -1;

/** Which deadline ends the wait in progress. */
const IDLE_END = 0;
const FRAME_END = 1;
const TIMEOUT_END = 2;
const DRAIN_END = 3;
type WaitEnd = typeof IDLE_END | typeof FRAME_END | typeof TIMEOUT_END | typeof DRAIN_END;

/** The watchdog's view of a reader; set by the class's static block. */
let watched: WatchKind<BufferedReader>;

/**
 * A buffered reader over a connection, the `rfile` of a stream handler.
 *
 * Every read is served from the buffer first; the socket is read only when the
 * buffer cannot satisfy the call, so a batch of pipelined frames costs one
 * `read` syscall. Returned bytes and frames are views into the read buffer
 * that stay valid: the reader never overwrites bytes it has handed out
 * (unless `reuseBuffer` is set, for handlers done with each frame before
 * the next read).
 *
 * @example Read a line, then exactly 4 bytes
 * ```ts
 * import { BufferedReader } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new TextEncoder().encode("HELLO\r\nabcd");
 * let sent = false;
 * const source = {
 *   read(p: Uint8Array): Promise<number | null> {
 *     if (sent) return Promise.resolve(null);
 *     sent = true;
 *     p.set(bytes);
 *     return Promise.resolve(bytes.length);
 *   },
 * };
 * const reader = new BufferedReader(source);
 * assertEquals(await reader.readline(), "HELLO");
 * assertEquals(await reader.readExactly(4), new TextEncoder().encode("abcd"));
 * assertEquals(await reader.read(), null);
 * ```
 *
 * Three deadlines, each off unless set, each one sentence:
 * `idleTimeout`: no byte for this long while the reader waits closes the
 * connection; `frameTimeout`: a frame must arrive whole within this long
 * once its first byte is here, or the connection is closed; `timeout`
 * (Python's socket timeout): a read that waits this long fails, and the
 * connection stays usable. None arms a timer: a wait writes its deadline in
 * ticks of one process-wide watchdog, which looks ten times a second, so a
 * deadline ends its wait up to 0.2 s late, never early.
 *
 * @example Give up on a frame that never completes, and close
 * ```ts
 * import { BufferedReader, FrameTimeoutError } from "@socketserver/core";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * await client.write(new TextEncoder().encode("the start of a line")); // and no more
 * const reader = new BufferedReader(conn, { idleTimeout: 60, frameTimeout: 0.1 });
 * await assertRejects(() => reader.readline(), FrameTimeoutError);
 * // The reader closed the connection: the client sees the end of the stream.
 * assertEquals(await client.read(new Uint8Array(1)), null);
 * ```
 */
export class BufferedReader implements AsyncIterable<Uint8Array> {
  /** Seconds one read may wait (Python's socket timeout); `null` waits forever. */
  timeout: number | null;
  /** Seconds a wait may go without a byte before the connection is closed; `null` waits forever. */
  idleTimeout: number | null;
  /** Seconds a started frame may take to complete; `null` sets no limit. */
  frameTimeout: number | null;

  readonly #source: ByteSource;
  readonly #beforeWait: (() => Promise<void> | void) | undefined;
  readonly #writer: BufferedWriter | undefined;
  readonly #drain: Drain | undefined;
  readonly #budget: FrameMemoryBudget | undefined;
  #reuseBuffer: boolean;
  /**
   * Whether the buffer's consumed bytes may be overwritten: only with
   * `reuseBuffer`, and only once no view handed out before it was switched
   * on points into this buffer.
   */
  #overwritable: boolean;
  #window: ByteWindow;
  #eof = false;
  /** Whether the end of stream was the drain's, not the peer's. */
  #drained = false;
  /** A read still in flight after a timeout; the next fill awaits it so no byte is lost. */
  #pending: Promise<number | null> | undefined;
  /** Bytes the next buffer gets: doubles while reads fill it, up to MAX_READ_AHEAD. */
  #readAhead: number;
  /**
   * 0 while no frame is under way; STARTED once bytes of one are here; from
   * its first wait, the tick by which it must be whole (NEVER: no `frameTimeout`).
   */
  #frameDeadline = 0;
  /** The watchdog's: this reader's index in its list, -1 when not in it. */
  #watchSlot = -1;
  /** The watchdog's: NOT_WAITING, or the tick at which the wait in progress ends. */
  #watchDeadline = NOT_WAITING;
  #waitEnd: WaitEnd = IDLE_END;
  /** Rejects the wait in progress, when it has a promise of its own (see #bound). */
  #fail: ((error: unknown) => void) | undefined;
  /** Why the reader stopped (a deadline, the budget, `close()`): every later read fails with it. */
  #fault: Error | typeof CLOSED | undefined;

  static {
    watched = {
      slot: (reader) => reader.#watchSlot,
      setSlot: (reader, slot) => void (reader.#watchSlot = slot),
      deadline: (reader) => reader.#watchDeadline,
      expire: (reader) => reader.#expire(),
      drain: (reader, drain) => {
        // Waiting for a new frame when the stop began: the wait ends at the
        // next look, so that bytes already on their way are still read.
        if (reader.#drain === drain && reader.#watchDeadline !== NOT_WAITING && reader.#idle()) {
          reader.#watchDeadline = tick + 1;
          reader.#waitEnd = DRAIN_END;
        }
      },
    };
  }

  /**
   * Creates a reader over `source`; nothing is read until asked.
   *
   * @param source The connection to read from.
   * @param options Deadlines, first buffer size, and what the reader works with.
   * @throws {RangeError} `bufferSize` is not a positive integer, or a
   * deadline is not a positive number of seconds.
   */
  constructor(source: ByteSource, options: BufferedReaderOptions = {}) {
    this.#source = source;
    this.timeout = checkDeadline("timeout", options.timeout ?? null);
    this.idleTimeout = checkDeadline("idleTimeout", options.idleTimeout ?? null);
    this.frameTimeout = checkDeadline("frameTimeout", options.frameTimeout ?? null);
    this.#beforeWait = options.beforeWait;
    this.#writer = options.writer;
    this.#drain = options.draining === undefined ? undefined : drainOf(options.draining);
    this.#budget = options.memoryBudget;
    this.#reuseBuffer = this.#overwritable = options.reuseBuffer ?? false;
    this.#readAhead = options.bufferSize ?? 1024;
    if (!Number.isInteger(this.#readAhead) || this.#readAhead < 1) {
      throw new RangeError(
        `Cannot create reader: bufferSize ${this.#readAhead} is not a positive integer`,
      );
    }
    this.#window = new ByteWindow(new Uint8Array(this.#readAhead), 0, 0);
  }

  /**
   * Bytes received and not yet consumed.
   *
   * @returns The count.
   */
  get buffered(): number {
    return this.#window.length;
  }

  /**
   * Whether the reader reuses its buffer: frames and chunks are then views
   * valid only until the next socket read (see `BufferedReaderOptions.reuseBuffer`).
   *
   * @returns The setting.
   */
  get reuseBuffer(): boolean {
    return this.#reuseBuffer;
  }

  /**
   * Switches buffer reuse on or off. Frames and chunks already returned stay
   * valid when it is switched on: only bytes read from then on are reused.
   *
   * @param reuse Whether to reuse the buffer.
   */
  set reuseBuffer(reuse: boolean) {
    if (reuse === this.#reuseBuffer) return;
    this.#reuseBuffer = reuse;
    // A buffer nothing was consumed from holds no view a caller may keep.
    this.#overwritable = reuse && this.#window.start === 0;
  }

  /**
   * Whether the stream has ended (the peer closed its side, or a drain
   * ended the wait) and every byte has been consumed.
   *
   * @returns `true` at end of stream.
   */
  get atEof(): boolean {
    return this.#eof && this.#window.length === 0;
  }

  /**
   * Whether the peer may have sent bytes that this reader will not read:
   * reading stopped in the middle of a frame (bytes of it are buffered, or
   * a decoder holds some), the peer has not closed its side, and the reader
   * did not close the connection itself. Its owner should then close as
   * nginx's `lingering_close` does (half-close, read and drop for a while):
   * closing with unread bytes resets the connection, and a reset makes the
   * peer lose the replies it has not read yet.
   *
   * @returns `true` when the peer may still be sending.
   */
  get unreadInput(): boolean {
    return !this.#eof && this.#fault === undefined &&
      (this.#window.length > 0 || this.#frameDeadline !== 0);
  }

  /**
   * Reads what is available, up to `max` bytes, as `socket.recv(max)` does:
   * it waits only when nothing is buffered. Unlike Python's `rfile.read()`,
   * it returns one chunk, not everything until end of stream: that is
   * {@linkcode readAll}.
   *
   * @param max The most bytes to return.
   * @returns 1 to `max` bytes, or `null` at end of stream.
   * @throws {ReadTimeoutError} Nothing arrived within `timeout`.
   * @throws {IdleTimeoutError} Nothing arrived within `idleTimeout`.
   */
  async read(max: number = Infinity): Promise<Uint8Array | null> {
    const window = this.#window;
    if (window.length === 0 && !(await this.#fill())) return null;
    this.#frameDone();
    return window.take(Math.min(max, window.length));
  }

  /**
   * Reads everything until the peer closes its side, as Python's
   * `rfile.read()` with no size does, but bounded: past `limit` bytes it
   * fails rather than buffer without end.
   *
   * @example Read a whole request sent before a half-close
   * ```ts
   * import { BufferedReader } from "@socketserver/core";
   * import { assertEquals } from "@std/assert";
   *
   * const chunks = ["GET ", "/ ", "HTTP/1.0\r\n\r\n"].map((text) => new TextEncoder().encode(text));
   * const reader = new BufferedReader({
   *   read(p: Uint8Array): Promise<number | null> {
   *     const chunk = chunks.shift();
   *     if (chunk === undefined) return Promise.resolve(null);
   *     p.set(chunk);
   *     return Promise.resolve(chunk.length);
   *   },
   * });
   * assertEquals(new TextDecoder().decode(await reader.readAll()), "GET / HTTP/1.0\r\n\r\n");
   * ```
   *
   * @param limit The most bytes accepted.
   * @returns Every byte until end of stream (none if it had ended).
   * @throws {FrameTooLongError} More than `limit` bytes came.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   */
  async readAll(limit: number = DEFAULT_MAX_FRAME_LENGTH): Promise<Uint8Array> {
    const window = this.#window;
    while (!this.#eof) {
      if (window.length > limit) {
        throw new FrameTooLongError(window.length, limit, "decode", "limit");
      }
      await this.#fill();
    }
    if (window.length > limit) throw new FrameTooLongError(window.length, limit, "decode", "limit");
    this.#frameDone();
    return window.take(window.length);
  }

  /**
   * Reads exactly `n` bytes. Nothing is consumed until all `n` are here, so
   * after a timeout the bytes already received are still there to read.
   *
   * @param n How many bytes; the buffer grows to hold them.
   * @returns `n` bytes.
   * @throws {IncompleteFrameError} The stream ended first.
   * @throws {ReadTimeoutError} The peer stalled longer than `timeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The `n` bytes took longer than `frameTimeout`.
   */
  async readExactly(n: number): Promise<Uint8Array> {
    const window = this.#window;
    // Fast path: the bytes are here; no wait, no deadline.
    while (window.length < n) {
      window.reserve(n);
      if (!(await this.#fill())) throw new IncompleteFrameError(window.length, n);
    }
    this.#frameDone();
    return window.take(n);
  }

  /**
   * Reads one UTF-8 line. Unlike Python's `readline()`, the `"\n"` or
   * `"\r\n"` is removed and the line is a string: end of stream is `null`,
   * so an empty line needs no terminator to be told apart. A last line
   * without a newline is returned. Bytes that are not UTF-8 throw
   * `FrameSyntaxError` (the line is consumed); {@linkcode readlineBytes} is
   * Python's bytes line.
   *
   * @param limit The longest line accepted, in bytes.
   * @returns The line, or `null` at end of stream.
   * @throws {FrameTooLongError} No newline within `limit` bytes.
   * @throws {FrameSyntaxError} The line is not UTF-8.
   * @throws {ReadTimeoutError} The peer stalled longer than `timeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The line took longer than `frameTimeout`.
   */
  async readline(limit: number = DEFAULT_LINE_LIMIT): Promise<string | null> {
    return await this.readFrame(new LinesCodec({ maxFrameLength: limit }).decoder()) ?? null;
  }

  /**
   * Reads one line as bytes, its `"\n"` kept, as Python's `readline()`
   * returns it: any bytes, no decoding. A last line without a newline is
   * returned as it is. Unlike Python, end of stream is `null` (not an
   * empty line, which JavaScript counts as true), and a line longer than
   * `limit` fails rather than come back in pieces.
   *
   * @example Lines as Python reads them
   * ```ts
   * import { BufferedReader } from "@socketserver/core";
   * import { assertEquals } from "@std/assert";
   *
   * const bytes = new TextEncoder().encode("one\r\ntwo");
   * let sent = false;
   * const reader = new BufferedReader({
   *   read(p: Uint8Array): Promise<number | null> {
   *     if (sent) return Promise.resolve(null);
   *     sent = true;
   *     p.set(bytes);
   *     return Promise.resolve(bytes.length);
   *   },
   * });
   * assertEquals(await reader.readlineBytes(), new TextEncoder().encode("one\r\n"));
   * assertEquals(await reader.readlineBytes(), new TextEncoder().encode("two"));
   * assertEquals(await reader.readlineBytes(), null);
   * ```
   *
   * @param limit The longest line accepted, in bytes before the `"\n"`.
   * @returns The line with its `"\n"`, or `null` at end of stream.
   * @throws {FrameTooLongError} No newline within `limit` bytes.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The line took longer than `frameTimeout`.
   */
  async readlineBytes(limit: number = DEFAULT_LINE_LIMIT): Promise<Uint8Array | null> {
    const codec = new DelimiterCodec({
      maxFrameLength: limit,
      keepDelimiter: true,
      emitUnterminated: true,
    });
    return await this.readFrame(codec.decoder()) ?? null;
  }

  /**
   * Iterates over UTF-8 lines until end of stream (see {@linkcode readline}).
   *
   * @param limit The longest line accepted, in bytes.
   * @returns An async iterator of lines.
   */
  lines(limit: number = DEFAULT_LINE_LIMIT): AsyncIterableIterator<string> {
    return this.frames(new LinesCodec({ maxFrameLength: limit }));
  }

  /**
   * Decodes the next frame, reading from the socket only when no whole frame
   * is buffered.
   *
   * @param decoder The connection's decoder (it keeps state between frames).
   * @returns The frame, or `undefined` at end of stream on a frame boundary
   * (not `null`: a codec may decode `null`, as RESP's nil does).
   * @throws {IncompleteFrameError} The stream ended inside a frame.
   * @throws {FrameTooLongError} The decoder's limit was exceeded.
   * @throws {ReadTimeoutError} The peer stalled longer than `timeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The frame took longer than `frameTimeout`.
   */
  async readFrame<Frame>(decoder: FrameDecoder<Frame>): Promise<Frame | undefined> {
    const window = this.#window;
    for (;;) {
      // Fast path: a frame already buffered is returned without touching the socket.
      const frame = decoder.decode(window);
      if (frame !== undefined) {
        this.#frameDone();
        return frame;
      }
      if (this.#eof) return decoder.decodeEof(window);
      // The fill is inline (no second async frame): this is the hot path.
      const starting = this.#startRead();
      if (starting !== undefined) await starting;
      let count: number | null;
      try {
        count = await this.#wait();
      } catch (error) {
        count = this.#waitFailed(error);
      }
      if (!this.#received(count)) return decoder.decodeEof(window);
    }
  }

  /**
   * Decodes the next frame from the bytes already buffered, never reading
   * from the socket: with {@linkcode readMore}, the steps of a frame loop
   * that takes every frame buffered before it waits. At end of stream it
   * gives the decoder's last frames (`decodeEof`).
   *
   * @example A frame loop: every frame buffered, then one read
   * ```ts
   * import { BufferedReader, LinesCodec } from "@socketserver/core";
   * import { assertEquals } from "@std/assert";
   *
   * const chunks = ["a\nb\nc", "\nd"].map((text) => new TextEncoder().encode(text));
   * const reader = new BufferedReader({
   *   read(p: Uint8Array): Promise<number | null> {
   *     const chunk = chunks.shift();
   *     if (chunk === undefined) return Promise.resolve(null);
   *     p.set(chunk);
   *     return Promise.resolve(chunk.length);
   *   },
   * });
   * const decoder = new LinesCodec().decoder();
   * const batches: string[][] = [];
   * let batch: string[] = [];
   * for (;;) {
   *   const line = reader.decodeBuffered(decoder);
   *   if (line !== undefined) {
   *     batch.push(line);
   *     continue;
   *   }
   *   batches.push(batch);
   *   batch = [];
   *   if (!(await reader.readMore()) && reader.buffered === 0) break;
   * }
   * // "d" has no newline: end of stream ends it.
   * assertEquals(batches, [[], ["a", "b"], ["c"], ["d"]]);
   * ```
   *
   * @param decoder The connection's decoder.
   * @returns The frame, or `undefined` when no whole frame is buffered.
   * @throws {FrameTooLongError} The decoder's limit was exceeded.
   * @throws {IncompleteFrameError} At end of stream, a partial frame is left.
   */
  decodeBuffered<Frame>(decoder: FrameDecoder<Frame>): Frame | undefined {
    const frame = decoder.decode(this.#window);
    if (frame !== undefined) {
      // The frame is whole: its deadline is over.
      this.#frameDone();
      return frame;
    }
    return this.#eof ? decoder.decodeEof(this.#window) : undefined;
  }

  /**
   * Waits for more bytes: reads once from the socket into the buffer (after
   * flushing the writer, or `beforeWait`), for a frame loop that takes
   * frames with {@linkcode decodeBuffered}. `frameTimeout` counts from the
   * first bytes after the last frame `decodeBuffered()` returned, across
   * waits, as it does within one `readFrame()`.
   *
   * @returns `true` when bytes arrived, `false` at end of stream.
   * @throws {ReadTimeoutError} The peer stalled longer than `timeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The frame took longer than `frameTimeout`.
   */
  readMore(): Promise<boolean> {
    if (this.#eof) return RESOLVED_FALSE;
    let starting: Promise<void> | undefined;
    try {
      starting = this.#startRead();
    } catch (error) {
      return Promise.reject(error);
    }
    if (starting !== undefined) {
      return starting.then(() => this.#wait().then(this.#tookMore, this.#tookMore));
    }
    // No async function: this is the frame loop's one promise per batch.
    return this.#wait().then(this.#tookMore, this.#tookMore);
  }

  /**
   * Iterates over frames until end of stream.
   *
   * @param source A codec (a fresh decoder is made), or a decoder to go on with.
   * @returns An async iterator of frames.
   */
  frames<Frame>(source: Codec<Frame, never> | FrameDecoder<Frame>): AsyncIterableIterator<Frame> {
    const decoder = "decoder" in source ? source.decoder() : source;
    return new FrameIterator(this, decoder);
  }

  /**
   * Iterates over chunks as they arrive, until end of stream.
   *
   * @returns An async iterator of byte chunks.
   */
  async *[Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) return;
      yield chunk;
    }
  }

  /**
   * Stops the reader: it lets go of the watchdog and of the memory budget,
   * and a later read fails with `Deno.errors.BadResource`. The source stays
   * open for its owner to close. Closing again does nothing.
   */
  close(): void {
    this.#fault ??= CLOSED;
    if (this.#watchSlot >= 0) unwatch(this, watched);
    this.#budget?.release(this);
  }

  /**
   * Reads once from the socket into free buffer space; `false` at end of
   * stream.
   */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const starting = this.#startRead();
    if (starting !== undefined) await starting;
    let count: number | null;
    try {
      count = await this.#wait();
    } catch (error) {
      count = this.#waitFailed(error);
    }
    return this.#received(count);
  }

  /**
   * What `readMore()` does once its read has settled: one function for both
   * outcomes, so that an idle connection holds one closure, not two. A read
   * gives a count or `null`; a failed one, an error (an object).
   */
  readonly #tookMore = (outcome: unknown): boolean =>
    this.#received(
      typeof outcome === "number" || outcome === null ? outcome : this.#waitFailed(outcome),
    );

  /**
   * Starts one socket read unless one is in flight: lets the writer flush
   * (or `beforeWait` run) first, then makes room. Returns the flush's
   * promise only when it must be waited for. The flush comes first: a large
   * reply queued without a copy may be a view of bytes that making room
   * overwrites.
   */
  #startRead(): Promise<void> | undefined {
    if (this.#pending !== undefined) return undefined;
    const writer = this.#writer;
    const flushing = writer !== undefined ? flushBeforeWait(writer) : this.#beforeWait?.();
    if (flushing === undefined) {
      this.#issueRead();
      return undefined;
    }
    return flushing.then(() => this.#issueRead());
  }

  #issueRead(): void {
    if (this.#fault !== undefined) throw this.#failure();
    this.#makeRoom();
    this.#pending = this.#source.read(this.#window.bytes.subarray(this.#window.end));
  }

  /**
   * The one place the reader waits for the peer: the read in flight. A wait
   * with a deadline (or a drain to follow) writes when it must end and joins
   * the watchdog; it has a promise of its own only when the watchdog must be
   * able to end it without closing the source (`timeout`, or a source with
   * no `close()`). The read stays in flight when a bound wins, so the next
   * wait gets its bytes.
   */
  #wait(): Promise<number | null> {
    const pending = this.#pending!;
    const timeout = this.timeout;
    // Fast path: nothing to watch (a reader on its own, with no deadline).
    if (
      this.idleTimeout === null && this.frameTimeout === null && timeout === null &&
      this.#drain === undefined
    ) {
      return pending;
    }
    let end = this.idleTimeout === null ? NEVER : deadlineAfter(this.idleTimeout);
    let endedBy: WaitEnd = IDLE_END;
    let frame = this.#frameDeadline;
    // A frame under way gets its deadline at its first wait: one that
    // arrives whole in one read costs none.
    if (frame === STARTED || (frame === 0 && this.#window.length > 0)) {
      frame = this.#frameDeadline = this.#frameEnd();
    }
    if (frame !== 0 && frame < end) {
      end = frame;
      endedBy = FRAME_END;
    }
    if (timeout !== null) {
      const timedOut = deadlineAfter(timeout);
      if (timedOut <= end) {
        end = timedOut;
        endedBy = TIMEOUT_END;
      }
    }
    if (frame === 0 && this.#drain?.aborted === true) {
      // A new frame after a graceful stop began: bytes already sent are
      // read, but the wait ends at the watchdog's next look.
      end = tick + 1;
      endedBy = DRAIN_END;
    }
    // A wait with no deadline is watched only while idle, for the drain.
    if (end === NEVER && (this.#drain === undefined || frame !== 0)) return pending;
    this.#watchDeadline = end;
    this.#waitEnd = endedBy;
    if (this.#watchSlot < 0) watch(this, watched);
    if (timeout === null && this.#source.close !== undefined) return pending;
    return new Promise((resolve, reject) => {
      this.#fail = reject;
      pending.then(resolve, reject);
    });
  }

  /**
   * What a failed wait gives: end of stream after a drain ended it, else
   * the error (the reader's own when it stopped the wait). After a
   * `timeout`, the read stays in flight for the next wait.
   */
  #waitFailed(error: unknown): null {
    this.#watchDeadline = NOT_WAITING;
    this.#waitOver();
    if (error instanceof ReadTimeoutError && this.#fault === undefined) throw error;
    this.#pending = undefined;
    if (this.#drained) return null;
    throw this.#fault === undefined ? error : this.#failure();
  }

  /** Takes in what a read delivered; `false` at end of stream. */
  #received(count: number | null): boolean {
    this.#pending = undefined;
    this.#watchDeadline = NOT_WAITING;
    this.#waitOver();
    if (count === null) {
      this.#eof = true;
      return false;
    }
    const window = this.#window;
    // A read that filled all free space suggests more is waiting: read more next time.
    if (window.end + count === window.bytes.length && this.#readAhead < MAX_READ_AHEAD) {
      this.#readAhead *= 2;
    }
    window.end += count;
    // The first bytes of a frame: it is under way.
    if (this.#frameDeadline === 0 && count > 0) this.#frameDeadline = STARTED;
    return true;
  }

  /** A frame (or chunk) was returned: its deadline is over. */
  #frameDone(): void {
    this.#frameDeadline = 0;
    // Fast path: a connection holds the watchdog, the reader stays on its list.
    if (holders === 0) this.#waitOver();
  }

  /**
   * Between waits. While a connection holds the watchdog, the reader stays
   * on its list (the next scan drops it if it is not waiting by then). On
   * its own, it leaves now, unless a frame deadline spans the waits: the
   * watchdog's clock must go on counting for it.
   */
  #waitOver(): void {
    if (holders > 0 || this.#watchSlot < 0) return;
    const frame = this.#frameDeadline;
    if (frame === 0 || frame === NEVER || frame === STARTED) unwatch(this, watched);
  }

  /** The deadline of a frame that starts now. */
  #frameEnd(): number {
    const seconds = this.frameTimeout;
    return seconds === null ? NEVER : deadlineAfter(seconds);
  }

  /** Whether the reader is between frames: nothing of a new one is here. */
  #idle(): boolean {
    return this.#window.length === 0 && this.#frameDeadline === 0;
  }

  /** Called by the watchdog when the wait in progress is past its deadline. */
  #expire(): void {
    this.#watchDeadline = NOT_WAITING;
    const window = this.#window;
    switch (this.#waitEnd) {
      case TIMEOUT_END:
        // Python's timeout: this wait fails, the connection stays usable.
        this.#fail?.(new ReadTimeoutError(this.timeout ?? 0));
        return;
      case FRAME_END:
        return this.#stop(new FrameTimeoutError(this.frameTimeout ?? 0, window.length));
      case DRAIN_END:
        return this.#endDrained();
      default:
        return this.#stop(new IdleTimeoutError(this.idleTimeout ?? 0, window.length));
    }
  }

  /**
   * Stops the reader for good with `error`, which every read then throws,
   * and closes the source so that a read in flight ends.
   */
  #stop(error: Error): void {
    this.#fault ??= error;
    this.#budget?.release(this);
    this.#fail?.(error);
    this.#closeSource();
  }

  /**
   * Ends an idle wait as end of stream: the server is draining. The
   * connection is closed to end the read in flight, once the writer has
   * sent what it holds.
   */
  #endDrained(): void {
    this.#watchDeadline = NOT_WAITING;
    this.#drained = true;
    this.#fail?.(new Deno.errors.Interrupted("the server is draining"));
    const writer = this.#writer;
    const close = () => this.#closeSource();
    if (writer === undefined || writer.buffered === 0) close();
    else writer.flush().then(close, close);
  }

  #closeSource(): void {
    try {
      this.#source.close?.();
    } catch {
      // Closed already (by its owner, or after a reset): the read in flight has ended.
    }
  }

  #failure(): Error {
    const fault = this.#fault!;
    return fault === CLOSED
      ? new Deno.errors.BadResource("Cannot read: the reader is closed")
      : fault;
  }

  /**
   * Makes free space after `end`. By default consumed bytes are never
   * overwritten (frames may be views of them): reads append into the free
   * tail, and when the tail is short the unconsumed bytes move to a new
   * buffer of the read-ahead size, or twice their size when the decoder
   * said nothing of the frame's size. A frame of known size
   * (`ByteWindow.reserve`) is a hint, not an order: the buffer grows
   * towards it as its bytes arrive, by at most FRAME_GROWTH times what is
   * here, so a peer that declares 8 MiB and sends 5 bytes costs the
   * read-ahead, not 8 MiB. With `reuseBuffer`, the bytes move to the front
   * of the same buffer instead, when they fit.
   */
  #makeRoom(): void {
    const window = this.#window;
    const wanted = window.wanted;
    window.wanted = 0;
    const reuse = this.#overwritable;
    const size = window.bytes.length;
    // Under memory strain, a buffer grown for a large frame is not kept for the next one.
    if (size > MAX_READ_AHEAD && window.length === 0 && this.#budget?.strained === true) {
      return this.#moveTo(this.#readAhead);
    }
    // Reuse mode: what is left (nothing, or the start of a frame) moves to
    // the front, so the read gets the whole buffer. Reads then take what has
    // arrived in one piece, rather than a piece of it and the rest later.
    if (reuse && window.start > 0 && window.length <= size / 4) {
      if (window.length > 0) window.bytes.copyWithin(0, window.start, window.end);
      window.end -= window.start;
      window.start = 0;
    }
    // A reused buffer is kept for good, so it follows the read-ahead as it grows.
    const outgrown = reuse && size < this.#readAhead;
    let target: number;
    if (wanted > window.length) {
      // A frame of known size: room for as much of it as its bytes so far allow.
      const room = Math.min(wanted, FRAME_GROWTH * window.length + this.#readAhead);
      if (window.start + room <= size && !outgrown) return;
      target = Math.max(this.#readAhead, room);
    } else {
      if (size - window.end >= this.#readAhead / 4 && !outgrown) return;
      target = Math.max(this.#readAhead, window.length * 2);
    }
    if (reuse && target <= size) {
      window.bytes.copyWithin(0, window.start, window.end);
      window.reset(window.bytes, 0, window.length);
    } else {
      this.#moveTo(target);
    }
  }

  /**
   * Moves the unconsumed bytes to the start of a new buffer of `size` bytes,
   * after the memory budget has agreed to what it holds past the read-ahead.
   *
   * @throws {FrameMemoryError} The budget is overdrawn and this reader is
   * among its largest holders.
   */
  #moveTo(size: number): void {
    const budget = this.#budget;
    if (budget !== undefined) {
      if (size <= MAX_READ_AHEAD) budget.release(this);
      else {
        budget.hold(this, size - MAX_READ_AHEAD, (error) => this.#stop(error));
        if (this.#fault !== undefined) throw this.#failure();
      }
    }
    const window = this.#window;
    const bytes = new Uint8Array(size);
    bytes.set(window.view());
    window.reset(bytes, 0, window.length);
    this.#overwritable = this.#reuseBuffer;
  }
}

/**
 * The one place replies are flushed before the reader waits. The flush is
 * started, not waited for: the read goes out beside the write, as on any
 * full-duplex socket, and the next batch waits only when its flush finds
 * the last one still going (memory stays bounded by `highWaterMark`). It is
 * waited for past `highWaterMark`: the writer may then hold views of the read
 * buffer, which the read must not overwrite.
 */
function flushBeforeWait(writer: BufferedWriter): Promise<void> | undefined {
  if (writer.buffered === 0) return undefined;
  const flushing = writer.flush();
  if (writer.buffered >= writer.highWaterMark) return flushing;
  // A failure is kept by the writer and thrown by its next call.
  flushing.catch(noop);
  return undefined;
}

const noop = (): void => {};

/** Checks a deadline option. */
function checkDeadline(name: string, seconds: number | null): number | null {
  if (seconds === null) return null;
  if (typeof seconds !== "number" || !(seconds > 0 && seconds <= MAX_TIMER_SECONDS)) {
    throw new RangeError(
      `Cannot create reader: ${name} must be null or a number of seconds above 0 and at most ${MAX_TIMER_SECONDS}, got ${seconds}`,
    );
  }
  return seconds;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * The iterator behind `frames()`. Hand-written rather than an async
 * generator: when a frame is already buffered, `next()` decodes it at once
 * and returns one resolved promise, which keeps a pipelined batch close to
 * the cost of a plain loop (a generator resumes through several promises).
 */
class FrameIterator<Frame> implements AsyncIterableIterator<Frame> {
  readonly #reader: BufferedReader;
  readonly #decoder: FrameDecoder<Frame>;
  #done = false;

  constructor(reader: BufferedReader, decoder: FrameDecoder<Frame>) {
    this.#reader = reader;
    this.#decoder = decoder;
  }

  next(): Promise<IteratorResult<Frame>> {
    if (this.#done) return Promise.resolve(DONE);
    // Fast path: a buffered frame needs no socket read and no async function
    // (a decoding error is thrown from here: `for await` passes it on).
    const frame = this.#reader.decodeBuffered(this.#decoder);
    if (frame !== undefined) return Promise.resolve({ done: false, value: frame });
    return this.#reader.readFrame(this.#decoder).then(this.#toResult);
  }

  // Bound once, so a frame that needs a socket read allocates no closure.
  readonly #toResult = (next: Frame | undefined): IteratorResult<Frame> => {
    // A `null` frame (RESP's nil) is a frame; only `undefined` is the end.
    if (next !== undefined) return { done: false, value: next };
    this.#done = true;
    return DONE;
  };

  return(): Promise<IteratorResult<Frame>> {
    this.#done = true;
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Frame> {
    return this;
  }
}
