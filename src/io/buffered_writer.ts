/**
 * The write side of a connection (`wfile`): writes are gathered and sent in
 * one `conn.write` per batch.
 *
 * @module
 */

import type { ByteSink, Codec } from "../framing/codec.ts";
import {
  deadlineAfter,
  holders,
  NOT_WAITING,
  unwatch,
  watch,
  type WatchKind,
} from "./_watchdog.ts";
import { WriteTimeoutError } from "./errors.ts";

/** Anything with Deno's `write(p)` contract, such as a `Deno.Conn`. */
export interface ByteDestination {
  /**
   * Writes some of `p`.
   *
   * @param p The bytes to write.
   * @returns How many bytes were written.
   */
  write(p: Uint8Array): Promise<number>;
  /**
   * Closes the destination, so that a write in flight fails. The writer
   * calls it when `writeTimeout` ends a write. A destination without it
   * still works: each write then costs a promise of its own.
   */
  close?(): void;
}

/** Options for {@linkcode BufferedWriter}. */
export interface BufferedWriterOptions {
  /**
   * Once this many bytes are buffered, `write()` sends them and waits for the
   * socket before it returns: the backpressure that keeps a slow reader from
   * growing server memory. Larger single chunks are sent without a copy.
   *
   * @default {65536}
   */
  highWaterMark?: number;
  /**
   * Seconds one write to the destination may wait for a peer that does not
   * read: then it fails with {@linkcode WriteTimeoutError} and the writer
   * closes the destination. It counts from each write, so a peer that reads
   * slowly but steadily is never cut off (nginx's `send_timeout`). No timer
   * is armed: the write's deadline is kept by the process-wide watchdog.
   * `null` waits forever.
   *
   * @default {null}
   */
  writeTimeout?: number | null;
}

const encoder = new TextEncoder();
const RESOLVED: Promise<void> = Promise.resolve();
const noop = (): void => {};
/** `#error` after `close()`: the writer refuses writes, but no send failed. */
const CLOSED = Symbol("closed");
/** Chunks up to this size are copied byte by byte (see #append). */
const SMALL_CHUNK = 16;

/** The watchdog's view of a writer; set by the class's static block. */
let watched: WatchKind<BufferedWriter>;

// The safety net for a write that no read follows: once a writer has stayed
// dirty for a few microtask hops (its handler went on to something other than
// reading, which would have flushed), it joins this set, and one timer for the
// whole process flushes the set on the next turn of the event loop. A handler
// that writes and then reads never arms a timer (a timer costs about as much
// as a small request); one that writes and then waits costs one timer per
// event-loop turn, shared by every connection. The hops are shared too: one
// microtask checks every writer being watched.
const SETTLE_HOPS = 3;
const dirtyWriters = new Set<BufferedWriter>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function flushDirtyWriters(): void {
  flushTimer = undefined;
  const writers = [...dirtyWriters];
  dirtyWriters.clear();
  // Errors are kept by each writer and thrown by its next call.
  for (const writer of writers) writer.flush().catch(noop);
}

function scheduleFlush(writer: BufferedWriter): void {
  dirtyWriters.add(writer);
  flushTimer ??= setTimeout(flushDirtyWriters, 0);
}

/**
 * A coalescing writer over a connection, the `wfile` of a stream handler.
 *
 * Writes are copied into a buffer and sent together: when the reader is about
 * to wait for the socket, when the handler returns, when `highWaterMark` bytes
 * are buffered, on `flush()`, or at the latest on the next turn of the event
 * loop. A pipelined client thus costs one syscall per batch, not per reply.
 *
 * @example Two writes leave in one syscall
 * ```ts
 * import { BufferedWriter } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * const sent: string[] = [];
 * const destination = {
 *   write(p: Uint8Array): Promise<number> {
 *     sent.push(new TextDecoder().decode(p));
 *     return Promise.resolve(p.length);
 *   },
 * };
 * const writer = new BufferedWriter(destination);
 * await writer.write("hello, ");
 * await writer.write("world\n");
 * await writer.close();
 * assertEquals(sent, ["hello, world\n"]);
 * ```
 */
export class BufferedWriter {
  /** Seconds a send may wait for the peer; `null` waits forever. */
  writeTimeout: number | null;

  readonly #destination: ByteDestination;
  readonly #highWaterMark: number;
  /** Chunks sealed for sending, in order: buffer segments and large chunks (made on first use). */
  #queue: Uint8Array[] | undefined;
  #queued = 0;
  /** The open buffer appends go to; allocated on first use so idle connections pin none. */
  #buffer: Uint8Array | undefined;
  #length = 0;
  /** Bytes at the start of the open buffer that a write is sending right now. */
  #inFlight = 0;
  #draining: Promise<void> | undefined;
  /** The chunk being written, how much of it is sent, and the open buffer it is in (if it is). */
  #flight: Uint8Array | undefined;
  #flightSent = 0;
  #flightBuffer: Uint8Array | undefined;
  #error: unknown;
  #closed = false;
  /** Microtask hops since the last write, while a flush is still owed (0: not watching). */
  #settleHops = 0;
  /** Whether this writer is in `dirtyWriters`, waiting for the shared flush timer. */
  #scheduled = false;
  /** Whether `cork()` holds back the safety flush. */
  #corked = false;
  /** The watchdog's: this writer's index in its list, -1 when not in it. */
  #watchSlot = -1;
  /** The watchdog's: NOT_WAITING, or the tick by which the write in flight must be taken. */
  #watchDeadline = NOT_WAITING;
  /** Rejects the write in flight, when it has a promise of its own (a destination with no `close()`). */
  #fail: ((error: unknown) => void) | undefined;

  /** The writer an encoder is writing into right now (encoding is synchronous). */
  static #encoding: BufferedWriter | undefined;
  /** The sink every writer hands its encoders: one for all, so a writer holds no closure for it. */
  static readonly #sink: ByteSink = { write: (bytes) => BufferedWriter.#encoding!.#append(bytes) };
  /** Writers whose flush is owed, checked once per microtask hop. */
  static readonly #watched: BufferedWriter[] = [];

  static {
    watched = {
      slot: (writer) => writer.#watchSlot,
      setSlot: (writer, slot) => void (writer.#watchSlot = slot),
      deadline: (writer) => writer.#watchDeadline,
      expire: (writer) => writer.#expire(),
    };
  }

  /**
   * Creates a writer over `destination`; no buffer is allocated until the first write.
   *
   * @param destination The connection to write to.
   * @param options Backpressure threshold and write timeout.
   */
  constructor(destination: ByteDestination, options: BufferedWriterOptions = {}) {
    this.#destination = destination;
    this.#highWaterMark = options.highWaterMark ?? 65536;
    this.writeTimeout = options.writeTimeout ?? null;
    if (!Number.isInteger(this.#highWaterMark) || this.#highWaterMark < 1) {
      throw new RangeError(
        `Cannot create writer: highWaterMark ${this.#highWaterMark} is not a positive integer`,
      );
    }
  }

  /**
   * Bytes written and not yet handed to the socket.
   *
   * @returns The count.
   */
  get buffered(): number {
    return this.#queued + this.#length;
  }

  /**
   * The back-pressure threshold: once this many bytes are buffered, `write()`
   * and `writeFrame()` wait for the socket, and `appendFrame()` starts
   * sending.
   *
   * @returns The threshold in bytes.
   */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  /**
   * Buffers bytes (a string is sent as UTF-8). Returns at once unless
   * `highWaterMark` bytes are waiting, in which case it waits for the socket.
   *
   * @param data The bytes or text to send.
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   * @throws {Deno.errors.BrokenPipe} The peer is gone (or another error from
   * an earlier send, which is reported by the next call).
   */
  write(data: Uint8Array | string): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#failure());
    this.#append(typeof data === "string" ? encoder.encode(data) : data);
    return this.#afterAppend();
  }

  /**
   * Encodes one frame with `codec` straight into the buffer.
   *
   * @param codec The framing format.
   * @param frame The frame.
   * @throws {FrameTooLongError} The codec refuses the frame.
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   */
  writeFrame<Input>(codec: Codec<unknown, Input>, frame: Input): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#failure());
    try {
      this.#encode(codec, frame);
    } catch (error) {
      // A refused frame is reported like every other write failure: as a rejection.
      return Promise.reject(error);
    }
    return this.#afterAppend();
  }

  /**
   * Encodes one frame into the buffer and returns at once, with no promise:
   * the write of a handler that never waits. Past `highWaterMark` it starts
   * sending but does not wait; back-pressure is the caller's, who waits for
   * `flush()` while `buffered` is at or above `highWaterMark` (the framed
   * connection's frame loop does). A chunk of `highWaterMark` bytes or more
   * is queued without a copy: keep it unchanged until that flush resolves.
   *
   * @example Append two frames, then send them in one write
   * ```ts
   * import { BufferedWriter, LinesCodec } from "@socketserver/core";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: string[] = [];
   * const writer = new BufferedWriter({
   *   write(p: Uint8Array): Promise<number> {
   *     sent.push(new TextDecoder().decode(p));
   *     return Promise.resolve(p.length);
   *   },
   * });
   * const codec = new LinesCodec();
   * writer.appendFrame(codec, "one");
   * writer.appendFrame(codec, "two");
   * assertEquals(writer.buffered, 8);
   * await writer.close();
   * assertEquals(sent, ["one\ntwo\n"]);
   * ```
   *
   * @param codec The framing format.
   * @param frame The frame.
   * @throws {FrameTooLongError} The codec refuses the frame.
   * @throws {Deno.errors.BrokenPipe} An earlier send failed (its error is
   * thrown again here).
   */
  appendFrame<Input>(codec: Codec<unknown, Input>, frame: Input): void {
    if (this.#error !== undefined) throw this.#failure();
    this.#encode(codec, frame);
    if (this.#queued + this.#length >= this.#highWaterMark) {
      // Errors are kept and thrown by the next call, so none goes unhandled.
      this.flush().catch(noop);
    } else {
      this.#watchSettle();
    }
  }

  /**
   * Sends everything buffered and waits until the socket has taken it.
   *
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   */
  flush(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#failure());
    if (this.#draining !== undefined) return this.#draining;
    if (this.#queued + this.#length === 0) return RESOLVED;
    if (this.#scheduled) {
      this.#scheduled = false;
      dirtyWriters.delete(this);
    }
    return this.#draining = this.#drain();
  }

  /**
   * Flushes, then refuses further writes and releases the shared flush timer
   * when no other writer needs it, so no timer outlives the last connection
   * (`flush()` alone leaves it to fire on the next turn of the event loop).
   * Closing again does nothing.
   *
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.flush();
    } finally {
      // The error itself is made only if a write comes: an Error's stack costs microseconds.
      this.#error ??= CLOSED;
      if (this.#watchSlot >= 0) unwatch(this, watched);
      dirtyWriters.delete(this);
      if (dirtyWriters.size === 0 && flushTimer !== undefined) {
        clearTimeout(flushTimer);
        flushTimer = undefined;
      }
    }
  }

  /** What a call after a failed send or after `close()` throws. */
  #failure(): unknown {
    return this.#error === CLOSED
      ? new Deno.errors.BadResource("Cannot write: the writer is closed")
      : this.#error;
  }

  #afterAppend(): Promise<void> {
    if (this.#queued + this.#length >= this.#highWaterMark) return this.flush();
    this.#watchSettle();
    return RESOLVED;
  }

  #encode<Input>(codec: Codec<unknown, Input>, frame: Input): void {
    const outer = BufferedWriter.#encoding;
    BufferedWriter.#encoding = this;
    try {
      codec.encode(frame, BufferedWriter.#sink);
    } finally {
      BufferedWriter.#encoding = outer;
    }
  }

  /**
   * Holds back the safety flush (see {@linkcode uncork}): until `uncork()`,
   * what is written waits for an explicit `flush()`. For a frame loop that
   * flushes before each wait, so the replies to a batch cost no check for a
   * flush that is coming anyway.
   *
   * @example Writes made while corked wait for the flush
   * ```ts
   * import { BufferedWriter } from "@socketserver/core";
   * import { assertEquals } from "@std/assert";
   *
   * const sent: string[] = [];
   * const writer = new BufferedWriter({
   *   write(p: Uint8Array): Promise<number> {
   *     sent.push(new TextDecoder().decode(p));
   *     return Promise.resolve(p.length);
   *   },
   * });
   * writer.cork();
   * await writer.write("a");
   * await new Promise((resolve) => setTimeout(resolve, 10));
   * assertEquals(sent, []);
   * await writer.flush();
   * writer.uncork();
   * assertEquals(sent, ["a"]);
   * await writer.close();
   * ```
   */
  cork(): void {
    this.#corked = true;
  }

  /**
   * Ends {@linkcode cork}: what is buffered, and what is written from here
   * on, is flushed within a few microtask hops unless a read (or a
   * `flush()`) sends it first, and at the latest on the next turn of the
   * event loop.
   */
  uncork(): void {
    this.#corked = false;
    if (this.#queued + this.#length > 0 && this.#draining === undefined) this.#watchSettle();
  }

  /** Starts watching for a read that flushes; a timer flushes if none comes. */
  #watchSettle(): void {
    if (this.#corked || this.#settleHops !== 0) return;
    this.#settleHops = 1;
    const watched = BufferedWriter.#watched;
    watched.push(this);
    if (watched.length === 1) queueMicrotask(BufferedWriter.#settle);
  }

  /**
   * Re-checks, once per microtask hop for a few hops, whether a read has
   * flushed each watched writer; schedules a flush for those still dirty.
   */
  static #settle(): void {
    const watched = BufferedWriter.#watched;
    let kept = 0;
    for (const writer of watched) {
      if (writer.#queued + writer.#length === 0 || writer.#draining !== undefined) {
        writer.#settleHops = 0;
      } else if (writer.#settleHops++ < SETTLE_HOPS) {
        watched[kept++] = writer;
      } else {
        writer.#settleHops = 0;
        writer.#scheduled = true;
        scheduleFlush(writer);
      }
    }
    watched.length = kept;
    if (kept > 0) queueMicrotask(BufferedWriter.#settle);
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length >= this.#highWaterMark) {
      // Fast path for large chunks: queue by reference, no copy. The caller
      // waits for the flush that #afterAppend starts before it may reuse them.
      this.#seal();
      (this.#queue ??= []).push(bytes);
      this.#queued += bytes.length;
      return;
    }
    let buffer = this.#buffer;
    const length = this.#length;
    const count = bytes.length;
    if (buffer === undefined || buffer.length - length < count) buffer = this.#grow(count);
    if (count <= SMALL_CHUNK) {
      // Fast path for headers: a byte loop beats the call into `set()` below 16 bytes.
      for (let i = 0; i < count; i++) buffer[this.#length + i] = bytes[i];
    } else {
      buffer.set(bytes, this.#length);
    }
    this.#length += count;
  }

  #grow(needed: number): Uint8Array {
    const current = this.#buffer;
    // Bytes in flight stay in the old buffer, which the write still holds.
    const kept = this.#length - this.#inFlight;
    let size = current === undefined ? 256 : current.length * 2;
    while (size - kept < needed) size *= 2;
    const buffer = new Uint8Array(size);
    if (current !== undefined) buffer.set(current.subarray(this.#inFlight, this.#length));
    this.#length = kept;
    this.#inFlight = 0;
    return this.#buffer = buffer;
  }

  /** Moves the open buffer's unsent bytes to the send queue. */
  #seal(): void {
    if (this.#length === this.#inFlight) return;
    (this.#queue ??= []).push(this.#buffer!.subarray(this.#inFlight, this.#length));
    this.#queued += this.#length - this.#inFlight;
    // The sealed bytes still live in this buffer until they are sent.
    this.#buffer = undefined;
    this.#length = 0;
    this.#inFlight = 0;
  }

  // No async function: a flush per batch is the hot path, and one write
  // promise with one reaction is the least it can cost. The chunk in flight
  // is kept in fields; the reactions are made per write, so an idle writer
  // holds none.
  #drain(): Promise<void> {
    // Older chunks first: the queue holds what was written before the open buffer.
    const fromQueue = this.#queued > 0;
    const chunk = fromQueue ? this.#queue![0] : this.#buffer!.subarray(0, this.#length);
    if (!fromQueue) this.#inFlight = chunk.length;
    this.#flight = chunk;
    this.#flightBuffer = fromQueue ? undefined : this.#buffer;
    this.#flightSent = 0;
    return this.#sendFlight(chunk);
  }

  #sendFlight(bytes: Uint8Array): Promise<void> {
    return this.#write(bytes).then(
      (count) => this.#written(count),
      (error) => this.#writeFailed(error),
    );
  }

  /** After a write: the rest of a partial write, then the next chunk, or done. */
  #written(count: number): Promise<void> | undefined {
    this.#writeEnded();
    const chunk = this.#flight!;
    const sent = this.#flightSent += count;
    if (sent < chunk.length) return this.#sendFlight(chunk.subarray(sent));
    const buffer = this.#flightBuffer;
    this.#flight = this.#flightBuffer = undefined;
    if (buffer === undefined) {
      this.#queue!.shift();
      this.#queued -= chunk.length;
    } else if (this.#buffer === buffer) {
      // Fast path: the open buffer was sent in place and is kept for the next
      // batch; appends made while it was in flight went after it.
      if (this.#length > chunk.length) buffer.copyWithin(0, chunk.length, this.#length);
      this.#length -= chunk.length;
      this.#inFlight = 0;
    }
    if (this.#queued + this.#length > 0) return this.#drain();
    this.#draining = undefined;
    return undefined;
  }

  #writeFailed(error: unknown): never {
    this.#writeEnded();
    // The first failure is the one reported: after a timeout, the closed
    // destination's own error is only its consequence.
    this.#error ??= error;
    this.#draining = undefined;
    this.#flight = this.#flightBuffer = undefined;
    throw this.#error;
  }

  /**
   * The one place the writer writes. With `writeTimeout`, the write notes
   * its deadline for the watchdog (no timer); it has a promise of its own
   * only when the watchdog cannot end it by closing the destination.
   */
  #write(bytes: Uint8Array): Promise<number> {
    const pending = this.#destination.write(bytes);
    const timeout = this.writeTimeout;
    if (timeout === null) return pending;
    this.#watchDeadline = deadlineAfter(timeout);
    if (this.#watchSlot < 0) watch(this, watched);
    if (this.#destination.close !== undefined) return pending;
    return new Promise((resolve, reject) => {
      this.#fail = reject;
      pending.then(resolve, reject);
    });
  }

  /** Between writes: a writer on its own leaves the watchdog's list (see `holdWatchdog`). */
  #writeEnded(): void {
    this.#watchDeadline = NOT_WAITING;
    if (holders === 0 && this.#watchSlot >= 0) unwatch(this, watched);
  }

  /**
   * Called by the watchdog when a write is past `writeTimeout`: the peer is
   * not reading. Fails the writer and closes the destination, which ends
   * the write in flight.
   */
  #expire(): void {
    this.#watchDeadline = NOT_WAITING;
    // Unsent: what is buffered, less what the write in flight has taken of its chunk.
    const unsent = this.buffered - (this.#flight === undefined ? 0 : this.#flightSent);
    this.#error ??= new WriteTimeoutError(this.writeTimeout ?? 0, unsent);
    this.#fail?.(this.#error);
    try {
      this.#destination.close?.();
    } catch {
      // Closed already: the write in flight has ended.
    }
  }
}
