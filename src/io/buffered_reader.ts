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
import { withDeadline } from "./deadline.ts";
import { ReadTimeoutError } from "./errors.ts";

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
 * import assert from "node:assert/strict";
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
 * assert.equal(await reader.readline(), "HELLO");
 * assert.deepEqual(await reader.readExactly(4), new TextEncoder().encode("abcd"));
 * assert.equal(await reader.read(), null);
 * ```
 */
export class BufferedReader implements AsyncIterable<Uint8Array> {
  /** Seconds a read may wait; `null` waits forever. */
  timeout: number | null;

  readonly #source: ByteSource;
  readonly #beforeWait: (() => Promise<void> | void) | undefined;
  readonly #reuseBuffer: boolean;
  #window: ByteWindow;
  #eof = false;
  /** A read still in flight after a timeout; the next fill awaits it so no byte is lost. */
  #pending: Promise<number | null> | undefined;
  /** Bytes the next buffer gets: doubles while reads fill it, up to MAX_READ_AHEAD. */
  #readAhead: number;

  /**
   * Creates a reader over `source`; nothing is read until asked.
   *
   * @param source The connection to read from.
   * @param options Timeout, first buffer size, and the before-wait hook.
   */
  constructor(source: ByteSource, options: BufferedReaderOptions = {}) {
    this.#source = source;
    this.timeout = options.timeout ?? null;
    this.#beforeWait = options.beforeWait;
    this.#reuseBuffer = options.reuseBuffer ?? false;
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
   */
  async read(max: number = Infinity): Promise<Uint8Array | null> {
    if (this.#window.length === 0 && !(await this.#fill())) return null;
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
   */
  async readExactly(n: number): Promise<Uint8Array> {
    while (this.#window.length < n) {
      if (!(await this.#fill())) throw new IncompleteFrameError(this.#window.length, n);
    }
    return this.#window.take(n);
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
   */
  async readFrame<Frame>(decoder: FrameDecoder<Frame>): Promise<Frame | null> {
    const window = this.#window;
    for (;;) {
      // Fast path: a frame already buffered is returned without touching the socket.
      const frame = decoder.decode(window);
      if (frame !== undefined) return frame;
      if (this.#eof) return decoder.decodeEof(window) ?? null;
      // The fill is inline (one await, no second async frame): this is the hot path.
      if (this.#pending === undefined) await this.#startRead();
      if (!this.#received(await this.#awaitRead())) return decoder.decodeEof(window) ?? null;
    }
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

  /** Reads once from the socket into free buffer space; `false` at end of stream. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#pending === undefined) await this.#startRead();
    return this.#received(await this.#awaitRead());
  }

  /**
   * Makes room, lets `beforeWait` run (the writer flushes there), then starts
   * one socket read. Returns the hook's promise only when it gave one.
   */
  #startRead(): Promise<void> | void {
    this.#makeRoom();
    const flushing = this.#beforeWait?.();
    if (flushing === undefined) return this.#issueRead();
    return flushing.then(this.#issueRead);
  }

  readonly #issueRead = (): void => {
    this.#pending = this.#source.read(this.#window.bytes.subarray(this.#window.end));
  };

  /** The read in flight, bounded by `timeout`; it stays in flight after a timeout. */
  #awaitRead(): Promise<number | null> {
    const timeout = this.timeout;
    return timeout === null
      ? this.#pending!
      : withDeadline(this.#pending!, timeout, () => new ReadTimeoutError(timeout));
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
    // Reuse mode: once everything is consumed, start over at the front.
    if (this.#reuseBuffer && window.length === 0) window.start = window.end = 0;
    const size = window.bytes.length;
    let target: number;
    if (wanted > window.length) {
      // A frame of known size: room for all of it in place, or a buffer that fits it.
      if (window.start + wanted <= size) return;
      target = Math.max(this.#readAhead, wanted);
    } else {
      if (size - window.end >= this.#readAhead / 4) return;
      target = Math.max(this.#readAhead, window.length * 2);
    }
    if (this.#reuseBuffer && target <= size) {
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
