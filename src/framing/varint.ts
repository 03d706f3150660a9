/**
 * Varint length prefixes: each frame starts with its length as an unsigned
 * LEB128 varint (seven bits a byte, least significant group first, the high
 * bit set on every byte but the last), then the payload. This is protobuf's
 * "delimited" format (`writeDelimitedTo` / `parseDelimitedFrom`), so
 * {@linkcode VarintLengthCodec} frames a stream of protobuf messages.
 *
 * ```
 * + len +--- payload ---+      +--- payload ---+
 * | 0B  |  Hello world  |  ->  |  Hello world  |
 * +-----+---------------+      +---------------+
 *
 * +- len -+------ payload ------+      +------ payload ------+
 * | AC 02 |  300 bytes          |  ->  |  300 bytes          |
 * +-------+---------------------+      +---------------------+
 * ```
 *
 * `AC 02` is 300: `0x2C + 0x02 * 128`. A frame under 128 bytes pays one byte
 * of header.
 *
 * Bad input is refused early. The length is checked against
 * `maxFrameLength` byte by byte as the varint is read, so a hostile prefix
 * fails before its varint even ends (the error then reports the value read
 * so far). A varint that runs past 10 bytes, or whose value passes
 * `Number.MAX_SAFE_INTEGER`, is a {@linkcode FrameSyntaxError}. With
 * `onTooLong: "discard"`, a too-long frame is skipped as it arrives and the
 * next one decoded.
 *
 * @module
 */

import { type FrameHead, HeadedDecoder, NEED_MORE } from "./_headed_decoder.ts";
import type { ByteWindow } from "./byte_window.ts";
import type { ByteSink, Codec, FrameDecoder, FrameLimits, TooLongPolicy } from "./codec.ts";
import { FrameSyntaxError, FrameTooLongError } from "./errors.ts";
import { resolveFrameLimits } from "./_frame_limits.ts";

/**
 * Options for {@linkcode VarintLengthCodec}: the limits every codec has.
 * `maxFrameLength` bounds the payload, not counting the varint.
 */
export interface VarintLengthCodecOptions extends FrameLimits {}

// 64 bits in 7-bit groups; no length this codec accepts needs more than 8.
const MAX_VARINT_BYTES = 10;
// Number.MAX_SAFE_INTEGER needs ceil(53 / 7) = 8 bytes.
const MAX_ENCODED_VARINT_BYTES = 8;

/**
 * Frames prefixed by their length as an unsigned LEB128 varint, as
 * protobuf's delimited messages are. Frames are `Uint8Array`s the caller
 * owns, the varint left out.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(frame,
 * sink)` writes a frame.
 *
 * @example Round-trip a short and a long frame
 * ```ts
 * import { decodeFrames, encodeFrame, VarintLengthCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new VarintLengthCodec();
 * const long = new Uint8Array(300);
 * const wire = encodeFrame(codec, long);
 * assertEquals(wire.subarray(0, 2), new Uint8Array([0xac, 0x02]));
 * assertEquals(encodeFrame(codec, new Uint8Array([7])), new Uint8Array([1, 7]));
 * assertEquals(decodeFrames(codec, wire), [long]);
 * ```
 */
export class VarintLengthCodec implements Codec<Uint8Array> {
  /** The largest payload decoded or encoded. */
  readonly maxFrameLength: number;
  /** What the decoder does with a payload over `maxFrameLength`. */
  readonly onTooLong: TooLongPolicy;

  // Encoding reuses one header, with a view per varint width made up front:
  // the sink copies what it is given, and no subarray is made per frame.
  // Not std's `encodeVarint`: it goes through a BigInt and slices a new
  // array per call, about 70 times slower per frame here.
  #headerViews: Uint8Array[];

  /**
   * Makes a codec.
   *
   * @param options The limits.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: VarintLengthCodecOptions = {}) {
    const { maxFrameLength, onTooLong } = resolveFrameLimits("VarintLengthCodec", options);
    this.maxFrameLength = maxFrameLength;
    this.onTooLong = onTooLong;
    const header = new Uint8Array(MAX_ENCODED_VARINT_BYTES);
    this.#headerViews = [];
    for (let width = 0; width <= MAX_ENCODED_VARINT_BYTES; width++) {
      this.#headerViews.push(header.subarray(0, width));
    }
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example A varint split across two reads
   * ```ts
   * import { ByteWindow, VarintLengthCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const decoder = new VarintLengthCodec().decoder();
   * const input = new ByteWindow(new Uint8Array([0x81]));
   * assertEquals(decoder.decode(input), undefined); // the varint goes on
   * input.reset(new Uint8Array([0x81, 0x00, 9])); // 0x81 0x00 is 1, written long
   * assertEquals(decoder.decode(input), new Uint8Array([9]));
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws {@linkcode FrameTooLongError}
   * for a length over `maxFrameLength` (unless `onTooLong` is `"discard"`) and
   * {@linkcode FrameSyntaxError} for a varint over 10 bytes or past
   * `Number.MAX_SAFE_INTEGER`; its `decodeEof` throws
   * {@linkcode IncompleteFrameError} when the stream ends inside a frame.
   */
  decoder(): FrameDecoder<Uint8Array> {
    return new HeadedDecoder<Uint8Array>(new VarintHead(this.maxFrameLength, this.onTooLong), {
      maxPayloadLength: this.maxFrameLength,
      onTooLong: this.onTooLong,
    });
  }

  /**
   * Writes one frame: its length as a varint, then its bytes.
   *
   * @example A frame over the limit is refused
   * ```ts
   * import { encodeFrame, FrameTooLongError, VarintLengthCodec } from "@socketserver/core/framing";
   * import { assertThrows } from "@std/assert";
   *
   * const codec = new VarintLengthCodec({ maxFrameLength: 2 });
   * assertThrows(() => encodeFrame(codec, new Uint8Array(3)), FrameTooLongError);
   * ```
   *
   * @param frame The payload.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} The frame exceeds `maxFrameLength`.
   */
  encode(frame: Uint8Array, sink: ByteSink): void {
    let length = frame.length;
    if (length > this.maxFrameLength) {
      throw new FrameTooLongError(length, this.maxFrameLength, "encode");
    }
    const views = this.#headerViews;
    const header = views[MAX_ENCODED_VARINT_BYTES];
    let width = 0;
    // `%` and division, not bit operators: lengths may pass 2 ** 31.
    while (length >= 0x80) {
      header[width++] = (length % 0x80) | 0x80;
      length = Math.floor(length / 0x80);
    }
    header[width++] = length;
    sink.write(views[width]);
    sink.write(frame);
  }
}

// How the machine reads this codec's varint. One per decoder. The varint
// stays in the window until the whole frame is there, so a varint split
// across reads is simply read again (at most ten bytes), and no partial
// value is kept.
class VarintHead implements FrameHead<Uint8Array> {
  headLength = 0;
  #maxFrameLength: number;
  #discardTooLong: boolean;

  constructor(maxFrameLength: number, onTooLong: TooLongPolicy) {
    this.#maxFrameLength = maxFrameLength;
    this.#discardTooLong = onTooLong === "discard";
  }

  // Keeps its own check against maxFrameLength: it throws as soon as the
  // value, even partial, passes it (unless discarding, which needs the whole
  // value). This decoder's own incremental read, not std's `decodeVarint`:
  // that one cannot say "incomplete", it reads past the end or throws.
  read(input: ByteWindow): number {
    const start = input.start;
    // Fast path: a frame under 128 bytes has a one-byte varint. The rest
    // apart, so that this stays small enough for V8 to inline.
    if (input.end > start) {
      const first = input.bytes[start];
      if (first < 0x80 && first <= this.#maxFrameLength) {
        this.headLength = 1;
        return first;
      }
    }
    return this.#readLong(input);
  }

  #readLong(input: ByteWindow): number {
    const bytes = input.bytes;
    const start = input.start;
    const length = Math.min(input.end - start, MAX_VARINT_BYTES);
    let value = 0;
    let multiplier = 1;
    for (let index = 0; index < length; index++) {
      const byte = bytes[start + index];
      value += (byte & 0x7f) * multiplier;
      if (value > this.#maxFrameLength && !this.#discardTooLong) {
        throw new FrameTooLongError(value, this.#maxFrameLength);
      }
      if (value > Number.MAX_SAFE_INTEGER) {
        throw new FrameSyntaxError(
          `varint length exceeds Number.MAX_SAFE_INTEGER ${Number.MAX_SAFE_INTEGER} at byte ${index}`,
          index,
        );
      }
      if (byte < 0x80) {
        this.headLength = index + 1;
        return value;
      }
      multiplier *= 0x80;
    }
    if (length === MAX_VARINT_BYTES) {
      throw new FrameSyntaxError(
        `varint length is longer than ${MAX_VARINT_BYTES} bytes`,
        MAX_VARINT_BYTES - 1,
      );
    }
    return NEED_MORE;
  }
}
