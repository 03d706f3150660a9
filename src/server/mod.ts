/**
 * Servers and request handlers: Python's `socketserver`. A server owns the
 * socket, the accept loop, the backlog, timeouts, graceful shutdown and
 * error containment; a handler says what to do with one request.
 *
 * ```
 *                 BaseServer  (serveForever, handleRequest, shutdown, serverClose, hooks)
 *                /          \
 *        StreamServer        DatagramServer
 *        /       \            /          \
 *   TCPServer  UnixStreamServer   UDPServer  UnixDatagramServer
 *       |            |               |              |
 *   Threading…   Threading…      Threading…     Threading…
 *   TCPServer ─┬─ TLSServer ─ ThreadingTLSServer   (TCP with TLS)
 *              └─ ForkingTCPServer   ("@socketserver/core/forking": a pool of workers)
 *
 *   BaseRequestHandler  (setup, handle, finish; request, clientAddress, server)
 *     ├─ StreamRequestHandler    rfile / wfile, readFrame / frames / writeFrame
 *     └─ DatagramRequestHandler  rfile / wfile over one datagram, reply()
 * ```
 *
 * `TCPServer` serves one connection at a time, as in Python;
 * `ThreadingTCPServer` serves each connection as its own async task.
 * `ForkingTCPServer` (in `@socketserver/core/forking`) spreads connections
 * over a pool of workers, to use every core.
 *
 * @example An upper-casing line server
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
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
 * assertEquals(await conn.read(reply), 3);
 * assertEquals(new TextDecoder().decode(reply), "HI\n");
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @module
 */

export * from "../handlers/base_request_handler.ts";
export * from "../handlers/stream_request_handler.ts";
export * from "../handlers/datagram_request_handler.ts";
export * from "./base_server.ts";
export * from "./stream_server.ts";
export * from "./tcp_server.ts";
export * from "./unix_stream_server.ts";
export * from "./tls_server.ts";
export {
  DatagramServer,
  type DatagramServerOptions,
  type DatagramTooLongPolicy,
} from "./datagram_server.ts";
export * from "./udp_server.ts";
export * from "./unix_datagram_server.ts";
export * from "./errors.ts";
export * from "./format_address.ts";
