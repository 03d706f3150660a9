/**
 * Fixed-size records: every frame has the same length, so no header is
 * needed. {@linkcode FixedLengthCodec} cuts a stream into `frameLength`-byte
 * frames, like Netty's `FixedLengthFrameDecoder`.
 *
 * ```
 * { frameLength: 3 }
 *
 * +----------+----------+----------+      +----------+  +----------+  +----------+
 * | 41 42 43 | 44 45 46 | 47 48 49 |  ->  | 41 42 43 |, | 44 45 46 |, | 47 48 49 |
 * +----------+----------+----------+      +----------+  +----------+  +----------+
 * ```
 *
 * Bytes left over at the end of the stream, fewer than `frameLength`, are an
 * {@linkcode IncompleteFrameError}.
 *
 * @module
 */

import type { ByteWindow } from "./byte_window.ts";
import { type ByteSink, type Codec, DEFAULT_MAX_FRAME_LENGTH, type FrameDecoder } from "./codec.ts";
import { IncompleteFrameError } from "./errors.ts";
import { checkInteger } from "./_frame_limits.ts";

/** Options for {@linkcode FixedLengthCodec}. */
export interface FixedLengthCodecOptions {
  /** The length of every frame, in bytes: a positive integer. */
  frameLength: number;
  /**
   * The largest `frameLength` accepted, a guard against a size computed by
   * mistake: each decoder buffers up to `frameLength` bytes.
   *
   * @default {8388608} (8 MiB, {@linkcode DEFAULT_MAX_FRAME_LENGTH})
   */
  maxFrameLength?: number;
}

const CODEC_NAME = "FixedLengthCodec";

/**
 * Frames of one fixed length, with nothing between them. Frames are
 * views of the received bytes that stay valid. A frame can never be too long, so there is
 * no `onTooLong` policy.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(frame,
 * sink)` writes a frame of exactly `frameLength` bytes.
 *
 * @example Cut a stream into 4-byte records
 * ```ts
 * import { decodeFrames, encodeFrame, FixedLengthCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new FixedLengthCodec({ frameLength: 4 });
 * const frames = decodeFrames(codec, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
 * assertEquals(frames, [new Uint8Array([1, 2, 3, 4]), new Uint8Array([5, 6, 7, 8])]);
 * assertEquals(encodeFrame(codec, frames[1]), new Uint8Array([5, 6, 7, 8]));
 * ```
 */
export class FixedLengthCodec implements Codec<Uint8Array> {
  /** The length of every frame. */
  readonly frameLength: number;
  /** The largest `frameLength` this codec was allowed. */
  readonly maxFrameLength: number;

  /**
   * Makes a codec for frames of `options.frameLength` bytes.
   *
   * @param options The frame length and its limit.
   * @throws {TypeError} `frameLength` or `maxFrameLength` is not a number.
   * @throws {RangeError} `frameLength` is not a positive integer, or exceeds
   * `maxFrameLength`.
   */
  constructor(options: FixedLengthCodecOptions) {
    this.maxFrameLength = checkInteger(
      CODEC_NAME,
      "maxFrameLength",
      options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
      0,
    );
    this.frameLength = checkInteger(CODEC_NAME, "frameLength", options.frameLength, 1);
    if (this.frameLength > this.maxFrameLength) {
      throw new RangeError(
        `Cannot create ${CODEC_NAME}: frameLength ${this.frameLength} exceeds maxFrameLength ${this.maxFrameLength}`,
      );
    }
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example A record split across two reads
   * ```ts
   * import { ByteWindow, FixedLengthCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const decoder = new FixedLengthCodec({ frameLength: 3 }).decoder();
   * const input = new ByteWindow(new Uint8Array([1, 2]));
   * assertEquals(decoder.decode(input), undefined);
   * input.reset(new Uint8Array([1, 2, 3]));
   * assertEquals(decoder.decode(input), new Uint8Array([1, 2, 3]));
   * ```
   *
   * @returns A fresh decoder. Its `decodeEof` throws
   * {@linkcode IncompleteFrameError} when fewer than `frameLength` bytes are left.
   */
  decoder(): FrameDecoder<Uint8Array> {
    return new FixedLengthDecoder(this.frameLength);
  }

  /**
   * Writes one frame as it is: no header.
   *
   * @example A record of the wrong size is refused
   * ```ts
   * import { encodeFrame, FixedLengthCodec } from "@socketserver/core/framing";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const codec = new FixedLengthCodec({ frameLength: 2 });
   * assertEquals(encodeFrame(codec, new Uint8Array([1, 2])), new Uint8Array([1, 2]));
   * assertThrows(() => encodeFrame(codec, new Uint8Array([1, 2, 3])), RangeError);
   * ```
   *
   * @param frame Exactly `frameLength` bytes.
   * @param sink Where the bytes go.
   * @throws {RangeError} The frame is not `frameLength` bytes long.
   */
  encode(frame: Uint8Array, sink: ByteSink): void {
    if (frame.length !== this.frameLength) {
      throw new RangeError(
        `Cannot encode frame: length ${frame.length} is not frameLength ${this.frameLength}`,
      );
    }
    sink.write(frame);
  }
}

// Stateless apart from its setting, but one per connection all the same, as
// the contract says.
class FixedLengthDecoder implements FrameDecoder<Uint8Array> {
  #frameLength: number;

  constructor(frameLength: number) {
    this.#frameLength = frameLength;
  }

  decode(input: ByteWindow): Uint8Array | undefined {
    if (input.end - input.start < this.#frameLength) {
      input.reserve(this.#frameLength);
      return undefined;
    }
    return input.take(this.#frameLength);
  }

  decodeEof(input: ByteWindow): Uint8Array | undefined {
    // A caller that skipped the last `decode` still gets a whole frame.
    const frame = this.decode(input);
    if (frame !== undefined) return frame;
    const received = input.end - input.start;
    if (received === 0) return undefined;
    throw new IncompleteFrameError(received, this.#frameLength);
  }
}
