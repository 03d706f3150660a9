// Internal: the entry module of each ForkingTCPServer worker. It imports the
// handler module, listens on the shared port with SO_REUSEPORT, serves like
// ThreadingTCPServer, and talks to the main thread with the messages of
// forking_internal.ts. Anything that ends the worker other than a `stop`
// (an uncaught error or rejection, Deno.exit(), self.close()) is posted as a
// `crash` first, so the main side can replace it.

import type { ServerStats } from "../base_server.ts";
import {
  cloneError,
  type FromWorker,
  loadHandlerClass,
  STATS_PUSH_INTERVAL_MS,
  type ToWorker,
  type WorkerSettings,
} from "./_protocol.ts";
import { SharedPortServer } from "./_shared_port_server.ts";

/** The parts of a worker's global scope used here (Deno's default lib types `self` as a window). */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  close(): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;

let opened: Promise<SharedPortServer | undefined> | undefined;
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
async function open(settings: WorkerSettings): Promise<SharedPortServer | undefined> {
  try {
    const Handler = await loadHandlerClass(settings.module, settings.exportName);
    if (stopping) return undefined;
    const listener = Deno.listen({
      hostname: settings.hostname,
      port: settings.port,
      tcpBacklog: settings.requestQueueSize,
      reusePort: true,
    });
    return new SharedPortServer(listener, Handler, {
      ...settings.serverOptions,
      workerId: settings.workerId,
      workerData: settings.workerData,
      noDelay: settings.noDelay,
      keepAlive: settings.keepAlive,
      onError: (error, _request, clientAddress) =>
        post({ type: "error", error: cloneError(error), clientAddress }),
      onShutdown: () => post({ type: "shutdown" }),
    });
  } catch (error) {
    crash(error);
    return undefined;
  }
}

async function serve(server: Promise<SharedPortServer | undefined>): Promise<void> {
  const running = await server;
  if (running === undefined) return;
  post({ type: "listening" });
  let posted = running.stats;
  const timer = setInterval(() => {
    const now = running.stats;
    if (sameStats(now, posted)) return;
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
  let stats: ServerStats = { requests: 0, active: 0, errors: 0 };
  if (server !== undefined) {
    await server.stop();
    stats = server.stats;
  }
  post({ type: "closed", stats });
  done = true;
}

function sameStats(a: ServerStats, b: ServerStats): boolean {
  return a.requests === b.requests && a.active === b.active && a.errors === b.errors;
}
