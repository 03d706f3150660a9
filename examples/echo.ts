/**
 * The classic echo server: every byte a client sends comes back.
 *
 *     deno run --allow-net examples/echo.ts [--host 127.0.0.1] [--port 9000]
 *         [--upper] [--sequential] [--framing none|length|line]
 *         [--idle-timeout SECONDS] [--max-connections N]
 *         [--proxy-protocol v1|v2|any --trusted-proxies ADDR,CIDR,...] [--show-client]
 *         [--workers N] [--tls-cert FILE --tls-key FILE]
 *
 * `--upper` upper-cases what it echoes (the classic tutorial server),
 * `--sequential` serves one client at a time (`TCPServer`) instead of each
 * in its own task (`ThreadingTCPServer`), and `--framing` echoes frame by
 * frame: `length` is a 4-byte big-endian length prefix, `line` is one line.
 * `--idle-timeout` closes a client that sends nothing of a new frame (or,
 * unframed, no byte) for that many seconds (default: never);
 * `--max-connections` caps the clients served at once (default 10000; the
 * rest wait in the listen backlog).
 * `--proxy-protocol` expects a PROXY protocol header (HAProxy's
 * `send-proxy` / `send-proxy-v2`) from the proxies listed in
 * `--trusted-proxies` (required with it, comma-separated); `--show-client`
 * replies `client HOST:PORT` and a newline before echoing: the client's
 * address as the server sees it (the original client's, behind a proxy).
 * `--workers N` (N above 1) serves with `ForkingTCPServer`: N Deno workers
 * share the port with SO_REUSEPORT, each loading the handlers from
 * examples/echo_handlers.ts (add `--allow-read`; `--unstable-net` comes from
 * deno.json, or add it); it prints `N workers listening` once all are up.
 * `--tls-cert` and `--tls-key` (PEM files; add `--allow-read`) serve over
 * TLS with `TLSServer` / `ThreadingTLSServer` (see docs/tls.md).
 * SIGINT or SIGTERM stops accepting, lets running handlers finish, exits 0.
 *
 * @module
 */

import {
  ForkingTCPServer,
  type ProxyProtocolVersion,
  TCPServer,
  ThreadingTCPServer,
  ThreadingTLSServer,
  TLSServer,
} from "../mod.ts";
import { parseFlags, runUntilSignal } from "./_cli.ts";
import {
  configureEcho,
  Echo,
  ECHO_HANDLERS,
  type EchoSettings,
  LengthEcho,
  LineEcho,
} from "./echo_handlers.ts";

const flags = parseFlags({
  upper: { type: "boolean" },
  sequential: { type: "boolean" },
  framing: { type: "string" },
  "idle-timeout": { type: "string" },
  "max-connections": { type: "string" },
  "proxy-protocol": { type: "string" },
  "trusted-proxies": { type: "string" },
  "show-client": { type: "boolean" },
  workers: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
}, { port: 9000 });

const framing = String(flags.values.framing ?? "none");
const upper = flags.values.upper === true;
const idleTimeoutFlag = flags.values["idle-timeout"];
const idleTimeout = idleTimeoutFlag === undefined ? null : Number(idleTimeoutFlag);
if (idleTimeout !== null && !(idleTimeout > 0 && idleTimeout <= 2_147_483)) {
  console.error(`--idle-timeout must be a number of seconds above 0, got ${idleTimeoutFlag}`);
  Deno.exit(2);
}
const maxConnectionsFlag = flags.values["max-connections"];
const maxConnections = Number(maxConnectionsFlag ?? ThreadingTCPServer.maxConnections);
if (!Number.isSafeInteger(maxConnections) || maxConnections < 1) {
  console.error(`--max-connections must be a positive integer, got ${maxConnectionsFlag}`);
  Deno.exit(2);
}
const proxyProtocol = flags.values["proxy-protocol"] as ProxyProtocolVersion | undefined;
if (proxyProtocol !== undefined && !["v1", "v2", "any"].includes(proxyProtocol)) {
  console.error(`--proxy-protocol must be v1, v2 or any, got ${proxyProtocol}`);
  Deno.exit(2);
}
const trustedProxies = String(flags.values["trusted-proxies"] ?? "").split(",").filter(Boolean);
if (proxyProtocol !== undefined && trustedProxies.length === 0) {
  console.error("--proxy-protocol needs --trusted-proxies (the proxies' addresses or CIDRs)");
  Deno.exit(2);
}
const showClient = flags.values["show-client"] === true;
const workersFlag = flags.values.workers;
const workers = Number(workersFlag ?? 1);
if (!Number.isSafeInteger(workers) || workers < 1) {
  console.error(`--workers must be an integer of at least 1, got ${workersFlag}`);
  Deno.exit(2);
}
if (workers > 1 && flags.values.sequential) {
  console.error("--sequential serves one client at a time: it cannot be combined with --workers");
  Deno.exit(2);
}

const tlsCert = flags.values["tls-cert"];
const tlsKey = flags.values["tls-key"];
if ((tlsCert === undefined) !== (tlsKey === undefined)) {
  console.error("--tls-cert and --tls-key go together");
  Deno.exit(2);
}
const tls = tlsCert === undefined
  ? undefined
  : { cert: Deno.readTextFileSync(String(tlsCert)), key: Deno.readTextFileSync(String(tlsKey)) };
if (tls !== undefined && (workers > 1 || proxyProtocol !== undefined)) {
  console.error("--tls-cert cannot be combined with --workers or --proxy-protocol");
  Deno.exit(2);
}

const handlers = { none: Echo, length: LengthEcho, line: LineEcho };
if (!(framing in handlers)) {
  console.error(`--framing must be none, length or line, got ${framing}`);
  Deno.exit(2);
}
const settings: EchoSettings = { upper, idleTimeout, showClient };
const address = { hostname: flags.hostname, port: flags.port };
const options = {
  maxConnections,
  ...(proxyProtocol === undefined ? {} : { proxyProtocol, trustedProxies }),
};
let server;
if (workers > 1) {
  // Workers import the handler by URL and get the flags as workerData.
  const module = new URL("./echo_handlers.ts", import.meta.url);
  const handler = { module, export: ECHO_HANDLERS[framing as keyof typeof handlers] };
  server = new ForkingTCPServer(address, handler, {
    ...options,
    workers,
    workerData: settings,
    onListen: () => console.log(`${workers} workers listening`),
  });
} else {
  configureEcho(settings);
  const Handler = handlers[framing as keyof typeof handlers];
  if (tls !== undefined) {
    const Server = flags.values.sequential ? TLSServer : ThreadingTLSServer;
    server = new Server(address, Handler, { maxConnections, ...tls });
  } else {
    const Server = flags.values.sequential ? TCPServer : ThreadingTCPServer;
    server = new Server(address, Handler, options);
  }
}
await runUntilSignal(server);
