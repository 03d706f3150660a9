/**
 * The read side of a connection (`rfile`): one reused buffer, filled with
 * `conn.read()`, from which bytes, lines and frames are taken.
 *
 * @module
 */

import { ByteWindow } from "../framing/byte_window.ts";
import type { Codec, FrameDecoder } from "../framing/codec.ts";
import { IncompleteFrameError } from "../framing/errors.ts";
import { LinesCodec } from "../framing/lines.ts";
import { withDeadline } from "./_deadline.ts";
import { arm, disarm, type Expiring } from "./_deadline_clock.ts";
import { FrameTimeoutError, IdleTimeoutError, ReadTimeoutError } from "./errors.ts";

/** Anything with Deno's `read(p)` contract, such as a `Deno.Conn`. */
export interface ByteSource {
  /**
   * Reads into `p`.
   *
   * @param p Where the bytes go.
   * @returns How many bytes were read, or `null` at end of stream.
   */
  read(p: Uint8Array): Promise<number | null>;
}

/** Options for {@linkcode BufferedReader}. */
export interface BufferedReaderOptions {
  /**
   * Seconds a read may wait for the peer before it fails with
   * {@linkcode ReadTimeoutError}; `null` waits forever.
   *
   * @default {null}
   */
  timeout?: number | null;
  /**
   * Seconds the reader may wait while nothing of the next frame has arrived
   * (for `read()`, the next chunk) before it fails with
   * {@linkcode IdleTimeoutError}; `null` waits forever. It never fires once
   * a frame has started: that is `frameTimeout`.
   *
   * @default {null}
   */
  idleTimeout?: number | null;
  /**
   * Seconds a frame may take to complete, counted from the first time the
   * reader waits for the rest of it (its first bytes are buffered), before
   * `readFrame()`, `frames()`, `readline()`, `lines()` or `readExactly()`
   * fails with {@linkcode FrameTimeoutError}; `null` sets no limit. This
   * catches a slowloris client, which the per-read `timeout` cannot: each
   * of its reads gets a byte. A frame that arrives in one read arms no timer.
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
   * Called each time the reader is about to wait on the socket. The stream
   * handler flushes its writer here, so replies to a batch of pipelined
   * frames leave in one write.
   *
   * @default {undefined}
   */
  beforeWait?: () => Promise<void> | void;
}

/** Read-ahead stops growing here; only a frame that needs more goes past it. */
const MAX_READ_AHEAD = 64 * 1024;
/** The longest line `readline()` accepts unless told otherwise, as Python's `_MAXLINE`. */
const DEFAULT_LINE_LIMIT = 64 * 1024;
/** The longest delay `setTimeout` honours (2^31 - 1 ms), in seconds. */
const MAX_TIMER_SECONDS = 2_147_483;
const RESOLVED_FALSE: Promise<boolean> = Promise.resolve(false);

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
 * Three deadlines, each off unless set: `timeout` bounds every socket read
 * (Python's socket timeout), `idleTimeout` the wait for the first byte of
 * the next frame, and `frameTimeout` the rest of a frame once it has
 * started. Only `frameTimeout` catches a peer that sends a byte now and then
 * but never a whole frame.
 *
 * @example Give up on a frame that never completes
 * ```ts
 * import { BufferedReader, FrameTimeoutError } from "@socketserver/core";
 * import { assertRejects } from "@std/assert";
 *
 * let reads = 0;
 * const slowloris = {
 *   // One byte of a line, then nothing more.
 *   read(p: Uint8Array): Promise<number | null> {
 *     if (reads++ > 0) return new Promise(() => {});
 *     p[0] = 0x68;
 *     return Promise.resolve(1);
 *   },
 * };
 * const reader = new BufferedReader(slowloris, { frameTimeout: 0.05 });
 * await assertRejects(() => reader.readline(), FrameTimeoutError);
 * ```
 */
export class BufferedReader implements AsyncIterable<Uint8Array> {
  /** Seconds a read may wait; `null` waits forever. */
  timeout: number | null;
  /** Seconds the reader may wait with nothing of the next frame here; `null` waits forever. */
  idleTimeout: number | null;
  /** Seconds a started frame may take to complete; `null` sets no limit. */
  frameTimeout: number | null;

  readonly #source: ByteSource;
  readonly #beforeWait: (() => Promise<void> | void) | undefined;
  #reuseBuffer: boolean;
  /**
   * Whether the buffer's consumed bytes may be overwritten: only with
   * `reuseBuffer`, and only once no view handed out before it was switched
   * on points into this buffer.
   */
  #overwritable: boolean;
  #window: ByteWindow;
  #eof = false;
  /** A read still in flight after a timeout; the next fill awaits it so no byte is lost. */
  #pending: Promise<number | null> | undefined;
  /** Bytes the next buffer gets: doubles while reads fill it, up to MAX_READ_AHEAD. */
  #readAhead: number;
  #deadlines: FrameDeadline | undefined;
  /** The deadlines `readMore()` keeps across waits until `decodeBuffered()` returns a frame. */
  #loopDeadline: FrameDeadline | undefined;
  /** Whether bytes came since `decodeBuffered()` last returned a frame (while no deadline notes it). */
  #loopStarted = false;

  /**
   * Creates a reader over `source`; nothing is read until asked.
   *
   * @param source The connection to read from.
   * @param options Timeouts, first buffer size, and the before-wait hook.
   * @throws {RangeError} `bufferSize` is not a positive integer, or
   * `idleTimeout` or `frameTimeout` is not a positive number of seconds.
   */
  constructor(source: ByteSource, options: BufferedReaderOptions = {}) {
    this.#source = source;
    this.timeout = options.timeout ?? null;
    this.idleTimeout = checkDeadline("idleTimeout", options.idleTimeout ?? null);
    this.frameTimeout = checkDeadline("frameTimeout", options.frameTimeout ?? null);
    this.#beforeWait = options.beforeWait;
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
   * Whether the peer has closed its side and every byte has been consumed.
   *
   * @returns `true` at end of stream.
   */
  get atEof(): boolean {
    return this.#eof && this.#window.length === 0;
  }

  /**
   * Reads what is available, up to `max` bytes, as `socket.recv(max)` does:
   * it waits only when nothing is buffered.
   *
   * @param max The most bytes to return.
   * @returns 1 to `max` bytes, or `null` at end of stream.
   * @throws {ReadTimeoutError} Nothing arrived within `timeout`.
   * @throws {IdleTimeoutError} Nothing arrived within `idleTimeout`.
   */
  async read(max: number = Infinity): Promise<Uint8Array | null> {
    if (this.#window.length === 0) {
      const deadline = this.#deadline(false, null);
      try {
        if (!(await this.#fill(deadline))) return null;
      } finally {
        deadline?.clear();
      }
    }
    return this.#window.take(Math.min(max, this.#window.length));
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
    // Fast path: the bytes are here; no deadline is needed.
    if (window.length >= n) return window.take(n);
    const deadline = this.#deadline();
    try {
      while (window.length < n) {
        if (!(await this.#fill(deadline))) throw new IncompleteFrameError(window.length, n);
      }
    } finally {
      deadline?.clear();
    }
    return window.take(n);
  }

  /**
   * Reads one UTF-8 line. Unlike Python's `readline()`, the `"\n"` or
   * `"\r\n"` is removed: end of stream is `null`, so an empty line needs no
   * terminator to be told apart. A last line without a newline is returned.
   *
   * @param limit The longest line accepted, in bytes.
   * @returns The line, or `null` at end of stream.
   * @throws {FrameTooLongError} No newline within `limit` bytes.
   * @throws {ReadTimeoutError} The peer stalled longer than `timeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The line took longer than `frameTimeout`.
   */
  readline(limit: number = DEFAULT_LINE_LIMIT): Promise<string | null> {
    return this.readFrame(new LinesCodec({ maxFrameLength: limit }).decoder());
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
   * @returns The frame, or `null` at end of stream on a frame boundary.
   * @throws {IncompleteFrameError} The stream ended inside a frame.
   * @throws {FrameTooLongError} The decoder's limit was exceeded.
   * @throws {ReadTimeoutError} The peer stalled longer than `timeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The frame took longer than `frameTimeout`.
   */
  async readFrame<Frame>(decoder: FrameDecoder<Frame>): Promise<Frame | null> {
    const window = this.#window;
    // Bytes buffered now belong to the frame being read: it has started.
    let started = window.length > 0;
    // Begun at the first wait that needs one.
    let deadline: FrameDeadline | undefined;
    try {
      for (;;) {
        // Fast path: a frame already buffered is returned without touching the socket.
        const frame = decoder.decode(window);
        if (frame !== undefined) return frame;
        if (this.#eof) return decoder.decodeEof(window) ?? null;
        // The fill is inline (no second async frame): this is the hot path.
        const starting = this.#startRead();
        if (starting !== undefined) await starting;
        deadline ??= this.#deadlineFrom(started);
        const count = await this.#wait(deadline);
        if (deadline !== undefined) deadline.received(count);
        else if (count) started = true;
        if (!this.#received(count)) return decoder.decodeEof(window) ?? null;
      }
    } finally {
      deadline?.clear();
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
      // The frame is whole: the deadlines of the wait for it are over.
      if (this.#loopDeadline !== undefined) this.#endLoopDeadline();
      this.#loopStarted = false;
      return frame;
    }
    return this.#eof ? decoder.decodeEof(this.#window) : undefined;
  }

  /**
   * Waits for more bytes: reads once from the socket into the buffer (after
   * `beforeWait`), for a frame loop that takes frames with
   * {@linkcode decodeBuffered}. `idleTimeout` and `frameTimeout` count from
   * the first wait after the last frame `decodeBuffered()` returned, across
   * waits, as they do within one `readFrame()`.
   *
   * @returns `true` when bytes arrived, `false` at end of stream.
   * @throws {ReadTimeoutError} The peer stalled longer than `timeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameTimeoutError} The frame took longer than `frameTimeout`.
   */
  readMore(): Promise<boolean> {
    if (this.#eof) return RESOLVED_FALSE;
    let deadline = this.#loopDeadline;
    // A wait that timed out ends the deadlines: a caller that goes on starts afresh.
    if (deadline === undefined || deadline.expired) {
      deadline = this.#loopDeadline = this.#deadlineFrom(
        this.#loopStarted || this.#window.length > 0,
      );
    }
    const starting = this.#startRead();
    if (starting !== undefined) {
      return starting.then(() => this.#wait(deadline).then(this.#tookMore));
    }
    // No async function: this is the frame loop's one promise per batch.
    return this.#wait(deadline).then(this.#tookMore);
  }

  /**
   * Iterates over frames until end of stream.
   *
   * @param source A codec (a fresh decoder is made), or a decoder to go on with.
   * @returns An async iterator of frames.
   */
  frames<Frame>(source: Codec<Frame, never> | FrameDecoder<Frame>): AsyncIterableIterator<Frame> {
    const decoder = "decoder" in source ? source.decoder() : source;
    return new FrameIterator(this, decoder, this.#window);
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
   * Reads once from the socket into free buffer space, within `deadline`
   * when one is given; `false` at end of stream.
   */
  async #fill(deadline?: FrameDeadline): Promise<boolean> {
    if (this.#eof) return false;
    const starting = this.#startRead();
    if (starting !== undefined) await starting;
    const count = await this.#wait(deadline);
    deadline?.received(count);
    return this.#received(count);
  }

  /** What `readMore()` does once its read is in: notes it for the deadlines, takes it in. */
  readonly #tookMore = (count: number | null): boolean => {
    const deadline = this.#loopDeadline;
    if (deadline === undefined) {
      if (count) this.#loopStarted = true;
    } else if (count === null) {
      // The stream ended: no frame is coming to end the deadlines.
      this.#endLoopDeadline();
    } else {
      deadline.received(count);
    }
    return this.#received(count);
  };

  /**
   * Begins the deadlines of one read, or returns `undefined` when none is
   * set; the deadlines `readMore()` keeps across waits end here.
   *
   * @param started Whether bytes of the frame are already buffered.
   * @param frameTimeout The frame's deadline (none for `read()`).
   */
  #deadline(
    started: boolean = this.#window.length > 0,
    frameTimeout: number | null = this.frameTimeout,
  ): FrameDeadline | undefined {
    this.#loopDeadline = undefined;
    if (this.idleTimeout === null && frameTimeout === null) return undefined;
    // One object per reader, made when a deadline is first needed.
    this.#deadlines ??= new FrameDeadline(this.#window);
    return this.#deadlines.begin(this.idleTimeout, frameTimeout, started);
  }

  /**
   * The deadlines of a wait whose frame has `started` or not, or `undefined`
   * when that phase has none: an idle wait with no `idleTimeout` makes no
   * object (so an idle connection holds none); the caller notes the first
   * bytes, and the frame's deadline begins at the next wait.
   */
  #deadlineFrom(started: boolean): FrameDeadline | undefined {
    if ((started ? this.frameTimeout : this.idleTimeout) === null) return undefined;
    return this.#deadline(started);
  }

  #endLoopDeadline(): void {
    this.#loopDeadline!.clear();
    this.#loopDeadline = undefined;
  }

  /**
   * Starts one socket read unless one is in flight: lets `beforeWait` run
   * first (the writer flushes there), then makes room. Returns the hook's
   * promise only when it gave one. The flush comes first: a large reply
   * queued without a copy may be a view of bytes that making room overwrites.
   */
  #startRead(): Promise<void> | undefined {
    if (this.#pending !== undefined) return undefined;
    const flushing = this.#beforeWait?.();
    if (flushing === undefined) {
      this.#issueRead();
      return undefined;
    }
    return flushing.then(() => this.#issueRead());
  }

  #issueRead(): void {
    this.#makeRoom();
    this.#pending = this.#source.read(this.#window.bytes.subarray(this.#window.end));
  }

  /**
   * The one place the reader waits for the peer: the read in flight, bounded
   * by `timeout` and by `deadline`. The read stays in flight when a bound
   * wins, so the next wait gets its bytes.
   */
  #wait(deadline: FrameDeadline | undefined): Promise<number | null> {
    const timeout = this.timeout;
    const read = timeout === null
      ? this.#pending!
      : withDeadline(this.#pending!, timeout, () => new ReadTimeoutError(timeout));
    return deadline === undefined ? read : deadline.bound(read);
  }

  /** Takes in what a read delivered; `false` at end of stream. */
  #received(count: number | null): boolean {
    this.#pending = undefined;
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
    return true;
  }

  /**
   * Makes free space after `end`. By default consumed bytes are never
   * overwritten (frames may be views of them): reads append into the free
   * tail, and when the tail is short the unconsumed bytes move to a new
   * buffer of the read-ahead size, or of the size the decoder said the frame
   * needs (`ByteWindow.reserve`), or twice their size when it said nothing:
   * one allocation per buffer of traffic, not one per frame. With
   * `reuseBuffer`, they move to the front of the same buffer instead.
   */
  #makeRoom(): void {
    const window = this.#window;
    const wanted = window.wanted;
    window.wanted = 0;
    const reuse = this.#overwritable;
    const size = window.bytes.length;
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
      // A frame of known size: room for all of it in place, or a buffer that fits it.
      if (window.start + wanted <= size && !outgrown) return;
      target = Math.max(this.#readAhead, wanted);
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

  /** Moves the unconsumed bytes to the start of a new buffer of `size` bytes. */
  #moveTo(size: number): void {
    const window = this.#window;
    const bytes = new Uint8Array(size);
    bytes.set(window.view());
    window.reset(bytes, 0, window.length);
    this.#overwritable = this.#reuseBuffer;
  }
}

/** Checks an `idleTimeout` or `frameTimeout` option. */
function checkDeadline(name: string, seconds: number | null): number | null {
  if (seconds === null) return null;
  if (typeof seconds !== "number" || !(seconds > 0 && seconds <= MAX_TIMER_SECONDS)) {
    throw new RangeError(
      `Cannot create reader: ${name} must be null or a number of seconds above 0 and at most ${MAX_TIMER_SECONDS}, got ${seconds}`,
    );
  }
  return seconds;
}

/**
 * The idle and frame deadlines of one frame read (one object per reader,
 * begun anew for each read). It is idle until a byte of the frame is here,
 * then the frame's: each is armed on the shared deadline clock at the first
 * wait that needs it, never a timer per frame or per read. A frame that
 * arrives in the read that ends the idle wait arms no frame deadline.
 */
class FrameDeadline implements Expiring {
  expiresAt = Infinity;
  clockSlot = -1;
  readonly #window: ByteWindow;
  #idleTimeout: number | null = null;
  #frameTimeout: number | null = null;
  #started = false;
  /** The seconds of the armed deadline; 0 while none is armed. */
  #armedSeconds = 0;
  /** Fails the wait in progress. */
  #fail: ((error: Error) => void) | undefined;
  #expired: Error | undefined;

  constructor(window: ByteWindow) {
    this.#window = window;
  }

  /** Starts the deadlines of a new read; `started`: bytes of its frame are buffered. */
  begin(idleTimeout: number | null, frameTimeout: number | null, started: boolean): this {
    this.clear();
    this.#idleTimeout = idleTimeout;
    this.#frameTimeout = frameTimeout;
    this.#started = started;
    this.#expired = undefined;
    return this;
  }

  /**
   * Bounds one socket read by the deadline in force (the read itself when
   * none is). The read stays in flight when the deadline wins: the next fill
   * awaits it, so no byte is lost.
   */
  bound(read: Promise<number | null>): Promise<number | null> {
    if (this.#expired !== undefined) return Promise.reject(this.#expired);
    if (this.#armedSeconds === 0) {
      const seconds = this.#started ? this.#frameTimeout : this.#idleTimeout;
      if (seconds === null) return read;
      this.#armedSeconds = seconds;
      this.expiresAt = performance.now() + seconds * 1000;
      arm(this);
    }
    // One promise per wait (Promise.race costs five times as much).
    return new Promise((resolve, reject) => {
      this.#fail = reject;
      read.then(resolve, (error) => {
        // A failed read ends the wait: the deadline must not outlive it.
        this.clear();
        reject(error);
      });
    });
  }

  /** Whether a deadline ran out (the wait it bounded failed). */
  get expired(): boolean {
    return this.#expired !== undefined;
  }

  /** Notes what a read delivered: the first bytes end the idle wait. */
  received(count: number | null): void {
    if (this.#started || count === null || count === 0) return;
    // The frame has started: the idle deadline is over, the frame's is armed at the next wait.
    this.#started = true;
    this.clear();
  }

  /** Disarms the deadline, if one is armed. */
  clear(): void {
    if (this.#armedSeconds === 0) return;
    this.#armedSeconds = 0;
    this.#fail = undefined;
    disarm(this);
  }

  /** Called by the clock when the armed deadline is due. */
  expire(): void {
    const seconds = this.#armedSeconds;
    this.#armedSeconds = 0;
    this.#expired = this.#started
      ? new FrameTimeoutError(seconds, this.#window.length)
      : new IdleTimeoutError(seconds);
    this.#fail?.(this.#expired);
    this.#fail = undefined;
  }
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
  readonly #window: ByteWindow;
  #done = false;

  constructor(reader: BufferedReader, decoder: FrameDecoder<Frame>, window: ByteWindow) {
    this.#reader = reader;
    this.#decoder = decoder;
    this.#window = window;
  }

  next(): Promise<IteratorResult<Frame>> {
    if (this.#done) return Promise.resolve(DONE);
    // Fast path: a buffered frame needs no socket read and no async function.
    const frame = this.#decoder.decode(this.#window);
    if (frame !== undefined) return Promise.resolve({ done: false, value: frame });
    return this.#reader.readFrame(this.#decoder).then(this.#toResult);
  }

  // Bound once, so a frame that needs a socket read allocates no closure.
  readonly #toResult = (next: Frame | null): IteratorResult<Frame> => {
    if (next !== null) return { done: false, value: next };
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
