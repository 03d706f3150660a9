// Internal: the server each ForkingTCPServer worker runs, a ThreadingTCPServer
// on its own SO_REUSEPORT listener of the shared port that hands its errors,
// and a handler's shutdown(), to the main thread.

import type { RequestHandlerClass } from "../../handlers/base_request_handler.ts";
import { type TCPAddress, type TCPServerOptions, ThreadingTCPServer } from "../tcp_server.ts";
import type { ForkingWorkerServer } from "./forking_tcp_server.ts";
import { cloneError, type FromWorker } from "./_protocol.ts";

/**
 * The main server's settings that its workers' servers take, as resolved
 * there (a subclass's static override included): `timeout` only paces
 * `handleRequest()`, which workers do not call, and SO_REUSEPORT is on.
 */
export const WORKER_SERVER_SETTINGS = [
  "requestQueueSize",
  "noDelay",
  "keepAlive",
  "maxConnections",
  "blockOnClose",
  "drainTimeout",
  "pollInterval",
  "proxyProtocol",
  "trustedProxies",
  "proxyHeaderTimeout",
  "maxProxyHeaderLength",
  "maxFrameMemory",
] as const;

/** Those settings' values: plain data, so `postMessage` carries them. */
export type WorkerServerSettings = Pick<
  TCPServerOptions,
  (typeof WORKER_SERVER_SETTINGS)[number]
>;

/** What a worker's server is told beyond the settings. */
export interface WorkerServerOptions extends WorkerServerSettings {
  workerId: number;
  workerData: unknown;
  /** Sends a message to the main thread. */
  post(message: FromWorker): void;
}

/** What a handler sees as `this.server` in a ForkingTCPServer worker. */
export class WorkerServer extends ThreadingTCPServer implements ForkingWorkerServer {
  /** The worker's slot, 0 to workers - 1. */
  readonly workerId: number;
  /** ForkingTCPServerOptions.workerData, cloned for this worker. */
  readonly workerData: unknown;
  readonly #post: (message: FromWorker) => void;

  constructor(
    address: TCPAddress,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.Addr>,
    options: WorkerServerOptions,
  ) {
    super(address, RequestHandlerClass, { ...options, allowReusePort: true });
    this.workerId = options.workerId;
    this.workerData = options.workerData;
    this.#post = options.post;
  }

  /** Stops this worker, and through the main thread the whole pool: a handler may call it. */
  override shutdown(): Promise<void> {
    this.#post({ type: "shutdown" });
    return super.shutdown();
  }

  /** Hands the error to the main thread, whose handleError() reports it. */
  override handleError(
    error: unknown,
    _request: Deno.Conn | null,
    clientAddress: Deno.Addr | null,
  ): void {
    this.#post({ type: "error", error: cloneError(error), clientAddress });
  }
}
