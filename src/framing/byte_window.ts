/**
 * The window of buffered bytes a decoder reads from.
 *
 * The transport (a connection's reader, one datagram, a Web Stream) owns the
 * bytes; a decoder looks at `bytes[start, end)` and moves `start` forward past
 * what it has used, as tokio's `Decoder` does with a `BytesMut`. One window is
 * reused for the life of a connection, so decoding costs no allocation per step.
 *
 * The rule that makes zero-copy frames safe: a transport never overwrites
 * bytes a decoder has consumed. It appends new bytes after `end`, and when
 * it runs out of room it moves the unconsumed tail to a new buffer. So a
 * frame may be a view (`take()`) into `bytes` and stays valid for good.
 *
 * @module
 */

/**
 * A view of `bytes[start, end)` that decoders consume from the front.
 *
 * @example Consume a 2-byte header, then see what is left
 * ```ts
 * import { ByteWindow } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const window = new ByteWindow(new Uint8Array([0, 3, 1, 2, 3]));
 * assertEquals(window.length, 5);
 * window.advance(2);
 * assertEquals(window.view(), new Uint8Array([1, 2, 3]));
 * ```
 */
export class ByteWindow {
  /** The backing bytes; only `bytes[start, end)` are valid input. */
  bytes: Uint8Array;
  /** Index of the first byte not yet consumed. */
  start: number;
  /** Index one past the last valid byte. */
  end: number;
  /**
   * A decoder's hint: bytes from `start` the current frame needs in all, or
   * 0 when unknown. The transport may use it to size its next buffer, and
   * then clears it; see {@linkcode ByteWindow.reserve}.
   */
  wanted = 0;

  /**
   * Creates a window over `bytes[start, end)`.
   *
   * @param bytes The backing bytes.
   * @param start First valid index.
   * @param end One past the last valid index.
   */
  constructor(bytes: Uint8Array = new Uint8Array(0), start = 0, end: number = bytes.length) {
    this.bytes = bytes;
    this.start = start;
    this.end = end;
  }

  /**
   * The number of bytes not yet consumed.
   *
   * @returns `end - start`.
   */
  get length(): number {
    return this.end - this.start;
  }

  /**
   * Tells the transport the current frame needs `total` bytes from `start`
   * (header included), as tokio's `reserve`. Decoders that know a frame's
   * size call it before they return `undefined`, with the true total.
   *
   * It is a hint, not an allocation order: `total` comes from a length the
   * peer declared (checked against `maxFrameLength`, but not yet backed by
   * bytes). A transport may honour it gradually, growing its buffer as the
   * frame's bytes arrive, so that a peer that declares 8 MiB and stops
   * sending does not pin 8 MiB; or ignore it.
   *
   * @example A decoder hints at a 10-byte frame of which 4 bytes are here
   * ```ts
   * import { ByteWindow } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const window = new ByteWindow(new Uint8Array(4));
   * window.reserve(10);
   * assertEquals(window.wanted, 10);
   * ```
   *
   * @param total Bytes from `start` to the end of the frame.
   */
  reserve(total: number): void {
    this.wanted = total;
  }

  /**
   * Marks `count` bytes as consumed.
   *
   * @param count How many bytes to move past.
   * @throws {RangeError} When fewer than `count` bytes remain.
   */
  advance(count: number): void {
    if (count > this.end - this.start) {
      throw new RangeError(
        `Cannot advance window: ${count} bytes requested, ${this.end - this.start} available`,
      );
    }
    this.start += count;
  }

  /**
   * Takes the next `count` bytes as a frame: a view, not a copy (copying a
   * small frame costs more than decoding it). It stays valid, because
   * transports never overwrite consumed bytes; it shares memory with the
   * read buffer, so `slice()` a small frame you keep for long.
   *
   * @param count How many bytes to take.
   * @returns A view of `count` bytes.
   * @throws {RangeError} When fewer than `count` bytes remain.
   */
  take(count: number): Uint8Array {
    const start = this.start;
    this.advance(count);
    return this.bytes.subarray(start, start + count);
  }

  /**
   * A view (no copy) of the unconsumed bytes.
   *
   * @returns `bytes.subarray(start, end)`.
   */
  view(): Uint8Array {
    return this.bytes.subarray(this.start, this.end);
  }

  /**
   * Points the window at new bytes, as a transport does for each datagram.
   *
   * @param bytes The new backing bytes.
   * @param start First valid index.
   * @param end One past the last valid index.
   */
  reset(bytes: Uint8Array, start = 0, end: number = bytes.length): void {
    this.bytes = bytes;
    this.start = start;
    this.end = end;
  }
}
