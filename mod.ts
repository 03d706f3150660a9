/**
 * socketserver for Deno (module doc is written with the core).
 *
 * @module
 */

export { ByteWindow } from "./src/framing/byte_window.ts";
export type {
  ByteSink,
  Codec,
  FrameDecoder,
  FrameLimits,
  TooLongPolicy,
} from "./src/framing/codec.ts";
export { DEFAULT_MAX_FRAME_LENGTH } from "./src/framing/codec.ts";
export {
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
} from "./src/framing/errors.ts";
export type { LengthField } from "./src/framing/length_field.ts";
export {
  lengthFieldFromFormat,
  maxLengthOf,
  readLength,
  writeLength,
} from "./src/framing/length_field.ts";
export { encodeFrame } from "./src/framing/encode_frame.ts";
export { decodeFrames } from "./src/framing/decode_frames.ts";
export { calcsize, iterUnpack, pack, packInto, Struct, StructError, unpack } from "./src/struct.ts";
export type { StructValue } from "./src/struct.ts";
export { LengthPrefixedCodec } from "./src/framing/length_prefixed.ts";
export type { LengthPrefixedCodecOptions } from "./src/framing/length_prefixed.ts";
export { FixedLengthCodec } from "./src/framing/fixed_length.ts";
export type { FixedLengthCodecOptions } from "./src/framing/fixed_length.ts";
export { VarintLengthCodec } from "./src/framing/varint.ts";
export type { VarintLengthCodecOptions } from "./src/framing/varint.ts";
export { NetstringCodec } from "./src/framing/netstring.ts";
export type { NetstringCodecOptions } from "./src/framing/netstring.ts";
export { DelimiterCodec } from "./src/framing/delimiter.ts";
export type { DelimiterCodecOptions } from "./src/framing/delimiter.ts";
export { LinesCodec } from "./src/framing/lines.ts";
export type { LinesCodecOptions } from "./src/framing/lines.ts";
export { JsonHeaderCodec } from "./src/framing/json_header.ts";
export type {
  JsonHeaderCodecOptions,
  JsonHeaderFormat,
  JsonHeaderFrame,
} from "./src/framing/json_header.ts";
export { JsonHeaderStreamCodec } from "./src/framing/json_header_stream.ts";
export type {
  JsonHeaderStreamCodecOptions,
  JsonHeaderStreamFrame,
} from "./src/framing/json_header_stream.ts";
export { FrameDecoderStream, FrameEncoderStream } from "./src/framing/frame_streams.ts";
export { connect, FramedClient } from "./src/client.ts";
export type { ClientAddress, ConnectOptions } from "./src/client.ts";
export { BaseRequestHandler } from "./src/handlers/base_request_handler.ts";
export type { HandlerServer, RequestHandlerClass } from "./src/handlers/base_request_handler.ts";
export { StreamRequestHandler } from "./src/handlers/stream_request_handler.ts";
export { BufferedReader } from "./src/io/buffered_reader.ts";
export type { BufferedReaderOptions, ByteSource } from "./src/io/buffered_reader.ts";
export { BufferedWriter } from "./src/io/buffered_writer.ts";
export type { BufferedWriterOptions, ByteDestination } from "./src/io/buffered_writer.ts";
export { ReadTimeoutError, WriteTimeoutError } from "./src/io/errors.ts";
export { isPeerGone } from "./src/io/peer_gone.ts";
export { BaseServer } from "./src/server/base_server.ts";
export type { BaseServerOptions, ServerStats } from "./src/server/base_server.ts";
export { formatAddress } from "./src/server/format_address.ts";
export { StreamServer } from "./src/server/stream_server.ts";
export type { StreamServerOptions } from "./src/server/stream_server.ts";
export { TCPServer } from "./src/server/tcp_server.ts";
export type { TCPAddress, TCPBoundAddress, TCPServerOptions } from "./src/server/tcp_server.ts";
export { ThreadingTCPServer } from "./src/server/threading_tcp_server.ts";
export { UnixStreamServer } from "./src/server/unix_stream_server.ts";
export type { UnixAddress, UnixBoundAddress } from "./src/server/unix_stream_server.ts";
export { ThreadingUnixStreamServer } from "./src/server/threading_unix_stream_server.ts";
// @exports datagram (helper: datagrams)
