/**
 * The pre-fork TCP server: Python's `ForkingTCPServer`, as a pool of Deno
 * workers that share one port with SO_REUSEPORT.
 *
 * @module
 */

import type { HandlerServer } from "../../handlers/base_request_handler.ts";
import { BaseRequestHandler } from "../../handlers/base_request_handler.ts";
import type { ServerStats } from "../base_server.ts";
import { describeError, formatErrorReport } from "../_error_report.ts";
import { resolveSettings } from "../_settings.ts";
import {
  type TCPAddress,
  type TCPBoundAddress,
  TCPServer,
  type TCPServerOptions,
} from "../tcp_server.ts";
import { assertUnstableNet } from "../_unstable_net.ts";
import { WorkerCrashError } from "./errors.ts";
import {
  assertReadable,
  assertReusePortBalancing,
  handlerModule,
  loadHandlerClass,
} from "./_preflight.ts";
import { WORKER_URL, WorkerPool } from "./_worker_pool.ts";
import { WORKER_SERVER_SETTINGS } from "./_worker_server.ts";

/**
 * Where the workers find the handler class: a module URL and an export name.
 * A class itself cannot be handed to a worker (each worker is its own
 * JavaScript realm: it shares no objects with the main thread), so each
 * worker imports the module and takes the export.
 */
export interface HandlerModule {
  /**
   * The module's absolute URL, usually `new URL("./handlers.ts",
   * import.meta.url)`. Not the main module: importing it in each worker
   * would run the program again there.
   */
  module: string | URL;
  /**
   * The name the handler class is exported under.
   *
   * @default {"default"}
   */
  export?: string;
}

/**
 * What a handler sees as `this.server` in a ForkingTCPServer: the worker's
 * own server. `shutdown()` from a handler shuts the whole pool down.
 * Declare it in a handler to read `workerId`:
 * `declare readonly server: ForkingWorkerServer;`.
 */
export interface ForkingWorkerServer extends HandlerServer {
  /**
   * The worker's slot, `0` to `workers - 1` (a replacement keeps its
   * crashed predecessor's), or `-1` for the connections the main thread
   * serves while the workers start (the ForkingTCPServer itself).
   */
  readonly workerId: number;
  /**
   * {@linkcode ForkingTCPServerOptions.workerData}: a copy per worker, the
   * value itself in the main thread.
   */
  readonly workerData: unknown;
}

/** Options for ForkingTCPServer. Each overrides the static default of the same name. */
export interface ForkingTCPServerOptions
  extends Omit<TCPServerOptions, "timeout" | "allowReuseAddress" | "allowReusePort"> {
  /**
   * How many workers serve: one Deno Worker (one thread, one event loop)
   * each. More than the machine's cores only adds switching.
   *
   * @default {navigator.hardwareConcurrency}
   */
  workers?: number;
  /**
   * Seconds before a crashed worker is replaced. It doubles each time the
   * same worker crashes again within 10 seconds of listening (up to
   * `maxRestartDelay`), so a handler module that always crashes does not
   * spin.
   *
   * @default {0.1}
   */
  restartDelay?: number;
  /**
   * The longest wait before a crashed worker is replaced.
   *
   * @default {30}
   */
  maxRestartDelay?: number;
  /**
   * A value every worker gets a copy of (by the structured clone algorithm,
   * as `postMessage` sends it), which handlers read as
   * `this.server.workerData`: their settings, since a handler module cannot
   * see the main program's variables.
   *
   * @default {undefined}
   */
  workerData?: unknown;
  /**
   * Called with the bound address once every worker listens (the main
   * thread serves the port until then), so at most once.
   *
   * @default {undefined}
   */
  onListen?: (address: TCPBoundAddress) => void;
}

/** The settings a forking server adds; see {@linkcode ForkingTCPServerOptions}. */
const FORKING_SETTINGS = ["workers", "restartDelay", "maxRestartDelay"] as const;
/** How long past its drain deadline a worker may take to answer `closed` before it is terminated. */
const EXIT_GRACE_SECONDS = 6;

/** Stands in for the handler class until `serveForever()` has imported it. */
class HandlerNotImported extends BaseRequestHandler {
  override handle(): never {
    throw new Error("Cannot handle a request: the handler module is not imported yet");
  }
}

/**
 * A TCP server that spreads connections over a pool of Deno workers, so a
 * server can use every core: a pre-fork pool, as nginx does. Each worker is
 * a Deno Worker (its own thread and event loop) that imports the handler
 * module, listens on the same port with SO_REUSEPORT and serves its
 * connections as ThreadingTCPServer does; the kernel spreads new
 * connections over the workers by a hash of their addresses. Python's
 * `ForkingTCPServer` forks a process per connection instead.
 *
 * **The handler is a module reference**, `{ module, export }`, not a class:
 * workers share no JavaScript objects with the main thread, so each imports
 * the module itself. A class defined in the main module cannot cross into a
 * worker; export it from a module of its own. Handler instances in
 * different workers share nothing (no module-level state, no chat room);
 * put what they must share outside (a database, a Unix socket). A handler
 * gets its settings from the `workerData` option (a copy per worker, as
 * `this.server.workerData`) and its worker's slot as `this.server.workerId`
 * (see {@linkcode ForkingWorkerServer}). Workers inherit the program's
 * permissions and flags.
 *
 * It is a `TCPServer` (so a `BaseServer`), as Python's `ForkingTCPServer`
 * is, with the same lifecycle: **for callers**, `serveForever()`, `shutdown()`,
 * `serverClose()`, `finished`, `draining`, `address`, `stats`,
 * `activeRequests`, `listeningWorkers`, `await using`, `signal`,
 * `onListen`; `handleRequest()` throws, since the workers serve.
 * **May be overridden**: `handleError()`, which runs in the main thread and
 * receives the errors of every worker (`request` is `null`: the connection
 * lives in the worker) and a {@linkcode WorkerCrashError} for each crashed
 * worker. The other hooks (`verifyRequest()` …) run in the main thread
 * only, for the connections it serves while the workers start: each worker
 * runs its own plain server, since a subclass cannot cross into a worker.
 * Per-connection logic belongs in the handler (`setup()`).
 *
 * How it starts and stops:
 * - The constructor binds the port in the main thread (with SO_REUSEPORT,
 *   so the workers can bind it too): `address` is ready at once, port 0
 *   resolved, and a bind failure throws.
 * - `serveForever()` imports the handler module in the main thread (a
 *   missing export fails here, with a `TypeError`), serves the main
 *   listener, and starts the workers. SO_REUSEPORT spreads connections over
 *   every listener of the port, the main one too, so it keeps serving until
 *   every worker listens; then it closes and `onListen` is called. Nothing
 *   it accepted is left unserved. (One exception, from the kernel: a
 *   connection still in a listener's accept queue when that listener closes
 *   is reset: a client connecting in the very instant of the hand-over, or
 *   one queued at a worker that crashes. Linux 5.14+ moves them to another
 *   listener instead with `sysctl net.ipv4.tcp_migrate_req=1`.)
 * - `shutdown()` stops every worker accepting at once (new clients are
 *   refused) and starts their drain (`draining` aborts in each);
 *   `serverClose()` waits until each has let its running handlers finish
 *   (up to `drainTimeout`) and ended.
 * - A worker that crashes (an uncaught error or rejection, a handler module
 *   that fails to import, `Deno.exit()`) is replaced after `restartDelay`,
 *   doubling while it keeps crashing; its connections are closed, the
 *   other workers' are not. Each crash is reported to `handleError()`.
 * - `stats` sums the counters of every worker, which each pushes to the
 *   main thread when they change (checked every 50 ms: nothing is sent per
 *   request), so `requests` and `active` lag by that much; `errors` counts
 *   each error as it reaches `handleError()`.
 *
 * Needs Linux (SO_REUSEPORT load balancing; elsewhere Deno ignores
 * `reusePort`, so the constructor throws), `--unstable-net`, and
 * `--allow-read` for the worker and handler modules when they are files.
 *
 * Workers rather than subprocesses, measured on a 2-core machine (see
 * `docs/forking.md`): with 2 of each, the same echo throughput (152,000
 * vs 149,000 ops/s) and start-up (58 vs 53 ms), but 76 MiB of RSS rather
 * than 141 MiB (57 vs 72 MiB PSS); and Workers inherit the program's
 * permissions, flags and import map, where subprocesses would need
 * `--allow-run` and all of them repeated. Subprocesses would isolate more
 * (a V8 out-of-memory in a Worker ends the process); an uncaught error, the
 * common crash, already ends only its Worker.
 *
 * Scaling: one worker echoes about 160,000 64-byte frames a second per core
 * one at a time (about 1,550,000 pipelined 16 deep), as much as
 * ThreadingTCPServer; N workers are expected to do about N times that on N
 * cores of their own (clients and network interrupts elsewhere). On the
 * 2-core development machine, where the load generator and the loopback
 * take most of the second core, 2 workers measured 5-10% slower than 1.
 *
 * @example Echo on a pool of two workers
 * ```ts
 * import { ForkingTCPServer } from "@socketserver/core/forking";
 * import { BaseServer } from "@socketserver/core/server";
 * import { assert, assertEquals } from "@std/assert";
 *
 * // The handler lives in a module of its own; in a program this is a file:
 * // { module: new URL("./handlers.ts", import.meta.url), export: "Echo" }.
 * const source = `
 *   import { StreamRequestHandler } from "${import.meta.resolve("@socketserver/core/server")}";
 *   export class Echo extends StreamRequestHandler {
 *     override async handle() {
 *       for await (const chunk of this.rfile) await this.wfile.write(chunk);
 *     }
 *   }`;
 * const module = `data:application/typescript,${encodeURIComponent(source)}`;
 *
 * await using server = new ForkingTCPServer(
 *   { hostname: "127.0.0.1", port: 0 },
 *   { module, export: "Echo" },
 *   { workers: 2 },
 * );
 * assert(server instanceof BaseServer); // one lifecycle, like every server
 * const serving = server.serveForever();
 * using conn = await Deno.connect(server.address);
 * await conn.write(new TextEncoder().encode("ping"));
 * const reply = new Uint8Array(4);
 * assertEquals(await conn.read(reply), 4);
 * assertEquals(new TextDecoder().decode(reply), "ping");
 * await server.shutdown();
 * await serving;
 * ```
 */
export class ForkingTCPServer extends TCPServer implements ForkingWorkerServer {
  /** Default for {@linkcode ForkingTCPServerOptions.workers}. */
  static workers: number = navigator.hardwareConcurrency;
  /** Default for {@linkcode ForkingTCPServerOptions.restartDelay}. */
  static restartDelay: number = 0.1;
  /** Default for {@linkcode ForkingTCPServerOptions.maxRestartDelay}. */
  static maxRestartDelay: number = 30;

  /** How many workers serve. */
  declare readonly workers: number;
  /** Seconds before a crashed worker is first replaced. */
  declare readonly restartDelay: number;
  /** The longest wait before a crashed worker is replaced. */
  declare readonly maxRestartDelay: number;
  /** What each worker's handlers read as `this.server.workerData` (a copy each). */
  readonly workerData: unknown;
  /** The handler module's absolute URL and the class's export name. */
  readonly handler: { readonly module: string; readonly export: string };

  readonly #onListen: ((address: TCPBoundAddress) => void) | undefined;
  /** The workers, from `serveForever()` on. */
  #pool: WorkerPool | undefined;
  /** Whether the main listener was closed for the workers (they all listen). */
  #handedOver = false;
  /** Resolves when `serverClose()` closes the socket: the parked accept loop then ends. */
  readonly #socketClosed: PromiseWithResolvers<null> = Promise.withResolvers();

  /**
   * Checks the handler reference and the platform, then binds the port in
   * the main thread. Workers start with `serveForever()`.
   *
   * @param address Where to listen.
   * @param handler The handler class's module URL and export name.
   * @param options Settings for this instance.
   * @throws {TypeError} `handler` is a class or lacks an absolute module
   * URL, or the module is the main module, or `workerData` cannot be cloned
   * to a worker, or Deno runs without `--unstable-net`.
   * @throws {RangeError} `workers` is not a positive integer, or a restart
   * delay is negative.
   * @throws {Deno.errors.NotSupported} Not Linux.
   * @throws {Deno.errors.NotCapable} No read access to a module file.
   * @throws {Deno.errors.AddrInUse} The port is taken.
   */
  constructor(
    address: TCPAddress,
    handler: HandlerModule,
    options: ForkingTCPServerOptions = {},
  ) {
    const { module, export: exportName } = handlerModule(handler);
    const settings = resolveSettings(new.target, options, FORKING_SETTINGS);
    const { workers, restartDelay, maxRestartDelay } = settings;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`Cannot fork: workers must be an integer of at least 1, got ${workers}`);
    }
    if (!(restartDelay >= 0) || !(maxRestartDelay >= restartDelay)) {
      throw new RangeError(
        `Cannot fork: need 0 <= restartDelay <= maxRestartDelay, got ${restartDelay} and ${maxRestartDelay}`,
      );
    }
    assertReusePortBalancing(Deno.build.os);
    assertUnstableNet("ForkingTCPServer (SO_REUSEPORT)");
    assertReadable(WORKER_URL, "its entry module");
    assertReadable(module, "the handler module");
    try {
      structuredClone(options.workerData);
    } catch (error) {
      throw new TypeError(
        `Cannot fork: workerData must survive postMessage to a worker: ${describeError(error)}`,
      );
    }
    // SO_REUSEPORT, so the workers can bind the port too; onListen waits for them.
    super(address, HandlerNotImported, { ...options, allowReusePort: true, onListen: undefined });
    Object.assign(this, settings);
    this.handler = { module: module.href, export: exportName };
    this.workerData = options.workerData;
    this.#onListen = options.onListen;
    this.draining.addEventListener("abort", () => this.#pool?.stop(), { once: true });
  }

  /**
   * The main thread's slot as handlers see it ({@linkcode ForkingWorkerServer}):
   * the connections it serves while the workers start.
   *
   * @returns `-1`.
   */
  get workerId(): number {
    return -1;
  }

  /**
   * `maxConnections`: while the workers start, the main thread serves each
   * connection it accepts as its own task, as each worker does after.
   *
   * @returns The limit.
   */
  protected override get concurrencyLimit(): number {
    return this.maxConnections;
  }

  /**
   * Counters summed over the main thread's start-up share and every
   * worker, those that crashed and were replaced included (as they last
   * posted them). Workers post theirs when they change, checked every
   * 50 ms, so `requests` and `active` lag by about that much; `errors`
   * counts each error (a crash too) as it reaches `handleError()`.
   *
   * @returns A snapshot.
   */
  override get stats(): ServerStats {
    const own = super.stats;
    const pool = this.#pool?.stats ?? { requests: 0, active: 0 };
    return {
      requests: own.requests + pool.requests,
      active: own.active + pool.active,
      errors: own.errors,
    };
  }

  /**
   * Requests being served right now, in every worker (as `stats.active`).
   *
   * @returns The count.
   */
  override get activeRequests(): number {
    return this.stats.active;
  }

  /**
   * Workers listening right now: `workers` once all have started, fewer
   * while one restarts after a crash.
   *
   * @returns The count.
   */
  get listeningWorkers(): number {
    return this.#pool?.listeningWorkers ?? 0;
  }

  /**
   * Imports the handler module, starts the workers and serves until
   * `shutdown()` is called (the main thread serves its listener until every
   * worker listens).
   *
   * @returns Resolves when the server is shut down; workers may still be
   * draining (`serverClose()` waits for them).
   * @throws {TypeError} The handler module has no class under that export.
   * @throws {Error} The handler module failed to import, or an error that
   * `handleError()` rethrew (the server then shuts down).
   */
  override async serveForever(): Promise<void> {
    await this.#start();
    await super.serveForever();
  }

  /**
   * Not offered: the workers serve, so there is no single request to wait for.
   *
   * @throws {TypeError} Always; call `serveForever()`.
   */
  override handleRequest(): Promise<void> {
    return Promise.reject(
      new TypeError(
        "Cannot handleRequest() on a ForkingTCPServer: its workers serve; call serveForever()",
      ),
    );
  }

  /**
   * Reports an error from any worker, or a crashed worker (a
   * {@linkcode WorkerCrashError}), as every server does (see
   * `BaseServer.handleError()`): the stack, rebuilt in the main thread with
   * the error's class (built-in and `Deno.errors` classes), name and
   * message, goes to stderr, and the server keeps serving; rethrow to stop
   * it (`serveForever()` then rejects with the error).
   *
   * @param error What was thrown.
   * @param request The connection when the main thread served it, else
   * `null` (it lives in a worker).
   * @param clientAddress The peer's address, or `null`.
   */
  override handleError(
    error: unknown,
    request: Deno.Conn | null,
    clientAddress: Deno.Addr | null,
  ): void | Promise<void> {
    // A crash is not about a request: its message says which worker and what next.
    if (!(error instanceof WorkerCrashError)) {
      return super.handleError(error, request, clientAddress);
    }
    console.error(formatErrorReport(`${this.constructor.name}: error`, error));
  }

  /**
   * Accepts on the main listener until the hand-over; after it, waits
   * (taking nothing) until the server closes, so the loop keeps running
   * while the workers serve.
   *
   * @returns The connection and the peer's address, or `null` once closed.
   */
  protected override async getRequest(): Promise<[Deno.Conn, Deno.Addr] | null> {
    const next = await super.getRequest();
    if (next === null && this.#handedOver) return await this.#socketClosed.promise;
    return next;
  }

  /** Closes the main listener (if the workers have not taken over yet). */
  protected override closeSocket(): void {
    super.closeSocket();
    this.#socketClosed.resolve(null);
  }

  /** Waits until every worker has drained and ended; terminates one that does not answer. */
  protected override async afterDrain(): Promise<void> {
    const seconds = (this.blockOnClose ? this.drainTimeout : 0) + EXIT_GRACE_SECONDS;
    await this.#pool?.close(seconds);
    await super.afterDrain();
  }

  async #start(): Promise<void> {
    if (this.#pool !== undefined || this.draining.aborted) return;
    const Handler = await loadHandlerClass(this.handler.module, this.handler.export);
    if (this.#pool !== undefined || this.draining.aborted) return;
    this.RequestHandlerClass = Handler;
    this.#pool = new WorkerPool({
      name: this.constructor.name,
      workers: this.workers,
      restartDelay: this.restartDelay,
      maxRestartDelay: this.maxRestartDelay,
      settings: {
        hostname: this.address.hostname,
        port: this.address.port,
        module: this.handler.module,
        exportName: this.handler.export,
        // The settings in force, read off this server: a subclass's static overrides too.
        server: resolveSettings(this, {}, WORKER_SERVER_SETTINGS),
        workerData: this.workerData,
      },
    }, {
      allListening: () => this.#handOver(),
      error: (error, clientAddress) => void this.reportError(error, null, clientAddress),
      shutdown: () => void this.shutdown(),
    });
  }

  /**
   * Closes the main listener once every worker listens: until then it
   * serves its share of the connections SO_REUSEPORT gives it. Closed under
   * the running accept loop (not after a shutdown), so an accept that
   * completed meanwhile is served; the connections it took are served to
   * their end.
   */
  #handOver(): void {
    if (this.draining.aborted) return;
    this.#handedOver = true;
    super.closeSocket();
    this.#onListen?.(this.address);
  }
}
