// Internal: the entry module of each ForkingTCPServer worker. It imports the
// handler module, serves on the shared port with a WorkerServer, and talks to
// the main thread with the messages of _protocol.ts. Anything that ends the
// worker other than a `stop` (an uncaught error or rejection, Deno.exit(),
// self.close()) is posted as a `crash` first, so the main side can replace it.

import {
  cloneError,
  type FromWorker,
  STATS_PUSH_INTERVAL_MS,
  type ToWorker,
  type WorkerSettings,
  type WorkerStats,
} from "./_protocol.ts";
import { loadHandlerClass } from "./_preflight.ts";
import { WorkerServer } from "./_worker_server.ts";

/** The parts of a worker's global scope used here (Deno's default lib types `self` as a window). */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  close(): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

let opened: Promise<WorkerServer | undefined> | undefined;
let stopping = false;
/** Set once the worker crashed or answered `closed`: nothing more is posted. */
let done = false;

function post(message: FromWorker): void {
  if (!done) scope.postMessage(message);
}

function crash(error: unknown): void {
  post({ type: "crash", error: cloneError(error) });
  done = true;
}

// Only as a worker's entry: imported anywhere else (a test run, a doc
// generator), this module does nothing.
if ("WorkerGlobalScope" in globalThis) runAsWorker();

function runAsWorker(): void {
  // An uncaught error would otherwise end the worker with only a line on stderr.
  addEventListener("error", (event) => {
    event.preventDefault();
    crash(event.error ?? new Error(event.message));
  });
  addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    crash(event.reason);
  });
  // Deno.exit() in a worker ends only the worker, silently but for this event.
  addEventListener("unload", () => crash(new Error("The worker exited (Deno.exit() was called)")));
  // self.close() ends the worker without any event: say so first.
  const closeWorker = scope.close.bind(scope);
  scope.close = () => {
    crash(new Error("The worker closed itself (self.close() was called)"));
    closeWorker();
  };
  scope.onmessage = (event) => {
    const message = event.data;
    if (message.type === "start") {
      opened = open(message.settings);
      void serve(opened);
    } else if (message.type === "stop") {
      void stop();
    }
  };
}

/** Imports the handler and listens; `undefined` when stopped meanwhile or failed (posted). */
async function open(settings: WorkerSettings): Promise<WorkerServer | undefined> {
  try {
    const Handler = await loadHandlerClass(settings.module, settings.exportName);
    if (stopping) return undefined;
    return new WorkerServer({ hostname: settings.hostname, port: settings.port }, Handler, {
      ...settings.server,
      workerId: settings.workerId,
      workerData: settings.workerData,
      post,
    });
  } catch (error) {
    crash(error);
    return undefined;
  }
}

async function serve(server: Promise<WorkerServer | undefined>): Promise<void> {
  const running = await server;
  if (running === undefined) return;
  post({ type: "listening" });
  let posted = countersOf(running);
  const timer = setInterval(() => {
    const now = countersOf(running);
    if (now.requests === posted.requests && now.active === posted.active) return;
    posted = now;
    post({ type: "stats", stats: now });
  }, STATS_PUSH_INTERVAL_MS);
  try {
    await running.serveForever();
  } finally {
    clearInterval(timer);
  }
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const server = await opened;
  let stats: WorkerStats = { requests: 0, active: 0 };
  if (server !== undefined) {
    await server[Symbol.asyncDispose]();
    stats = countersOf(server);
  }
  post({ type: "closed", stats });
  done = true;
}

function countersOf(server: WorkerServer): WorkerStats {
  const { requests, active } = server.stats;
  return { requests, active };
}
