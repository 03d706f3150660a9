/**
 * The concurrent UDP server: Python's `ThreadingUDPServer`.
 *
 * @module
 */

import { UDPServer } from "./udp_server.ts";

/**
 * A UDP server that handles each datagram as its own async task, up to
 * `maxConcurrentHandlers` at once. Past that the server stops receiving
 * until a handler finishes: datagrams wait in the kernel's receive buffer,
 * and the kernel drops what overflows it, as UDP allows. Tasks share one
 * thread: a handler that computes for long holds up the others.
 *
 * @example A slow datagram does not hold up a fast one
 * ```ts
 * import { DatagramRequestHandler, ThreadingUDPServer } from "@socketserver/core";
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
 * await using server = new ThreadingUDPServer({ hostname: "127.0.0.1", port: 0 }, Echo);
 * const serving = server.serveForever();
 * const client = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * await client.send(new Uint8Array([0]), server.address);
 * await client.send(new Uint8Array([1]), server.address);
 * const [first] = await client.receive();
 * assert.equal(first[0], 1);
 * release();
 * const [second] = await client.receive();
 * assert.equal(second[0], 0);
 * await server.shutdown();
 * await serving;
 * client.close();
 * ```
 */
export class ThreadingUDPServer extends UDPServer {
  /**
   * `maxConcurrentHandlers`: each datagram runs as its own task.
   *
   * @returns The limit.
   */
  protected override get concurrencyLimit(): number {
    return this.maxConcurrentHandlers;
  }
}
