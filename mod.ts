/**
 * Python's `socketserver`, for Deno: servers that own the accept loop, the
 * backlog, timeouts, graceful shutdown and error containment, and request
 * handlers that only say what to do with one request. Framing is built in,
 * because a TCP stream has no message boundaries.
 *
 * ```
 *                 BaseServer  (serveForever, handleRequest, shutdown, serverClose, hooks)
 *                /          \
 *        StreamServer        DatagramServer
 *        /       \            /          \
 *   TCPServer  UnixStreamServer   UDPServer  UnixDatagramServer
 *       |            |               |              |
 *   Threading…   Threading…      Threading…     Threading…
 *   (TLSServer, ForkingTCPServer: TCP with TLS, or on every core)
 *
 *   BaseRequestHandler  (setup, handle, finish; request, clientAddress, server)
 *     ├─ StreamRequestHandler    rfile / wfile, readFrame / frames / writeFrame
 *     └─ DatagramRequestHandler  rfile / wfile over one datagram, reply()
 * ```
 *
 * Which server? `TCPServer` serves one connection at a time, and the next
 * client waits in the listen backlog, as in Python: right for tools and for
 * handlers that must not overlap. `ThreadingTCPServer` serves each connection
 * as its own async task: the usual choice for network services, since tasks
 * cost little and a slow client holds up nobody. Tasks share one thread, so
 * a handler that computes for long delays the others; `ForkingTCPServer`
 * runs the handler in a pool of workers sharing the port with SO_REUSEPORT,
 * to use every core. The datagram servers answer one datagram per request.
 *
 * What is better than Python's: `shutdown()` wakes the loop at once (no
 * polling) and is safe anywhere, a handler included; finished requests are
 * forgotten at once; `serverClose()` drains running handlers with a
 * deadline; reads and writes are buffered and replies to pipelined requests
 * leave in one syscall; every decoder is bounded by `maxFrameLength`.
 *
 * @example An upper-casing line server
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core";
 * import assert from "node:assert/strict";
 *
 * class Upper extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const line of this.rfile.lines()) {
 *       await this.wfile.write(line.toUpperCase() + "\n");
 *     }
 *   }
 * }
 *
 * await using server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, Upper);
 * const serving = server.serveForever();
 * using conn = await Deno.connect(server.address);
 * await conn.write(new TextEncoder().encode("hi\n"));
 * const reply = new Uint8Array(3);
 * assert.equal(await conn.read(reply), 3);
 * assert.equal(new TextDecoder().decode(reply), "HI\n");
 * await server.shutdown();
 * await serving;
 * ```
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
export { DatagramRequestHandler } from "./src/handlers/datagram_request_handler.ts";
export type { DatagramRequest } from "./src/handlers/datagram_request_handler.ts";
export { DatagramServer } from "./src/server/datagram_server.ts";
export type { DatagramServerOptions, DatagramTooLongPolicy } from "./src/server/datagram_server.ts";
export { DatagramTooLongError } from "./src/server/datagram_too_long_error.ts";
export { UDPServer } from "./src/server/udp_server.ts";
export type { UDPAddress, UDPBoundAddress, UDPServerOptions } from "./src/server/udp_server.ts";
export { ThreadingUDPServer } from "./src/server/threading_udp_server.ts";
export { UnixDatagramServer } from "./src/server/unix_datagram_server.ts";
export type { UnixDatagramBoundAddress } from "./src/server/unix_datagram_server.ts";
export { ThreadingUnixDatagramServer } from "./src/server/threading_unix_datagram_server.ts";
export { FrameTimeoutError, IdleTimeoutError } from "./src/io/errors.ts";
export { parseProxyHeader } from "./src/proxy/proxy_protocol.ts";
export type {
  ProxyHeader,
  ProxyHeaderOptions,
  ProxyNetAddress,
  ProxyProtocolVersion,
  ProxySslInfo,
  ProxyTlv,
  ProxyUnixAddress,
} from "./src/proxy/proxy_protocol.ts";
export { ProxyProtocolError } from "./src/proxy/proxy_protocol_error.ts";
export { ProxiedConn } from "./src/proxy/proxied_conn.ts";
export { ForkingTCPServer } from "./src/server/forking_tcp_server.ts";
export type {
  ForkingTCPServerOptions,
  ForkingWorkerServer,
  HandlerModule,
} from "./src/server/forking_tcp_server.ts";
export { WorkerCrashError } from "./src/server/worker_crash_error.ts";
export { TLSServer } from "./src/server/tls_server.ts";
export type { TLSServerOptions } from "./src/server/tls_server.ts";
export { ThreadingTLSServer } from "./src/server/threading_tls_server.ts";
export { TLSHandshakeError } from "./src/server/tls_handshake_error.ts";
