/**
 * Pure codecs: bytes in, frames out, and back. A TCP stream has no message
 * boundaries ("sticky packets": two quick sends can arrive as one read, one
 * send as two), so a protocol says where each message ends. Each codec here
 * is one way to say it, with a bounded, incremental decoder:
 *
 * ```
 * LengthPrefixedCodec   +-- len ---+--- payload ---+      +--- payload ---+
 *                       | 00 00 0B |  Hello world  |  ->  |  Hello world  |
 * JsonHeaderCodec       | 00 1A | {"file_size": 5} | hello |  ->  { header, body }
 * LinesCodec            | hello \n world \n |  ->  "hello", "world"
 * DelimiterCodec        | a \0 b \0 |  ->  a, b
 * FixedLengthCodec      | 4 bytes | 4 bytes |  ->  two frames
 * VarintLengthCodec     | 0B | Hello world |  ->  Hello world   (protobuf's framing)
 * NetstringCodec        | 11:Hello world, |  ->  Hello world
 * RespCodec             | *2 $3 GET $3 key |  ->  [GET, key]   (Redis's RESP2, inline commands too)
 * ```
 *
 * Codecs use no Deno API: the same codec frames a TCP connection (a
 * stream handler's `codec`), one UDP datagram at a time, a Web Stream
 * ({@linkcode FrameDecoderStream}), or a byte array ({@linkcode decodeFrames}).
 * Every decoder is bounded by `maxFrameLength` (8 MiB by default), checked
 * before anything is allocated, and fails with a typed error carrying the
 * numbers: {@linkcode FrameTooLongError} and {@linkcode InvalidLengthError}
 * (both `RangeError`), {@linkcode FrameSyntaxError} (`SyntaxError`), and
 * {@linkcode IncompleteFrameError} when the stream ends inside a frame.
 *
 * For plain text lines over Web Streams, `TextLineStream` and
 * `DelimiterStream` from `@std/streams` do the job without a codec; the
 * codecs add the bound on frame length and the same framing on sockets.
 *
 * @example Frames survive being cut anywhere
 * ```ts
 * import { decodeFrames, encodeFrame, LengthPrefixedCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new LengthPrefixedCodec({ format: "!I" }); // Python's struct.pack("!I", n)
 * const wire = new Uint8Array([
 *   ...encodeFrame(codec, new TextEncoder().encode("hello")),
 *   ...encodeFrame(codec, new TextEncoder().encode("world")),
 * ]);
 * const frames = decodeFrames(codec, wire).map((frame) => new TextDecoder().decode(frame));
 * assertEquals(frames, ["hello", "world"]);
 * ```
 *
 * @module
 */

export * from "./byte_window.ts";
export * from "./codec.ts";
export * from "./errors.ts";
export * from "./length_field.ts";
export * from "./encode_frame.ts";
export * from "./decode_frames.ts";
export * from "./length_prefixed.ts";
export * from "./fixed_length.ts";
export * from "./varint.ts";
export * from "./netstring.ts";
export * from "./delimiter.ts";
export * from "./lines.ts";
export * from "./json_header_format.ts";
export * from "./json_header.ts";
export * from "./json_header_stream.ts";
export * from "./resp_value.ts";
export * from "./resp.ts";
export * from "./frame_streams.ts";
