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
 * Each area has its own entry point, for programs that want only part:
 *
 * | entry point | what it holds |
 * | --- | --- |
 * | `@socketserver/core/server` | servers and request handlers |
 * | `@socketserver/core/forking` | `ForkingTCPServer`, a pool of workers on one port |
 * | `@socketserver/core/io` | buffered reader and writer, the framed client |
 * | `@socketserver/core/framing` | codecs: length prefix, JSON header, lines, ... |
 * | `@socketserver/core/proxy` | the PROXY protocol |
 * | `@socketserver/core/struct` | Python's `struct`: pack, unpack, calcsize |
 *
 * @module
 */

export * from "./src/server/mod.ts";
export * from "./src/server/forking/mod.ts";
export * from "./src/io/mod.ts";
export * from "./src/framing/mod.ts";
export * from "./src/proxy/mod.ts";
export * from "./src/struct.ts";
