// The request hooks, over real sockets: the order Python users rely on, error
// containment (CPython's ErrorHandlerTest), and verifyRequest.

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  BaseRequestHandler,
  IncompleteFrameError,
  isPeerGone,
  type RequestHandlerClass,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
} from "@socketserver/core";
import { exchange, readToEnd } from "../support/clients.ts";
import { runPython } from "../support/python.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };

class Echo extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const chunk of this.rfile) await this.wfile.write(chunk);
  }
}

/** Throws on a request that says "boom", echoes others. */
class BoomOrEcho extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const line = await this.rfile.readline();
    if (line === "boom") throw new ValueError("boom requested");
    await this.wfile.write(`${line}\n`);
  }
}

class ValueError extends Error {
  override name = "ValueError";
}

/** What `handleError` received. */
interface Reported {
  error: unknown;
  address: Deno.Addr | null;
}

/** Makes `server` record handleError calls instead of printing them. */
function recordErrors(server: TCPServer): Reported[] {
  const reported: Reported[] = [];
  server.handleError = (error, _request, address) => void reported.push({ error, address });
  return reported;
}

/** Serves one request of `text` with the default handleError; returns each console.error call. */
async function stderrOfOneRequest(
  Handler: RequestHandlerClass<Deno.Conn, Deno.Addr>,
  text: string,
): Promise<string[]> {
  const calls: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => calls.push(args.join(" "));
  try {
    await using server = new TCPServer(LOCALHOST, Handler);
    const reply = exchange(server.address, text);
    await server.handleRequest();
    await reply;
  } finally {
    console.error = original;
  }
  return calls;
}

for (const Server of [TCPServer, ThreadingTCPServer]) {
  // CPython: test_sync_handled, test_threading_handled.
  Deno.test(`${Server.name}: a handler error goes to handleError and the server keeps serving`, async () => {
    await using server = new Server(LOCALHOST, BoomOrEcho);
    const errors = recordErrors(server);
    const serving = server.serveForever();
    assertEquals(await exchange(server.address, "boom\n"), "");
    assertEquals(await exchange(server.address, "still here\n"), "still here\n");
    assertEquals(errors.length, 1);
    assert(errors[0].error instanceof ValueError);
    assertEquals((errors[0].address as Deno.NetAddr).hostname, "127.0.0.1");
    await server.shutdown();
    await serving;
  });

  // CPython: test_sync_not_handled, test_threading_not_handled (an error that must propagate).
  Deno.test(`${Server.name}: an error rethrown by handleError stops serveForever with it`, async () => {
    class Fatal extends Server {
      override handleError(error: unknown): void {
        throw error;
      }
    }
    await using server = new Fatal(LOCALHOST, BoomOrEcho);
    const stopped = assertRejects(() => server.serveForever(), ValueError);
    await exchange(server.address, "boom\n");
    await stopped;
  });
}

Deno.test("handleRequest rejects with an error that handleError rethrows", async () => {
  class Fatal extends TCPServer {
    override handleError(error: unknown): void {
      throw error;
    }
  }
  await using server = new Fatal(LOCALHOST, BoomOrEcho);
  const reply = exchange(server.address, "boom\n");
  await assertRejects(() => server.handleRequest(), ValueError);
  assertEquals(await reply, "");
});

Deno.test("the default handleError prints one block: a header naming the client and the error, then the stack", async () => {
  const calls = await stderrOfOneRequest(BoomOrEcho, "boom\n");
  // One console.error call per error, so concurrent reports do not interleave.
  assertEquals(calls.length, 1);
  const [header, ...stack] = calls[0].split("\n");
  assertMatch(
    header,
    /^TCPServer: error handling a request from 127\.0\.0\.1:\d+: ValueError: boom requested$/,
  );
  // Then where it was thrown, as Python prints the traceback.
  assert(stack.length > 0, "a stack follows the header");
  for (const line of stack) assertMatch(line, /^ {4}at /);
  assertMatch(stack[0], /BoomOrEcho\.handle/);
});

Deno.test("the default handleError prints the causes of an error after its stack", async () => {
  class Wrapped extends StreamRequestHandler {
    override handle(): void {
      throw new Error("outer", { cause: new RangeError("inner") });
    }
  }
  const calls = await stderrOfOneRequest(Wrapped, "");
  assertEquals(calls.length, 1);
  const lines = calls[0].split("\n");
  assertMatch(lines[0], /: Error: outer$/);
  const cause = lines.indexOf("Caused by: RangeError: inner");
  assert(cause > 1, calls[0]);
  assertMatch(lines[cause + 1], /^ {4}at Wrapped\.handle/);
});

// CPython: MiscTestCase.test_shutdown_request_called_if_verify_request_false.
Deno.test("verifyRequest false closes the connection at once and never runs the handler", async () => {
  const handled: string[] = [];
  const shutDown: Deno.Conn[] = [];
  class Recorded extends Echo {
    override handle(): Promise<void> {
      handled.push("handled");
      return super.handle();
    }
  }
  class Refusing extends ThreadingTCPServer {
    override verifyRequest(_conn: Deno.Conn, address: Deno.Addr): boolean {
      return (address as Deno.NetAddr).port % 2 === 0; // Refuse odd client ports.
    }
    override async shutdownRequest(conn: Deno.Conn): Promise<void> {
      shutDown.push(conn);
      await super.shutdownRequest(conn);
    }
  }
  await using server = new Refusing(LOCALHOST, Recorded);
  const serving = server.serveForever();
  let refused = 0;
  let served = 0;
  for (let i = 0; i < 8; i++) {
    using conn = await Deno.connect(server.address);
    await conn.write(new TextEncoder().encode("hi"));
    await conn.closeWrite();
    const reply = new TextDecoder().decode(await readToEnd(conn));
    if (conn.localAddr.port % 2 === 0) {
      assertEquals(reply, "hi");
      served++;
    } else {
      assertEquals(reply, "");
      refused++;
    }
  }
  assertEquals(handled.length, served);
  assertEquals(shutDown.length, served + refused);
  await server.shutdown();
  await serving;
});

Deno.test("hooks run in Python's order, and serviceActions after each request", async () => {
  const calls: string[] = [];
  class Traced extends BaseRequestHandler {
    override setup(): void {
      calls.push("setup");
    }
    override handle(): void {
      calls.push("handle");
    }
    override finish(): void {
      calls.push("finish");
    }
  }
  class Tracing extends TCPServer {
    override verifyRequest(): boolean {
      calls.push("verifyRequest");
      return true;
    }
    override processRequest(conn: Deno.Conn, address: Deno.Addr): Promise<void> {
      calls.push("processRequest");
      return super.processRequest(conn, address);
    }
    override finishRequest(conn: Deno.Conn, address: Deno.Addr): Promise<void> {
      calls.push("finishRequest");
      return super.finishRequest(conn, address);
    }
    override shutdownRequest(conn: Deno.Conn): Promise<void> {
      calls.push("shutdownRequest");
      return super.shutdownRequest(conn);
    }
    override closeRequest(conn: Deno.Conn): void {
      calls.push("closeRequest");
      super.closeRequest(conn);
    }
    override serviceActions(): void {
      calls.push("serviceActions");
      this.shutdown();
    }
  }
  await using server = new Tracing(LOCALHOST, Traced);
  const serving = server.serveForever();
  using conn = await Deno.connect(server.address);
  await serving;
  await server.serverClose();
  assertEquals(calls, [
    "verifyRequest",
    "processRequest",
    "finishRequest",
    "setup",
    "handle",
    "finish",
    "shutdownRequest",
    "closeRequest",
    "serviceActions",
  ]);
  assertEquals((await readToEnd(conn)).length, 0);
});

Deno.test("finish runs after handle throws; not after setup throws (as in Python)", async () => {
  const calls: string[] = [];
  class Failing extends BaseRequestHandler {
    override setup(): void {
      calls.push("setup");
      if (calls.length > 2) throw new Error("setup failed");
    }
    override handle(): void {
      calls.push("handle");
      throw new Error("handle failed");
    }
    override finish(): void {
      calls.push("finish");
    }
  }
  await using server = new TCPServer(LOCALHOST, Failing);
  const errors = recordErrors(server);
  for (let i = 0; i < 2; i++) {
    const reply = exchange(server.address, "");
    await server.handleRequest();
    await reply;
  }
  assertEquals(calls, ["setup", "handle", "finish", "setup"]);
  assertEquals(
    errors.map(({ error }) => (error as Error).message),
    ["handle failed", "setup failed"],
  );
});

Deno.test("a client that resets mid-read costs only its connection", async () => {
  class Framed extends StreamRequestHandler {
    override async handle(): Promise<void> {
      // Waits for 1000 bytes; the first client resets after sending 10.
      const data = await this.rfile.readExactly(1000);
      await this.wfile.write(data.subarray(0, 2));
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, Framed);
  const errors = recordErrors(server);
  const serving = server.serveForever();
  const { code, stdout, stderr } = await runPython(
    `
import socket, struct, sys
port = int(sys.argv[1])
bad = socket.create_connection(("127.0.0.1", port))
good = socket.create_connection(("127.0.0.1", port))
bad.sendall(b"x" * 10)
bad.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
bad.close()  # RST, mid-frame
good.sendall(b"ok" + b"." * 998)
print(good.recv(2).decode())
good.close()
`,
    { args: [String(server.address.port)] },
  );
  assertEquals(code, 0, stderr);
  assertEquals(stdout.trim(), "ok");
  await server.shutdown();
  await serving;
  await server.serverClose();
  // A reset that lands before accept() is skipped silently; after it, the
  // handler's read fails and that one error is reported: "that client is gone".
  assert(errors.length <= 1, `${errors.length} errors reported`);
  for (const { error } of errors) {
    assert(error instanceof IncompleteFrameError || isPeerGone(error), `unexpected ${error}`);
  }
});

Deno.test("prepareRequest runs first, in the request's task: later hooks see what it returns", async () => {
  const seen: string[] = [];
  const relayed: Deno.NetAddr = { transport: "tcp", hostname: "203.0.113.7", port: 4242 };
  class Who extends StreamRequestHandler {
    override async handle(): Promise<void> {
      const { hostname, port } = this.clientAddress as Deno.NetAddr;
      await this.wfile.write(`${hostname}:${port}\n`);
    }
  }
  class Relaying extends TCPServer {
    override prepareRequest(conn: Deno.Conn): [Deno.Conn, Deno.Addr] {
      seen.push("prepareRequest");
      return [conn, relayed]; // As a PROXY protocol header would.
    }
    override verifyRequest(_conn: Deno.Conn, address: Deno.Addr): boolean {
      seen.push(`verifyRequest ${(address as Deno.NetAddr).hostname}`);
      return true;
    }
  }
  await using server = new Relaying(LOCALHOST, Who);
  const reply = exchange(server.address, "");
  await server.handleRequest();
  assertEquals(await reply, "203.0.113.7:4242\n");
  assertEquals(seen, ["prepareRequest", "verifyRequest 203.0.113.7"]);
});

Deno.test("stats count requests, active ones and reported errors", async () => {
  await using server = new ThreadingTCPServer(LOCALHOST, BoomOrEcho);
  recordErrors(server);
  const serving = server.serveForever();
  assertEquals(server.stats, { requests: 0, active: 0, errors: 0 });
  assertEquals(await exchange(server.address, "one\n"), "one\n");
  assertEquals(await exchange(server.address, "boom\n"), "");
  assertEquals(await exchange(server.address, "two\n"), "two\n");
  assertEquals(server.stats, { requests: 3, active: 0, errors: 1 });
  await server.shutdown();
  await serving;
});

Deno.test("serviceActions runs every pollInterval while no request comes (Python's serve_forever)", async () => {
  let calls = 0;
  class Periodic extends ThreadingTCPServer {
    static override pollInterval = 0.01;
    override serviceActions(): void {
      // Three passes of the loop without a single request: then stop.
      if (++calls === 3) this.shutdown();
    }
  }
  await using server = new Periodic(LOCALHOST, Echo);
  assertEquals(server.pollInterval, 0.01);
  await server.serveForever();
  assertEquals(calls, 3);
  assertEquals(server.stats.requests, 0);
});

Deno.test("pollInterval: the static default and an option", async () => {
  await using plain = new TCPServer(LOCALHOST, Echo);
  await using option = new TCPServer(LOCALHOST, Echo, { pollInterval: 2 });
  assertEquals([plain.pollInterval, option.pollInterval], [0.5, 2]);
});
