/**
 * Shared by the example servers: binding with a one-line error, and serving
 * until SIGINT or SIGTERM with a graceful drain.
 *
 * @module
 */

import { formatAddress } from "../mod.ts";
import { fail } from "./_cli.ts";

/** What `serve` needs of a server: every server kind here has it. */
export interface Servable {
  readonly address: Deno.Addr;
  readonly activeRequests: number;
  readonly drainTimeout: number;
  serveForever(): Promise<void>;
  shutdown(): Promise<void>;
  serverClose(): Promise<void>;
}

/**
 * Makes a server, which binds its socket; when it cannot (the port is
 * taken, a permission is missing), exits 1 with one line saying why.
 */
export function listen<S>(cli: { host: string; port: number }, make: () => S): S {
  try {
    return make();
  } catch (error) {
    fail(`cannot listen on ${cli.host}:${cli.port}: ${(error as Error).message}`);
  }
}

/**
 * Makes the server (which binds its socket) and serves until SIGINT or
 * SIGTERM: prints `listening on HOST:PORT`; on the signal stops accepting
 * and lets running handlers finish (up to the server's `drainTimeout`). A
 * server that cannot bind (port taken, no permission) exits 1 with one line
 * saying why.
 */
export async function serve(
  cli: { host: string; port: number },
  make: () => Servable,
): Promise<void> {
  const server = listen(cli, make);
  const stop = () => void server.shutdown();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  console.log(`listening on ${formatAddress(server.address)}`);
  let failure: Error | undefined;
  try {
    await server.serveForever();
  } catch (error) {
    failure = error as Error;
  } finally {
    await server.serverClose();
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
  if (failure !== undefined) fail(`stopped: ${failure.message}`);
}
