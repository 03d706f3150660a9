// Internal: the supervisor of a ForkingTCPServer's workers. It starts one
// Deno Worker per slot, replaces a crashed one after a doubling delay, sums
// their counters, tells its owner when every slot has listened, and stops
// and reaps them all on close.

import { WorkerCrashError } from "./errors.ts";
import {
  type FromWorker,
  reviveError,
  type ToWorker,
  type WorkerSettings,
  type WorkerStats,
} from "./_protocol.ts";

/** The worker's entry module; workers load it by URL, so it needs read access when local. */
export const WORKER_URL: URL = new URL("./_worker.ts", import.meta.url);
/** A worker that listened this long before it crashed restarts its slot's backoff. */
const STABLE_SECONDS = 10;

/** What the pool needs to know. */
export interface WorkerPoolOptions {
  /** Names the workers (`${name} worker ${id}`), for stack traces and inspectors. */
  name: string;
  workers: number;
  restartDelay: number;
  maxRestartDelay: number;
  /** What each worker is started with; the pool adds its slot as `workerId`. */
  settings: Omit<WorkerSettings, "workerId">;
}

/** What the pool tells its owner. */
export interface WorkerPoolEvents {
  /** Every slot has had a listening worker: called once. */
  allListening(): void;
  /** A worker's server reported an error (a crash is a WorkerCrashError with no address). */
  error(error: Error, clientAddress: Deno.Addr | null): void;
  /** A handler in a worker called `server.shutdown()`. */
  shutdown(): void;
}

/** One worker position in the pool; a crashed worker's replacement takes the same slot. */
interface Slot {
  readonly id: number;
  /** The running worker, or `undefined` while it restarts or after it ended. */
  worker: Worker | undefined;
  /** `performance.now()` when the current worker started listening. */
  listeningSince: number | undefined;
  /** Whether any worker in this slot has listened. */
  listened: boolean;
  /** The current worker's counters, as last posted. */
  stats: WorkerStats;
  /** Resolves when the current worker has ended. */
  gone: PromiseWithResolvers<void>;
  /** Crashes in a row, for the backoff. */
  crashes: number;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Deno Workers serving one port, supervised. */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #events: WorkerPoolEvents;
  readonly #slots: Slot[] = [];
  /** Counters of workers that ended. */
  readonly #retired: WorkerStats = { requests: 0, active: 0 };
  #allListened = false;
  #stopped = false;

  constructor(options: WorkerPoolOptions, events: WorkerPoolEvents) {
    this.#options = options;
    this.#events = events;
    for (let id = 0; id < options.workers; id++) {
      const slot: Slot = {
        id,
        worker: undefined,
        listeningSince: undefined,
        listened: false,
        stats: { requests: 0, active: 0 },
        gone: Promise.withResolvers(),
        crashes: 0,
        restartTimer: undefined,
      };
      this.#slots.push(slot);
      this.#spawn(slot);
    }
  }

  /** Requests served and being served by every worker, those that ended included. */
  get stats(): WorkerStats {
    const total = { ...this.#retired };
    for (const { stats } of this.#slots) {
      total.requests += stats.requests;
      total.active += stats.active;
    }
    return total;
  }

  /** Workers listening now: fewer than `workers` while one restarts. */
  get listeningWorkers(): number {
    return this.#slots.filter((slot) =>
      slot.worker !== undefined && slot.listeningSince !== undefined
    ).length;
  }

  /** Tells every worker to stop accepting and drain; no worker is replaced from now on. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const slot of this.#slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      slot.listeningSince = undefined;
      slot.worker?.postMessage({ type: "stop" } satisfies ToWorker);
    }
  }

  /**
   * Stops the pool and waits until every worker has drained and ended;
   * terminates one still running after `seconds`.
   */
  async close(seconds: number): Promise<void> {
    this.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, seconds * 1000));
    try {
      await Promise.race([Promise.all(this.#slots.map((slot) => slot.gone.promise)), expired]);
    } finally {
      clearTimeout(timer);
    }
    for (const slot of this.#slots) this.#retire(slot);
  }

  #spawn(slot: Slot): void {
    slot.restartTimer = undefined;
    if (this.#stopped) return;
    const worker = new Worker(WORKER_URL, {
      type: "module",
      name: `${this.#options.name} worker ${slot.id}`,
    });
    slot.worker = worker;
    slot.listeningSince = undefined;
    slot.stats = { requests: 0, active: 0 };
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
    const settings: WorkerSettings = { ...this.#options.settings, workerId: slot.id };
    worker.postMessage({ type: "start", settings } satisfies ToWorker);
  }

  #receive(slot: Slot, worker: Worker, message: FromWorker): void {
    if (slot.worker !== worker) return;
    switch (message.type) {
      case "listening":
        slot.listeningSince = performance.now();
        slot.listened = true;
        if (!this.#allListened && this.#slots.every((each) => each.listened)) {
          this.#allListened = true;
          this.#events.allListening();
        }
        break;
      case "stats":
        slot.stats = message.stats;
        break;
      case "error":
        this.#events.error(reviveError(message.error), message.clientAddress);
        break;
      case "shutdown":
        this.#events.shutdown();
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

  /** Ends the slot's worker and keeps its counters. */
  #retire(slot: Slot): void {
    const worker = slot.worker;
    if (worker === undefined) return;
    slot.worker = undefined;
    worker.terminate();
    this.#retired.requests += slot.stats.requests;
    slot.stats = { requests: 0, active: 0 };
    slot.gone.resolve();
  }

  /** Replaces a crashed worker after the slot's backoff, and reports the crash. */
  #crashed(slot: Slot, worker: Worker, cause: unknown): void {
    if (slot.worker !== worker) return;
    const upSeconds = slot.listeningSince === undefined
      ? 0
      : (performance.now() - slot.listeningSince) / 1000;
    this.#retire(slot);
    let delay: number | null = null;
    if (!this.#stopped) {
      if (upSeconds >= STABLE_SECONDS) slot.crashes = 0;
      const { restartDelay, maxRestartDelay } = this.#options;
      delay = Math.min(maxRestartDelay, restartDelay * 2 ** slot.crashes);
      slot.crashes++;
      slot.restartTimer = setTimeout(() => this.#spawn(slot), delay * 1000);
    }
    this.#events.error(new WorkerCrashError(slot.id, delay, cause), null);
  }
}
