/**
 * The base of every request handler: Python's `BaseRequestHandler`.
 *
 * @module
 */

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
 * A handler class as a server receives it.
 *
 * @typeParam Request What one request is.
 * @typeParam ClientAddress The peer's address type.
 */
export type RequestHandlerClass<Request, ClientAddress> = new (
  request: Request,
  clientAddress: ClientAddress,
  server: HandlerServer,
) => BaseRequestHandler<Request, ClientAddress>;
