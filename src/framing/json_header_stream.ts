/**
 * The JSON-header format of {@linkcode JsonHeaderCodec} (a length prefix, a
 * JSON header, a body whose size is a header field), read as a stream of
 * events so that a body of any size passes without being buffered: a file
 * upload, a backup.
 *
 * ```
 * +- len (i) --+---------------- JSON header ---------------+---- body ----+
 * | 2A 00 00 00 | {"file_name":"a.mp4","file_size":20000000} | 20 MB …      |
 * +-------------+--------------------------------------------+--------------+
 *        |
 *        v
 * { type: "header", header: {…}, bodySize: 20000000 }
 * { type: "body", chunk: <65536 bytes> }  … as the bytes arrive …
 * { type: "end" }
 * ```
 *
 * {@linkcode JsonHeaderStreamCodec} yields, per frame, one `header` event,
 * `body` events holding whatever body bytes are buffered (never more than
 * the body has left, never more than one read brought), then one `end`
 * event; a body of 0 bytes gives `header` then `end`. The body is bounded by
 * `maxBodyLength` (unbounded by default: it is never buffered), the header
 * by `maxHeaderLength` (64 KiB) as in {@linkcode JsonHeaderCodec}, with the
 * same checks and errors.
 *
 * `encode` takes the same events, written to one sink (a connection's
 * writer) in order: `header` writes the prefix and the JSON with
 * `bodySizeField` set to `bodySize`, each `body` writes its chunk, `end`
 * writes nothing but checks that the chunks added up to `bodySize`.
 * `encodeFrame` makes a new sink per call, so it suits `header` events only.
 *
 * @module
 */

import type { ByteSink, Codec, FrameDecoder, TooLongPolicy } from "./codec.ts";
import { FrameTooLongError } from "./errors.ts";
import type { LengthField } from "./length_field.ts";
import { checkInteger, resolveFrameLimits } from "./_frame_limits.ts";
import { HeadedDecoder } from "./_headed_decoder.ts";
import {
  JsonHead,
  JsonHeaderWriter,
  type ResolvedJsonHeaderFormat,
  resolveJsonHeaderFormat,
} from "./_json_head.ts";
import type { JsonHeaderFormat } from "./json_header_format.ts";

/** Options for {@linkcode JsonHeaderStreamCodec}. */
export interface JsonHeaderStreamCodecOptions extends JsonHeaderFormat {
  /**
   * The largest body decoded or encoded. The body is never buffered, so the
   * default bounds it by the size a JavaScript number counts exactly.
   *
   * @default {9007199254740991} (`Number.MAX_SAFE_INTEGER`)
   */
  maxBodyLength?: number;
  /**
   * `"error"` throws {@linkcode FrameTooLongError} for a body over
   * `maxBodyLength`; `"discard"` skips that frame, header and body, without
   * an event, and goes on with the next.
   *
   * @default {"error"}
   */
  onTooLong?: TooLongPolicy;
}

/**
 * An event of {@linkcode JsonHeaderStreamCodec}: per frame, one `header`,
 * then `body` chunks adding up to `bodySize` bytes, then one `end`.
 */
export type JsonHeaderStreamFrame =
  | { type: "header"; header: Record<string, unknown>; bodySize: number }
  | { type: "body"; chunk: Uint8Array }
  | { type: "end" };

const CODEC_NAME = "JsonHeaderStreamCodec";

// How much of the body announced to a sink is still owed.
interface BodyProgress {
  bodySize: number;
  remaining: number;
}

/**
 * The JSON-header format as events, for bodies of any size: see the module
 * doc for the events and {@linkcode JsonHeaderCodec} for the format and its
 * checks.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(event,
 * sink)` writes an event, and keeps per sink what the body still owes, so one
 * codec serves many connections. The settings are readable as fields.
 *
 * @example Receive a file in chunks
 * ```ts
 * import { ByteWindow, JsonHeaderStreamCodec, type JsonHeaderStreamFrame } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const json = new TextEncoder().encode('{"file_name": "a.txt", "file_size": 5}');
 * const wire = new Uint8Array([json.length, 0, 0, 0, ...json, ...new TextEncoder().encode("hello")]);
 * const decoder = new JsonHeaderStreamCodec().decoder();
 * const input = new ByteWindow(wire, 0, wire.length - 2); // the last 2 bytes are late
 * const events: JsonHeaderStreamFrame[] = [];
 * for (let event; (event = decoder.decode(input)) !== undefined;) events.push(event);
 * input.end = wire.length;
 * for (let event; (event = decoder.decode(input)) !== undefined;) events.push(event);
 * assertEquals(events, [
 *   { type: "header", header: { file_name: "a.txt", file_size: 5 }, bodySize: 5 },
 *   { type: "body", chunk: new TextEncoder().encode("hel") },
 *   { type: "body", chunk: new TextEncoder().encode("lo") },
 *   { type: "end" },
 * ]);
 * ```
 *
 * @example Send a file in chunks
 * ```ts
 * import { type ByteSink, JsonHeaderStreamCodec } from "@socketserver/core/framing";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const parts: Uint8Array[] = [];
 * const sink: ByteSink = { write: (bytes) => parts.push(bytes.slice()) };
 * const codec = new JsonHeaderStreamCodec();
 * codec.encode({ type: "header", header: { file_name: "a.txt" }, bodySize: 4 }, sink);
 * codec.encode({ type: "body", chunk: new Uint8Array([1, 2]) }, sink);
 * assertThrows(() => codec.encode({ type: "end" }, sink), RangeError); // 2 bytes short
 * codec.encode({ type: "body", chunk: new Uint8Array([3, 4]) }, sink);
 * codec.encode({ type: "end" }, sink);
 * assertEquals(new TextDecoder().decode(parts[1]), '{"file_name":"a.txt","file_size":4}');
 * ```
 */
export class JsonHeaderStreamCodec implements Codec<JsonHeaderStreamFrame> {
  /** The struct format of the prefix. */
  readonly headerLengthFormat: string;
  /** The prefix that `headerLengthFormat` describes. */
  readonly lengthField: LengthField;
  /** The header field that holds the body size. */
  readonly bodySizeField: string;
  /** The largest header, in bytes of JSON. */
  readonly maxHeaderLength: number;
  /** The largest body decoded or encoded. */
  readonly maxBodyLength: number;
  /** What the decoder does with a body over `maxBodyLength`. */
  readonly onTooLong: TooLongPolicy;

  #format: ResolvedJsonHeaderFormat;
  #writer: JsonHeaderWriter;
  // Per sink (one per connection), so that sharing the codec is safe; a sink
  // that is dropped takes its entry with it.
  #progress = new WeakMap<ByteSink, BodyProgress>();

  /**
   * Makes a codec; every option is checked here, not on first use.
   *
   * @param options The header layout and the limits.
   * @throws {TypeError} An option has the wrong type, or `headerLengthFormat`
   * is not a single integer struct format.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: JsonHeaderStreamCodecOptions = {}) {
    this.onTooLong = resolveFrameLimits(CODEC_NAME, { onTooLong: options.onTooLong }).onTooLong;
    this.maxBodyLength = checkInteger(
      CODEC_NAME,
      "maxBodyLength",
      options.maxBodyLength ?? Number.MAX_SAFE_INTEGER,
      0,
    );
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
   * @example An empty body gives a header, then the end
   * ```ts
   * import { ByteWindow, JsonHeaderStreamCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const json = new TextEncoder().encode('{"file_size": 0}');
   * const decoder = new JsonHeaderStreamCodec().decoder();
   * const input = new ByteWindow(new Uint8Array([json.length, 0, 0, 0, ...json]));
   * assertEquals(decoder.decode(input)?.type, "header");
   * assertEquals(decoder.decode(input), { type: "end" });
   * assertEquals(decoder.decodeEof(input), undefined);
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws
   * {@linkcode FrameTooLongError} for a header over `maxHeaderLength` or a
   * body over `maxBodyLength` (unless `onTooLong` is `"discard"`),
   * {@linkcode InvalidLengthError} for a negative prefix or body size, and
   * {@linkcode FrameSyntaxError} for a header that is not a JSON object; its
   * `decodeEof` throws {@linkcode IncompleteFrameError} when the stream ends
   * inside a frame.
   */
  decoder(): FrameDecoder<JsonHeaderStreamFrame> {
    return new HeadedDecoder(new JsonHeaderStreamHead(this.#format), {
      consumesHead: true,
      maxPayloadLength: this.maxBodyLength,
      onTooLong: this.onTooLong,
      limitName: "maxBodyLength",
      streamed: true,
    });
  }

  /**
   * Writes one event. The events of a frame go to one sink, in order:
   * `header`, `body` chunks, `end`.
   *
   * @example A header, a body in two chunks, the end
   * ```ts
   * import { type ByteSink, decodeFrames, JsonHeaderStreamCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = new JsonHeaderStreamCodec({ bodySizeField: "size" });
   * const parts: number[] = [];
   * const sink: ByteSink = { write: (bytes) => parts.push(...bytes) };
   * codec.encode({ type: "header", header: { id: 7 }, bodySize: 3 }, sink);
   * codec.encode({ type: "body", chunk: new Uint8Array([1]) }, sink);
   * codec.encode({ type: "body", chunk: new Uint8Array([2, 3]) }, sink);
   * codec.encode({ type: "end" }, sink);
   * assertEquals(decodeFrames(codec, new Uint8Array(parts)), [
   *   { type: "header", header: { id: 7, size: 3 }, bodySize: 3 },
   *   { type: "body", chunk: new Uint8Array([1, 2, 3]) },
   *   { type: "end" },
   * ]);
   * ```
   *
   * @param event The event.
   * @param sink Where the bytes go; the same sink for every event of a frame.
   * @throws {FrameTooLongError} `bodySize` exceeds `maxBodyLength`, the JSON
   * exceeds `maxHeaderLength` or what the prefix can hold, or a chunk is
   * longer than what the body has left.
   * @throws {RangeError} `bodySize` is not a non-negative safe integer; or
   * a `header` or `end` comes before the body announced to this sink is
   * complete.
   * @throws {TypeError} A `body` or `end` without a `header` before it on
   * this sink, an unknown event type, or a header that is not an object or
   * that `JSON.stringify` fails on.
   */
  encode(event: JsonHeaderStreamFrame, sink: ByteSink): void {
    const progress = this.#progress.get(sink);
    switch (event.type) {
      case "header": {
        if (progress !== undefined) throw unfinished("header", progress);
        const bodySize = event.bodySize;
        if (!Number.isSafeInteger(bodySize) || bodySize < 0) {
          throw new RangeError(
            `Cannot encode header: bodySize must be a non-negative safe integer, got ${bodySize}`,
          );
        }
        if (bodySize > this.maxBodyLength) {
          throw new FrameTooLongError(bodySize, this.maxBodyLength, "encode", "maxBodyLength");
        }
        this.#writer.write(event.header, bodySize, sink);
        this.#progress.set(sink, { bodySize, remaining: bodySize });
        return;
      }
      case "body": {
        if (progress === undefined) throw noHeader("body");
        const length = event.chunk.length;
        if (length > progress.remaining) {
          throw new FrameTooLongError(
            length,
            progress.remaining,
            "encode",
            `the ${progress.bodySize}-byte body's bytes left`,
          );
        }
        progress.remaining -= length;
        if (length > 0) sink.write(event.chunk);
        return;
      }
      case "end":
        if (progress === undefined) throw noHeader("end");
        if (progress.remaining > 0) throw unfinished("end", progress);
        this.#progress.delete(sink);
        return;
      default:
        throw new TypeError(
          `Cannot encode event: type must be "header", "body" or "end", got ${
            JSON.stringify((event as { type: unknown }).type)
          }`,
        );
    }
  }
}

function unfinished(event: string, progress: BodyProgress): RangeError {
  return progress.remaining > 0
    ? new RangeError(
      `Cannot encode ${event}: the body has ${
        progress.bodySize - progress.remaining
      } of its ${progress.bodySize} bytes`,
    )
    : new RangeError(`Cannot encode ${event}: the previous frame has no end event`);
}

function noHeader(event: string): TypeError {
  return new TypeError(`Cannot encode ${event}: no header was encoded to this sink`);
}

// One per connection: the JSON head, then the body passed on in runs as it
// arrives (the machine's streamed mode), between a header and an end event.
class JsonHeaderStreamHead extends JsonHead<JsonHeaderStreamFrame> {
  opened(bodySize: number): JsonHeaderStreamFrame {
    return { type: "header", header: this.header, bodySize };
  }

  frame(
    bytes: Uint8Array,
    _: number,
    payloadStart: number,
    payloadEnd: number,
  ): JsonHeaderStreamFrame {
    return { type: "body", chunk: bytes.subarray(payloadStart, payloadEnd) };
  }

  closed(): JsonHeaderStreamFrame {
    return { type: "end" };
  }
}
