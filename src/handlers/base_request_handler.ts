/**
 * The base of every request handler: Python's `BaseRequestHandler`.
 *
 * @module
 */

import type { FrameMemoryBudget } from "../io/frame_memory_budget.ts";

/**
 * What a handler may ask of the server that runs it. Declare a narrower type
 * in a subclass to reach your own server's fields:
 * `declare readonly server: ChatServer;`.
 */
export interface HandlerServer {
  /** Stops the server from accepting; safe to call from a handler. */
  shutdown(): Promise<void>;
  /**
   * Aborted once the server stops taking requests and drains: a handler
   * waiting for more input should return (finishing what it has started),
   * as an idle keep-alive connection is closed on a graceful stop. Every
   * server here has it; a custom server may leave it out.
   */
  readonly draining?: AbortSignal;
  /**
   * The budget for the memory all connections' large frames hold at once;
   * a stream handler's reader accounts there. Stream servers have it; a
   * server without one sets no such bound.
   */
  readonly frameMemory?: FrameMemoryBudget;
}

/**
 * Handles one request: one connection for stream servers, one datagram for
 * datagram servers. The server makes a new instance per request and calls
 * `setup()`, then `handle()`, then `finish()`; each may be async.
 *
 * `finish()` runs after `handle()` even when `handle()` throws (as in
 * Python, not when `setup()` throws). An error from any of them goes to the
 * server's `handleError()`; the server keeps serving.
 *
 * For subclasses: override `handle()`, and `setup()` / `finish()` for
 * per-request resources. Read `request`, `clientAddress` and `server`.
 * `server` is typed as what every server offers ({@linkcode HandlerServer});
 * one line types it as your own server class:
 * `declare readonly server: MyServer;` (no code is emitted for it).
 *
 * @typeParam Request What one request is (`Deno.Conn` for stream servers).
 * @typeParam ClientAddress The peer's address type.
 *
 * @example A handler that greets and closes
 * ```ts
 * import { BaseRequestHandler, TCPServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * class Greeting extends BaseRequestHandler {
 *   override async handle() {
 *     await this.request.write(new TextEncoder().encode("welcome\n"));
 *   }
 * }
 *
 * await using server = new TCPServer({ hostname: "127.0.0.1", port: 0 }, Greeting);
 * const serving = server.handleRequest();
 * using conn = await Deno.connect(server.address);
 * const reply = new Uint8Array(8);
 * assertEquals(await conn.read(reply), 8);
 * await serving;
 * ```
 *
 * @example Reach your own server's fields: one `declare` line
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * class CountingServer extends ThreadingTCPServer {
 *   visits = 0;
 * }
 *
 * class Visit extends StreamRequestHandler {
 *   declare readonly server: CountingServer;
 *   override async handle() {
 *     await this.wfile.write(`visit ${++this.server.visits} from port ${this.clientAddress.port}\n`);
 *   }
 * }
 *
 * await using server = new CountingServer({ hostname: "127.0.0.1", port: 0 }, Visit);
 * const serving = server.handleRequest();
 * using conn = await Deno.connect(server.address);
 * const reply = new Uint8Array(64);
 * const count = await conn.read(reply);
 * const text = new TextDecoder().decode(reply.subarray(0, count!));
 * assertEquals(text, `visit 1 from port ${(conn.localAddr as Deno.NetAddr).port}\n`);
 * await serving;
 * ```
 */
export class BaseRequestHandler<Request = Deno.Conn, ClientAddress = Deno.Addr> {
  /** The request: the connection, or `[data, socket]` for datagrams. */
  readonly request: Request;
  /** The peer's address. */
  readonly clientAddress: ClientAddress;
  /** The server running this handler. */
  readonly server: HandlerServer;

  /**
   * Called by the server; a subclass rarely needs its own constructor
   * (use `setup()`).
   *
   * @param request The request.
   * @param clientAddress The peer's address.
   * @param server The server running this handler.
   */
  constructor(request: Request, clientAddress: ClientAddress, server: HandlerServer) {
    this.request = request;
    this.clientAddress = clientAddress;
    this.server = server;
  }

  /** Prepares per-request state before `handle()`. Default: nothing. */
  setup(): void | Promise<void> {}

  /** Serves the request. Default: nothing. */
  handle(): void | Promise<void> {}

  /** Cleans up after `handle()`, even when it threw. Default: nothing. */
  finish(): void | Promise<void> {}
}

/**
 * A handler class as a server receives it: one whose constructor takes the
 * requests and client addresses that server gives (so the address type is
 * checked where the handler is handed to a server).
 *
 * @typeParam Request What one request is.
 * @typeParam ClientAddress The peer's address type.
 */
export type RequestHandlerClass<Request, ClientAddress> = new (
  request: Request,
  clientAddress: ClientAddress,
  server: HandlerServer,
) => BaseRequestHandler<Request, unknown>;
