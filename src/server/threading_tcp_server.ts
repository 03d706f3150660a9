/**
 * The concurrent TCP server: Python's `ThreadingTCPServer`.
 *
 * @module
 */

import { TCPServer } from "./tcp_server.ts";

/**
 * A TCP server that serves each connection as its own async task, up to
 * `maxConnections` at once (then new clients wait in the backlog). Tasks
 * share one thread: a handler that computes for long blocks the others; use
 * `ForkingTCPServer` to use every core.
 *
 * @example Two clients served at the same time
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core";
 * import assert from "node:assert/strict";
 *
 * class Echo extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const chunk of this.rfile) await this.wfile.write(chunk);
 *   }
 * }
 *
 * await using server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, Echo);
 * const serving = server.serveForever();
 * using a = await Deno.connect(server.address);
 * using b = await Deno.connect(server.address);
 * await b.write(new Uint8Array([2]));
 * await a.write(new Uint8Array([1]));
 * const reply = new Uint8Array(1);
 * await b.read(reply);
 * assert.equal(reply[0], 2);
 * await server.shutdown();
 * await serving;
 * ```
 */
export class ThreadingTCPServer extends TCPServer {
  /**
   * `maxConnections`: each connection runs as its own task.
   *
   * @returns The limit.
   */
  protected override get concurrencyLimit(): number {
    return this.maxConnections;
  }
}
