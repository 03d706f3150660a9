/**
 * What TCP and Unix stream servers share: a listener, accepted connections
 * as requests, and a connection limit for the threading kinds.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import { FrameMemoryBudget } from "../io/frame_memory_budget.ts";
import { isPeerGone } from "../io/is_peer_gone.ts";
import { ProxyAcceptor } from "../proxy/_proxy_acceptor.ts";
import type { ProxyProtocolVersion } from "../proxy/parse_proxy_header.ts";
import { BaseServer, type BaseServerOptions } from "./base_server.ts";
import { resolveSettings } from "./_settings.ts";
import { removeSocketFile, socketFileInode } from "./_unix_socket_file.ts";

/** Options every stream server accepts. */
export interface StreamServerOptions<Address extends Deno.Addr> extends BaseServerOptions<Address> {
  /**
   * The most connections served at once by a threading server. Past it the
   * server stops accepting: new clients wait in the kernel's listen backlog
   * (`requestQueueSize`) and are served as connections finish; nothing
   * accepted is dropped. Sequential servers serve one at a time regardless.
   *
   * @default {10000}
   */
  maxConnections?: number;
  /**
   * The most bytes all connections' large frames may hold at once: what
   * stream handlers' read buffers hold past their 64 KiB read-ahead (a
   * buffer grows past it only for a frame that needs more, as that frame's
   * bytes arrive). Past it, the connections holding the most are closed
   * with `FrameMemoryError`, and the others go on. With it, worst-case
   * memory is a number: about `maxConnections` × (64 KiB of read-ahead +
   * 2 × `writeBufferSize` + 5 KB) + `maxFrameMemory`. 256 MiB lets 32
   * frames of the default `maxFrameLength` (8 MiB) arrive at once.
   *
   * @default {268435456}
   */
  maxFrameMemory?: number;
  /**
   * Expect a PROXY protocol header (HAProxy's, as sent by `send-proxy` or
   * `send-proxy-v2`) first on each connection: `"v1"` (text), `"v2"`
   * (binary) or `"any"`. Handlers then get the original client's address
   * as `clientAddress` and a {@linkcode ProxiedConn} (with its
   * `proxyHeader`) as `request`; a v2 LOCAL header (a health check) keeps
   * the proxy's address. A connection with a bad header, no header within
   * `proxyHeaderTimeout`, or from a peer not in `trustedProxies` is closed
   * and its error goes to `handleError()`. `undefined`: no header is read.
   *
   * @default {undefined}
   */
  proxyProtocol?: ProxyProtocolVersion;
  /**
   * The proxies allowed to send a PROXY header: IPv4 and IPv6 addresses and
   * CIDR networks (`"127.0.0.1"`, `"10.0.0.0/8"`, `"::1"`). Required on TCP
   * when `proxyProtocol` is set (an empty list is refused), since any peer
   * that may send a header can claim any address. Unix sockets have no peer
   * address, so it is not consulted there: the socket file's permissions
   * decide who may connect.
   *
   * @default {[]}
   */
  trustedProxies?: readonly string[];
  /**
   * Seconds a connection has to deliver its whole PROXY header.
   *
   * @default {5}
   */
  proxyHeaderTimeout?: number;
  /**
   * The longest v2 PROXY header accepted, in bytes (16 fixed bytes,
   * addresses and TLVs); 16 to 65551. A v1 header is at most 107 bytes.
   *
   * @default {4096}
   */
  maxProxyHeaderLength?: number;
}

/** The settings every stream server has; see {@linkcode StreamServerOptions}. */
const STREAM_SETTINGS = [
  "maxConnections",
  "maxFrameMemory",
  "proxyProtocol",
  "trustedProxies",
  "proxyHeaderTimeout",
  "maxProxyHeaderLength",
] as const;

/**
 * A server whose requests are connections accepted from a `Deno.Listener`.
 * Use {@linkcode TCPServer}, {@linkcode UnixStreamServer} or their
 * threading kinds; subclass this only for a new kind of listener.
 *
 * @typeParam Address The listener's address type.
 *
 * @example Every stream server is a StreamServer
 * ```ts
 * import { StreamServer, TCPServer, BaseRequestHandler } from "@socketserver/core/server";
 * import { assert, assertEquals } from "@std/assert";
 *
 * await using server = new TCPServer({ hostname: "127.0.0.1", port: 0 }, BaseRequestHandler);
 * assert(server instanceof StreamServer);
 * assertEquals(server.maxConnections, 10000);
 * ```
 *
 * @example Behind a load balancer: the client's address from a PROXY header
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer, formatAddress } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * class Hello extends StreamRequestHandler {
 *   override async handle() {
 *     await this.wfile.write(`hello ${formatAddress(this.clientAddress)}\n`);
 *   }
 * }
 *
 * await using server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, Hello, {
 *   proxyProtocol: "any",
 *   trustedProxies: ["127.0.0.1"], // the load balancer's address
 * });
 * const serving = server.serveForever();
 * using conn = await Deno.connect(server.address); // as the load balancer would
 * await conn.write(new TextEncoder().encode("PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\n"));
 * const reply = new Uint8Array(32);
 * const count = await conn.read(reply);
 * assertEquals(new TextDecoder().decode(reply.subarray(0, count!)), "hello 192.0.2.7:40000\n");
 * await server.shutdown();
 * await serving;
 * ```
 */
export abstract class StreamServer<Address extends Deno.Addr>
  extends BaseServer<Deno.Conn, Deno.Addr, Address> {
  /** Default for {@linkcode StreamServerOptions.maxConnections}. */
  static maxConnections: number = 10_000;
  /** Default for {@linkcode StreamServerOptions.maxFrameMemory}: 256 MiB. */
  static maxFrameMemory: number = 256 * 1024 * 1024;

  /** Default for {@linkcode StreamServerOptions.proxyProtocol}. */
  static proxyProtocol: ProxyProtocolVersion | undefined = undefined;
  /** Default for {@linkcode StreamServerOptions.trustedProxies}. */
  static trustedProxies: readonly string[] = [];
  /** Default for {@linkcode StreamServerOptions.proxyHeaderTimeout}. */
  static proxyHeaderTimeout: number = 5;
  /** Default for {@linkcode StreamServerOptions.maxProxyHeaderLength}. */
  static maxProxyHeaderLength: number = 4096;

  /** The most connections a threading server serves at once. */
  declare maxConnections: number;
  /** The most bytes all connections' large frames may hold at once. */
  declare readonly maxFrameMemory: number;
  /** The PROXY protocol versions expected; `undefined` reads no header. */
  declare readonly proxyProtocol: ProxyProtocolVersion | undefined;
  /** The peers allowed to send a PROXY header. */
  declare readonly trustedProxies: readonly string[];
  /** Seconds a connection has to deliver its PROXY header. */
  declare readonly proxyHeaderTimeout: number;
  /** The longest v2 PROXY header accepted, in bytes. */
  declare readonly maxProxyHeaderLength: number;

  readonly #listener: Deno.Listener<Deno.Conn, Deno.Addr>;
  readonly #proxy: ProxyAcceptor | undefined;
  readonly #frameMemory: FrameMemoryBudget;

  /**
   * Takes ownership of a bound listener; subclasses bind it first.
   *
   * @param listener The bound listener; the server owns it from here on.
   * @param RequestHandlerClass The handler class.
   * @param options Settings for this instance.
   * @throws {TypeError} `proxyProtocol` is set on TCP with no `trustedProxies`,
   * or a PROXY setting is malformed (the listener is closed then).
   * @throws {RangeError} `proxyHeaderTimeout` or `maxProxyHeaderLength` is out of
   * range, or `maxFrameMemory` is not a positive integer (the listener is closed then).
   */
  constructor(
    listener: Deno.Listener<Deno.Conn, Deno.Addr>,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.Addr>,
    options: StreamServerOptions<Address> = {},
  ) {
    const settings = resolveSettings(new.target, options, STREAM_SETTINGS);
    const { proxyProtocol } = settings;
    let proxy: ProxyAcceptor | undefined;
    let frameMemory: FrameMemoryBudget;
    try {
      frameMemory = new FrameMemoryBudget(settings.maxFrameMemory);
      if (proxyProtocol !== undefined) {
        proxy = new ProxyAcceptor({ ...settings, proxyProtocol }, listener.addr.transport);
      }
    } catch (error) {
      // A refused setting leaves nothing open, not even a Unix socket file.
      const path = "path" in listener.addr ? listener.addr.path : null;
      const ino = path ? socketFileInode(path) : null;
      listener.close();
      if (path) removeSocketFile(path, ino);
      throw error;
    }
    super(RequestHandlerClass, options);
    Object.assign(this, settings, { trustedProxies: Object.freeze([...settings.trustedProxies]) });
    this.#listener = listener;
    this.#proxy = proxy;
    this.#frameMemory = frameMemory;
  }

  /**
   * The budget of `maxFrameMemory` that every connection's reader accounts
   * in: `held` is what all large frames hold now.
   *
   * @returns The server's frame memory budget.
   */
  get frameMemory(): FrameMemoryBudget {
    return this.#frameMemory;
  }

  /** The bound address. */
  get address(): Address {
    return this.#listener.addr as Address;
  }

  /**
   * The listener (Python's `server.socket`). Deno sets no socket options on
   * it after binding; `socket.unref()` lets the program exit while the
   * server still listens. Closing it yourself ends `serveForever()`.
   *
   * @returns The listener the server accepts from.
   */
  get socket(): Deno.Listener<Deno.Conn, Deno.Addr> {
    return this.#listener;
  }

  /**
   * With `proxyProtocol` set, reads the PROXY header (see
   * {@linkcode StreamServerOptions.proxyProtocol}): the handler gets a
   * {@linkcode ProxiedConn} and the original client's address. Otherwise
   * returns both unchanged, at once.
   *
   * @param conn The accepted connection.
   * @param clientAddress The peer's address as accepted.
   * @returns The connection and address the other hooks see.
   * @throws {Deno.errors.PermissionDenied} The peer is not in `trustedProxies`.
   * @throws {ProxyProtocolError} The header is malformed or the stream ended in it.
   * @throws {Deno.errors.TimedOut} No whole header within `proxyHeaderTimeout`.
   */
  override prepareRequest(
    conn: Deno.Conn,
    clientAddress: Deno.Addr,
  ): [Deno.Conn, Deno.Addr] | Promise<[Deno.Conn, Deno.Addr]> {
    // Fast path: without proxyProtocol nothing is read, wrapped or awaited.
    if (this.#proxy === undefined) return [conn, clientAddress];
    return this.#proxy.accept(conn, clientAddress);
  }

  /**
   * Half-closes, then closes the connection, so the client reads every byte
   * sent before it sees the end of the stream.
   *
   * @param conn The connection.
   */
  override async shutdownRequest(conn: Deno.Conn): Promise<void> {
    try {
      await conn.closeWrite();
    } catch {
      // Already closed or reset by the peer: closing is all that is left.
    }
    this.closeRequest(conn);
  }

  /**
   * Closes the connection; closing twice is harmless.
   *
   * @param conn The connection.
   */
  override closeRequest(conn: Deno.Conn): void {
    try {
      conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /**
   * Accepts the next connection.
   *
   * @returns The connection and the peer's address, or `null` once closed.
   */
  protected async getRequest(): Promise<[Deno.Conn, Deno.Addr] | null> {
    for (;;) {
      try {
        const conn = await this.#listener.accept();
        return [conn, conn.remoteAddr];
      } catch (error) {
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          return null;
        }
        // A client that reset before it was accepted: nothing to serve, nothing to report.
        if (!isPeerGone(error)) throw error;
      }
    }
  }

  /** Closes the listener. */
  protected closeSocket(): void {
    try {
      this.#listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }
}
