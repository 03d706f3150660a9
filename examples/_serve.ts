/**
 * Shared by the example servers: binding with a one-line error, and serving
 * until SIGINT or SIGTERM with a graceful drain that says what it waits for.
 *
 * @module
 */

import { type AnyServer, formatAddress } from "../mod.ts";
import { fail } from "./_cli.ts";

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

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
 * and lets running handlers finish (up to the server's `drainTimeout`),
 * saying on stderr how many there are; a second signal exits at once, with
 * 128 + the signal's number. A server that cannot bind (port taken, no
 * permission) exits 1 with one line saying why.
 */
export async function serve(
  cli: { host: string; port: number },
  make: () => AnyServer,
): Promise<void> {
  const server = listen(cli, make);
  let stopping = false;
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => {
      if (stopping) fail(`${signal} again: exiting without waiting`, 128 + SIGNAL_NUMBERS[signal]);
      stopping = true;
      announceDrain(server, signal);
      void server.shutdown();
    };
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  console.log(`listening on ${formatAddress(server.address)}`);
  let failure: Error | undefined;
  try {
    await server.serveForever();
  } catch (error) {
    failure = error as Error;
  } finally {
    await server.serverClose();
    for (const remove of listeners) remove();
  }
  if (failure !== undefined) fail(`stopped: ${failure.message}`);
}

/** Says what the drain waits for; an idle server stops at once and says nothing. */
function announceDrain(server: AnyServer, signal: string): void {
  const active = server.activeRequests;
  if (active === 0) return;
  const what = server.address.transport === "udp" ? "datagram" : "connection";
  console.error(
    `${signal}: draining ${active} ${what}${active === 1 ? "" : "s"} for up to ` +
      `${server.drainTimeout} s; ${signal} again to exit now`,
  );
}
