// Test support: the two ends of a connection, driven by hand: a byte source
// the test feeds and a destination that records (and can hold) each write.
// Both close as a socket does (a read or write in flight fails), and while
// something waits on them they keep the event loop alive, as a socket's
// pending operation does: the watchdog that ends waits never does.

import { assert, assertEquals } from "@std/assert";
import type { ByteDestination, ByteSource } from "@socketserver/core/io";
import { concat } from "@std/bytes/concat";

const utf8 = new TextEncoder();
/** Longer than any test: a timer that only keeps the event loop alive. */
const FOREVER_MS = 2 ** 31 - 1;
const noop = (): void => {};

/**
 * A source the test feeds. Each read returns the next queued chunk, cut only
 * when the reader offers less room than the chunk holds (as a socket would);
 * with nothing queued a read waits for `push()` or `end()`.
 */
export class FakeSource implements ByteSource {
  /** How many times the reader called `read`. */
  reads = 0;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #closed = false;
  #waiting:
    | {
      p: Uint8Array;
      resolve: (count: number | null) => void;
      reject: (error: Error) => void;
      alive: ReturnType<typeof setTimeout>;
    }
    | undefined;

  /** A source that delivers `chunks`, one read each, then end of stream. */
  static of(...chunks: (string | Uint8Array)[]): FakeSource {
    const source = new FakeSource();
    for (const chunk of chunks) source.push(chunk);
    source.end();
    return source;
  }

  push(chunk: string | Uint8Array): void {
    this.#chunks.push(typeof chunk === "string" ? utf8.encode(chunk) : chunk);
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Whether `close()` was called (by the reader, when a deadline ended its wait). */
  get closed(): boolean {
    return this.#closed;
  }

  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    assert(p.length > 0, "the reader offered no room to read into");
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#chunks.length > 0 || this.#ended) return Promise.resolve(this.#serve(p));
    assertEquals(this.#waiting, undefined, "two reads in flight at once");
    return new Promise((resolve, reject) => {
      this.#waiting = { p, resolve, reject, alive: setTimeout(noop, FOREVER_MS) };
    });
  }

  /** Closes as a socket does: a read in flight fails with `Interrupted`. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("closed twice");
    this.#closed = true;
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#waiting = undefined;
    clearTimeout(waiting.alive);
    waiting.reject(new Deno.errors.Interrupted("operation canceled"));
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#waiting = undefined;
    clearTimeout(waiting.alive);
    waiting.resolve(this.#serve(waiting.p));
  }

  #serve(p: Uint8Array): number | null {
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return null;
    const count = Math.min(chunk.length, p.length);
    p.set(chunk.subarray(0, count));
    if (count < chunk.length) this.#chunks.unshift(chunk.subarray(count));
    return count;
  }
}

export interface FakeOptions {
  /** The most bytes one call accepts (a partial write). @default {Infinity} */
  maxPerCall?: number;
  /** Calls wait for `release()` instead of resolving at once. @default {false} */
  held?: boolean;
  /** Every call rejects with this. */
  error?: Error;
}

/**
 * A destination that records each call. What it received is copied at once,
 * since the writer may reuse its buffer after the call resolves; the arrays
 * themselves are kept too, to check that large chunks were not copied.
 */
export class FakeDestination implements ByteDestination {
  /** A copy of the bytes each call accepted. */
  readonly calls: Uint8Array[] = [];
  /** The array each call was given. */
  readonly given: Uint8Array[] = [];
  readonly #options: FakeOptions;
  readonly #held: {
    count: number;
    resolve: (count: number) => void;
    reject: (error: Error) => void;
    alive: ReturnType<typeof setTimeout>;
  }[] = [];
  #waiters: { total: number; resolve: () => void }[] = [];
  #closed = false;

  constructor(options: FakeOptions = {}) {
    this.#options = options;
  }

  /** Every byte accepted so far, in order. */
  get received(): Uint8Array {
    return concat(this.calls);
  }

  /** Calls waiting for `release()`. */
  get held(): number {
    return this.#held.length;
  }

  /** Whether `close()` was called (by the writer, when `writeTimeout` ended a write). */
  get closed(): boolean {
    return this.#closed;
  }

  write(p: Uint8Array): Promise<number> {
    this.given.push(p);
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#options.error !== undefined) return Promise.reject(this.#options.error);
    const count = Math.min(p.length, this.#options.maxPerCall ?? Infinity);
    this.calls.push(p.slice(0, count));
    const total = this.received.length;
    for (const waiter of this.#waiters.filter((waiter) => waiter.total <= total)) waiter.resolve();
    this.#waiters = this.#waiters.filter((waiter) => waiter.total > total);
    if (!this.#options.held) return Promise.resolve(count);
    return new Promise((resolve, reject) => {
      this.#held.push({ count, resolve, reject, alive: setTimeout(noop, FOREVER_MS) });
    });
  }

  /** Closes as a socket does: held calls fail with `Interrupted`. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("closed twice");
    this.#closed = true;
    for (const call of this.#held.splice(0)) {
      clearTimeout(call.alive);
      call.reject(new Deno.errors.Interrupted("operation canceled"));
    }
  }

  /** Resolves once `total` bytes have been received in all. */
  receivedAtLeast(total: number): Promise<void> {
    if (this.received.length >= total) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ total, resolve }));
  }

  /** Lets the oldest held call resolve. */
  release(): void {
    const call = this.#held.shift();
    assert(call !== undefined, "no write call is waiting");
    clearTimeout(call.alive);
    call.resolve(call.count);
  }

  /** Lets every held call resolve, so that no promise outlives the test. */
  releaseAll(): void {
    while (this.#held.length > 0) this.release();
  }
}
