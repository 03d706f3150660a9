// Server and handler settings over real sockets: static defaults a subclass
// overrides, options per instance, and what each setting does.

import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";

import {
  ReadTimeoutError,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
  UnixStreamServer,
} from "@socketserver/core";
import { exchange, readText } from "../support/clients.ts";
import { noUnstableConfigArgs } from "../support/no_unstable_config.ts";
import { runPython } from "../support/python.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };

class Echo extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const chunk of this.rfile) await this.wfile.write(chunk);
  }
}

/** The backlog the kernel reports for a listening port (`ss` shows it as Send-Q). */
async function kernelBacklog(port: number): Promise<number> {
  const { stdout } = await new Deno.Command("ss", {
    args: ["-ltnH", `sport = :${port}`],
    stdout: "piped",
  }).output();
  return Number(new TextDecoder().decode(stdout).trim().split(/\s+/)[2]);
}

Deno.test("requestQueueSize: the static default, a subclass override, an option", async (t) => {
  const cases: { name: string; make: () => TCPServer; expected: number }[] = [
    { name: "default", make: () => new TCPServer(LOCALHOST, Echo), expected: 511 },
    {
      name: "static override in a subclass (Python's class attribute)",
      make: () =>
        new (class extends TCPServer {
          static override requestQueueSize = 5;
        })(LOCALHOST, Echo),
      expected: 5,
    },
    {
      name: "option beats the static default",
      make: () => new TCPServer(LOCALHOST, Echo, { requestQueueSize: 7 }),
      expected: 7,
    },
  ];
  for (const { name, make, expected } of cases) {
    await t.step(name, async () => {
      await using server = make();
      assertEquals(server.requestQueueSize, expected);
      assertEquals(await kernelBacklog(server.address.port), expected);
    });
  }
});

Deno.test("runtime settings: static override, option, and mutable instance field", async () => {
  class Patient extends ThreadingTCPServer {
    static override timeout = 5;
    static override drainTimeout = 2;
  }
  await using a = new Patient(LOCALHOST, Echo);
  assertEquals([a.timeout, a.drainTimeout, a.noDelay, a.keepAlive, a.blockOnClose], [
    5,
    2,
    true,
    false,
    true,
  ]);
  await using b = new Patient(LOCALHOST, Echo, { timeout: null, keepAlive: true });
  assertEquals([b.timeout, b.keepAlive], [null, true]);
  b.timeout = 1;
  assertEquals(b.timeout, 1);
});

Deno.test("allowReuseAddress false is refused: Deno always sets SO_REUSEADDR", () => {
  assertThrows(
    () => new TCPServer(LOCALHOST, Echo, { allowReuseAddress: false }),
    TypeError,
    "SO_REUSEADDR",
  );
});

Deno.test("allowReusePort lets two servers share a port", async () => {
  await using first = new ThreadingTCPServer(LOCALHOST, Echo, { allowReusePort: true });
  await using second = new ThreadingTCPServer(
    { hostname: "127.0.0.1", port: first.address.port },
    Echo,
    { allowReusePort: true },
  );
  assertEquals(second.address.port, first.address.port);
  const serving = [first.serveForever(), second.serveForever()];
  assertEquals(await exchange(first.address, "shared"), "shared");
  await Promise.all([first.shutdown(), second.shutdown()]);
  await Promise.all(serving);
});

Deno.test("allowReusePort without --unstable-net fails with an error naming the flag", async () => {
  const script = `
import { TCPServer, BaseRequestHandler } from "${new URL("../../mod.ts", import.meta.url)}";
new TCPServer({ hostname: "127.0.0.1", port: 0 }, BaseRequestHandler, { allowReusePort: true });
`;
  const dir = await Deno.makeTempDir();
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", ...await noUnstableConfigArgs(dir), "--ext=ts", script],
    stdout: "null",
    stderr: "piped",
  }).output().finally(() => Deno.remove(dir, { recursive: true }));
  // Deno itself would exit 70 silently; we throw first.
  assertEquals(code, 1);
  assertMatch(new TextDecoder().decode(stderr), /--unstable-net/);
});

Deno.test("a bind failure throws AddrInUse and leaves nothing open", async () => {
  await using taken = new TCPServer(LOCALHOST, Echo);
  for (let i = 0; i < 100; i++) {
    // CPython: test_tcpserver_bind_leak. The resource sanitizer fails the test on a leak.
    assertThrows(
      () => new TCPServer({ hostname: "127.0.0.1", port: taken.address.port }, Echo),
      Deno.errors.AddrInUse,
    );
  }
  assertThrows(() => new TCPServer({ hostname: "127.0.0.1", port: 70000 }, Echo));
});

Deno.test("maxConnections: past it, clients wait in the backlog and are served in turn", async () => {
  const events: string[] = [];
  class Named extends StreamRequestHandler {
    override async handle(): Promise<void> {
      const name = await this.rfile.readline();
      events.push(`serve ${name}`);
      await this.wfile.write(`hello ${name}\n`);
      await this.rfile.read(); // Until the client closes.
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, Named, { maxConnections: 2 });
  const serving = server.serveForever();
  const clients = await Promise.all(["a", "b", "c"].map(async (name) => {
    const conn = await Deno.connect(server.address);
    await conn.write(new TextEncoder().encode(`${name}\n`));
    return conn;
  }));
  assertEquals(await readText(clients[0], 8), "hello a\n");
  assertEquals(await readText(clients[1], 8), "hello b\n");
  assertEquals(events, ["serve a", "serve b"]);
  assertEquals(server.activeRequests, 2);
  clients[0].close(); // A slot frees: c, accepted by the kernel all along, is served.
  assertEquals(await readText(clients[2], 8), "hello c\n");
  assertEquals(events, ["serve a", "serve b", "serve c"]);
  clients[1].close();
  clients[2].close();
  await server.shutdown();
  await serving;
});

Deno.test("handler timeout: a read that waits too long fails with ReadTimeoutError", async () => {
  class Impatient extends StreamRequestHandler {
    override timeout = 0.05;
    override async handle(): Promise<void> {
      try {
        await this.rfile.readline();
      } catch (error) {
        assert(error instanceof ReadTimeoutError);
        assert(error instanceof Deno.errors.TimedOut);
        await this.wfile.write(`timed out after ${error.timeout} s\n`);
      }
    }
  }
  await using server = new TCPServer(LOCALHOST, Impatient);
  using conn = await Deno.connect(server.address); // Sends nothing.
  await server.handleRequest();
  const expected = "timed out after 0.05 s\n";
  assertEquals(await readText(conn, expected.length), expected);
});

Deno.test("UnixStreamServer replaces a socket file left by a crashed process", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/stale.sock`;
  // A python server binds and exits without unlinking: the classic stale file.
  const { code } = await runPython(
    `import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.listen()`,
    { args: [path] },
  );
  assertEquals(code, 0);
  assert(Deno.lstatSync(path).isSocket);
  {
    await using server = new UnixStreamServer({ path }, Echo);
    const serving = server.handleRequest();
    assertEquals(await exchange({ transport: "unix", path }, "fresh"), "fresh");
    await serving;
  }
  assertThrows(() => Deno.lstatSync(path), Deno.errors.NotFound);
  await Deno.remove(dir);
});

Deno.test("UnixStreamServer never removes a live server's socket or a regular file", async () => {
  const dir = await Deno.makeTempDir();
  const live = `${dir}/live.sock`;
  await using first = new UnixStreamServer({ path: live }, Echo);
  assertThrows(
    () => new UnixStreamServer({ path: live }, Echo),
    Deno.errors.AddrInUse,
    "running server",
  );
  const serving = first.handleRequest();
  assertEquals(await exchange({ transport: "unix", path: live }, "still mine"), "still mine");
  await serving;

  const file = `${dir}/notes.txt`;
  await Deno.writeTextFile(file, "keep me");
  assertThrows(
    () => new UnixStreamServer({ path: file }, Echo),
    Deno.errors.AddrInUse,
    "not a socket",
  );
  assertEquals(await Deno.readTextFile(file), "keep me");
  await first.serverClose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("server.socket is the listener (Python's server.socket); closing it ends serveForever", async () => {
  await using server = new ThreadingTCPServer(LOCALHOST, Echo);
  assertEquals(server.socket.addr, server.address);
  const serving = server.serveForever();
  assertEquals(await exchange(server.address, "via socket"), "via socket");
  server.socket.close();
  await serving;
});
