/**
 * A JSON header, then a body: the classic cure for "sticky packets" in
 * Python socket tutorials. The sender packs the header's length with
 * `struct.pack('i', len(header))`, sends that, then the header (a JSON
 * object such as `{"file_name": "a.txt", "file_size": 5}`), then as many
 * body bytes as the header's `file_size` says.
 *
 * ```
 * { headerLengthFormat: "i", bodySizeField: "file_size" }   (the defaults)
 *
 * +- len (i) --+------------- JSON header -----------+-- body --+      +- header -+- body -+
 * | 23 00 00 00 | {"file_name":"a.txt","file_size":5} |  hello   |  ->  | {…}      | hello  |
 * +-------------+-------------------------------------+----------+      +----------+--------+
 * ```
 *
 * {@linkcode JsonHeaderCodec} yields `{ header, body }` frames with the whole
 * body buffered, bounded by `maxFrameLength` (8 MiB by default): right for
 * messages. To pass files of any size without buffering them, use
 * {@linkcode JsonHeaderStreamCodec}, which reads the same bytes as a header
 * event, body chunks, and an end event.
 *
 * ## Checks
 *
 * - The prefix is read with the Python `struct` format `headerLengthFormat`
 *   (`"i"`: 4 bytes, little-endian, signed; a negative value is an
 *   {@linkcode InvalidLengthError}), and checked against `maxHeaderLength`
 *   (64 KiB) before a byte of the header is waited for.
 * - The header must be UTF-8 JSON of an object, or
 *   {@linkcode FrameSyntaxError} says so, with its length. Python's
 *   `json.dumps` output parses (`ensure_ascii` or not); its `NaN` does not.
 * - A header without `bodySizeField` has an empty body; a value that is not
 *   a number is a {@linkcode FrameSyntaxError}, one that is negative, not an
 *   integer or above `Number.MAX_SAFE_INTEGER` an
 *   {@linkcode InvalidLengthError}.
 * - A body over `maxFrameLength` throws {@linkcode FrameTooLongError} as soon
 *   as the header is read, or with `onTooLong: "discard"` is skipped, header
 *   and all, as it arrives.
 *
 * After an `InvalidLengthError` or a `FrameSyntaxError` the decoder cannot
 * know where the next frame starts: close the connection.
 *
 * ## Writing
 *
 * `encode` sets `header[bodySizeField]` to the body's length on a copy of the
 * header and writes it with `JSON.stringify`: no spaces after `,` and `:` as
 * Python's `json.dumps` puts, which every JSON reader, `json.loads` included,
 * reads the same.
 *
 * @module
 */

import type { ByteSink, Codec, FrameDecoder, FrameLimits, TooLongPolicy } from "./codec.ts";
import { FrameTooLongError } from "./errors.ts";
import type { LengthField } from "./length_field.ts";
import { resolveFrameLimits } from "./_frame_limits.ts";
import { HeadedDecoder } from "./_headed_decoder.ts";
import {
  JsonHead,
  JsonHeaderWriter,
  type ResolvedJsonHeaderFormat,
  resolveJsonHeaderFormat,
} from "./_json_head.ts";
import type { JsonHeaderFormat } from "./json_header_format.ts";

/**
 * Options for {@linkcode JsonHeaderCodec}: the header layout, and
 * `maxFrameLength` / `onTooLong` for the body.
 */
export interface JsonHeaderCodecOptions extends JsonHeaderFormat, FrameLimits {}

/** A frame of {@linkcode JsonHeaderCodec}: the parsed header and the whole body. */
export interface JsonHeaderFrame {
  /** The JSON header, an object; when decoded, `bodySizeField` is in it. */
  header: Record<string, unknown>;
  /** The body, as many bytes as `header[bodySizeField]` says. */
  body: Uint8Array;
}

const CODEC_NAME = "JsonHeaderCodec";

/**
 * A length prefix, a JSON header, then a body whose size is a header field,
 * as Python's `struct.pack('i', len(h)) + h + body` sends. Frames are
 * `{ header, body }` with the body buffered whole; see the module doc for
 * the checks, and {@linkcode JsonHeaderStreamCodec} for bodies of any size.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(frame,
 * sink)` writes a frame. The settings are readable as fields.
 *
 * @example Read what a Python client sends
 * ```ts
 * import { decodeFrames, JsonHeaderCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * // header = json.dumps({"file_name": "a.txt", "file_size": 5}).encode()
 * // sock.sendall(struct.pack('i', len(header)) + header + b"hello")
 * const header = new TextEncoder().encode('{"file_name": "a.txt", "file_size": 5}');
 * const wire = new Uint8Array([header.length, 0, 0, 0, ...header, ...new TextEncoder().encode("hello")]);
 * const [frame] = decodeFrames(new JsonHeaderCodec(), wire);
 * assertEquals(frame.header, { file_name: "a.txt", file_size: 5 });
 * assertEquals(new TextDecoder().decode(frame.body), "hello");
 * ```
 *
 * @example Write a frame: the body size is filled in
 * ```ts
 * import { encodeFrame, JsonHeaderCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = encodeFrame(new JsonHeaderCodec({ headerLengthFormat: "!H" }), {
 *   header: { file_name: "a.txt" },
 *   body: new Uint8Array([1, 2, 3]),
 * });
 * const json = '{"file_name":"a.txt","file_size":3}';
 * assertEquals(bytes.subarray(0, 2), new Uint8Array([0, json.length]));
 * assertEquals(new TextDecoder().decode(bytes.subarray(2, 2 + json.length)), json);
 * assertEquals(bytes.subarray(2 + json.length), new Uint8Array([1, 2, 3]));
 * ```
 */
export class JsonHeaderCodec implements Codec<JsonHeaderFrame> {
  /** The struct format of the prefix. */
  readonly headerLengthFormat: string;
  /** The prefix that `headerLengthFormat` describes. */
  readonly lengthField: LengthField;
  /** The header field that holds the body size. */
  readonly bodySizeField: string;
  /** The largest header, in bytes of JSON. */
  readonly maxHeaderLength: number;
  /** The largest body decoded or encoded. */
  readonly maxFrameLength: number;
  /** What the decoder does with a body over `maxFrameLength`. */
  readonly onTooLong: TooLongPolicy;

  #format: ResolvedJsonHeaderFormat;
  #writer: JsonHeaderWriter;

  /**
   * Makes a codec; every option is checked here, not on first use.
   *
   * @param options The header layout and the limits.
   * @throws {TypeError} An option has the wrong type, or `headerLengthFormat`
   * is not a single integer struct format.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: JsonHeaderCodecOptions = {}) {
    const { maxFrameLength, onTooLong } = resolveFrameLimits(CODEC_NAME, options);
    this.maxFrameLength = maxFrameLength;
    this.onTooLong = onTooLong;
    this.#format = resolveJsonHeaderFormat(CODEC_NAME, options);
    this.headerLengthFormat = this.#format.headerLengthFormat;
    this.lengthField = this.#format.lengthField;
    this.bodySizeField = this.#format.bodySizeField;
    this.maxHeaderLength = this.#format.maxHeaderLength;
    this.#writer = new JsonHeaderWriter(this.#format);
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example A frame that arrives in pieces
   * ```ts
   * import { ByteWindow, JsonHeaderCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const json = new TextEncoder().encode('{"file_size":2}');
   * const wire = new Uint8Array([json.length, 0, 0, 0, ...json, 7, 8]);
   * const decoder = new JsonHeaderCodec().decoder();
   * const input = new ByteWindow(wire, 0, 6); // the first read
   * assertEquals(decoder.decode(input), undefined); // the header is cut short
   * input.end = wire.length - 1; // the next read
   * assertEquals(decoder.decode(input), undefined); // one body byte missing
   * input.end = wire.length;
   * assertEquals(decoder.decode(input), { header: { file_size: 2 }, body: new Uint8Array([7, 8]) });
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws
   * {@linkcode FrameTooLongError} for a header over `maxHeaderLength` or a
   * body over `maxFrameLength` (unless `onTooLong` is `"discard"`),
   * {@linkcode InvalidLengthError} for a negative prefix or body size, and
   * {@linkcode FrameSyntaxError} for a header that is not a JSON object; its
   * `decodeEof` throws {@linkcode IncompleteFrameError} when the stream ends
   * inside a frame.
   */
  decoder(): FrameDecoder<JsonHeaderFrame> {
    return new HeadedDecoder(new JsonHeaderHead(this.#format), {
      consumesHead: true,
      maxPayloadLength: this.maxFrameLength,
      onTooLong: this.onTooLong,
    });
  }

  /**
   * Writes one frame: the prefix, the header as JSON with
   * `header[bodySizeField]` set to the body's length (on a copy), then the body.
   *
   * @example The body size field is overwritten
   * ```ts
   * import { decodeFrames, encodeFrame, JsonHeaderCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = new JsonHeaderCodec({ bodySizeField: "size" });
   * const header = { name: "x", size: 99 };
   * const bytes = encodeFrame(codec, { header, body: new Uint8Array([1]) });
   * assertEquals(decodeFrames(codec, bytes)[0].header, { name: "x", size: 1 });
   * assertEquals(header.size, 99); // the caller's object is left alone
   * ```
   *
   * @param frame The header and the body.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} The body exceeds `maxFrameLength`, or the
   * JSON exceeds `maxHeaderLength` or what the prefix can hold.
   * @throws {TypeError} The header is not an object, or `JSON.stringify`
   * fails on it (a BigInt, a cycle).
   */
  encode(frame: JsonHeaderFrame, sink: ByteSink): void {
    const body = frame.body;
    if (body.length > this.maxFrameLength) {
      throw new FrameTooLongError(body.length, this.maxFrameLength, "encode");
    }
    this.#writer.write(frame.header, body.length, sink);
    if (body.length > 0) sink.write(body);
  }
}

// One per connection: the JSON head, then the whole body as the frame.
class JsonHeaderHead extends JsonHead<JsonHeaderFrame> {
  frame(
    bytes: Uint8Array,
    _: number,
    payloadStart: number,
    payloadEnd: number,
  ): JsonHeaderFrame {
    return { header: this.header, body: bytes.subarray(payloadStart, payloadEnd) };
  }
}
