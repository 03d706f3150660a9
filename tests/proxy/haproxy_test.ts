// A real HAProxy in front of two examples/echo.ts instances with PROXY
// protocol v2 (CRC32C and UNIQUE_ID TLVs on) and health checks: each
// instance must see each python3 client's own address, the checks' LOCAL
// headers must be accepted (a check passes only when the echo replies), and
// round robin must reach both instances. Skipped, saying why, where HAProxy
// is missing and cannot be installed.

import { delay } from "@std/async";
import { assert, assertEquals, fail } from "@std/assert";
import { type ExampleProcess, startExample } from "../support/example_process.ts";
import { findHaproxy, haproxyStats, startHaproxy } from "../support/haproxy.ts";
import { runPython } from "../support/python.ts";

const haproxy = await findHaproxy();
if (haproxy.path === null) console.warn(`haproxy_test.ts is skipped: ${haproxy.reason}`);

const CLIENTS = 6;

/** The config: every directive a deployment needs (docs/deployment.md explains each). */
function config(frontendPort: number, statsSocket: string, backends: number[]): string {
  return `
global
    maxconn 256
    stats socket ${statsSocket} mode 600 level user
    log stdout format raw local0

defaults
    mode tcp
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout check 2s

frontend echo_front
    bind 127.0.0.1:${frontendPort}
    unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    log-format "served %ci:%cp by %s"
    default_backend echo_servers

backend echo_servers
    balance roundrobin
    option tcp-check
    tcp-check expect rstring ^client
    default-server inter 500ms fall 2 rise 1
${
    backends.map((port, i) =>
      `    server echo${
        i + 1
      } 127.0.0.1:${port} send-proxy-v2 proxy-v2-options crc32c,unique-id check`
    ).join("\n")
  }
`;
}

/** Each client connects through HAProxy, checks the `client` line against its own address and the echo. */
const CLIENT_SCRIPT = `
import json, socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
results = []
for n in range(count):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        me = "%s:%d" % sock.getsockname()
        message = f"ping {n}\\n".encode()
        sock.sendall(message)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    first, _, rest = reply.partition(b"\\n")
    results.append({"me": me, "first": first.decode(), "echo": rest == message})
print(json.dumps(results))
`;

/** Polls until every backend server is UP with a passed layer-7 check (L7OK), at most 20 s. */
async function waitForHealthyServers(statsSocket: string, count: number): Promise<void> {
  let servers: Record<string, string>[] = [];
  for (let attempt = 0; attempt < 200; attempt++) {
    servers = (await haproxyStats(statsSocket)).filter((row) => /^echo\d$/.test(row.svname));
    if (
      servers.length === count &&
      servers.every((row) => row.status === "UP" && row.check_status === "L7OK")
    ) {
      return;
    }
    await delay(100);
  }
  fail(`health checks did not pass: ${JSON.stringify(servers)}`);
}

/** Polls HAProxy's log until `count` "served" lines are there, at most 10 s. */
async function servedLines(stdout: () => string, count: number): Promise<[string, string][]> {
  let lines: [string, string][] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    lines = [...stdout().matchAll(/^served (\S+) by (\S+)$/gm)].map((m) => [m[1], m[2]]);
    if (lines.length >= count) return lines;
    await delay(100);
  }
  return lines;
}

Deno.test({
  name: "HAProxy with send-proxy-v2 and health checks, round robin over two echo.ts instances",
  ignore: haproxy.path === null,
  async fn() {
    const echoes: ExampleProcess[] = [];
    const flags = ["--proxy-protocol", "v2", "--trusted-proxies", "127.0.0.1", "--show-client"];
    try {
      for (let i = 0; i < 2; i++) {
        echoes.push(await startExample("echo.ts", ["--port", "0", ...flags]));
      }
      const balancer = await startHaproxy(
        haproxy.path!,
        (port, statsSocket) => config(port, statsSocket, echoes.map((echo) => echo.port)),
      );
      try {
        await waitForHealthyServers(balancer.statsSocket, 2);
        const result = await runPython(CLIENT_SCRIPT, {
          args: [String(balancer.port), String(CLIENTS)],
        });
        assertEquals(result.code, 0, `python3 clients failed:\n${result.stderr}`);
        const clients: { me: string; first: string; echo: boolean }[] = JSON.parse(result.stdout);
        assertEquals(clients.length, CLIENTS);
        for (const { me, first, echo } of clients) {
          // The instance saw the python client itself, not HAProxy's connection to it.
          assertEquals(first, `client ${me}`);
          assert(echo, `the echo after the client line for ${me}`);
        }
        // HAProxy's log says which instance served which client: both served some.
        const mine = new Set(clients.map((client) => client.me));
        const served = (await servedLines(balancer.stdout, CLIENTS))
          .filter(([client]) => mine.has(client));
        assertEquals(served.length, CLIENTS, balancer.stdout());
        const byServer = Object.groupBy(served, ([, server]) => server);
        assertEquals(Object.keys(byServer).sort(), ["echo1", "echo2"]);
        console.log(
          Object.entries(byServer)
            .map(([server, lines]) =>
              `${server} saw ${lines!.map(([client]) => client).join(", ")}`
            )
            .join("\n"),
        );
      } finally {
        await balancer.stop();
      }
    } finally {
      const codes = [];
      for (const echo of echoes) codes.push(await echo.stop("SIGTERM"));
      assertEquals(codes, echoes.map(() => 0), "each echo drains and exits 0 on SIGTERM");
    }
    for (const echo of echoes) {
      // HAProxy ends each health check with a TCP reset, which an echo that is
      // reading reports; nothing else may go wrong (no refused header). Each
      // report is a header line, then its indented stack.
      const problems = echo.stderr().split(/\n(?=\S)/)
        .map((report) => report.split("\n")[0])
        .filter((header) => header !== "" && !/ConnectionReset|BrokenPipe/.test(header));
      assertEquals(problems, []);
    }
  },
});
