/**
 * What TCP and Unix stream servers share: a listener, accepted connections
 * as requests, and a connection limit for the threading kinds.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import { isPeerGone } from "../io/peer_gone.ts";
import { BaseServer, type BaseServerOptions } from "./base_server.ts";
import { setting } from "./setting.ts";

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
}

/**
 * A server whose requests are connections accepted from a `Deno.Listener`.
 * Use {@linkcode TCPServer}, {@linkcode UnixStreamServer} or their
 * threading kinds; subclass this only for a new kind of listener.
 *
 * @typeParam Address The listener's address type.
 *
 * @example Every stream server is a StreamServer
 * ```ts
 * import { StreamServer, TCPServer, BaseRequestHandler } from "@socketserver/core";
 * import assert from "node:assert/strict";
 *
 * await using server = new TCPServer({ hostname: "127.0.0.1", port: 0 }, BaseRequestHandler);
 * assert.ok(server instanceof StreamServer);
 * assert.equal(server.maxConnections, 10000);
 * ```
 */
export abstract class StreamServer<Address extends Deno.Addr>
  extends BaseServer<Deno.Conn, Deno.Addr, Address> {
  /** Default for {@linkcode StreamServerOptions.maxConnections}. */
  static maxConnections: number = 10_000;

  /** The most connections a threading server serves at once. */
  maxConnections: number;

  readonly #listener: Deno.Listener<Deno.Conn, Deno.Addr>;

  /**
   * Takes ownership of a bound listener; subclasses bind it first.
   *
   * @param listener The bound listener; the server owns it from here on.
   * @param RequestHandlerClass The handler class.
   * @param options Settings for this instance.
   */
  constructor(
    listener: Deno.Listener<Deno.Conn, Deno.Addr>,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.Addr>,
    options: StreamServerOptions<Address> = {},
  ) {
    super(RequestHandlerClass, options);
    this.#listener = listener;
    const defaults = new.target as unknown as typeof StreamServer;
    this.maxConnections = setting(options.maxConnections, defaults.maxConnections);
  }

  /** The bound address. */
  get address(): Address {
    return this.#listener.addr as Address;
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
