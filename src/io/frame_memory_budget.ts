/**
 * The memory all connections' large frames may hold at once: the server-wide
 * bound that makes worst-case memory a number.
 *
 * @module
 */

import { FrameMemoryError } from "./errors.ts";

/** What one holder holds, and how to make it let go. */
interface Holding {
  bytes: number;
  evict: (error: FrameMemoryError) => void;
}

/**
 * A budget for the bytes that readers' frame buffers hold past their
 * read-ahead (64 KiB each), shared by every connection of a server.
 *
 * A reader's buffer grows past its read-ahead only for a frame that needs
 * more, and only as that frame's bytes arrive (by at most 4 times what has
 * arrived). Each time it grows or shrinks, the reader tells the budget how
 * much it holds past the read-ahead (`hold()`): once per buffer, not per
 * read or per frame, so the budget costs nothing on the hot path. When the
 * total passes `limit`, the holders holding the most are evicted, largest
 * first, until it is back under: each reader fails with a
 * {@linkcode FrameMemoryError} and closes its connection. The readers
 * are looked at only then.
 *
 * Under strain (more than half of the budget held), a reader does not keep
 * a grown buffer for its next frame once its frame is done.
 *
 * @example Two holders, and a third that takes the budget over
 * ```ts
 * import { FrameMemoryBudget, FrameMemoryError } from "@socketserver/core/io";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const budget = new FrameMemoryBudget(1000);
 * const evicted: string[] = [];
 * const holder = (name: string) => ({ name });
 * const [a, b, c] = ["a", "b", "c"].map(holder);
 * const evict = (who: { name: string }) => (error: FrameMemoryError) => {
 *   assertInstanceOf(error, FrameMemoryError);
 *   evicted.push(`${who.name}: ${error.held} of ${error.total}`);
 * };
 * budget.hold(a, 400, evict(a));
 * budget.hold(b, 500, evict(b));
 * assertEquals(budget.held, 900);
 * budget.hold(c, 300, evict(c)); // 1200: the largest holder goes
 * assertEquals(evicted, ["b: 500 of 1200"]);
 * assertEquals([budget.held, budget.holders], [700, 2]);
 * ```
 */
export class FrameMemoryBudget {
  /** The most bytes all holders may hold at once. */
  readonly limit: number;

  #held = 0;
  readonly #holdings = new Map<object, Holding>();

  /**
   * Creates a budget.
   *
   * @param limit The most bytes all holders may hold at once.
   * @throws {RangeError} `limit` is not a positive integer.
   */
  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot create frame memory budget: limit ${limit} is not a positive integer`,
      );
    }
    this.limit = limit;
  }

  /**
   * Bytes held by all holders now.
   *
   * @returns The total.
   */
  get held(): number {
    return this.#held;
  }

  /**
   * How many holders hold bytes now.
   *
   * @returns The count.
   */
  get holders(): number {
    return this.#holdings.size;
  }

  /**
   * Whether more than half of the budget is held: readers then give up
   * grown buffers as soon as their frame is done.
   *
   * @returns `true` under strain.
   */
  get strained(): boolean {
    return this.#held > this.limit / 2;
  }

  /**
   * Records that `holder` now holds `bytes` (0 lets go). When the total
   * passes `limit`, evicts the largest holders (`holder` too, if it is
   * among them) until it is back within it: each is forgotten and its
   * `evict` called with the numbers.
   *
   * @param holder Who holds the bytes (a reader).
   * @param bytes How many bytes it holds now, in all.
   * @param evict Makes the holder let go; called at most once, synchronously.
   */
  hold(holder: object, bytes: number, evict: (error: FrameMemoryError) => void): void {
    const holding = this.#holdings.get(holder);
    const before = holding?.bytes ?? 0;
    if (bytes === 0) {
      if (holding !== undefined) this.release(holder);
      return;
    }
    if (holding === undefined) this.#holdings.set(holder, { bytes, evict });
    else {
      holding.bytes = bytes;
      holding.evict = evict;
    }
    this.#held += bytes - before;
    if (bytes > before && this.#held > this.limit) this.#evictLargest();
  }

  /**
   * Forgets what `holder` holds (a reader that closed).
   *
   * @param holder Who held the bytes.
   */
  release(holder: object): void {
    const holding = this.#holdings.get(holder);
    if (holding === undefined) return;
    this.#holdings.delete(holder);
    this.#held -= holding.bytes;
  }

  /** Over the limit: evicts holders, largest first, until the total is within it. */
  #evictLargest(): void {
    const total = this.#held;
    const largestFirst = [...this.#holdings].sort(([, a], [, b]) => b.bytes - a.bytes);
    for (const [holder, holding] of largestFirst) {
      if (this.#held <= this.limit) break;
      this.release(holder);
      holding.evict(new FrameMemoryError(holding.bytes, total, this.limit));
    }
  }
}
