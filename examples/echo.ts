/**
 * The classic echo server: every byte a client sends comes back.
 *
 *     deno run --allow-net examples/echo.ts [--port 9000] [--upper] [--framing none|length|line]
 *     deno run --allow-net examples/echo.ts --help     # every flag
 *
 * `--upper` upper-cases what it echoes (the classic tutorial server),
 * `--sequential` serves one client at a time (`TCPServer`) instead of each
 * in its own task (`ThreadingTCPServer`), and `--framing` echoes frame by
 * frame: `length` is a 4-byte big-endian length prefix, `line` is one line.
 *
 * The stream handler's limits are flags: `--idle-timeout` (no new frame, or
 * unframed no byte, for that long), `--frame-timeout` (a frame that takes
 * longer to arrive: slowloris), `--write-timeout` (a client that stops
 * reading), and `--max-connections` (the clients served at once; the rest
 * wait in the listen backlog).
 *
 * `--proxy-protocol` expects a PROXY protocol header (HAProxy's
 * `send-proxy` / `send-proxy-v2`) from the proxies listed in
 * `--trusted-proxies`; `--show-client` replies `client HOST:PORT` and a
 * newline before echoing: the client's address as the server sees it.
 * `--workers N` (N above 1) serves with `ForkingTCPServer`: N Deno workers
 * share the port with SO_REUSEPORT, each loading the handlers from
 * examples/echo_handlers.ts (add `--allow-read`); it prints `N workers
 * listening` once all are up. `--tls-cert` and `--tls-key` (PEM files; add
 * `--allow-read`) serve over TLS (see docs/tls.md).
 *
 * SIGINT or SIGTERM stops accepting, lets running handlers finish, exits 0.
 *
 * @module
 */

import {
  ForkingTCPServer,
  TCPServer,
  ThreadingTCPServer,
  ThreadingTLSServer,
  TLSServer,
} from "../mod.ts";
import { fail, flag, parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import {
  configureEcho,
  Echo,
  ECHO_HANDLERS,
  type EchoSettings,
  LengthEcho,
  LineEcho,
} from "./echo_handlers.ts";

const cli = parseCommandLine({
  permissions: "--allow-net",
  about: "The classic echo server: every byte a client sends comes back.",
  port: 9000,
  flags: {
    upper: flag.switch("upper-case ASCII letters in what is echoed"),
    sequential: flag.switch("serve one client at a time (TCPServer)"),
    framing: flag.choice(
      ["none", "length", "line"],
      "echo bytes, frames or lines (default none)",
      "none",
    ),
    idleTimeout: flag.seconds("close a client silent this long (default 60)", undefined),
    frameTimeout: flag.seconds("close a client whose frame takes longer (default 300)", undefined),
    writeTimeout: flag.seconds("close a client that stops reading (default 60)", undefined),
    maxConnections: flag.integer(
      "N",
      `clients served at once (default ${ThreadingTCPServer.maxConnections})`,
      ThreadingTCPServer.maxConnections,
    ),
    proxyProtocol: flag.choice(["v1", "v2", "any"], "expect a PROXY protocol header", undefined),
    trustedProxies: flag.list("ADDR,CIDR", "the proxies --proxy-protocol accepts", []),
    showClient: flag.switch("reply `client HOST:PORT` first"),
    workers: flag.integer("N", "serve with N workers (ForkingTCPServer; default 1)", 1),
    tlsCert: flag.text("FILE", "serve TLS with this PEM certificate", undefined),
    tlsKey: flag.text("FILE", "and this PEM key", undefined),
  },
});

const { proxyProtocol, trustedProxies, workers, tlsCert, tlsKey } = cli;
if (proxyProtocol !== undefined && trustedProxies.length === 0) {
  fail("--proxy-protocol needs --trusted-proxies (the proxies' addresses or CIDRs)", 2);
}
if (workers > 1 && cli.sequential) {
  fail("--sequential serves one client at a time: it cannot be combined with --workers", 2);
}
if ((tlsCert === undefined) !== (tlsKey === undefined)) {
  fail("--tls-cert and --tls-key go together", 2);
}
if (tlsCert !== undefined && (workers > 1 || proxyProtocol !== undefined)) {
  fail("--tls-cert cannot be combined with --workers or --proxy-protocol", 2);
}

/** A PEM file's text, or exit with one line saying why it cannot be read. */
function readPem(flagName: string, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    fail(`cannot read ${flagName} ${path}: ${(error as Error).message}`);
  }
}

const settings: EchoSettings = {
  upper: cli.upper,
  idleTimeout: cli.idleTimeout,
  frameTimeout: cli.frameTimeout,
  writeTimeout: cli.writeTimeout,
  showClient: cli.showClient,
};
const address = { hostname: cli.host, port: cli.port };
const options = {
  maxConnections: cli.maxConnections,
  ...(proxyProtocol === undefined ? {} : { proxyProtocol, trustedProxies }),
};
const Handler = { none: Echo, length: LengthEcho, line: LineEcho }[cli.framing];
configureEcho(settings);

await serve(cli, () => {
  if (workers > 1) {
    // Workers import the handler by URL and get the flags as workerData.
    const module = new URL("./echo_handlers.ts", import.meta.url);
    return new ForkingTCPServer(address, { module, export: ECHO_HANDLERS[cli.framing] }, {
      ...options,
      workers,
      workerData: settings,
      onListen: () => console.log(`${workers} workers listening`),
    });
  }
  if (tlsCert !== undefined) {
    const tls = { cert: readPem("--tls-cert", tlsCert), key: readPem("--tls-key", tlsKey!) };
    const Server = cli.sequential ? TLSServer : ThreadingTLSServer;
    return new Server(address, Handler, { maxConnections: cli.maxConnections, ...tls });
  }
  const Server = cli.sequential ? TCPServer : ThreadingTCPServer;
  return new Server(address, Handler, options);
});
