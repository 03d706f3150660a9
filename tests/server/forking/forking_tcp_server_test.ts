// ForkingTCPServer over real sockets: a pool of Deno workers sharing one port
// with SO_REUSEPORT. Handlers come from tests/support/forking_handlers.ts,
// which each worker imports by URL.

import { delay } from "@std/async";
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertIsError,
  assertMatch,
  assertNotEquals,
  assertNotMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  BaseServer,
  ForkingTCPServer,
  type ForkingTCPServerOptions,
  type HandlerModule,
  isPeerGone,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  WorkerCrashError,
} from "@socketserver/core";
import { cloneError, reviveError } from "../../../src/server/forking/_protocol.ts";
import { assertReusePortBalancing } from "../../../src/server/forking/_preflight.ts";
import { exchange } from "../../support/clients.ts";
import { noUnstableConfigArgs } from "../../support/no_unstable_config.ts";
import { assertExampleRefuses, startExample } from "../../support/example_process.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const HANDLERS = new URL("../../support/forking_handlers.ts", import.meta.url);
const ECHO: HandlerModule = { module: HANDLERS, export: "Echo" };
const COMMANDS: HandlerModule = { module: HANDLERS, export: "Commands" };
const MOD = new URL("../../../mod.ts", import.meta.url).href;
const utf8 = new TextEncoder();

/** A ForkingTCPServer that keeps what reaches handleError() instead of printing it. */
class RecordingServer extends ForkingTCPServer {
  readonly errors: { error: unknown; clientAddress: Deno.Addr | null }[] = [];
  override handleError(
    error: unknown,
    _request: Deno.Conn | null,
    clientAddress: Deno.Addr | null,
  ) {
    this.errors.push({ error, clientAddress });
  }
}

/** Polls `condition` every 10 ms; fails the test when it stays false for `seconds`. */
async function waitFor(what: string, condition: () => boolean, seconds = 20): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}`);
    await delay(10);
  }
}

/** A connection to the Commands handler: one line out, one line back. */
class LineClient implements Disposable {
  readonly conn: Deno.Conn;
  #pending = "";

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  static async connect(address: Deno.ConnectOptions): Promise<LineClient> {
    return new LineClient(await Deno.connect(address));
  }

  /** Sends `line` and returns the reply line, or `null` when the server closed first. */
  async ask(line: string): Promise<string | null> {
    await this.conn.write(utf8.encode(line + "\n"));
    const buffer = new Uint8Array(256);
    while (!this.#pending.includes("\n")) {
      const count = await this.conn.read(buffer);
      if (count === null) return null;
      this.#pending += new TextDecoder().decode(buffer.subarray(0, count));
    }
    const end = this.#pending.indexOf("\n");
    const reply = this.#pending.slice(0, end);
    this.#pending = this.#pending.slice(end + 1);
    return reply;
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** Asks a fresh connection for `line`; returns the reply. */
async function askOnce(address: Deno.ConnectOptions, line: string): Promise<string | null> {
  using client = await LineClient.connect(address);
  return await client.ask(line);
}

/** Serves `handler` with `workers` workers, waits until all listen, runs `body`, then closes. */
async function withPool(
  handler: HandlerModule,
  options: ForkingTCPServerOptions,
  body: (server: RecordingServer) => Promise<void>,
): Promise<RecordingServer> {
  await using server = new RecordingServer(LOCALHOST, handler, options);
  const serving = server.serveForever();
  try {
    await waitFor("every worker to listen", () => server.listeningWorkers === server.workers);
    await body(server);
  } finally {
    await server.shutdown();
    await serving;
  }
  return server;
}

/**
 * Opens connections until one is served by a worker not in `held`; keeps
 * that one open. Connections the main thread serves (-1) or already-held
 * workers serve are closed. At most 500 tries: SO_REUSEPORT hashes each
 * connection's addresses, so missing a worker that often is all but impossible.
 */
async function connectToNewWorker(
  address: Deno.ConnectOptions,
  held: Map<number, LineClient>,
): Promise<[number, LineClient]> {
  for (let tries = 0; tries < 500; tries++) {
    const client = await LineClient.connect(address);
    const id = Number(await client.ask("id"));
    if (id >= 0 && !held.has(id)) return [id, client];
    client[Symbol.dispose]();
  }
  throw new Error(`No new worker after 500 connections; held: ${[...held.keys()]}`);
}

Deno.test("ForkingTCPServer: echo round trips through a 2-worker server", async () => {
  await withPool(ECHO, { workers: 2 }, async (server) => {
    assertEquals(server.workers, 2);
    for (const text of ["hello", "", "x".repeat(100_000)]) {
      assertEquals(await exchange(server.address, text), text);
    }
  });
});

Deno.test("ForkingTCPServer: each worker's server gets maxFrameMemory", async () => {
  await withPool(COMMANDS, { workers: 1, maxFrameMemory: 12_345_678 }, async (server) => {
    const [, client] = await connectToNewWorker(server.address, new Map());
    using _ = client;
    assertEquals(await client.ask("frame-memory"), "12345678");
  });
});

Deno.test("ForkingTCPServer: connections spread over both workers", async () => {
  await withPool(COMMANDS, { workers: 2 }, async (server) => {
    const seen = new Set<number>();
    for (let tries = 0; tries < 500 && !(seen.has(0) && seen.has(1)); tries++) {
      seen.add(Number(await askOnce(server.address, "id")));
    }
    assert(seen.has(0) && seen.has(1), `workers seen: ${[...seen]}`);
  });
});

Deno.test("ForkingTCPServer: connections made before the workers listen are served, then and after the hand-over", async () => {
  await using server = new RecordingServer(LOCALHOST, COMMANDS, { workers: 2 });
  // Queued on the main listener before any worker exists: SO_REUSEPORT
  // cannot move them, so the main thread must serve them.
  const early = await Promise.all(
    Array.from({ length: 32 }, () => LineClient.connect(server.address)),
  );
  try {
    const serving = server.serveForever();
    const ids = await Promise.all(early.map((client) => client.ask("id")));
    assertEquals(new Set(ids), new Set(["-1"]));
    // The main listener closes once the workers listen; its connections keep being served.
    await waitFor("every worker to listen", () => server.listeningWorkers === 2);
    const later = await Promise.all(early.map((client) => client.ask("still here")));
    assertEquals(new Set(later), new Set(["still here"]));
    const fresh = await askOnce(server.address, "id");
    assert(fresh === "0" || fresh === "1" || fresh === "-1", `fresh: ${fresh}`);
    await server.shutdown();
    await serving;
  } finally {
    for (const client of early) client[Symbol.dispose]();
  }
  await server.serverClose();
  assertEquals(server.errors, []);
  assertEquals(server.stats.requests, 33);
});

Deno.test("ForkingTCPServer: shutdown stops every worker accepting and drains in-flight requests", async () => {
  const server = new RecordingServer(LOCALHOST, COMMANDS, { workers: 2 });
  const serving = server.serveForever();
  const held = new Map<number, LineClient>();
  try {
    await waitFor("every worker to listen", () => server.listeningWorkers === 2);
    while (held.size < 2) {
      const [id, client] = await connectToNewWorker(server.address, held);
      held.set(id, client);
      assertEquals(await client.ask("hold"), "held");
      // A command under way when the server stops: half of it is sent.
      await client.conn.write(utf8.encode("after shut"));
    }
    await server.shutdown();
    await serving;
    const closing = server.serverClose();
    // New clients are refused once every worker has closed its listener.
    let refused = false;
    for (let tries = 0; tries < 500 && !refused; tries++) {
      try {
        (await Deno.connect(server.address)).close();
        await delay(10);
      } catch (error) {
        refused = error instanceof Deno.errors.ConnectionRefused;
      }
    }
    assert(refused, "new connections are refused after shutdown()");
    // Each request under way is still served, in both workers; then, idle,
    // the connection is closed.
    for (const [id, client] of held) {
      assertEquals(await client.ask("down"), "after shutdown", `worker ${id}`);
      assertEquals(await client.conn.read(new Uint8Array(1)), null, `worker ${id}: closed`);
      client[Symbol.dispose]();
    }
    await closing;
    await server.finished;
    assertEquals(server.stats.active, 0);
    assertEquals(server.listeningWorkers, 0);
  } finally {
    for (const client of held.values()) client[Symbol.dispose]();
    await server.serverClose();
  }
});

Deno.test("ForkingTCPServer: past drainTimeout, handlers still running are cut and every worker ends", async () => {
  const server = new RecordingServer(LOCALHOST, COMMANDS, { workers: 2, drainTimeout: 0.1 });
  const serving = server.serveForever();
  const held = new Map<number, LineClient>();
  try {
    await waitFor("every worker to listen", () => server.listeningWorkers === 2);
    while (held.size < 2) {
      const [id, client] = await connectToNewWorker(server.address, held);
      held.set(id, client);
      assertEquals(await client.ask("hold"), "held");
    }
    await server.shutdown();
    await serving;
    // The held clients never finish: the drain deadline closes their connections.
    await server.serverClose();
    for (const [id, client] of held) {
      assertEquals(await client.ask("too late").catch(() => null), null, `worker ${id}`);
    }
    assertEquals(server.stats.active, 0);
    // Connections closed by the deadline are expected, not errors.
    assertEquals(server.errors, []);
  } finally {
    for (const client of held.values()) client[Symbol.dispose]();
    await server.serverClose();
  }
});

const crashCases = [
  { command: "crash", reply: "crashing", cause: /Error: crash requested/ },
  { command: "exit", reply: "exiting", cause: /Deno\.exit\(\)/ },
  { command: "close", reply: "closing", cause: /self\.close\(\)/ },
];

for (const c of crashCases) {
  Deno.test(`ForkingTCPServer: a worker ended by "${c.command}" is replaced and the server keeps serving`, async () => {
    await withPool(COMMANDS, { workers: 2, restartDelay: 0.01 }, async (server) => {
      const [victim, client] = await connectToNewWorker(server.address, new Map());
      using _ = client;
      assertEquals(await client.ask(c.command), c.reply);
      await waitFor("the crash report", () => server.errors.length > 0);
      const [report] = server.errors;
      assert(report.error instanceof WorkerCrashError, String(report.error));
      assertEquals(report.error.workerId, victim);
      assertEquals(report.error.restartDelay, 0.01);
      assertMatch(report.error.message, c.cause);
      assertEquals(report.clientAddress, null);
      // The connection the crashed worker served is closed.
      assertEquals(await client.ask("anyone?").catch(() => null), null);
      // The other worker serves meanwhile, and the replacement takes the slot.
      assertEquals(await askOnce(server.address, "ping"), "ping");
      await waitFor("the replacement to listen", () => server.listeningWorkers === 2);
      const [again, replacement] = await connectToNewWorker(
        server.address,
        new Map([[1 - victim, client]]),
      );
      replacement[Symbol.dispose]();
      assertEquals(again, victim);
      assertEquals(server.errors.length, 1);
      assert(server.stats.errors >= 1);
    });
  });
}

Deno.test("ForkingTCPServer: a module that fails in every worker restarts with a doubling delay while the main thread serves", async () => {
  const source = `
    import { StreamRequestHandler } from "${MOD}";
    if ("WorkerGlobalScope" in globalThis) throw new Error("not in a worker");
    export class Echo extends StreamRequestHandler {
      override async handle() {
        for await (const chunk of this.rfile) await this.wfile.write(chunk);
      }
    }`;
  const module = `data:application/typescript,${encodeURIComponent(source)}`;
  await using server = new RecordingServer(LOCALHOST, { module, export: "Echo" }, {
    workers: 1,
    restartDelay: 0.01,
    maxRestartDelay: 0.04,
  });
  const serving = server.serveForever();
  await waitFor("five crash reports", () => server.errors.length >= 5);
  const delays = server.errors.slice(0, 5).map(({ error }) => {
    assert(error instanceof WorkerCrashError);
    assertMatch(error.message, /not in a worker/);
    return error.restartDelay;
  });
  assertEquals(delays, [0.01, 0.02, 0.04, 0.04, 0.04]);
  assertEquals(server.listeningWorkers, 0);
  // No worker ever listened, so the main thread still serves.
  assertEquals(await exchange(server.address, "still served"), "still served");
  await server.shutdown();
  await serving;
});

Deno.test("ForkingTCPServer: stats are summed across workers; handler errors reach handleError", async () => {
  await withPool(COMMANDS, { workers: 2 }, async (server) => {
    const seen = new Set<string | null>();
    for (let i = 0; i < 20; i++) seen.add(await askOnce(server.address, "id"));
    assertEquals(await askOnce(server.address, "fail"), null);
    const expected = { requests: 21, active: 0, errors: 1 };
    await waitFor("the summed counters", () => {
      const { requests, active, errors } = server.stats;
      return requests === 21 && active === 0 && errors === 1;
    });
    assertEquals(server.stats, expected);
    assertEquals(server.activeRequests, 0);
    const [report] = server.errors;
    // Rebuilt in the main thread with its class, message and the peer's address.
    assert(report.error instanceof RangeError);
    assertEquals(report.error.message, "fail requested");
    assertEquals((report.clientAddress as Deno.NetAddr).hostname, "127.0.0.1");
  });
});

Deno.test("ForkingTCPServer: the default handleError prints a worker's error and a crash with their stacks", async () => {
  const calls: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => calls.push(args.join(" "));
  try {
    await using server = new ForkingTCPServer(LOCALHOST, COMMANDS, {
      workers: 2,
      restartDelay: 0.01,
    });
    const serving = server.serveForever();
    await waitFor("every worker to listen", () => server.listeningWorkers === 2);
    const [, client] = await connectToNewWorker(server.address, new Map());
    using _ = client;
    assertEquals(await askOnce(server.address, "fail"), null);
    await waitFor("the handler's error", () => calls.length === 1);
    assertEquals(await client.ask("crash"), "crashing");
    await waitFor("the crash", () => calls.length === 2);
    await server.shutdown();
    await serving;
  } finally {
    console.error = original;
  }
  // One block per error: the header, then the stack the worker sent.
  const [failed, crashed] = calls.map((call) => call.split("\n"));
  assertMatch(
    failed[0],
    /^ForkingTCPServer: error handling a request from 127\.0\.0\.1:\d+: RangeError: fail requested$/,
  );
  assertMatch(failed[1], /^ {4}at Commands\.handle .*forking_handlers\.ts/);
  assertMatch(
    crashed[0],
    /^ForkingTCPServer: error: WorkerCrashError: Worker [01] crashed, restarting it in 0\.01 s: Error: crash requested$/,
  );
  assert(crashed.includes("Caused by: Error: crash requested"), crashed.join("\n"));
  assert(crashed.some((line) => /^ {4}at .*forking_handlers\.ts/.test(line)), crashed.join("\n"));
});

Deno.test("ForkingTCPServer: a handler's server.shutdown() in a worker stops the whole pool", async () => {
  await using server = new RecordingServer(LOCALHOST, COMMANDS, { workers: 2 });
  const serving = server.serveForever();
  await waitFor("every worker to listen", () => server.listeningWorkers === 2);
  assertEquals(await askOnce(server.address, "stop"), "stopping");
  await serving;
  await server.serverClose();
  assertEquals(server.listeningWorkers, 0);
});

Deno.test("ForkingTCPServer: onListen, signal and finished", async () => {
  const controller = new AbortController();
  const heard: Deno.NetAddr[] = [];
  const server = new ForkingTCPServer(LOCALHOST, ECHO, {
    workers: 1,
    signal: controller.signal,
    onListen: (address) => heard.push(address),
  });
  assertNotEquals(server.address.port, 0);
  const serving = server.serveForever();
  await waitFor("onListen", () => heard.length > 0);
  assertEquals(heard, [server.address]);
  assertEquals(server.listeningWorkers, 1);
  assertEquals(await exchange(server.address, "signal"), "signal");
  controller.abort();
  await serving;
  await server.finished;
});

Deno.test("ForkingTCPServer: is a BaseServer (a TCPServer, as in Python); handleRequest() says to call serveForever()", async () => {
  await using server = new ForkingTCPServer(LOCALHOST, ECHO, { workers: 1 });
  assertInstanceOf(server, BaseServer);
  assertInstanceOf(server, TCPServer);
  assertFalse(server instanceof ThreadingTCPServer);
  const error = await assertRejects(() => server.handleRequest(), TypeError);
  assertMatch(error.message, /workers serve; call serveForever\(\)/);
});

Deno.test("ForkingTCPServer: closing before serving, and a second serveForever()", async () => {
  const idle = new ForkingTCPServer(LOCALHOST, ECHO, { workers: 1 });
  await idle.serverClose();
  await idle.finished;
  await using server = new ForkingTCPServer(LOCALHOST, ECHO, { workers: 1 });
  const serving = server.serveForever();
  await assertRejects(() => server.serveForever(), Error, "already running");
  await server.shutdown();
  await serving;
});

class Inline extends StreamRequestHandler {}

const refusals: { name: string; make: () => unknown; error: RegExp; type: ErrorConstructor }[] = [
  {
    name: "a class instead of a module reference",
    make: () => new ForkingTCPServer(LOCALHOST, Inline as unknown as HandlerModule),
    error: /Cannot fork class Inline: a class cannot cross into a worker.*export: "Inline"/,
    type: TypeError,
  },
  {
    name: "a relative module path",
    make: () => new ForkingTCPServer(LOCALHOST, { module: "./handlers.ts", export: "Echo" }),
    error: /must be an absolute URL.*got \.\/handlers\.ts/,
    type: TypeError,
  },
  {
    name: "the main module",
    make: () => new ForkingTCPServer(LOCALHOST, { module: Deno.mainModule, export: "Echo" }),
    error: /main module/,
    type: TypeError,
  },
  {
    name: "zero workers",
    make: () => new ForkingTCPServer(LOCALHOST, ECHO, { workers: 0 }),
    error: /workers must be an integer of at least 1, got 0/,
    type: RangeError,
  },
  {
    name: "a negative restart delay",
    make: () => new ForkingTCPServer(LOCALHOST, ECHO, { restartDelay: -1 }),
    error: /restartDelay <= maxRestartDelay, got -1 and 30/,
    type: RangeError,
  },
];

for (const c of refusals) {
  Deno.test(`ForkingTCPServer: ${c.name} is refused in the constructor`, () => {
    const error = assertThrows(c.make);
    assertIsError(error, c.type);
    assertMatch(error.message, c.error);
  });
}

Deno.test("ForkingTCPServer: a missing export fails serveForever() with a TypeError", async () => {
  await using server = new ForkingTCPServer(LOCALHOST, { module: HANDLERS, export: "Nope" });
  const error = await assertRejects(() => server.serveForever(), TypeError);
  assertMatch(error.message, /no class exported as "Nope".*Commands, Echo/);
  assertEquals(server.listeningWorkers, 0);
});

class CustomError extends Error {
  override name = "CustomError";
}

const revivals: { name: string; thrown: unknown; check: (error: Error) => boolean }[] = [
  {
    // So a handleError override can tell a vanished client with isPeerGone().
    name: "a Deno error keeps its class",
    thrown: new Deno.errors.ConnectionReset("reset"),
    check: (error) => error instanceof Deno.errors.ConnectionReset && isPeerGone(error),
  },
  {
    name: "a built-in error keeps its class",
    thrown: new RangeError("out"),
    check: (error) => error instanceof RangeError && error.message === "out",
  },
  {
    name: "a custom class becomes an Error with its name",
    thrown: new CustomError("mine"),
    check: (error) => error.name === "CustomError" && error.message === "mine",
  },
  {
    name: "AggregateError becomes an Error with its name",
    thrown: new AggregateError([], "many"),
    check: (error) => error.name === "AggregateError" && error.message === "many",
  },
  {
    name: "a thrown string becomes an Error",
    thrown: "oops",
    check: (error) => error.name === "Error" && error.message === "oops",
  },
];

for (const c of revivals) {
  Deno.test(`ForkingTCPServer: a worker's error crosses to handleError: ${c.name}`, () => {
    const revived = reviveError(structuredClone(cloneError(c.thrown)));
    assert(revived instanceof Error);
    assert(c.check(revived), `${revived.name}: ${revived.message}`);
    if (c.thrown instanceof Error) assertEquals(revived.stack, c.thrown.stack);
  });
}

Deno.test("ForkingTCPServer: refused where Deno ignores reusePort (not Linux)", () => {
  const error = assertThrows(() => assertReusePortBalancing("darwin"), Deno.errors.NotSupported);
  assertMatch(error.message, /on darwin.*Linux only/);
  assertReusePortBalancing("linux");
});

Deno.test("ForkingTCPServer: without --unstable-net the error names the flag (not Deno's exit 70)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/fork.ts`;
    await Deno.writeTextFile(
      script,
      `import { ForkingTCPServer } from "${MOD}";
new ForkingTCPServer({ hostname: "127.0.0.1", port: 0 }, { module: "${HANDLERS}", export: "Echo" });
`,
    );
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...await noUnstableConfigArgs(dir), "--allow-net", "--allow-read", script],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertNotEquals(code, 70);
    assertNotEquals(code, 0);
    assertMatch(new TextDecoder().decode(stderr), /ForkingTCPServer.*--unstable-net/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- examples/echo.ts --workers ----------------------------------------------------

Deno.test("echo example: --workers 2 echoes length-prefixed frames and exits 0 on SIGTERM", async () => {
  const echo = await startExample(
    "echo.ts",
    ["--port", "0", "--workers", "2", "--framing", "length", "--upper"],
    { permissions: ["--allow-net", "--allow-read"] },
  );
  try {
    // The main thread serves until then; waiting keeps this test off the hand-over instant.
    await waitFor("the workers", () => echo.stdout().includes("2 workers listening"));
    for (let i = 0; i < 20; i++) {
      using conn = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
      const frame = new Uint8Array([0, 0, 0, 5, ...utf8.encode(`abc${i % 10}!`)]);
      await conn.write(frame);
      const reply = new Uint8Array(9);
      for (let filled = 0; filled < reply.length;) {
        const count = await conn.read(reply.subarray(filled));
        assert(count !== null, "EOF before the reply");
        filled += count;
      }
      assertEquals([...reply], [0, 0, 0, 5, ...utf8.encode(`ABC${i % 10}!`)]);
    }
  } catch (error) {
    await echo.stop("SIGKILL");
    throw error;
  }
  assertEquals(await echo.stop("SIGTERM"), 0, echo.stderr());
  assertNotMatch(echo.stderr(), /error/i);
});

const badWorkerFlags: { args: string[]; message: RegExp }[] = [
  { args: ["--workers", "0"], message: /--workers must be an integer of at least 1, got 0/ },
  { args: ["--workers", "two"], message: /--workers must be an integer of at least 1, got two/ },
  { args: ["--workers", "2", "--sequential"], message: /--sequential.*--workers/ },
];

for (const c of badWorkerFlags) {
  Deno.test(`echo example: ${c.args.join(" ")} exits non-zero with a message`, async () => {
    await assertExampleRefuses("echo.ts", c.args, c.message, ["--allow-net", "--allow-read"]);
  });
}
