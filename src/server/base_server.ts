/**
 * The server lifecycle shared by every server kind: Python's `BaseServer`.
 *
 * @module
 */

import type { HandlerServer, RequestHandlerClass } from "../handlers/base_request_handler.ts";
import { isPeerGone } from "../io/is_peer_gone.ts";
import { formatAddress } from "./format_address.ts";
import { formatErrorReport } from "./_error_report.ts";
import { resolveSettings } from "./_settings.ts";

/** Options every server accepts. Each overrides the static default of the same name. */
export interface BaseServerOptions<ServerAddress> {
  /**
   * Seconds `handleRequest()` waits for a request before it calls
   * `handleTimeout()`; `null` waits forever.
   *
   * @default {null}
   */
  timeout?: number | null;
  /**
   * Whether `serverClose()` waits for running handlers (up to
   * `drainTimeout`) before it returns.
   *
   * @default {true}
   */
  blockOnClose?: boolean;
  /**
   * Seconds `serverClose()` lets running handlers finish before it closes
   * their connections.
   *
   * @default {30}
   */
  drainTimeout?: number;
  /**
   * Seconds between `serviceActions()` calls while `serveForever()` waits
   * for a request (Python's `serve_forever(poll_interval)`). Only paces
   * `serviceActions()`, and only when a subclass overrides it: shutdown
   * never waits for it.
   *
   * @default {0.5}
   */
  pollInterval?: number;
  /**
   * Aborting it shuts the server down and closes it, as `Deno.serve` does.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called with the bound address when the server starts serving.
   *
   * @default {undefined}
   */
  onListen?: (address: ServerAddress) => void;
}

/** Counters since the server was made. */
export interface ServerStats {
  /** Requests taken in (accepted connections, received datagrams). */
  requests: number;
  /** Requests being served now. */
  active: number;
  /** Errors reported to `handleError()`. */
  errors: number;
}

/** The settings every server has; see {@linkcode BaseServerOptions}. */
const BASE_SETTINGS = ["timeout", "blockOnClose", "drainTimeout", "pollInterval"] as const;

const TIMED_OUT = Symbol("timed out");
// After the drain deadline connections are closed; handlers get this long to notice.
const FORCED_CLOSE_GRACE_SECONDS = 1;
// A failing accept (EMFILE: out of file descriptors) is retried after this pause, not in a spin.
const ACCEPT_ERROR_PAUSE_MS = 100;

/**
 * The lifecycle every server shares: the request loop, shutdown, close,
 * error containment and the hooks Python users know.
 *
 * The request path is a chain of small hooks:
 * `getRequest -> prepareRequest -> verifyRequest -> processRequest ->
 * finishRequest -> shutdownRequest -> closeRequest`.
 *
 * **For callers**: `serveForever()`, `handleRequest()`, `shutdown()`,
 * `serverClose()`, `finished`, `draining`, `address`, `activeRequests`,
 * `stats`, `await using`.
 *
 * **May be overridden**: `prepareRequest()`, `verifyRequest()`, `processRequest()`,
 * `finishRequest()`, `shutdownRequest()`, `closeRequest()`, `handleError()`,
 * `handleTimeout()`, `serviceActions()`.
 *
 * **For subclasses** (new server kinds): `getRequest()`, `closeSocket()`,
 * `afterDrain()`, `reportError()`, `concurrencyLimit`.
 *
 * Better than Python's: `shutdown()` wakes the loop at once (no polling),
 * is safe from a handler and before `serveForever()` starts; finished
 * requests are not retained; `serverClose()` drains with a deadline, and
 * `draining` tells handlers to wind down (an idle keep-alive connection
 * can end at once, as nginx closes them on a graceful stop).
 *
 * Settings are static fields (Python's class attributes: override them in a
 * subclass with `static override timeout = 5`) and constructor options (per
 * instance); the instance field holds the value in force.
 *
 * @typeParam Request What one request is.
 * @typeParam ClientAddress The peer's address type.
 * @typeParam ServerAddress The server's own address type.
 *
 * @example Serve until a handler asks to stop
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core/server";
 * import { assert } from "@std/assert";
 *
 * class StopOnRequest extends StreamRequestHandler {
 *   override async handle() {
 *     await this.wfile.write("bye\n");
 *     this.server.shutdown();
 *   }
 * }
 *
 * const server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, StopOnRequest);
 * const serving = server.serveForever();
 * using conn = await Deno.connect(server.address);
 * await serving; // returns once the handler called shutdown()
 * await server.serverClose();
 * assert(await conn.read(new Uint8Array(4)));
 * ```
 */
export abstract class BaseServer<Request, ClientAddress, ServerAddress = ClientAddress>
  implements HandlerServer, AsyncDisposable {
  /** Default for {@linkcode BaseServerOptions.timeout}. */
  static timeout: number | null = null;
  /** Default for {@linkcode BaseServerOptions.blockOnClose}. */
  static blockOnClose: boolean = true;
  /** Default for {@linkcode BaseServerOptions.drainTimeout}. */
  static drainTimeout: number = 30;
  /** Default for {@linkcode BaseServerOptions.pollInterval}. */
  static pollInterval: number = 0.5;

  /** Seconds `handleRequest()` waits; `null` waits forever. */
  declare timeout: number | null;
  /** Whether `serverClose()` waits for running handlers. */
  declare blockOnClose: boolean;
  /** Seconds `serverClose()` lets running handlers finish. */
  declare drainTimeout: number;
  /** Seconds between `serviceActions()` calls while no request comes. */
  declare pollInterval: number;
  /** The handler class; a new instance serves each request. */
  RequestHandlerClass: RequestHandlerClass<Request, ClientAddress>;

  readonly #onListen: ((address: ServerAddress) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => void this[Symbol.asyncDispose]();
  #listening = false;
  #shutdownRequested = false;
  /** Aborted with the shutdown: handlers read it as `this.server.draining`. */
  readonly #draining = new AbortController();
  /** Resolvers of the waits in progress; called on every state change. */
  readonly #wakers = new Set<(changed: boolean) => void>();
  #serving: Promise<void> | undefined;
  /** Running requests; a finished one is deleted at once (Python kept threads). */
  readonly #active = new Set<Request>();
  /** The accept in flight, if any; awaited on close, since the port frees only once it settles. */
  #accepting: Promise<void> | undefined;
  /** What the last accept gave that no loop has taken yet. */
  #arrived: { next: [Request, ClientAddress] | null } | { error: unknown } | undefined;
  #closing: Promise<void> | undefined;
  #forceClosed = false;
  #fatal: { error: unknown } | undefined;
  #requests = 0;
  #errors = 0;
  readonly #finished: PromiseWithResolvers<void> = Promise.withResolvers();

  /**
   * Sets up the lifecycle; subclasses bind their socket before calling it.
   *
   * @param RequestHandlerClass The handler class.
   * @param options Settings for this instance.
   */
  constructor(
    RequestHandlerClass: RequestHandlerClass<Request, ClientAddress>,
    options: BaseServerOptions<ServerAddress> = {},
  ) {
    Object.assign(this, resolveSettings(new.target, options, BASE_SETTINGS));
    this.RequestHandlerClass = RequestHandlerClass;
    this.#onListen = options.onListen;
    this.#signal = options.signal;
    if (this.#signal?.aborted) this.#requestShutdown();
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The address the server is bound to (port 0 resolved). */
  abstract get address(): ServerAddress;

  /**
   * Resolves once the server is shut down and closed (after `serverClose()`).
   *
   * @returns A promise that never rejects.
   */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Aborted once the server stops taking requests (`shutdown()`,
   * `serverClose()` or the `signal`), before the drain: running handlers
   * should finish what they are doing and return, rather than wait for
   * more. A handler reads it as `this.server.draining`; the stream handler's
   * reader ends a wait for the next frame at once when it aborts, so idle
   * keep-alive connections close while busy ones finish (within
   * `drainTimeout`).
   *
   * @example An idle handler returns as soon as the server drains
   * ```ts
   * import { BaseRequestHandler, ThreadingTCPServer } from "@socketserver/core/server";
   * import { assertEquals } from "@std/assert";
   *
   * class WaitForDrain extends BaseRequestHandler {
   *   override async handle() {
   *     const { promise, resolve } = Promise.withResolvers<void>();
   *     this.server.draining?.addEventListener("abort", () => resolve(), { once: true });
   *     await this.request.write(new TextEncoder().encode("waiting\n"));
   *     await promise;
   *   }
   * }
   *
   * const server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, WaitForDrain);
   * const serving = server.serveForever();
   * using conn = await Deno.connect(server.address);
   * await conn.read(new Uint8Array(8));
   * assertEquals(server.draining.aborted, false);
   * await server.shutdown();
   * await serving;
   * await server.serverClose(); // returns at once: the handler saw the signal
   * assertEquals(server.activeRequests, 0);
   * ```
   *
   * @returns The signal.
   */
  get draining(): AbortSignal {
    return this.#draining.signal;
  }

  /**
   * Requests being served right now. Finished ones are forgotten at once,
   * so this returns to 0 when the server is idle.
   *
   * @returns The count.
   */
  get activeRequests(): number {
    return this.#active.size;
  }

  /**
   * Counters since the server was made.
   *
   * @returns A snapshot.
   */
  get stats(): ServerStats {
    return { requests: this.#requests, active: this.#active.size, errors: this.#errors };
  }

  /**
   * Handles requests until `shutdown()` is called.
   *
   * @returns Resolves when the loop has stopped; running handlers may still
   * be finishing (`serverClose()` waits for them).
   * @throws {Error} An error that `handleError()` rethrew: the server stops.
   */
  async serveForever(): Promise<void> {
    if (this.#serving !== undefined) {
      throw new Error("Cannot serve: serveForever() is already running");
    }
    this.#serving = this.#serve();
    try {
      await this.#serving;
    } finally {
      this.#serving = undefined;
    }
  }

  /**
   * Handles one request, waiting at most `timeout` seconds for it and
   * calling `handleTimeout()` when none came. A sequential server returns
   * once the request is served; a threading server once it has started.
   *
   * @throws {Error} An error that `handleError()` rethrew.
   */
  async handleRequest(): Promise<void> {
    this.#announce();
    await this.#waitForSlot();
    const next = await this.#nextRequest(this.timeout);
    if (next === TIMED_OUT) return await this.handleTimeout();
    if (next === null) return;
    const served = this.#handle(next[0], next[1]);
    if (this.concurrencyLimit === 1) await served;
    this.#throwIfFatal();
  }

  /**
   * Stops the request loop at once. Safe from a handler, a signal listener,
   * and before `serveForever()` starts (which then returns at once).
   *
   * @returns Resolves when `serveForever()` has returned (at once when it is
   * not running).
   */
  shutdown(): Promise<void> {
    this.#requestShutdown();
    return this.#serving?.then(noop, noop) ?? Promise.resolve();
  }

  /**
   * Closes the server: stops accepting, closes the socket, then (with
   * `blockOnClose`) waits up to `drainTimeout` seconds for running handlers
   * and closes the connections of those still running. Idempotent.
   *
   * @returns Resolves when closed; `finished` resolves then too.
   */
  serverClose(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  /** `await using server = …` shuts the server down and closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
    await this.serverClose();
  }

  /**
   * Runs first in each request's own task, before `verifyRequest()`: may
   * read from the request or replace it and its address (a stream server
   * reads a PROXY protocol header here). Default: both unchanged.
   *
   * @param request The request as accepted.
   * @param clientAddress The peer's address as accepted.
   * @returns The request and address the other hooks see.
   */
  prepareRequest(
    request: Request,
    clientAddress: ClientAddress,
  ): [Request, ClientAddress] | Promise<[Request, ClientAddress]> {
    return [request, clientAddress];
  }

  /**
   * Decides whether to serve a request. Returning `false` closes it at once.
   *
   * @param _request The request.
   * @param _clientAddress The peer's address.
   * @returns `true` to serve it. Default: `true`.
   */
  verifyRequest(_request: Request, _clientAddress: ClientAddress): boolean | Promise<boolean> {
    return true;
  }

  /**
   * Serves a verified request and then shuts it down; errors go to
   * `handleError()`.
   *
   * @param request The request.
   * @param clientAddress The peer's address.
   */
  async processRequest(request: Request, clientAddress: ClientAddress): Promise<void> {
    try {
      await this.finishRequest(request, clientAddress);
    } catch (error) {
      await this.reportError(error, request, clientAddress);
    } finally {
      await this.shutdownRequest(request);
    }
  }

  /**
   * Runs the handler: `setup()`, `handle()`, then `finish()` even when
   * `handle()` threw.
   *
   * @param request The request.
   * @param clientAddress The peer's address.
   */
  async finishRequest(request: Request, clientAddress: ClientAddress): Promise<void> {
    const handler = new this.RequestHandlerClass(request, clientAddress, this);
    await handler.setup();
    try {
      await handler.handle();
    } finally {
      await handler.finish();
    }
  }

  /**
   * Ends a request after it was served or refused. Default: `closeRequest()`.
   *
   * @param request The request.
   */
  shutdownRequest(request: Request): void | Promise<void> {
    this.closeRequest(request);
  }

  /**
   * Releases a request's resources. Default: nothing (datagrams have none).
   *
   * @param _request The request.
   */
  closeRequest(_request: Request): void {}

  /**
   * Reports an error raised while serving a request. The default prints it
   * to stderr as Python prints a traceback, one block per error: a line
   * naming the server, the client and the error, then its stack and its
   * causes. The server keeps serving; rethrow to stop it (`serveForever()`
   * then rejects with the error).
   *
   * @param error What was thrown.
   * @param _request The request, or `null` for an error accepting one.
   * @param clientAddress The peer's address, or `null`.
   */
  handleError(
    error: unknown,
    _request: Request | null,
    clientAddress: ClientAddress | null,
  ): void | Promise<void> {
    const where = clientAddress === null
      ? "accepting a request"
      : `handling a request from ${formatAddress(clientAddress as Deno.Addr)}`;
    console.error(formatErrorReport(`${this.constructor.name}: error ${where}`, error));
  }

  /** Called by `handleRequest()` when `timeout` passed with no request. Default: nothing. */
  handleTimeout(): void | Promise<void> {}

  /**
   * Periodic work in the `serveForever()` loop (Python's `service_actions`):
   * called after each request is started (after it is served, on a
   * sequential server) and every `pollInterval` seconds while no request
   * comes. The timer runs only when this method is overridden. Default:
   * nothing.
   */
  serviceActions(): void | Promise<void> {}

  /**
   * Waits for the next request.
   *
   * @returns The request and its address, or `null` once the socket is closed.
   */
  protected abstract getRequest(): Promise<[Request, ClientAddress] | null>;

  /** Closes the server's socket; `getRequest()` then returns `null`. */
  protected abstract closeSocket(): void;

  /**
   * Called by `serverClose()` after the drain, before `finished` resolves:
   * releases what running handlers use until they end, such as a datagram
   * server's socket, which replies go out on. Default: nothing.
   */
  protected afterDrain(): void | Promise<void> {}

  /**
   * Hands an error raised outside a request's own task (a worker's, in a
   * pool) to `handleError()`, counted in `stats.errors`, as the server's
   * own errors are; what `handleError()` rethrows stops the server.
   *
   * @param error What was thrown.
   * @param request The request, or `null`.
   * @param clientAddress The peer's address, or `null`.
   */
  protected async reportError(
    error: unknown,
    request: Request | null,
    clientAddress: ClientAddress | null,
  ): Promise<void> {
    // After a forced close, handlers fail on their closed connections: expected, not news.
    if (this.#forceClosed && isPeerGone(error)) return;
    this.#errors++;
    try {
      await this.handleError(error, request, clientAddress);
    } catch (fatal) {
      this.#fatal ??= { error: fatal };
      this.#requestShutdown();
    }
  }

  /**
   * How many requests may run at once: 1 serves them one after another (the
   * next waits, as in Python); threading servers return their limit.
   *
   * @returns The limit.
   */
  protected get concurrencyLimit(): number {
    return 1;
  }

  async #serve(): Promise<void> {
    this.#announce();
    while (!this.#shutdownRequested) {
      const next = await this.#nextRequest(this.#servicePeriod());
      if (next === null) break;
      if (next !== TIMED_OUT) {
        this.#handle(next[0], next[1]);
        // A sequential server waits here for the request to finish (as Python
        // does, before serviceActions), a threading one only at its limit; a
        // handler that calls shutdown() ends the wait, so it never waits on itself.
        await this.#waitForSlot();
      }
      await this.serviceActions();
    }
    this.#throwIfFatal();
  }

  /** `pollInterval` when `serviceActions()` is overridden; `null` (no timer) otherwise. */
  #servicePeriod(): number | null {
    return this.serviceActions === BaseServer.prototype.serviceActions ? null : this.pollInterval;
  }

  #announce(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.#onListen?.(this.address);
  }

  /** Waits while `concurrencyLimit` requests run (a sequential server waits for the one). */
  async #waitForSlot(): Promise<void> {
    while (this.#active.size >= this.concurrencyLimit && !this.#shutdownRequested) {
      await this.#stateChange(null);
    }
  }

  /** The next request; `null` on shutdown or close; accept errors are reported and retried. */
  async #nextRequest(
    timeout: number | null,
  ): Promise<[Request, ClientAddress] | null | typeof TIMED_OUT> {
    const deadline = timeout === null ? Infinity : performance.now() + timeout * 1000;
    while (!this.#shutdownRequested) {
      const arrived = this.#arrived;
      this.#arrived = undefined;
      if (arrived !== undefined && "next" in arrived) return arrived.next;
      if (arrived !== undefined) {
        await this.reportError(arrived.error, null, null);
        // Not a spin when accept keeps failing (EMFILE): pause, waking early on shutdown.
        await this.#stateChange(ACCEPT_ERROR_PAUSE_MS / 1000);
        continue;
      }
      this.#startAccept();
      const left = deadline - performance.now();
      if (left <= 0 || !(await this.#stateChange(left === Infinity ? null : left / 1000))) {
        return TIMED_OUT;
      }
    }
    return null;
  }

  /** Starts an accept unless one is in flight; its outcome lands in `#arrived`. */
  #startAccept(): void {
    if (this.#accepting !== undefined) return;
    this.#accepting = this.getRequest().then(
      (next) => void (this.#arrived = { next }),
      (error) => void (this.#arrived = { error }),
    ).finally(() => {
      this.#accepting = undefined;
      this.#wakeAll();
    });
  }

  /**
   * Waits until something changes (a request arrives, a request finishes,
   * shutdown) or `seconds` pass; `false` on timeout. Each wait has its own
   * promise, dropped when it ends: racing one long-lived "shutdown" promise
   * instead would leave a reaction on it per request until shutdown, a leak
   * that grows with every connection a long-running server accepts.
   */
  #stateChange(seconds: number | null): Promise<boolean> {
    // Callers check #shutdownRequested first; the drain waits after shutdown too.
    const { promise, resolve } = Promise.withResolvers<boolean>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (changed: boolean) => {
      this.#wakers.delete(done);
      clearTimeout(timer);
      resolve(changed);
    };
    this.#wakers.add(done);
    if (seconds !== null) timer = setTimeout(done, seconds * 1000, false);
    return promise;
  }

  #wakeAll(): void {
    for (const wake of this.#wakers) wake(true);
  }

  /** Whether a subclass overrides `processRequest()` or `finishRequest()`: `#handle` then calls them. */
  get #requestHooksOverridden(): boolean {
    return this.processRequest !== BaseServer.prototype.processRequest ||
      this.finishRequest !== BaseServer.prototype.finishRequest;
  }

  /**
   * Prepares, verifies and processes one request, tracked in `#active` until
   * it is done. One async frame with try/finally, not a chain of promise
   * layers: it is what every live connection keeps in memory while it waits.
   */
  async #handle(accepted: Request, acceptedAddress: ClientAddress): Promise<void> {
    this.#requests++;
    this.#active.add(accepted);
    let request = accepted;
    let clientAddress = acceptedAddress;
    try {
      let verified = false;
      try {
        [request, clientAddress] = await this.prepareRequest(accepted, acceptedAddress);
        verified = await this.verifyRequest(request, clientAddress);
      } catch (error) {
        await this.reportError(error, request, clientAddress);
      }
      if (!verified) await this.shutdownRequest(request);
      else if (this.#requestHooksOverridden) await this.processRequest(request, clientAddress);
      else {
        // Fast path: the default processRequest() and finishRequest(), run in
        // this one async frame. Each suspended async frame costs about 500 B
        // per idle connection (measured with bench/idle_inventory.ts), and
        // these two would stay suspended for the connection's whole life.
        try {
          const handler = new this.RequestHandlerClass(request, clientAddress, this);
          await handler.setup();
          try {
            await handler.handle();
          } finally {
            await handler.finish();
          }
        } catch (error) {
          await this.reportError(error, request, clientAddress);
        } finally {
          await this.shutdownRequest(request);
        }
      }
    } catch (error) {
      // An overridden processRequest or shutdownRequest may throw too: contained likewise.
      await this.reportError(error, request, clientAddress);
    } finally {
      this.#active.delete(accepted);
      this.#wakeAll();
    }
  }

  #throwIfFatal(): void {
    if (this.#fatal !== undefined) throw this.#fatal.error;
  }

  #requestShutdown(): void {
    if (this.#shutdownRequested) return;
    this.#shutdownRequested = true;
    this.#draining.abort();
    this.#wakeAll();
  }

  async #close(): Promise<void> {
    this.#requestShutdown();
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.closeSocket();
    // The port is free only once the pending accept has settled; a request it
    // took after shutdown is closed unserved.
    await this.#accepting;
    const arrived = this.#arrived;
    this.#arrived = undefined;
    if (arrived !== undefined && "next" in arrived && arrived.next !== null) {
      await this.shutdownRequest(arrived.next[0]);
    }
    if (this.blockOnClose) await this.#drain();
    try {
      await this.afterDrain();
    } finally {
      this.#finished.resolve();
    }
  }

  async #drain(): Promise<void> {
    if (await this.#allDone(this.drainTimeout)) return;
    this.#forceClosed = true;
    for (const request of this.#active) this.closeRequest(request);
    await this.#allDone(FORCED_CLOSE_GRACE_SECONDS);
  }

  /** Waits up to `seconds` for every running request to finish; `false` if some still run. */
  async #allDone(seconds: number): Promise<boolean> {
    const deadline = performance.now() + seconds * 1000;
    while (this.#active.size > 0) {
      const left = deadline - performance.now();
      if (left <= 0 || !(await this.#stateChange(left / 1000))) return false;
    }
    return true;
  }
}

function noop(): void {}

/**
 * Any server of this package as a program that runs it sees it: the
 * lifecycle, without the request types (a `TCPServer`, a `UDPServer` and a
 * `ForkingTCPServer` all fit). `BaseServer<unknown, …>` does not: its
 * `RequestHandlerClass` ties it to its request type.
 *
 * @example Run any server until SIGINT, saying how long the drain may take
 * ```ts ignore
 * import type { AnyServer } from "@socketserver/core/server";
 *
 * export async function runUntilSignal(server: AnyServer): Promise<void> {
 *   const stop = () => {
 *     console.error(
 *       `draining ${server.activeRequests} connections for up to ${server.drainTimeout} s`,
 *     );
 *     void server.shutdown();
 *   };
 *   Deno.addSignalListener("SIGINT", stop);
 *   try {
 *     await server.serveForever();
 *   } finally {
 *     await server.serverClose();
 *     Deno.removeSignalListener("SIGINT", stop);
 *   }
 * }
 * ```
 */
export type AnyServer = Pick<
  BaseServer<unknown, unknown, Deno.Addr>,
  | "address"
  | "serveForever"
  | "handleRequest"
  | "shutdown"
  | "serverClose"
  | "finished"
  | "draining"
  | "activeRequests"
  | "stats"
  | "timeout"
  | "blockOnClose"
  | "drainTimeout"
  | typeof Symbol.asyncDispose
>;
