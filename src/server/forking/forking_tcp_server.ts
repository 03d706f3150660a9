/**
 * The pre-fork TCP server: Python's `ForkingTCPServer`, as a pool of Deno
 * workers that share one port with SO_REUSEPORT.
 *
 * @module
 */

import type { HandlerServer } from "../../handlers/base_request_handler.ts";
import { BaseServer, type ServerStats } from "../base_server.ts";
import { formatAddress } from "../format_address.ts";
import {
  assertReadable,
  assertReusePortBalancing,
  type CloneableServerOptions,
  describeError,
  type FromWorker,
  loadHandlerClass,
  reviveError,
  type ToWorker,
  type WorkerSettings,
} from "./_protocol.ts";
import { setting } from "../_settings.ts";
import { SharedPortServer } from "./_shared_port_server.ts";
import { StreamServer } from "../stream_server.ts";
import {
  type TCPAddress,
  type TCPBoundAddress,
  TCPServer,
  type TCPServerOptions,
} from "../tcp_server.ts";
import { assertUnstableNet } from "../_unstable_net.ts";
import { WorkerCrashError } from "./errors.ts";

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
   * serves while the workers start.
   */
  readonly workerId: number;
  /** {@linkcode ForkingTCPServerOptions.workerData}, a copy per worker. */
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

/** The worker's entry module; workers load it by URL, so it needs read access when local. */
const WORKER_URL = new URL("./_worker.ts", import.meta.url);
/** A worker that listened this long before it crashed restarts its slot's backoff. */
const STABLE_SECONDS = 10;
/** As BaseServer: after the drain deadline, handlers get this long to notice their closed connections. */
const FORCED_CLOSE_GRACE_SECONDS = 1;
/** How long past its drain deadline a worker may take to answer `closed` before it is terminated. */
const EXIT_GRACE_SECONDS = 5;

/** One worker position in the pool; a crashed worker's replacement takes the same slot. */
interface Slot {
  readonly id: number;
  /** The running worker, or `undefined` while it restarts or after it ended. */
  worker: Worker | undefined;
  /** `performance.now()` when the current worker started listening. */
  listeningSince: number | undefined;
  /** Whether any worker in this slot has listened (the main listener hands over then). */
  listened: boolean;
  /** The current worker's counters, as last posted. */
  stats: ServerStats;
  /** Resolves when the current worker has ended. */
  gone: PromiseWithResolvers<void>;
  /** Crashes in a row, for the backoff. */
  crashes: number;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
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
 * **For callers**: `serveForever()`, `shutdown()`, `serverClose()`,
 * `finished`, `address`, `stats`, `listeningWorkers`, `await using`,
 * `signal`, `onListen`. There is no `handleRequest()`: the workers serve.
 * **May be overridden**: `handleError()`, which receives the errors of
 * every worker (`request` is `null`: the connection lives in the worker)
 * and a {@linkcode WorkerCrashError} for each crashed worker.
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
 *   refused) and starts their drain; `serverClose()` waits until each has
 *   let its running handlers finish (up to `drainTimeout`) and ended.
 * - A worker that crashes (an uncaught error or rejection, a handler module
 *   that fails to import, `Deno.exit()`) is replaced after `restartDelay`,
 *   doubling while it keeps crashing; its connections are closed, the
 *   other workers' are not. Each crash is reported to `handleError()`.
 * - `stats` sums the counters of every worker, which each pushes to the
 *   main thread when they change (checked every 50 ms: nothing is sent per
 *   request), so they lag by that much.
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
 * import { ForkingTCPServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * // The handler lives in a module of its own; in a program this is a file:
 * // { module: new URL("./handlers.ts", import.meta.url), export: "Echo" }.
 * const source = `
 *   import { StreamRequestHandler } from "${import.meta.resolve("@socketserver/core")}";
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
export class ForkingTCPServer implements AsyncDisposable {
  /** Default for {@linkcode ForkingTCPServerOptions.workers}. */
  static workers: number = navigator.hardwareConcurrency;
  /** Default for {@linkcode ForkingTCPServerOptions.restartDelay}. */
  static restartDelay: number = 0.1;
  /** Default for {@linkcode ForkingTCPServerOptions.maxRestartDelay}. */
  static maxRestartDelay: number = 30;
  /** Default for {@linkcode TCPServerOptions.requestQueueSize}. */
  static requestQueueSize: number = TCPServer.requestQueueSize;
  /** Default for {@linkcode TCPServerOptions.maxConnections} (per worker). */
  static maxConnections: number = StreamServer.maxConnections;
  /** Default for {@linkcode TCPServerOptions.noDelay}. */
  static noDelay: boolean = TCPServer.noDelay;
  /** Default for {@linkcode TCPServerOptions.keepAlive}. */
  static keepAlive: boolean = TCPServer.keepAlive;
  /** Default for {@linkcode TCPServerOptions.blockOnClose}. */
  static blockOnClose: boolean = BaseServer.blockOnClose;
  /** Default for {@linkcode TCPServerOptions.drainTimeout}. */
  static drainTimeout: number = BaseServer.drainTimeout;

  /** How many workers serve. */
  readonly workers: number;
  /** Seconds before a crashed worker is first replaced. */
  readonly restartDelay: number;
  /** The longest wait before a crashed worker is replaced. */
  readonly maxRestartDelay: number;
  /** The listen backlog of each listener. */
  readonly requestQueueSize: number;
  /** The most connections each worker serves at once. */
  readonly maxConnections: number;
  /** What each worker's handlers read as `this.server.workerData`. */
  readonly workerData: unknown;
  /** Whether TCP_NODELAY is set on new connections. */
  readonly noDelay: boolean;
  /** Whether SO_KEEPALIVE is set on new connections. */
  readonly keepAlive: boolean;
  /** Whether `serverClose()` waits for running handlers. */
  readonly blockOnClose: boolean;
  /** Seconds `serverClose()` lets running handlers finish. */
  readonly drainTimeout: number;
  /** The handler module's absolute URL and the class's export name. */
  readonly handler: { readonly module: string; readonly export: string };

  readonly #listener: Deno.Listener<Deno.Conn, Deno.Addr>;
  /** The options every pool member's server takes, resolved and checked cloneable. */
  readonly #serverOptions: CloneableServerOptions;
  readonly #address: TCPBoundAddress;
  readonly #onListen: ((address: TCPBoundAddress) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => void this[Symbol.asyncDispose]();
  readonly #slots: Slot[] = [];
  /** Serves the main listener until every worker listens. */
  #main: SharedPortServer | undefined;
  /** The main listener's request loop. */
  #mainServing: Promise<void> | undefined;
  /** Resolves once the main listener is closed and its handlers have finished. */
  #mainStopped: Promise<void> | undefined;
  #started = false;
  #shutdownRequested = false;
  readonly #shutdownSignal: PromiseWithResolvers<void> = Promise.withResolvers();
  #serving: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #fatal: { error: unknown } | undefined;
  /** Counters of workers that ended, and the crashes themselves (each one reported). */
  readonly #retired = { requests: 0, errors: 0 };
  readonly #finished: PromiseWithResolvers<void> = Promise.withResolvers();

  /**
   * Checks the handler reference and the platform, then binds the port in
   * the main thread. Workers start with `serveForever()`.
   *
   * @param address Where to listen.
   * @param handler The handler class's module URL and export name.
   * @param options Settings for this instance.
   * @throws {TypeError} `handler` is a class or lacks an absolute module
   * URL, or the module is the main module, or an option (`workerData`
   * included) cannot be cloned to a worker, or Deno runs without
   * `--unstable-net`.
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
    const defaults = new.target as unknown as typeof ForkingTCPServer;
    const module = handlerModuleUrl(handler);
    const exportName = handler.export ?? "default";
    if (typeof exportName !== "string" || exportName === "") {
      throw new TypeError(`Cannot fork handler: export must be a name, got ${String(exportName)}`);
    }
    this.workers = setting(options.workers, defaults.workers);
    if (!Number.isInteger(this.workers) || this.workers < 1) {
      throw new RangeError(
        `Cannot fork: workers must be an integer of at least 1, got ${this.workers}`,
      );
    }
    this.restartDelay = setting(options.restartDelay, defaults.restartDelay);
    this.maxRestartDelay = setting(options.maxRestartDelay, defaults.maxRestartDelay);
    if (!(this.restartDelay >= 0) || !(this.maxRestartDelay >= this.restartDelay)) {
      throw new RangeError(
        `Cannot fork: need 0 <= restartDelay <= maxRestartDelay, got ${this.restartDelay} and ${this.maxRestartDelay}`,
      );
    }
    assertReusePortBalancing(Deno.build.os);
    assertUnstableNet("ForkingTCPServer (SO_REUSEPORT)");
    assertReadable(WORKER_URL, "its entry module");
    assertReadable(module, "the handler module");
    this.handler = { module: module.href, export: exportName };
    this.requestQueueSize = setting(options.requestQueueSize, defaults.requestQueueSize);
    this.maxConnections = setting(options.maxConnections, defaults.maxConnections);
    this.noDelay = setting(options.noDelay, defaults.noDelay);
    this.keepAlive = setting(options.keepAlive, defaults.keepAlive);
    this.blockOnClose = setting(options.blockOnClose, defaults.blockOnClose);
    this.drainTimeout = setting(options.drainTimeout, defaults.drainTimeout);
    this.workerData = options.workerData;
    const {
      signal: _signal,
      onListen: _onListen,
      workers: _workers,
      restartDelay: _restartDelay,
      maxRestartDelay: _maxRestartDelay,
      requestQueueSize: _requestQueueSize,
      noDelay: _noDelay,
      keepAlive: _keepAlive,
      workerData: _workerData,
      ...serverOptions
    } = options;
    // Whatever else StreamServer takes (the PROXY protocol settings …) reaches every worker.
    this.#serverOptions = {
      ...serverOptions,
      maxConnections: this.maxConnections,
      blockOnClose: this.blockOnClose,
      drainTimeout: this.drainTimeout,
    };
    try {
      structuredClone([this.#serverOptions, this.workerData]);
    } catch (error) {
      throw new TypeError(
        `Cannot fork: the options must survive postMessage to a worker: ${describeError(error)}`,
      );
    }
    this.#listener = Deno.listen({
      hostname: address.hostname ?? "0.0.0.0",
      port: address.port,
      tcpBacklog: this.requestQueueSize,
      reusePort: true,
    });
    this.#address = this.#listener.addr as TCPBoundAddress;
    this.#onListen = options.onListen;
    this.#signal = options.signal;
    if (this.#signal?.aborted) this.#requestShutdown();
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /**
   * The bound address (port 0 resolved): every worker listens on it.
   *
   * @returns The address, as `Deno.connect()` takes it.
   */
  get address(): TCPBoundAddress {
    return this.#address;
  }

  /**
   * Resolves once the server is shut down and closed (after `serverClose()`).
   *
   * @returns A promise that never rejects.
   */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Counters summed over every worker, those that crashed and were replaced
   * included (as they last posted them), and the main thread's start-up
   * share. Workers post theirs when they change, checked every 50 ms, so
   * the sum lags by about that much; each crash counts as an error.
   *
   * @returns A snapshot.
   */
  get stats(): ServerStats {
    const total = { requests: this.#retired.requests, active: 0, errors: this.#retired.errors };
    const parts = this.#slots.map((slot) => slot.stats);
    if (this.#main !== undefined) parts.push(this.#main.stats);
    for (const part of parts) {
      total.requests += part.requests;
      total.active += part.active;
      total.errors += part.errors;
    }
    return total;
  }

  /**
   * Requests being served right now, in every worker (as `stats.active`).
   *
   * @returns The count.
   */
  get activeRequests(): number {
    return this.stats.active;
  }

  /**
   * Workers listening right now: `workers` once all have started, fewer
   * while one restarts after a crash.
   *
   * @returns The count.
   */
  get listeningWorkers(): number {
    return this.#slots.filter((slot) =>
      slot.worker !== undefined && slot.listeningSince !== undefined
    )
      .length;
  }

  /**
   * Imports the handler module, starts the workers and serves until
   * `shutdown()` is called.
   *
   * @returns Resolves when the server is shut down; workers may still be
   * draining (`serverClose()` waits for them).
   * @throws {TypeError} The handler module has no class under that export.
   * @throws {Error} The handler module failed to import, or an error that
   * `handleError()` rethrew (the server then shuts down).
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
   * Stops every worker accepting at once (new clients are refused from
   * then on) and lets each drain. Safe from a handler (in any worker), a
   * signal listener, and before `serveForever()` starts.
   *
   * @returns Resolves when `serveForever()` has returned (at once when it is
   * not running).
   */
  shutdown(): Promise<void> {
    this.#requestShutdown();
    return this.#serving?.then(noop, noop) ?? Promise.resolve();
  }

  /**
   * Closes the server: shuts it down, then (with `blockOnClose`) waits for
   * each worker to let its running handlers finish, up to `drainTimeout`
   * seconds, and ends every worker. Idempotent.
   *
   * @returns Resolves when every worker has ended; `finished` resolves then too.
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
   * Reports an error from any worker, or a crashed worker (a
   * {@linkcode WorkerCrashError}). The default writes one line to stderr and
   * the server keeps serving; rethrow to stop the server (`serveForever()`
   * then rejects with the error).
   *
   * @param error What was thrown: rebuilt in the main thread with its class
   * (built-in and `Deno.errors` classes), name, message and stack.
   * @param _request The connection when the main thread served it, else
   * `null` (it lives in a worker).
   * @param clientAddress The peer's address, or `null`.
   */
  handleError(
    error: unknown,
    _request: Deno.Conn | null,
    clientAddress: Deno.Addr | null,
  ): void | Promise<void> {
    const where = error instanceof WorkerCrashError
      ? ""
      : clientAddress === null
      ? " accepting a request"
      : ` handling a request from ${formatAddress(clientAddress)}`;
    console.error(`${this.constructor.name}: error${where}: ${describeError(error)}`);
  }

  async #serve(): Promise<void> {
    if (!this.#started && !this.#shutdownRequested) await this.#start();
    await this.#shutdownSignal.promise;
    if (this.#fatal !== undefined) throw this.#fatal.error;
  }

  async #start(): Promise<void> {
    const Handler = await loadHandlerClass(this.handler.module, this.handler.export);
    if (this.#shutdownRequested || this.#started) return;
    this.#started = true;
    this.#main = new SharedPortServer(this.#listener, Handler, {
      ...this.#serverOptions,
      workerId: -1,
      workerData: structuredClone(this.workerData),
      noDelay: this.noDelay,
      keepAlive: this.keepAlive,
      onError: (error, request, clientAddress) => void this.#report(error, request, clientAddress),
      onShutdown: () => void this.shutdown(),
    });
    // Never rejects: its handleError hands errors here and does not throw.
    this.#mainServing = this.#main.serveForever();
    for (let id = 0; id < this.workers; id++) {
      const slot: Slot = {
        id,
        worker: undefined,
        listeningSince: undefined,
        listened: false,
        stats: { requests: 0, active: 0, errors: 0 },
        gone: Promise.withResolvers(),
        crashes: 0,
        restartTimer: undefined,
      };
      this.#slots.push(slot);
      this.#spawn(slot);
    }
  }

  #spawn(slot: Slot): void {
    slot.restartTimer = undefined;
    if (this.#shutdownRequested) return;
    const worker = new Worker(WORKER_URL, {
      type: "module",
      name: `${this.constructor.name} worker ${slot.id}`,
    });
    slot.worker = worker;
    slot.listeningSince = undefined;
    slot.stats = { requests: 0, active: 0, errors: 0 };
    slot.gone = Promise.withResolvers();
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(slot, worker, event.data);
    // Errors the worker could not catch itself, such as its entry module failing to load.
    worker.onerror = (event) => {
      event.preventDefault();
      this.#crashed(slot, worker, event.error ?? new Error(event.message));
    };
    worker.onmessageerror = () => {
      this.#crashed(slot, worker, new Error("A message from the worker could not be read"));
    };
    const settings: WorkerSettings = {
      workerId: slot.id,
      hostname: this.#address.hostname,
      port: this.#address.port,
      module: this.handler.module,
      exportName: this.handler.export,
      requestQueueSize: this.requestQueueSize,
      noDelay: this.noDelay,
      keepAlive: this.keepAlive,
      serverOptions: this.#serverOptions,
      workerData: this.workerData,
    };
    worker.postMessage({ type: "start", settings } satisfies ToWorker);
  }

  #receive(slot: Slot, worker: Worker, message: FromWorker): void {
    if (slot.worker !== worker) return;
    switch (message.type) {
      case "listening":
        slot.listeningSince = performance.now();
        slot.listened = true;
        this.#handOverWhenAllListen();
        break;
      case "stats":
        slot.stats = message.stats;
        break;
      case "error":
        void this.#report(reviveError(message.error), null, message.clientAddress);
        break;
      case "shutdown":
        void this.shutdown();
        break;
      case "crash":
        this.#crashed(slot, worker, reviveError(message.error));
        break;
      case "closed":
        slot.stats = message.stats;
        this.#retire(slot);
        break;
    }
  }

  /**
   * Closes the main listener once every worker has listened: until then it
   * serves its share of the connections SO_REUSEPORT gives it.
   */
  #handOverWhenAllListen(): void {
    if (this.#mainStopped !== undefined || this.#shutdownRequested) return;
    if (!this.#slots.every((slot) => slot.listened)) return;
    const main = this.#main;
    if (main === undefined) return;
    // Closing the listener under the running loop (not shutdown() first) serves an
    // accept that completed meanwhile; the loop ends with the next accept.
    main.closeListener();
    this.#mainStopped = this.#mainServing?.then(() => main.stop());
    this.#onListen?.(this.#address);
  }

  /** Ends the slot's worker and keeps its counters. */
  #retire(slot: Slot): void {
    const worker = slot.worker;
    if (worker === undefined) return;
    slot.worker = undefined;
    worker.terminate();
    this.#retired.requests += slot.stats.requests;
    this.#retired.errors += slot.stats.errors;
    slot.stats = { requests: 0, active: 0, errors: 0 };
    slot.gone.resolve();
  }

  /** Replaces a crashed worker after the slot's backoff, and reports the crash. */
  #crashed(slot: Slot, worker: Worker, cause: unknown): void {
    if (slot.worker !== worker) return;
    const upSeconds = slot.listeningSince === undefined
      ? 0
      : (performance.now() - slot.listeningSince) / 1000;
    this.#retire(slot);
    this.#retired.errors++;
    let delay: number | null = null;
    if (!this.#shutdownRequested) {
      if (upSeconds >= STABLE_SECONDS) slot.crashes = 0;
      delay = Math.min(this.maxRestartDelay, this.restartDelay * 2 ** slot.crashes);
      slot.crashes++;
      slot.restartTimer = setTimeout(() => this.#spawn(slot), delay * 1000);
    }
    void this.#report(new WorkerCrashError(slot.id, delay, cause), null, null);
  }

  /** Hands an error to `handleError()`; what it rethrows stops the server. */
  async #report(
    error: unknown,
    request: Deno.Conn | null,
    clientAddress: Deno.Addr | null,
  ): Promise<void> {
    try {
      await this.handleError(error, request, clientAddress);
    } catch (fatal) {
      this.#fatal ??= { error: fatal };
      this.#requestShutdown();
    }
  }

  #requestShutdown(): void {
    if (this.#shutdownRequested) return;
    this.#shutdownRequested = true;
    this.#shutdownSignal.resolve();
    for (const slot of this.#slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      slot.listeningSince = undefined;
      slot.worker?.postMessage({ type: "stop" } satisfies ToWorker);
    }
    this.#mainStopped ??= this.#main?.stop();
  }

  async #close(): Promise<void> {
    this.#requestShutdown();
    this.#signal?.removeEventListener("abort", this.#onAbort);
    // Not serving yet (or the handler failed to load): the listener is still ours to close.
    if (this.#main === undefined) closeListener(this.#listener);
    await Promise.all([this.#mainStopped, ...this.#slots.map((slot) => this.#whenGone(slot))]);
    this.#finished.resolve();
  }

  /** Waits for the slot's worker to drain and end; terminates one that does not answer. */
  async #whenGone(slot: Slot): Promise<void> {
    if (slot.worker === undefined) return;
    const seconds = (this.blockOnClose ? this.drainTimeout + FORCED_CLOSE_GRACE_SECONDS : 0) +
      EXIT_GRACE_SECONDS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, seconds * 1000));
    try {
      await Promise.race([slot.gone.promise, expired]);
    } finally {
      clearTimeout(timer);
    }
    this.#retire(slot);
  }
}

/** The handler module's URL, or a TypeError that says how to pass it. */
function handlerModuleUrl(handler: HandlerModule): URL {
  if (typeof handler === "function") {
    const name = (handler as { name?: string }).name || "Handler";
    throw new TypeError(
      `Cannot fork class ${name}: a class cannot cross into a worker; export it from its own module and pass { module: new URL("./handlers.ts", import.meta.url), export: "${name}" }`,
    );
  }
  if (typeof handler !== "object" || handler === null || !("module" in handler)) {
    throw new TypeError(
      `Cannot fork handler: expected { module, export }, got ${String(handler)}`,
    );
  }
  let url: URL;
  try {
    url = new URL(handler.module);
  } catch {
    throw new TypeError(
      `Cannot fork handler: module must be an absolute URL such as new URL("./handlers.ts", import.meta.url), got ${
        String(handler.module)
      }`,
    );
  }
  if (url.href === Deno.mainModule) {
    throw new TypeError(
      `Cannot fork a handler from the main module ${url.href}: each worker would run the program again; move the handler to a module of its own`,
    );
  }
  return url;
}

function closeListener(listener: Deno.Listener): void {
  try {
    listener.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

function noop(): void {}
