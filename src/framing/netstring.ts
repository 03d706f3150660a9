/**
 * Netstrings, as D. J. Bernstein specified them
 * (https://cr.yp.to/proto/netstrings.txt): the payload's length in decimal
 * ASCII, a colon, the payload, a comma. Self-delimiting and readable in a
 * packet dump.
 *
 * ```
 * +- len + : +--- payload ---+ , +      +--- payload ---+
 * | 31 31| 3A|  Hello world  | 2C|  ->  |  Hello world  |
 * +------+---+---------------+---+      +---------------+
 *   "11"  ":"                 ","
 *
 *   "0:,"  ->  the empty frame
 * ```
 *
 * {@linkcode NetstringCodec} follows the spec strictly: the length has no
 * leading zero (except `0` itself) and no sign or space, the colon and the
 * comma must be where the length says. Anything else is a
 * {@linkcode FrameSyntaxError} whose `offset` points at the bad byte, counted
 * from the frame's first byte.
 *
 * The length is checked against `maxFrameLength` digit by digit, so a flood
 * of digits fails as soon as it says more than the limit: it is never
 * buffered. With `onTooLong: "discard"`, a too-long frame is skipped as it
 * arrives, its comma checked, and the next one decoded; a length past
 * `Number.MAX_SAFE_INTEGER` cannot be skipped and throws
 * {@linkcode FrameTooLongError} all the same, by its 17th digit at the latest.
 *
 * @module
 */

import { type FrameHead, HeadedDecoder, NEED_MORE } from "./_headed_decoder.ts";
import type { ByteWindow } from "./byte_window.ts";
import type { ByteSink, Codec, FrameDecoder, FrameLimits, TooLongPolicy } from "./codec.ts";
import { FrameSyntaxError, FrameTooLongError } from "./errors.ts";
import { resolveFrameLimits } from "./_frame_limits.ts";
import { describeByte } from "./_describe.ts";

/**
 * Options for {@linkcode NetstringCodec}: the limits every codec has.
 * `maxFrameLength` bounds the payload, not counting the length, colon and comma.
 */
export interface NetstringCodecOptions extends FrameLimits {}

const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const COMMA = 0x2c;
// Digits in Number.MAX_SAFE_INTEGER: the widest length this codec writes.
const MAX_LENGTH_DIGITS = 16;

/**
 * Frames as netstrings: `5:hello,`. Frames are views of the received bytes (they stay valid),
 * the payload only.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(frame,
 * sink)` writes a frame.
 *
 * @example Decode two netstrings, one of them empty
 * ```ts
 * import { decodeFrames, encodeFrame, NetstringCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new NetstringCodec();
 * const text = new TextEncoder();
 * const frames = decodeFrames(codec, text.encode("5:hello,0:,"));
 * assertEquals(frames, [text.encode("hello"), new Uint8Array(0)]);
 * assertEquals(encodeFrame(codec, text.encode("hi")), text.encode("2:hi,"));
 * ```
 *
 * @example Bad input carries its offset
 * ```ts
 * import { decodeFrames, FrameSyntaxError, NetstringCodec } from "@socketserver/core/framing";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const wire = new TextEncoder().encode("05:hello,");
 * const error = assertThrows(() => decodeFrames(new NetstringCodec(), wire), FrameSyntaxError);
 * assertEquals(error.offset, 0);
 * ```
 */
export class NetstringCodec implements Codec<Uint8Array> {
  /** The largest payload decoded or encoded. */
  readonly maxFrameLength: number;
  /** What the decoder does with a payload over `maxFrameLength`. */
  readonly onTooLong: TooLongPolicy;

  // Encoding reuses one header, with a view per width made up front: the
  // sink copies what it is given, and no subarray is made per frame.
  #headerViews: Uint8Array[];
  #comma: Uint8Array = Uint8Array.of(COMMA);

  /**
   * Makes a codec.
   *
   * @param options The limits.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: NetstringCodecOptions = {}) {
    const { maxFrameLength, onTooLong } = resolveFrameLimits("NetstringCodec", options);
    this.maxFrameLength = maxFrameLength;
    this.onTooLong = onTooLong;
    const header = new Uint8Array(MAX_LENGTH_DIGITS + 1);
    this.#headerViews = [];
    for (let width = 0; width <= MAX_LENGTH_DIGITS + 1; width++) {
      this.#headerViews.push(header.subarray(0, width));
    }
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example A netstring split across two reads
   * ```ts
   * import { ByteWindow, NetstringCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const text = new TextEncoder();
   * const decoder = new NetstringCodec().decoder();
   * const input = new ByteWindow(text.encode("3:a"));
   * assertEquals(decoder.decode(input), undefined);
   * input.reset(text.encode("3:abc,"));
   * assertEquals(decoder.decode(input), text.encode("abc"));
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws {@linkcode FrameTooLongError}
   * for a length over `maxFrameLength` (unless `onTooLong` is `"discard"`) and
   * {@linkcode FrameSyntaxError} for bytes that break the format; its
   * `decodeEof` throws {@linkcode IncompleteFrameError} when the stream ends
   * inside a frame.
   */
  decoder(): FrameDecoder<Uint8Array> {
    return new HeadedDecoder<Uint8Array>(new NetstringHead(this.maxFrameLength, this.onTooLong), {
      maxPayloadLength: this.maxFrameLength,
      onTooLong: this.onTooLong,
      trailer: ",",
      formatName: "netstring",
    });
  }

  /**
   * Writes one frame: its decimal length, a colon, its bytes, a comma.
   *
   * @example Encode an empty frame
   * ```ts
   * import { encodeFrame, NetstringCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const wire = encodeFrame(new NetstringCodec(), new Uint8Array(0));
   * assertEquals(new TextDecoder().decode(wire), "0:,");
   * ```
   *
   * @param frame The payload.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} The frame exceeds `maxFrameLength`.
   */
  encode(frame: Uint8Array, sink: ByteSink): void {
    const length = frame.length;
    if (length > this.maxFrameLength) {
      throw new FrameTooLongError(length, this.maxFrameLength, "encode");
    }
    const views = this.#headerViews;
    const header = views[MAX_LENGTH_DIGITS + 1];
    let digits = 1;
    for (let rest = length; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    // Digits from the right; `%` and division, not bit operators, for
    // lengths past 2 ** 31.
    let rest = length;
    for (let index = digits - 1; index >= 0; index--) {
      header[index] = ZERO + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    header[digits] = COLON;
    sink.write(views[digits + 1]);
    sink.write(frame);
    sink.write(this.#comma);
  }
}

// How the machine reads "<digits>:" (the comma is the machine's trailer).
// One per decoder. The length stays in the window until the whole frame is
// there, so a length split across reads is simply read again (at most as
// many digits as maxFrameLength has, plus one).
class NetstringHead implements FrameHead<Uint8Array> {
  headLength = 0;
  #maxFrameLength: number;
  #discardTooLong: boolean;

  constructor(maxFrameLength: number, onTooLong: TooLongPolicy) {
    this.#maxFrameLength = maxFrameLength;
    this.#discardTooLong = onTooLong === "discard";
  }

  // Throws as soon as the value, even partial, passes maxFrameLength (unless
  // discarding, which needs the whole value but stops past
  // Number.MAX_SAFE_INTEGER), so digits are never buffered unbounded.
  read(input: ByteWindow): number {
    const bytes = input.bytes;
    const start = input.start;
    const available = input.end - start;
    let value = 0;
    for (let index = 0; index < available; index++) {
      const byte = bytes[start + index];
      if (byte === COLON && index > 0) {
        this.headLength = index + 1;
        return value;
      }
      if (byte < ZERO || byte > NINE || (index === 1 && bytes[start] === ZERO)) {
        throw badLength(index, byte);
      }
      value = value * 10 + (byte - ZERO);
      if (value > this.#maxFrameLength) {
        if (!this.#discardTooLong || value > Number.MAX_SAFE_INTEGER) {
          throw new FrameTooLongError(value, this.#maxFrameLength);
        }
      }
    }
    return NEED_MORE;
  }
}

// The error for `byte` at `index` of a length: not a digit, or after a leading zero.
function badLength(index: number, byte: number): FrameSyntaxError {
  if (byte >= ZERO && byte <= NINE) {
    return new FrameSyntaxError("netstring length has a leading zero", 0);
  }
  return new FrameSyntaxError(
    `expected ${
      index === 0 ? "a netstring length digit" : 'a netstring length digit or ":"'
    }, found ${describeByte(byte)}`,
    index,
  );
}
