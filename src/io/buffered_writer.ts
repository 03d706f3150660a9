/**
 * The write side of a connection (`wfile`): writes are gathered and sent in
 * one `conn.write` per batch.
 *
 * @module
 */

import type { ByteSink, Codec } from "../framing/codec.ts";
import { withDeadline } from "./_deadline.ts";
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
   * Seconds a send may wait for a peer that does not read before it fails
   * with {@linkcode WriteTimeoutError}; `null` waits forever.
   *
   * @default {null}
   */
  writeTimeout?: number | null;
}

const encoder = new TextEncoder();
const RESOLVED: Promise<void> = Promise.resolve();

// The safety net for a write that no read follows: once a writer has stayed
// dirty for a few microtask hops (its handler went on to something other than
// reading, which would have flushed), it joins this set, and one timer for the
// whole process flushes the set on the next turn of the event loop. A handler
// that writes and then reads never arms a timer (a timer costs about as much
// as a small request); one that writes and then waits costs one timer per
// event-loop turn, shared by every connection.
const SETTLE_HOPS = 3;
const dirtyWriters = new Set<BufferedWriter>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function flushDirtyWriters(): void {
  flushTimer = undefined;
  const writers = [...dirtyWriters];
  dirtyWriters.clear();
  // Errors are kept by each writer and thrown by its next call.
  for (const writer of writers) writer.flush().catch(() => {});
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
  /** Chunks sealed for sending, in order: buffer segments and large chunks. */
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** The open buffer appends go to; allocated on first use so idle connections pin none. */
  #buffer: Uint8Array | undefined;
  #length = 0;
  /** Bytes at the start of the open buffer that a write is sending right now. */
  #inFlight = 0;
  #draining: Promise<void> | undefined;
  #error: unknown;
  #closed = false;
  /** Microtask hops since the last write, while a flush is still owed (0: not watching). */
  #settleHops = 0;
  readonly #sink: ByteSink = { write: (bytes) => this.#append(bytes) };

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
   * Buffers bytes (a string is sent as UTF-8). Returns at once unless
   * `highWaterMark` bytes are waiting, in which case it waits for the socket.
   *
   * @param data The bytes or text to send.
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   * @throws {Deno.errors.BrokenPipe} The peer is gone (or another error from
   * an earlier send, which is reported by the next call).
   */
  write(data: Uint8Array | string): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
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
    if (this.#error !== undefined) return Promise.reject(this.#error);
    try {
      codec.encode(frame, this.#sink);
    } catch (error) {
      // A refused frame is reported like every other write failure: as a rejection.
      return Promise.reject(error);
    }
    return this.#afterAppend();
  }

  /**
   * Sends everything buffered and waits until the socket has taken it.
   *
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   */
  flush(): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#draining !== undefined) return this.#draining;
    if (this.#queued + this.#length === 0) return RESOLVED;
    dirtyWriters.delete(this);
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
      this.#error ??= new Deno.errors.BadResource("Cannot write: the writer is closed");
      dirtyWriters.delete(this);
      if (dirtyWriters.size === 0 && flushTimer !== undefined) {
        clearTimeout(flushTimer);
        flushTimer = undefined;
      }
    }
  }

  #afterAppend(): Promise<void> {
    if (this.#queued + this.#length >= this.#highWaterMark) return this.flush();
    if (this.#settleHops === 0) {
      this.#settleHops = 1;
      queueMicrotask(this.#settle);
    }
    return RESOLVED;
  }

  /** Re-checks for a few microtask hops whether a read has flushed; else schedules a flush. */
  readonly #settle = (): void => {
    if (this.#queued + this.#length === 0 || this.#draining !== undefined) {
      this.#settleHops = 0;
    } else if (this.#settleHops++ < SETTLE_HOPS) {
      queueMicrotask(this.#settle);
    } else {
      this.#settleHops = 0;
      scheduleFlush(this);
    }
  };

  #append(bytes: Uint8Array): void {
    if (bytes.length >= this.#highWaterMark) {
      // Fast path for large chunks: queue by reference, no copy. The caller
      // waits for the flush that #afterAppend starts before it may reuse them.
      this.#seal();
      this.#queue.push(bytes);
      this.#queued += bytes.length;
      return;
    }
    let buffer = this.#buffer;
    if (buffer === undefined || buffer.length - this.#length < bytes.length) {
      buffer = this.#grow(bytes.length);
    }
    buffer.set(bytes, this.#length);
    this.#length += bytes.length;
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
    this.#queue.push(this.#buffer!.subarray(this.#inFlight, this.#length));
    this.#queued += this.#length - this.#inFlight;
    // The sealed bytes still live in this buffer until they are sent.
    this.#buffer = undefined;
    this.#length = 0;
    this.#inFlight = 0;
  }

  // One async frame per flush, with the partial-write loop inline: a flush
  // per request is the hot path, and every extra promise shows up as GC time.
  async #drain(): Promise<void> {
    try {
      while (this.#queued + this.#length > 0) {
        // Older chunks first: the queue holds what was written before the open buffer.
        const fromQueue = this.#queued > 0;
        const buffer = this.#buffer;
        const chunk = fromQueue ? this.#queue[0] : buffer!.subarray(0, this.#length);
        if (!fromQueue) this.#inFlight = chunk.length;
        for (let sent = 0; sent < chunk.length;) {
          sent += await this.#write(sent === 0 ? chunk : chunk.subarray(sent), chunk.length - sent);
        }
        if (fromQueue) {
          this.#queue.shift();
          this.#queued -= chunk.length;
        } else if (this.#buffer === buffer) {
          // Fast path: the open buffer was sent in place and is kept for the next
          // batch; appends made while it was in flight went after it.
          buffer!.copyWithin(0, chunk.length, this.#length);
          this.#length -= chunk.length;
          this.#inFlight = 0;
        }
      }
    } catch (error) {
      this.#error = error;
      throw error;
    } finally {
      this.#draining = undefined;
    }
  }

  #write(bytes: Uint8Array, unsent: number): Promise<number> {
    const pending = this.#destination.write(bytes);
    const timeout = this.writeTimeout;
    if (timeout === null) return pending;
    return withDeadline(pending, timeout, () => new WriteTimeoutError(timeout, unsent));
  }
}
