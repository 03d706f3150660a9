// Test support: a byte source a test feeds by hand, standing in for a socket.

import { assert, assertEquals } from "@std/assert";
import type { ByteSource } from "@socketserver/core/io";

const utf8 = new TextEncoder();

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
  #waiting: { p: Uint8Array; resolve: (count: number | null) => void } | undefined;

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

  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    assert(p.length > 0, "the reader offered no room to read into");
    if (this.#chunks.length > 0 || this.#ended) return Promise.resolve(this.#serve(p));
    assertEquals(this.#waiting, undefined, "two reads in flight at once");
    return new Promise((resolve) => this.#waiting = { p, resolve });
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#waiting = undefined;
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
