// Internal: one member of a ForkingTCPServer's pool. Each worker runs one on
// its own SO_REUSEPORT listener; the main thread runs one on its listener
// while the workers start.

import type { RequestHandlerClass } from "../../handlers/base_request_handler.ts";
import type { TCPBoundAddress } from "../tcp_server.ts";
import { StreamServer, type StreamServerOptions } from "../stream_server.ts";

/** Settings of a pool member, all given (the main side resolved the defaults). */
export interface SharedPortServerOptions extends StreamServerOptions<TCPBoundAddress> {
  workerId: number;
  workerData: unknown;
  noDelay: boolean;
  keepAlive: boolean;
  /** Receives every error instead of stderr; never throws. */
  onError: (error: unknown, request: Deno.Conn | null, clientAddress: Deno.Addr | null) => void;
  /** Told when anyone (a handler too) calls `shutdown()`. */
  onShutdown: () => void;
}

/**
 * A threading stream server over a listener that shares its port: what a
 * handler sees as `this.server` in a ForkingTCPServer.
 */
export class SharedPortServer extends StreamServer<TCPBoundAddress> {
  /** The worker's slot, 0 to workers - 1; -1 in the main thread. */
  readonly workerId: number;
  /** ForkingTCPServerOptions.workerData, cloned for this worker. */
  readonly workerData: unknown;
  readonly #noDelay: boolean;
  readonly #keepAlive: boolean;
  readonly #onError: SharedPortServerOptions["onError"];
  readonly #onShutdown: () => void;

  constructor(
    listener: Deno.Listener<Deno.Conn, Deno.Addr>,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.Addr>,
    options: SharedPortServerOptions,
  ) {
    super(listener, RequestHandlerClass, options);
    this.workerId = options.workerId;
    this.workerData = options.workerData;
    this.#noDelay = options.noDelay;
    this.#keepAlive = options.keepAlive;
    this.#onError = options.onError;
    this.#onShutdown = options.onShutdown;
  }

  /** Stops this member, and tells the pool (a handler may call it to stop the whole server). */
  override shutdown(): Promise<void> {
    this.#onShutdown();
    return super.shutdown();
  }

  /**
   * Stops accepting, closes the listener and drains (as `serverClose()`),
   * without telling the pool: the pool asked.
   */
  async stop(): Promise<void> {
    await super.shutdown();
    await this.serverClose();
  }

  /**
   * Closes the listener while the request loop still runs, so an accept
   * that completed as it closed is served rather than dropped (as
   * `shutdown()` first would do); the loop then ends by itself.
   */
  closeListener(): void {
    this.closeSocket();
  }

  /** Hands the error to the pool, which reports it through ForkingTCPServer.handleError(). */
  override handleError(
    error: unknown,
    request: Deno.Conn | null,
    clientAddress: Deno.Addr | null,
  ): void {
    this.#onError(error, request, clientAddress);
  }

  /** Each connection runs as its own task, as in ThreadingTCPServer. */
  protected override get concurrencyLimit(): number {
    return this.maxConnections;
  }

  /** Accepts the next connection and applies `noDelay` and `keepAlive`, as TCPServer does. */
  protected override async getRequest(): Promise<[Deno.Conn, Deno.Addr] | null> {
    const next = await super.getRequest();
    if (next === null) return null;
    const conn = next[0] as Deno.TcpConn;
    try {
      conn.setNoDelay(this.#noDelay);
      conn.setKeepAlive(this.#keepAlive);
    } catch {
      // The peer already reset: the handler's first read reports it.
    }
    return next;
  }
}
