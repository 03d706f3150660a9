/**
 * The concurrent Unix stream server: Python's `ThreadingUnixStreamServer`.
 *
 * @module
 */

import { UnixStreamServer } from "./unix_stream_server.ts";

/**
 * A Unix stream server that serves each connection as its own async task,
 * up to `maxConnections` at once.
 *
 * @example Serve clients concurrently on a socket file
 * ```ts
 * import { StreamRequestHandler, ThreadingUnixStreamServer } from "@socketserver/core";
 * import assert from "node:assert/strict";
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
 * assert.equal(await conn.read(new Uint8Array(2)), 2);
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
