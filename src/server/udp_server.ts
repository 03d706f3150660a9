/**
 * The UDP servers: Python's `UDPServer` and `ThreadingUDPServer`.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import type { DatagramRequest } from "../handlers/datagram_request_handler.ts";
import { DatagramServer, type DatagramServerOptions, datagramSettings } from "./datagram_server.ts";
import { resolveSettings } from "./_settings.ts";
import { assertUnstableNet } from "./_unstable_net.ts";

/** Where a UDP server listens. */
export interface UDPAddress {
  /**
   * The interface to bind: `"127.0.0.1"` for this machine only, `"0.0.0.0"`
   * for every interface.
   *
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /** The port; `0` picks a free one (read it from `server.address.port`). */
  port: number;
}

/** A UDP server's bound address: what `DatagramConn.send()` takes as it is. */
export type UDPBoundAddress = Deno.NetAddr & { transport: "udp" };

/** Options for UDP servers. Each overrides the static default of the same name. */
export interface UDPServerOptions extends DatagramServerOptions<UDPBoundAddress> {
  /**
   * SO_REUSEADDR (Deno's `reuseAddress`), so the port can be bound even
   * while another socket holds it. On Linux the newest socket then receives
   * the port's datagrams: it takes them over, it does not share them.
   *
   * @default {false}
   */
  allowReuseAddress?: boolean;
  /**
   * SO_REUSEPORT, which Python offers to spread datagrams over several
   * sockets. Deno has no such option for UDP sockets, so only `false` is
   * accepted: `true` throws rather than bind without it.
   *
   * @default {false}
   */
  allowReusePort?: boolean;
}

/**
 * A UDP server that handles one datagram at a time, as in Python: datagrams
 * that arrive meanwhile wait in the kernel's receive buffer (and are dropped
 * by the kernel if it overflows). Use {@linkcode ThreadingUDPServer} to
 * handle each datagram as its own task.
 *
 * The request is `[data, socket]`; with {@linkcode DatagramRequestHandler}
 * the reply goes back to the sender as one datagram. Datagrams larger than
 * `maxPacketSize` follow `onTooLong`.
 *
 * `Deno.listenDatagram` needs `--unstable-net` (or `"unstable": ["net"]` in
 * deno.json): without it the constructor throws a `TypeError` that says so,
 * before anything is bound.
 *
 * @example Echo one datagram
 * ```ts
 * import { DatagramRequestHandler, UDPServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends DatagramRequestHandler {
 *   override async handle() {
 *     await this.reply(this.packet);
 *   }
 * }
 *
 * await using server = new UDPServer({ hostname: "127.0.0.1", port: 0 }, Echo);
 * const serving = server.handleRequest();
 * const client = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * await client.send(new TextEncoder().encode("ping"), server.address);
 * const [reply] = await client.receive();
 * assertEquals(new TextDecoder().decode(reply), "ping");
 * await serving;
 * client.close();
 * ```
 */
export class UDPServer extends DatagramServer<UDPBoundAddress> {
  /** Default for {@linkcode UDPServerOptions.allowReuseAddress}. */
  static allowReuseAddress: boolean = false;
  /** Default for {@linkcode UDPServerOptions.allowReusePort}. */
  static allowReusePort: boolean = false;

  /** Whether SO_REUSEADDR is set. */
  declare readonly allowReuseAddress: boolean;
  /** Whether SO_REUSEPORT is set: always `false` on Deno. */
  declare readonly allowReusePort: boolean;

  /**
   * Binds the UDP socket.
   *
   * @param address Where to listen.
   * @param RequestHandlerClass The handler class.
   * @param options Settings for this instance.
   * @throws {TypeError} Deno runs without `--unstable-net`, or
   * `allowReusePort: true` was asked for.
   * @throws {RangeError} A setting is out of range.
   * @throws {Deno.errors.AddrInUse} The port is taken.
   */
  constructor(
    address: UDPAddress,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest, Deno.Addr>,
    options: UDPServerOptions = {},
  ) {
    assertUnstableNet(`${new.target.name} (Deno.listenDatagram)`);
    const settings = resolveSettings(new.target, options, ["allowReuseAddress", "allowReusePort"]);
    if (settings.allowReusePort) {
      throw new TypeError(
        "Cannot honour allowReusePort true: Deno has no SO_REUSEPORT for UDP sockets (Deno.listenDatagram offers reuseAddress only)",
      );
    }
    // Refuse bad options before binding, so nothing is left open.
    datagramSettings(new.target, options);
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: address.hostname ?? "0.0.0.0",
      port: address.port,
      reuseAddress: settings.allowReuseAddress,
    });
    super(socket, RequestHandlerClass, options);
    Object.assign(this, settings);
  }
}

/**
 * A UDP server that handles each datagram as its own async task, up to
 * `maxConcurrentHandlers` at once. Past that the server stops receiving
 * until a handler finishes: datagrams wait in the kernel's receive buffer,
 * and the kernel drops what overflows it, as UDP allows. Tasks share one
 * thread: a handler that computes for long holds up the others.
 *
 * @example A slow datagram does not hold up a fast one
 * ```ts
 * import { DatagramRequestHandler, ThreadingUDPServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
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
 * assertEquals(first[0], 1);
 * release();
 * const [second] = await client.receive();
 * assertEquals(second[0], 0);
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
