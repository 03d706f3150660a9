/**
 * The TCP servers: Python's `TCPServer` and `ThreadingTCPServer`.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import { resolveSettings } from "./_settings.ts";
import { assertUnstableNet } from "./_unstable_net.ts";
import { StreamServer, type StreamServerOptions } from "./stream_server.ts";

/** Where a TCP server listens. */
export interface TCPAddress {
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

/** A TCP server's bound address: what `Deno.connect()` takes as it is. */
export type TCPBoundAddress = Deno.NetAddr & { transport: "tcp" };

/** Options for TCP servers. Each overrides the static default of the same name. */
export interface TCPServerOptions extends StreamServerOptions<TCPBoundAddress> {
  /**
   * The listen backlog: connections the kernel queues before they are
   * accepted (Python's `request_queue_size`, 5 there; Deno's default 511,
   * as nginx and Redis use). The kernel caps it at `net.core.somaxconn`.
   *
   * @default {511}
   */
  requestQueueSize?: number;
  /**
   * SO_REUSEADDR, so a restarted server can bind while old connections are
   * in TIME_WAIT. Deno always sets it on TCP listeners, so only `true` is
   * accepted (Python's default is `false`; Python tutorials set `true`).
   *
   * @default {true}
   */
  allowReuseAddress?: boolean;
  /**
   * SO_REUSEPORT, so several processes can listen on one port and the kernel
   * spreads connections among them (Linux). Needs `--unstable-net`.
   *
   * @default {false}
   */
  allowReusePort?: boolean;
  /**
   * TCP_NODELAY on each connection. Deno leaves Nagle's algorithm on for
   * accepted connections, which delays a small write that follows another
   * (a header, then a body) by about 40 ms; replies are coalesced by `wfile`
   * anyway, so Nagle has nothing left to do.
   *
   * @default {true}
   */
  noDelay?: boolean;
  /**
   * SO_KEEPALIVE on each connection, so a peer that vanished is detected.
   *
   * @default {false}
   */
  keepAlive?: boolean;
}

/** The settings of TCP servers beyond a stream server's; see {@linkcode TCPServerOptions}. */
const TCP_SETTINGS = [
  "requestQueueSize",
  "allowReuseAddress",
  "allowReusePort",
  "noDelay",
  "keepAlive",
] as const;

/**
 * A TCP server that serves one connection at a time: the next client waits
 * in the listen backlog until the current handler returns, as in Python.
 * Use {@linkcode ThreadingTCPServer} to serve clients concurrently.
 *
 * The socket is bound in the constructor: `server.address` is ready at
 * once, and a bind failure throws and leaves nothing open.
 *
 * @example Serve one request at a time
 * ```ts
 * import { StreamRequestHandler, TCPServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const chunk of this.rfile) await this.wfile.write(chunk);
 *   }
 * }
 *
 * await using server = new TCPServer({ hostname: "127.0.0.1", port: 0 }, Echo);
 * const serving = server.handleRequest();
 * const conn = await Deno.connect(server.address);
 * await conn.write(new TextEncoder().encode("ping"));
 * await conn.closeWrite();
 * const reply = new Uint8Array(4);
 * assertEquals(await conn.read(reply), 4);
 * conn.close();
 * await serving;
 * ```
 */
export class TCPServer extends StreamServer<TCPBoundAddress> {
  /** Default for {@linkcode TCPServerOptions.requestQueueSize}. */
  static requestQueueSize: number = 511;
  /** Default for {@linkcode TCPServerOptions.allowReuseAddress}. */
  static allowReuseAddress: boolean = true;
  /** Default for {@linkcode TCPServerOptions.allowReusePort}. */
  static allowReusePort: boolean = false;
  /** Default for {@linkcode TCPServerOptions.noDelay}. */
  static noDelay: boolean = true;
  /** Default for {@linkcode TCPServerOptions.keepAlive}. */
  static keepAlive: boolean = false;

  /** The listen backlog in force. */
  declare readonly requestQueueSize: number;
  /** Whether SO_REUSEADDR is set (always, on Deno). */
  declare readonly allowReuseAddress: boolean;
  /** Whether SO_REUSEPORT is set. */
  declare readonly allowReusePort: boolean;
  /** Whether TCP_NODELAY is set on new connections. */
  declare noDelay: boolean;
  /** Whether SO_KEEPALIVE is set on new connections. */
  declare keepAlive: boolean;

  /**
   * Binds and listens.
   *
   * @param address Where to listen.
   * @param RequestHandlerClass The handler class: its `clientAddress` type
   * must hold a `Deno.NetAddr` (the default of `StreamRequestHandler`, or
   * `Deno.Addr`); a handler declared for `Deno.UnixAddr` is a type error.
   * @param options Settings for this instance.
   * @throws {Deno.errors.AddrInUse} The port is taken.
   * @throws {TypeError} `allowReusePort` without `--unstable-net`, or
   * `allowReuseAddress: false`.
   */
  constructor(
    address: TCPAddress,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.NetAddr>,
    options: TCPServerOptions = {},
  ) {
    const settings = resolveSettings(new.target, options, TCP_SETTINGS);
    const listener = Deno.listen(tcpListenOptions(address, settings));
    // Its clients' addresses are NetAddrs (a PROXY header's too), as the handler's type says.
    super(listener, RequestHandlerClass as RequestHandlerClass<Deno.Conn, Deno.Addr>, options);
    Object.assign(this, settings);
  }

  /**
   * Accepts the next connection and applies `noDelay` and `keepAlive`.
   *
   * @returns The connection and the peer's address, or `null` once closed.
   */
  protected override async getRequest(): Promise<[Deno.Conn, Deno.Addr] | null> {
    const next = await super.getRequest();
    if (next === null) return null;
    const conn = next[0] as Deno.TcpConn;
    try {
      conn.setNoDelay(this.noDelay);
      // A new socket has keep-alive off: one system call per connection saved.
      if (this.keepAlive) conn.setKeepAlive(true);
    } catch {
      // The peer already reset: the handler's first read reports it.
    }
    return next;
  }
}

/**
 * A TCP server that serves each connection as its own async task, up to
 * `maxConnections` at once (then new clients wait in the backlog). Tasks
 * share one thread: a handler that computes for long blocks the others; use
 * `ForkingTCPServer` to use every core.
 *
 * @example Two clients served at the same time
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
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
 * assertEquals(reply[0], 2);
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

/**
 * Refuses what Deno cannot honour and returns what `Deno.listen` takes.
 *
 * @throws {TypeError} `allowReuseAddress` is false, or `allowReusePort`
 * without `--unstable-net`.
 */
function tcpListenOptions(
  address: TCPAddress,
  settings: Pick<TCPServer, "requestQueueSize" | "allowReuseAddress" | "allowReusePort">,
): Deno.TcpListenOptions & { reusePort?: boolean } {
  if (!settings.allowReuseAddress) {
    throw new TypeError(
      "Cannot honour allowReuseAddress false: Deno always sets SO_REUSEADDR on TCP listeners",
    );
  }
  // Without --unstable-net, Deno exits the process on reusePort instead of throwing.
  if (settings.allowReusePort) assertUnstableNet("allowReusePort (SO_REUSEPORT)");
  return {
    hostname: address.hostname ?? "0.0.0.0",
    port: address.port,
    tcpBacklog: settings.requestQueueSize,
    ...(settings.allowReusePort ? { reusePort: true } : {}),
  };
}
