/**
 * The Unix stream socket servers: Python's `UnixStreamServer` and
 * `ThreadingUnixStreamServer`.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import { StreamServer, type StreamServerOptions } from "./stream_server.ts";
import { bindUnixPath, removeSocketFile, socketFileInode } from "./_unix_socket_file.ts";

/** A Unix server's bound address: what `Deno.connect()` takes as it is. */
export type UnixBoundAddress = Deno.UnixAddr & { transport: "unix" };

/** Where a Unix socket server listens. */
export interface UnixAddress {
  /** The socket file's path. */
  path: string;
}

/**
 * A server on a Unix stream socket (AF_UNIX, SOCK_STREAM) that serves one
 * connection at a time; see {@linkcode ThreadingUnixStreamServer}.
 *
 * A socket file left by a crashed process is detected and replaced (a live
 * server's is not: that is `AddrInUse`); the file is removed on close. Needs
 * `--allow-read` and `--allow-write` for the path; telling a stale file from
 * a live one reads `/proc/net/unix`, which Deno allows only with
 * `--allow-all` (without it, a leftover file is an `AddrInUse` that says so).
 *
 * @example Serve one client on a socket file
 * ```ts
 * import { StreamRequestHandler, UnixStreamServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * class Hello extends StreamRequestHandler {
 *   override async handle() {
 *     await this.wfile.write("hello\n");
 *   }
 * }
 *
 * const path = `${await Deno.makeTempDir()}/hello.sock`;
 * await using server = new UnixStreamServer({ path }, Hello);
 * const serving = server.handleRequest();
 * using conn = await Deno.connect({ transport: "unix", path });
 * const reply = new Uint8Array(6);
 * assertEquals(await conn.read(reply), 6);
 * await serving;
 * ```
 */
export class UnixStreamServer extends StreamServer<UnixBoundAddress> {
  readonly #ino: number | null;

  /**
   * Binds and listens.
   *
   * @param address The socket path.
   * @param RequestHandlerClass The handler class. Its clients' addresses
   * are `Deno.UnixAddr` (a `Deno.NetAddr` behind a PROXY header): declare
   * `Deno.UnixAddr`, or `Deno.Addr` to serve TCP too, as
   * `StreamRequestHandler`'s third type argument; a handler with the
   * default, written for TCP, runs here too (narrow on `clientAddress.transport`).
   * @param options Settings for this instance.
   * @throws {Deno.errors.AddrInUse} A live server holds the path, or it is
   * not a socket.
   */
  constructor(
    address: UnixAddress,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.UnixAddr>,
    options: StreamServerOptions<UnixBoundAddress> = {},
  ) {
    const listener = bindUnixPath(
      address.path,
      () => Deno.listen({ transport: "unix", path: address.path }),
    );
    // Behind a PROXY header a client's address is a NetAddr: Deno.Addr handlers take both.
    super(listener, RequestHandlerClass as RequestHandlerClass<Deno.Conn, Deno.Addr>, options);
    this.#ino = socketFileInode(address.path);
  }

  /** Closes the listener and removes the socket file it created. */
  protected override closeSocket(): void {
    super.closeSocket();
    removeSocketFile(this.address.path, this.#ino);
  }
}

/**
 * A Unix stream server that serves each connection as its own async task,
 * up to `maxConnections` at once.
 *
 * @example Serve clients concurrently on a socket file
 * ```ts
 * import { StreamRequestHandler, ThreadingUnixStreamServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * class Hello extends StreamRequestHandler {
 *   override async handle() {
 *     await this.wfile.write("hi");
 *   }
 * }
 *
 * const path = `${await Deno.makeTempDir()}/hi.sock`;
 * await using server = new ThreadingUnixStreamServer({ path }, Hello);
 * const serving = server.serveForever();
 * using conn = await Deno.connect({ transport: "unix", path });
 * assertEquals(await conn.read(new Uint8Array(2)), 2);
 * await server.shutdown();
 * await serving;
 * ```
 */
export class ThreadingUnixStreamServer extends UnixStreamServer {
  /**
   * `maxConnections`: each connection runs as its own task.
   *
   * @returns The limit.
   */
  protected override get concurrencyLimit(): number {
    return this.maxConnections;
  }
}
