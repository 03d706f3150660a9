/**
 * Length-prefixed frames: an integer in front of each frame says how many
 * bytes follow, the cure for "sticky packets" that most binary protocols use.
 * {@linkcode LengthPrefixedCodec} reads the layouts Netty's
 * `LengthFieldBasedFrameDecoder` reads, with an options object in place of
 * positional arguments, and speaks Python's `struct.pack` headers by format.
 *
 * Two words are used below. The **header** is every byte up to the end of the
 * length field (`lengthFieldOffset + lengthFieldLength` bytes). The
 * **payload** is every byte after the length field. `maxFrameLength` bounds the
 * payload, and is checked as soon as the length field is read: before a payload
 * byte is waited for or allocated.
 *
 * The number of payload bytes is worked out from the field's value as:
 *
 * ```
 * payload = value + lengthAdjustment - (lengthIncludesHeader ? header : 0)
 * ```
 *
 * so `lengthIncludesHeader: true` is a short way to write `lengthAdjustment:
 * -header`, and the two add up when both are given. A value that makes the
 * payload negative (a length smaller than the header it counts) is an
 * {@linkcode InvalidLengthError}, as is a negative value in a signed field.
 *
 * ## Cookbook
 *
 * Each diagram shows one frame on the wire and the frame `decode` yields for
 * it. `encode` takes what `decode` yields and writes the wire bytes.
 *
 * ### 4-byte big-endian length, header stripped (the defaults)
 *
 * ```
 * {}
 *
 * +---- len ----+--- payload ---+      +--- payload ---+
 * | 00 00 00 0B |  Hello world  |  ->  |  Hello world  |
 * +-------------+---------------+      +---------------+
 * ```
 *
 * ### Python's `struct.pack('i', n)`: 4 bytes, little-endian, signed
 *
 * ```
 * { format: "i" }          // "!I" is the same field in network order
 *
 * +---- len ----+--- payload ---+      +--- payload ---+
 * | 0B 00 00 00 |  Hello world  |  ->  |  Hello world  |
 * +-------------+---------------+      +---------------+
 * ```
 *
 * A negative value such as `FF FF FF FF` (-1) throws {@linkcode InvalidLengthError}.
 *
 * ### 2-byte length, header kept
 *
 * ```
 * { lengthFieldLength: 2, stripHeader: false }
 *
 * + len -+--- payload ---+      + len -+--- payload ---+
 * | 00 0B|  Hello world  |  ->  | 00 0B|  Hello world  |
 * +------+---------------+      +------+---------------+
 * ```
 *
 * ### The length counts its own header
 *
 * ```
 * { lengthFieldLength: 2, lengthIncludesHeader: true }
 *
 * + len -+--- payload ---+      +--- payload ---+
 * | 00 0D|  Hello world  |  ->  |  Hello world  |
 * +------+---------------+      +---------------+
 * ```
 *
 * `0x0D` is 13: 2 header bytes and 11 payload bytes. A value below 2 throws
 * {@linkcode InvalidLengthError}.
 *
 * ### Bytes before the length field (`lengthFieldOffset`)
 *
 * ```
 * { lengthFieldOffset: 2, lengthFieldLength: 2, stripHeader: false }
 *
 * + type + len -+--- payload ---+      + type + len -+--- payload ---+
 * | CA FE| 00 0B|  Hello world  |  ->  | CA FE| 00 0B|  Hello world  |
 * +------+------+---------------+      +------+------+---------------+
 * ```
 *
 * With `stripHeader: true` the same bytes decode to `Hello world`, but such a
 * codec cannot encode: it cannot know what the leading bytes should be, so
 * `encode` throws a `TypeError` naming `lengthFieldOffset`. With
 * `stripHeader: false`, `encode` takes the whole frame, keeps its leading
 * bytes, and writes the length field over the bytes it finds there.
 *
 * ### More header after the length field (`lengthAdjustment`)
 *
 * ```
 * { lengthFieldLength: 2, lengthAdjustment: 2 }
 *
 * + len -+ hdr -+--- content ---+      + hdr -+--- content ---+
 * | 00 0B| CA FE|  Hello world  |  ->  | CA FE|  Hello world  |
 * +------+------+---------------+      +------+---------------+
 * ```
 *
 * The field counts the content only; the adjustment adds the 2 bytes between
 * the field and the content. Everything after the field is payload, so the
 * frame starts with `CA FE`, and `encode` takes it that way too (a frame
 * shorter than the adjustment cannot be encoded).
 *
 * ### All together: a leading byte, a length counting the whole frame
 *
 * ```
 * { lengthFieldOffset: 1, lengthFieldLength: 2, lengthIncludesHeader: true, stripHeader: false }
 *
 * + ver + len -+--- payload ---+      + ver + len -+--- payload ---+
 * | 01  | 00 0E|  Hello world  |  ->  | 01  | 00 0E|  Hello world  |
 * +-----+------+---------------+      +-----+------+---------------+
 * ```
 *
 * `0x0E` is 14: the 3-byte header and 11 payload bytes.
 *
 * ### A frame longer than `maxFrameLength`
 *
 * ```
 * { maxFrameLength: 4, onTooLong: "discard" }
 *
 * +---- len ----+--- payload ---+---- len ----+ payload +      +- payload -+
 * | 00 00 00 0B |  Hello world  | 00 00 00 02 |  Hi     |  ->  |  Hi       |
 * +-------------+---------------+-------------+---------+      +-----------+
 * ```
 *
 * The default, `onTooLong: "error"`, throws {@linkcode FrameTooLongError} as
 * soon as the header is read; `"discard"` skips the frame's bytes as they
 * arrive, without buffering them, and decodes the next frame.
 *
 * @module
 */

import { type FrameHead, HeadedDecoder, NEED_MORE } from "./_headed_decoder.ts";
import type { ByteWindow } from "./byte_window.ts";
import type { ByteSink, Codec, FrameDecoder, FrameLimits, TooLongPolicy } from "./codec.ts";
import { FrameTooLongError, InvalidLengthError } from "./errors.ts";
import {
  type LengthField,
  lengthFieldFromFormat,
  maxLengthOf,
  readLength,
} from "./length_field.ts";
import { checkBoolean, checkInteger, resolveFrameLimits } from "./_frame_limits.ts";

/** Options for {@linkcode LengthPrefixedCodec}. */
export interface LengthPrefixedCodecOptions extends FrameLimits {
  /**
   * Width of the length field in bytes.
   *
   * @default {4}
   */
  lengthFieldLength?: 1 | 2 | 4 | 8;
  /**
   * Whether the length field is least significant byte first.
   *
   * @default {false} (network order, big-endian)
   */
  littleEndian?: boolean;
  /**
   * Whether the length field is two's complement. A negative value is refused
   * with {@linkcode InvalidLengthError}.
   *
   * @default {false}
   */
  signed?: boolean;
  /**
   * A Python `struct` format with one integer code that describes the field:
   * `"i"` is what `struct.pack('i', n)` sends (4 bytes, little-endian,
   * signed), `"!I"` is 4 bytes in network order, unsigned. When given, it
   * replaces `lengthFieldLength`, `littleEndian` and `signed`.
   *
   * @default {undefined} (the three options above describe the field)
   */
  format?: string;
  /**
   * How many bytes come before the length field. They are part of the header.
   *
   * @default {0}
   */
  lengthFieldOffset?: number;
  /**
   * Added to the field's value to get the number of bytes after the field
   * (Netty's `lengthAdjustment`): positive when the value leaves out bytes
   * that follow the field, negative when it counts bytes that do not.
   *
   * @default {0}
   */
  lengthAdjustment?: number;
  /**
   * Whether the field's value counts the header too (the bytes up to the end
   * of the length field). Same as subtracting the header length from
   * `lengthAdjustment`.
   *
   * @default {false}
   */
  lengthIncludesHeader?: boolean;
  /**
   * Whether a decoded frame is the payload only (`true`) or the header and
   * the payload (`false`). `encode` takes frames of the same shape.
   *
   * @default {true}
   */
  stripHeader?: boolean;
}

const CODEC_NAME = "LengthPrefixedCodec";
const TWO_POW_32 = 2 ** 32;

/**
 * Frames prefixed by their length: a fixed-width integer field, with
 * optional bytes before it and an adjustable meaning, as in Netty's
 * `LengthFieldBasedFrameDecoder`. Frames are views of the received bytes that stay valid
 * (transports never overwrite them).
 * See the module doc for a diagram of each option.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(frame,
 * sink)` writes a frame. The settings are readable as fields.
 *
 * @example Decode what Python's `struct.pack('i', n) + payload` sends
 * ```ts
 * import { decodeFrames, encodeFrame, LengthPrefixedCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new LengthPrefixedCodec({ format: "i" });
 * const wire = new Uint8Array([2, 0, 0, 0, 104, 105, 0, 0, 0, 0]);
 * const frames = decodeFrames(codec, wire);
 * assertEquals(frames, [new Uint8Array([104, 105]), new Uint8Array(0)]);
 * assertEquals(encodeFrame(codec, frames[0]), wire.subarray(0, 6));
 * ```
 *
 * @example Skip a frame that is too long and keep going
 * ```ts
 * import { decodeFrames, LengthPrefixedCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new LengthPrefixedCodec({
 *   lengthFieldLength: 1,
 *   maxFrameLength: 2,
 *   onTooLong: "discard",
 * });
 * const wire = new Uint8Array([3, 1, 2, 3, 1, 9]);
 * assertEquals(decodeFrames(codec, wire), [new Uint8Array([9])]);
 * ```
 */
export class LengthPrefixedCodec implements Codec<Uint8Array> {
  /** How the length field is stored. */
  readonly lengthField: LengthField;
  /** Bytes before the length field. */
  readonly lengthFieldOffset: number;
  /** Added to the field's value to get the payload length. */
  readonly lengthAdjustment: number;
  /** Whether the field's value counts the header. */
  readonly lengthIncludesHeader: boolean;
  /** Whether decoded frames leave the header out. */
  readonly stripHeader: boolean;
  /** Header bytes: `lengthFieldOffset + lengthField.size`. */
  readonly headerLength: number;
  /** The largest payload decoded or encoded. */
  readonly maxFrameLength: number;
  /** What the decoder does with a payload over `maxFrameLength`. */
  readonly onTooLong: TooLongPolicy;

  // payload = value + #payloadAdjustment: the two options folded into one.
  #payloadAdjustment: number;
  // Encoding reuses one header: the sink copies what it is given.
  #fieldBytes: Uint8Array;
  #fieldView: DataView;
  /** The largest value the length field holds, computed once (encode is a hot path). */
  #fieldMax: number;

  /**
   * Makes a codec; every option is checked here, not on first use.
   *
   * @param options The layout of the header and the limits.
   * @throws {TypeError} An option has the wrong type, or `format` is not a
   * single integer struct format.
   * @throws {RangeError} An option is out of range (`lengthFieldLength` not
   * 1, 2, 4 or 8, a negative `lengthFieldOffset`, …).
   */
  constructor(options: LengthPrefixedCodecOptions = {}) {
    const { maxFrameLength, onTooLong } = resolveFrameLimits(CODEC_NAME, options);
    this.maxFrameLength = maxFrameLength;
    this.onTooLong = onTooLong;
    if (options.format !== undefined) {
      if (typeof options.format !== "string") {
        throw new TypeError(
          `Cannot create ${CODEC_NAME}: format must be a string, got ${typeof options.format}`,
        );
      }
      this.lengthField = lengthFieldFromFormat(options.format);
    } else {
      const size = options.lengthFieldLength ?? 4;
      if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
        throw new RangeError(
          `Cannot create ${CODEC_NAME}: lengthFieldLength must be 1, 2, 4 or 8, got ${size}`,
        );
      }
      this.lengthField = {
        size,
        littleEndian: checkBoolean(CODEC_NAME, "littleEndian", options.littleEndian ?? false),
        signed: checkBoolean(CODEC_NAME, "signed", options.signed ?? false),
      };
    }
    this.lengthFieldOffset = checkInteger(
      CODEC_NAME,
      "lengthFieldOffset",
      options.lengthFieldOffset ?? 0,
      0,
    );
    this.lengthAdjustment = checkInteger(
      CODEC_NAME,
      "lengthAdjustment",
      options.lengthAdjustment ?? 0,
    );
    this.lengthIncludesHeader = checkBoolean(
      CODEC_NAME,
      "lengthIncludesHeader",
      options.lengthIncludesHeader ?? false,
    );
    this.stripHeader = checkBoolean(CODEC_NAME, "stripHeader", options.stripHeader ?? true);
    this.headerLength = this.lengthFieldOffset + this.lengthField.size;
    this.#payloadAdjustment = this.lengthAdjustment -
      (this.lengthIncludesHeader ? this.headerLength : 0);
    this.#fieldBytes = new Uint8Array(this.lengthField.size);
    this.#fieldView = new DataView(this.#fieldBytes.buffer);
    this.#fieldMax = maxLengthOf(this.lengthField);
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example Frames split across reads
   * ```ts
   * import { ByteWindow, LengthPrefixedCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const decoder = new LengthPrefixedCodec({ lengthFieldLength: 2 }).decoder();
   * const input = new ByteWindow(new Uint8Array([0, 3, 7]));
   * assertEquals(decoder.decode(input), undefined); // 2 of 3 payload bytes missing
   * input.reset(new Uint8Array([0, 3, 7, 8, 9]));
   * assertEquals(decoder.decode(input), new Uint8Array([7, 8, 9]));
   * assertEquals(decoder.decodeEof(input), undefined);
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws {@linkcode FrameTooLongError}
   * for a payload over `maxFrameLength` (unless `onTooLong` is `"discard"`) and
   * {@linkcode InvalidLengthError} for a negative value or one smaller than
   * the header it counts; its `decodeEof` throws
   * {@linkcode IncompleteFrameError} when the stream ends inside a frame.
   */
  decoder(): FrameDecoder<Uint8Array> {
    return new HeadedDecoder<Uint8Array>(new LengthPrefixedHead(this, this.#payloadAdjustment), {
      maxPayloadLength: this.maxFrameLength,
      onTooLong: this.onTooLong,
      framesIncludeHead: !this.stripHeader,
    });
  }

  /**
   * Writes one frame: the length field, then the payload. With
   * `stripHeader: false` the frame includes its header, as the decoder
   * yields it: bytes before the length field are kept and the length field
   * is written over.
   *
   * @example Encode with a little-endian 2-byte length
   * ```ts
   * import { encodeFrame, LengthPrefixedCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = new LengthPrefixedCodec({ format: "<H" });
   * assertEquals(encodeFrame(codec, new Uint8Array([7, 8, 9])), new Uint8Array([3, 0, 7, 8, 9]));
   * ```
   *
   * @param frame The payload, or with `stripHeader: false` the header and payload.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} The payload exceeds `maxFrameLength`, or the
   * length field cannot represent it.
   * @throws {TypeError} `lengthFieldOffset` is not 0 and `stripHeader` is
   * true: the codec cannot know the bytes before the length field.
   * @throws {RangeError} The frame is shorter than its header
   * (`stripHeader: false`) or than a positive `lengthAdjustment`.
   */
  encode(frame: Uint8Array, sink: ByteSink): void {
    const headerLength = this.headerLength;
    let payloadLength: number;
    if (this.stripHeader) {
      if (this.lengthFieldOffset !== 0) {
        throw new TypeError(
          `Cannot encode frame: lengthFieldOffset ${this.lengthFieldOffset} needs header bytes the codec cannot know; use stripHeader: false and pass each frame with its header`,
        );
      }
      payloadLength = frame.length;
    } else {
      if (frame.length < headerLength) {
        throw new RangeError(
          `Cannot encode frame: length ${frame.length} is shorter than the ${headerLength}-byte header (stripHeader is false, so frames include their header)`,
        );
      }
      payloadLength = frame.length - headerLength;
    }
    if (payloadLength > this.maxFrameLength) {
      throw new FrameTooLongError(payloadLength, this.maxFrameLength, "encode");
    }
    const value = payloadLength - this.#payloadAdjustment;
    if (value < 0) {
      throw new RangeError(
        `Cannot encode frame: payload length ${payloadLength} is below the minimum ${this.#payloadAdjustment} that lengthAdjustment ${this.lengthAdjustment} implies`,
      );
    }
    const field = this.lengthField;
    const fieldMax = this.#fieldMax;
    if (value > fieldMax) {
      throw new FrameTooLongError(
        payloadLength,
        fieldMax + this.#payloadAdjustment,
        "encode",
        `the ${field.size}-byte ${field.signed ? "signed" : "unsigned"} length field's limit`,
      );
    }
    this.#writeField(value);
    if (this.stripHeader) {
      sink.write(this.#fieldBytes);
      sink.write(frame);
    } else {
      if (this.lengthFieldOffset > 0) sink.write(frame.subarray(0, this.lengthFieldOffset));
      sink.write(this.#fieldBytes);
      sink.write(frame.subarray(headerLength));
    }
  }

  // Fast path: one DataView made in the constructor, no BigInt for 8-byte
  // fields (two 32-bit halves). `value` is already checked to fit; a signed
  // field holds a non-negative value with the same bits as an unsigned one.
  #writeField(value: number): void {
    const view = this.#fieldView;
    const littleEndian = this.lengthField.littleEndian;
    switch (this.lengthField.size) {
      case 1:
        view.setUint8(0, value);
        break;
      case 2:
        view.setUint16(0, value, littleEndian);
        break;
      case 4:
        view.setUint32(0, value, littleEndian);
        break;
      case 8: {
        const high = Math.floor(value / TWO_POW_32);
        const low = value - high * TWO_POW_32;
        view.setUint32(littleEndian ? 4 : 0, high, littleEndian);
        view.setUint32(littleEndian ? 0 : 4, low, littleEndian);
        break;
      }
    }
  }
}

// How the machine reads this codec's header. One per decoder; the settings
// are copied into fields so the hot path reads its own object only.
class LengthPrefixedHead implements FrameHead<Uint8Array> {
  readonly headLength: number;
  #field: LengthField;
  #lengthFieldOffset: number;
  #payloadAdjustment: number;
  #lengthAdjustment: number;
  #lengthIncludesHeader: boolean;

  constructor(codec: LengthPrefixedCodec, payloadAdjustment: number) {
    this.#field = codec.lengthField;
    this.#lengthFieldOffset = codec.lengthFieldOffset;
    this.headLength = codec.headerLength;
    this.#payloadAdjustment = payloadAdjustment;
    this.#lengthAdjustment = codec.lengthAdjustment;
    this.#lengthIncludesHeader = codec.lengthIncludesHeader;
  }

  // The header stays in the window until the whole frame is there; a signed
  // negative value throws InvalidLengthError here.
  read(input: ByteWindow): number {
    if (input.end - input.start < this.headLength) return NEED_MORE;
    const value = readLength(this.#field, input.bytes, input.start + this.#lengthFieldOffset);
    const payloadLength = value + this.#payloadAdjustment;
    if (payloadLength < 0) throw this.#tooShort(value);
    return payloadLength;
  }

  #tooShort(value: number): InvalidLengthError {
    const minimum = -this.#payloadAdjustment;
    const reasons: string[] = [];
    if (this.#lengthIncludesHeader) reasons.push(`it counts the ${this.headLength}-byte header`);
    if (this.#lengthAdjustment !== 0) reasons.push(`lengthAdjustment is ${this.#lengthAdjustment}`);
    return new InvalidLengthError(
      value,
      `less than the minimum ${minimum} (${reasons.join(", ")})`,
    );
  }
}
