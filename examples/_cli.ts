// Shared by the examples: flags every example takes, and running a server
// until SIGINT or SIGTERM with a graceful drain.

import { parseArgs } from "node:util";
import { formatAddress } from "../mod.ts";

/** Flags as parsed: strings, booleans, or absent. */
export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * Parses `--host` (default 127.0.0.1), `--port` and the example's own flags.
 * Unknown flags are an error, so a typo does not pass silently; so are
 * positional arguments, unless `defaults.allowPositionals` is set.
 */
export function parseFlags(
  extra: Record<string, { type: "string" | "boolean" }>,
  defaults: { port: number; allowPositionals?: boolean },
): { hostname: string; port: number; values: FlagValues; positionals: string[] } {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: String(defaults.port) },
      ...extra,
    },
    strict: true,
    allowPositionals: defaults.allowPositionals ?? false,
  });
  const flags = values as FlagValues;
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`--port must be 0 to 65535, got ${flags.port}`);
  }
  return { hostname: String(flags.host), port, values: flags, positionals };
}

/** What `runUntilSignal` needs of a server. */
interface Servable {
  readonly address: Deno.Addr;
  serveForever(): Promise<void>;
  shutdown(): Promise<void>;
  serverClose(): Promise<void>;
}

/**
 * Prints `listening on HOST:PORT`, serves until SIGINT or SIGTERM, then stops
 * accepting and lets running handlers finish (the server's drainTimeout).
 */
export async function runUntilSignal(server: Servable): Promise<void> {
  const stop = () => void server.shutdown();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  console.log(`listening on ${formatAddress(server.address)}`);
  try {
    await server.serveForever();
  } finally {
    await server.serverClose();
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}
