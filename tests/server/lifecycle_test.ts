// Server lifecycle over real sockets: the scenarios of CPython's
// Lib/test/test_socketserver.py that apply here, plus what we promise beyond
// Python (shutdown from a handler, drain with a deadline, AbortSignal).

import { delay } from "@std/async";
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  type AnyServer,
  BaseRequestHandler,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUnixStreamServer,
  UnixStreamServer,
} from "@socketserver/core";
import { exchange, readText, readToEnd } from "../support/clients.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const TEST_STR = "hello world\nwe are the knights who say ni\n";

/** Echoes every chunk until the client half-closes. */
class Echo extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const chunk of this.rfile) await this.wfile.write(chunk);
  }
}

/** What these tests use of a server, whatever its address type. */
interface Server {
  readonly address: Deno.Addr;
  serveForever(): Promise<void>;
  shutdown(): Promise<void>;
  serverClose(): Promise<void>;
}

/** A server kind and how a test makes one. */
interface Kind {
  name: string;
  make(Handler: typeof Echo): Promise<Server>;
}

async function unixPath(): Promise<string> {
  return `${await Deno.makeTempDir()}/server.sock`;
}

const KINDS: Kind[] = [
  { name: "TCPServer", make: (Handler) => Promise.resolve(new TCPServer(LOCALHOST, Handler)) },
  {
    name: "ThreadingTCPServer",
    make: (Handler) => Promise.resolve(new ThreadingTCPServer(LOCALHOST, Handler)),
  },
  {
    name: "UnixStreamServer",
    make: async (Handler) => new UnixStreamServer({ path: await unixPath() }, Handler),
  },
  {
    name: "ThreadingUnixStreamServer",
    make: async (Handler) => new ThreadingUnixStreamServer({ path: await unixPath() }, Handler),
  },
];

function dirOf(address: Deno.Addr): string | undefined {
  return "path" in address ? address.path.slice(0, address.path.lastIndexOf("/")) : undefined;
}

for (const kind of KINDS) {
  // CPython: test_TCPServer, test_ThreadingTCPServer, test_UnixStreamServer,
  // test_ThreadingUnixStreamServer (run_server + stream_examine, three clients).
  Deno.test(`${kind.name}: three echo round trips, then shutdown and close`, async () => {
    const server = await kind.make(Echo);
    const serving = server.serveForever();
    for (let i = 0; i < 3; i++) {
      assertEquals(await exchange(server.address as Deno.ConnectOptions, TEST_STR), TEST_STR);
    }
    await server.shutdown();
    await serving;
    await server.serverClose();
    const dir = dirOf(server.address);
    if (dir !== undefined) {
      // The socket file is removed on close.
      assertEquals([...Deno.readDirSync(dir)], []);
      await Deno.remove(dir);
    }
  });
}

// CPython: test_shutdown (issue #2302: shutdown() always makes serve_forever() return).
Deno.test("twenty servers shut down right after start", async () => {
  const servers = Array.from({ length: 20 }, () => new ThreadingTCPServer(LOCALHOST, Echo));
  const serving = servers.map((server) => server.serveForever());
  await Promise.all(servers.map((server) => server.shutdown()));
  await Promise.all(serving);
  await Promise.all(servers.map((server) => server.serverClose()));
});

// CPython: test_close_immediately.
Deno.test("a server closed without ever serving releases its port", async () => {
  const server = new ThreadingTCPServer(LOCALHOST, Echo);
  const port = server.address.port;
  await server.serverClose();
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
  // The port can be bound again at once.
  const again = new TCPServer({ hostname: "127.0.0.1", port }, Echo);
  assertEquals(again.address.port, port);
  await again.serverClose();
});

// CPython: test_context_manager.
Deno.test("await using shuts the server down and closes it", async () => {
  let port: number;
  {
    await using server = new ThreadingTCPServer(LOCALHOST, Echo);
    port = server.address.port;
    const serving = server.serveForever();
    assertEquals(await exchange(server.address, "x"), "x");
    await server.shutdown();
    await serving;
  }
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("shutdown before serveForever makes it return at once", async () => {
  await using server = new ThreadingTCPServer(LOCALHOST, Echo);
  await server.shutdown();
  await server.serveForever();
  assertEquals(server.activeRequests, 0);
});

Deno.test("serveForever twice at once is refused", async () => {
  await using server = new ThreadingTCPServer(LOCALHOST, Echo);
  const serving = server.serveForever();
  await assertRejects(() => server.serveForever(), Error, "already running");
  await server.shutdown();
  await serving;
});

for (const Server of [TCPServer, ThreadingTCPServer]) {
  Deno.test(`${Server.name}: shutdown awaited from inside a handler does not deadlock`, async () => {
    class StopAndReply extends StreamRequestHandler {
      override async handle(): Promise<void> {
        // Python's shutdown() here deadlocks a sequential server; ours resolves once
        // the loop has stopped, and this handler still finishes its reply.
        await this.server.shutdown();
        await this.wfile.write("stopped\n");
      }
    }
    const server = new Server(LOCALHOST, StopAndReply);
    const serving = server.serveForever();
    using conn = await Deno.connect(server.address);
    await serving;
    await server.serverClose();
    assertEquals(await readText(conn, 8), "stopped\n");
  });
}

Deno.test("handleRequest waits at most timeout seconds, then calls handleTimeout", async () => {
  const timeouts: string[] = [];
  class Timing extends TCPServer {
    override handleTimeout(): void {
      timeouts.push("timeout");
    }
  }
  await using server = new Timing(LOCALHOST, Echo, { timeout: 0.05 });
  await server.handleRequest();
  assertEquals(timeouts, ["timeout"]);
  // A request that does come is served, and handleTimeout is not called again.
  const reply = exchange(server.address, "ping");
  await server.handleRequest();
  assertEquals(await reply, "ping");
  assertEquals(timeouts, ["timeout"]);
});

Deno.test("serverClose lets an in-flight handler finish its reply (graceful drain)", async () => {
  const entered = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  class Slow extends StreamRequestHandler {
    override async handle(): Promise<void> {
      entered.resolve();
      await release.promise;
      await this.wfile.write("done\n");
    }
  }
  const server = new ThreadingTCPServer(LOCALHOST, Slow);
  const serving = server.serveForever();
  using conn = await Deno.connect(server.address);
  await entered.promise;
  await server.shutdown();
  await serving;
  const closing = server.serverClose();
  // New clients are not served while the running handler drains: refused, or reset if
  // they raced the listener's pending accept.
  const refused = await assertRejects(async () => {
    using late = await Deno.connect(server.address);
    assertEquals((await readToEnd(late)).length, 0);
    throw new Deno.errors.ConnectionReset("closed without being served");
  });
  assert(
    refused instanceof Deno.errors.ConnectionRefused ||
      refused instanceof Deno.errors.ConnectionReset,
    String(refused),
  );
  release.resolve();
  await closing;
  assertEquals(await readText(conn, 5), "done\n");
  assertEquals(server.activeRequests, 0);
});

Deno.test("past drainTimeout, serverClose closes the connections of stuck handlers", async () => {
  const entered = Promise.withResolvers<void>();
  const errors: unknown[] = [];
  class Stuck extends StreamRequestHandler {
    override async handle(): Promise<void> {
      entered.resolve();
      await this.rfile.read(); // The client never sends: only a close ends this.
    }
  }
  class Quiet extends ThreadingTCPServer {
    override handleError(error: unknown): void {
      errors.push(error);
    }
  }
  const server = new Quiet(LOCALHOST, Stuck, { drainTimeout: 0.05 });
  const serving = server.serveForever();
  using conn = await Deno.connect(server.address);
  await entered.promise;
  await server.shutdown();
  await serving;
  await server.serverClose();
  assertEquals(server.activeRequests, 0);
  // The client sees its connection end; the forced close is not reported as an error.
  assertEquals((await readToEnd(conn)).length, 0);
  assertEquals(errors, []);
});

Deno.test("blockOnClose false: serverClose does not wait for running handlers", async () => {
  const entered = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  class Slow extends StreamRequestHandler {
    override async handle(): Promise<void> {
      entered.resolve();
      await release.promise;
      await this.wfile.write("late\n");
    }
  }
  const server = new ThreadingTCPServer(LOCALHOST, Slow, { blockOnClose: false });
  const serving = server.serveForever();
  using conn = await Deno.connect(server.address);
  await entered.promise;
  await server.shutdown();
  await serving;
  await server.serverClose();
  assertEquals(server.activeRequests, 1);
  // The handler goes on by itself, like Python's daemon threads.
  release.resolve();
  assertEquals(await readText(conn, 5), "late\n");
});

Deno.test("an aborted signal shuts the server down and closes it; finished resolves", async () => {
  const controller = new AbortController();
  const listened: Deno.Addr[] = [];
  const server = new ThreadingTCPServer(LOCALHOST, Echo, {
    signal: controller.signal,
    onListen: (address) => listened.push(address),
  });
  const serving = server.serveForever();
  assertEquals(await exchange(server.address, "a"), "a");
  controller.abort();
  await serving;
  await server.finished;
  assertEquals(listened, [server.address]);
  await assertRejects(() => Deno.connect(server.address), Deno.errors.ConnectionRefused);
});

// CPython: MiscTestCase.test_threads_reaped.
Deno.test("finished connections are not retained", async () => {
  await using server = new ThreadingTCPServer(LOCALHOST, Echo);
  const serving = server.serveForever();
  const replies = await Promise.all(
    Array.from({ length: 50 }, (_, i) => exchange(server.address, `client ${i}`)),
  );
  assertEquals(replies, Array.from({ length: 50 }, (_, i) => `client ${i}`));
  assertEquals(server.activeRequests, 0);
  await server.shutdown();
  await serving;
});

Deno.test("TCPServer serves one connection at a time: the next waits in the backlog", async () => {
  const events: string[] = [];
  class Logged extends StreamRequestHandler {
    override async handle(): Promise<void> {
      const name = await this.rfile.readline();
      events.push(`start ${name}`);
      await this.rfile.read(); // Until the client closes.
      events.push(`end ${name}`);
    }
  }
  await using server = new TCPServer(LOCALHOST, Logged);
  const serving = server.serveForever();
  const first = await Deno.connect(server.address);
  await first.write(new TextEncoder().encode("first\n"));
  const second = await Deno.connect(server.address); // Accepted by the kernel, not served yet.
  await second.write(new TextEncoder().encode("second\n"));
  while (events.length === 0) await delay(5);
  assertEquals(events, ["start first"]);
  first.close();
  second.close();
  while (events.length < 4) await delay(5);
  assertEquals(events, ["start first", "end first", "start second", "end second"]);
  await server.shutdown();
  await serving;
});

const drainStarts: {
  name: string;
  stop: (server: AnyServer, controller: AbortController) => Promise<void>;
}[] = [
  { name: "shutdown()", stop: async (server) => await server.shutdown() },
  { name: "serverClose()", stop: async (server) => await server.serverClose() },
  { name: "the signal", stop: (_server, controller) => Promise.resolve(controller.abort()) },
];

for (const { name, stop } of drainStarts) {
  Deno.test(`draining aborts on ${name}: an idle handler returns at once, not after drainTimeout`, async () => {
    const entered = Promise.withResolvers<void>();
    /** Idle until the server drains, then says goodbye: a keep-alive connection between requests. */
    class IdleUntilDrained extends BaseRequestHandler {
      override async handle(): Promise<void> {
        const { promise, resolve } = Promise.withResolvers<void>();
        this.server.draining!.addEventListener("abort", () => resolve(), { once: true });
        entered.resolve();
        await promise;
        await this.request.write(new TextEncoder().encode("bye\n"));
      }
    }
    const controller = new AbortController();
    // drainTimeout is the default 30 s: were the idle handler not told, the
    // forced close would cut it and its goodbye would never arrive.
    const server = new ThreadingTCPServer(LOCALHOST, IdleUntilDrained, {
      signal: controller.signal,
    });
    assertEquals(server.drainTimeout, 30);
    const serving = server.serveForever();
    using conn = await Deno.connect(server.address);
    await entered.promise;
    assertEquals(server.draining.aborted, false);
    await stop(server, controller);
    assert(server.draining.aborted);
    await serving;
    await server.serverClose();
    assertEquals(server.activeRequests, 0);
    assertEquals(await readText(conn, 4), "bye\n");
  });
}
