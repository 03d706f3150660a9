/**
 * The concurrent Unix datagram server: Python's `ThreadingUnixDatagramServer`.
 *
 * @module
 */

import { UnixDatagramServer } from "./unix_datagram_server.ts";

/**
 * A Unix datagram server that handles each datagram as its own async task,
 * up to `maxConcurrentHandlers` at once (then it stops receiving until a
 * handler finishes, and senders wait on the full socket queue).
 *
 * @example Two datagrams handled at once
 * ```ts
 * import { DatagramRequestHandler, ThreadingUnixDatagramServer } from "@socketserver/core";
 * import assert from "node:assert/strict";
 *
 * const { promise: released, resolve: release } = Promise.withResolvers<void>();
 *
 * class Echo extends DatagramRequestHandler {
 *   override async handle() {
 *     if (this.packet[0] === 0) await released;
 *     await this.reply(this.packet);
 *   }
 * }
 *
 * const dir = await Deno.makeTempDir();
 * await using server = new ThreadingUnixDatagramServer({ path: `${dir}/server.sock` }, Echo);
 * const serving = server.serveForever();
 * const client = Deno.listenDatagram({ transport: "unixpacket", path: `${dir}/client.sock` });
 * await client.send(new Uint8Array([0]), server.address);
 * await client.send(new Uint8Array([1]), server.address);
 * assert.equal((await client.receive())[0][0], 1);
 * release();
 * assert.equal((await client.receive())[0][0], 0);
 * await server.shutdown();
 * await serving;
 * client.close();
 * await server.serverClose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ThreadingUnixDatagramServer extends UnixDatagramServer {
  /**
   * `maxConcurrentHandlers`: each datagram runs as its own task.
   *
   * @returns The limit.
   */
  protected override get concurrencyLimit(): number {
    return this.maxConcurrentHandlers;
  }
}
