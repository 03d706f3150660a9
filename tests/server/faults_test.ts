// The hardening promise, over real sockets: a misbehaving client costs the
// server that one connection, never the others, never unbounded memory,
// never an accepted request's reply. Each test misbehaves, then proves that a
// fresh client is still served; what the server reports goes to handleError,
// which records it here instead of printing it.
//
// Nothing here asserts a time: timeouts are set short so the suite is quick,
// but each test waits for events (handlers started, requests processed),
// never for a delay.

import { delay } from "@std/async";
import {
  assert,
  assertEquals,
  assertFalse,
  assertLessOrEqual,
  assertMatch,
  assertObjectMatch,
} from "@std/assert";
import {
  FrameMemoryError,
  FrameSyntaxError,
  FrameTimeoutError,
  FrameTooLongError,
  IdleTimeoutError,
  IncompleteFrameError,
  InvalidLengthError,
  isPeerGone,
  JsonHeaderCodec,
  type JsonHeaderFrame,
  LengthPrefixedCodec,
  type RequestHandlerClass,
  StreamRequestHandler,
  type TCPServerOptions,
  ThreadingTCPServer,
  WriteTimeoutError,
} from "@socketserver/core";
import { readToEnd, within } from "../support/clients.ts";
import { runPython } from "../support/python.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
/** The echo protocol's limit: a 4-byte little-endian signed length (`struct.pack('i')`). */
const MAX_FRAME = 64 * 1024;
/** Longest any single wait in this file may take before the test fails (a bug, not slowness). */
const WAIT_LIMIT_SECONDS = 60;
const utf8 = new TextEncoder();
const text = new TextDecoder();

// --- support ---------------------------------------------------------------------

/** A threading server that records what handleError gets and counts finished requests. */
class RecordingServer extends ThreadingTCPServer {
  /** Everything handleError received, in order. */
  readonly errors: unknown[] = [];
  /** Requests whose processing has ended (handler done, errors reported, connection closed). */
  processed = 0;
  /** Handlers that have started `handle()`. */
  started = 0;
  /** The most requests active at once, sampled as each handler starts. */
  peakActive = 0;
  #waiters: { count: number; resolve: () => void }[] = [];
  #startWaiters: { count: number; resolve: () => void }[] = [];

  override handleError(error: unknown): void {
    this.errors.push(error);
  }

  override async processRequest(conn: Deno.Conn, clientAddress: Deno.Addr): Promise<void> {
    try {
      await super.processRequest(conn, clientAddress);
    } finally {
      this.processed++;
      this.#waiters = wake(this.#waiters, this.processed);
    }
  }

  /** Called by the handlers below as `handle()` starts. */
  noteStarted(): void {
    this.started++;
    this.peakActive = Math.max(this.peakActive, this.activeRequests);
    this.#startWaiters = wake(this.#startWaiters, this.started);
  }

  /** Resolves once `count` requests in all have been processed. */
  untilProcessed(count: number): Promise<void> {
    return this.#wait(this.#waiters, this.processed, count, "requests processed");
  }

  /** Resolves once `count` handlers in all have started. */
  untilStarted(count: number): Promise<void> {
    return this.#wait(this.#startWaiters, this.started, count, "handlers started");
  }

  #wait(
    waiters: { count: number; resolve: () => void }[],
    now: number,
    count: number,
    what: string,
  ): Promise<void> {
    if (now >= count) return Promise.resolve();
    const waiter = Promise.withResolvers<void>();
    waiters.push({ count, resolve: waiter.resolve });
    return within(waiter.promise, WAIT_LIMIT_SECONDS, `${count} ${what}`);
  }
}

function wake(
  waiters: { count: number; resolve: () => void }[],
  reached: number,
): { count: number; resolve: () => void }[] {
  for (const waiter of waiters) if (reached >= waiter.count) waiter.resolve();
  return waiters.filter((waiter) => reached < waiter.count);
}

/** Lets pending microtasks and I/O callbacks run (a finished request leaves the active set then). */
function nextTurn(): Promise<void> {
  return delay(0);
}

/** A frame of the echo protocol: `struct.pack('<i', len(payload)) + payload`. */
function frame(payload: string | Uint8Array): Uint8Array {
  const body = typeof payload === "string" ? utf8.encode(payload) : payload;
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setInt32(0, body.length, true);
  out.set(body, 4);
  return out;
}

/** Just a length field of the echo protocol, with any value. */
function lengthField(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Echoes each frame; a frame "boom" makes the handler throw. */
class FrameEcho extends StreamRequestHandler<Uint8Array> {
  declare readonly server: RecordingServer;
  override codec = new LengthPrefixedCodec({ format: "i", maxFrameLength: MAX_FRAME });
  override async handle(): Promise<void> {
    this.server.noteStarted();
    for await (const payload of this.frames()) {
      if (text.decode(payload) === "boom") throw new Error("the handler failed on purpose");
      await this.writeFrame(payload);
    }
  }
}

/** Sends `bytes`, half-closes, and returns all the server sent back (empty if it reset). */
async function exchangeBytes(server: RecordingServer, bytes: Uint8Array): Promise<Uint8Array> {
  using conn = await Deno.connect(server.address);
  await conn.write(bytes);
  await conn.closeWrite();
  try {
    return await readToEnd(conn);
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset) return new Uint8Array(0);
    throw error;
  }
}

/** A fresh client's request and the reply it must get. */
interface FreshExchange {
  request: Uint8Array;
  reply: Uint8Array;
}

const FRESH_ECHO: FreshExchange = { request: frame("fresh client"), reply: frame("fresh client") };

/**
 * The check every test ends with: a fresh client is served in full, and its
 * request is processed with nothing reported.
 */
async function assertFreshClientServed(
  server: RecordingServer,
  fresh: FreshExchange = FRESH_ECHO,
): Promise<void> {
  const errorsBefore = server.errors.length;
  const processedBefore = server.processed;
  const reply = await exchangeBytes(server, fresh.request);
  assertEquals(reply, fresh.reply, "a fresh client is served");
  await server.untilProcessed(processedBefore + 1);
  assertEquals(server.errors.slice(errorsBefore), [], "the fresh client caused no report");
}

/**
 * Runs `body` against a fresh RecordingServer, then checks a fresh client is
 * served, shuts the server down, and checks no request is left active.
 */
async function withServer(
  Handler: RequestHandlerClass<Deno.Conn, Deno.Addr>,
  options: TCPServerOptions,
  body: (server: RecordingServer) => Promise<void>,
  fresh: FreshExchange = FRESH_ECHO,
): Promise<void> {
  const server = new RecordingServer(LOCALHOST, Handler, options);
  const serving = server.serveForever();
  try {
    await body(server);
    await assertFreshClientServed(server, fresh);
  } finally {
    await server.shutdown();
    await serving;
    await server.serverClose();
  }
  await nextTurn();
  assertEquals(server.activeRequests, 0, "no request is left active");
}

/** A session kept open across a fault, to show other connections do not notice. */
async function openSession(server: RecordingServer) {
  const conn = await Deno.connect(server.address);
  const reply = new Uint8Array(64);
  return {
    async roundTrip(payload: string): Promise<void> {
      const request = frame(payload);
      await conn.write(request);
      let filled = 0;
      while (filled < request.length) {
        const count = await conn.read(reply.subarray(filled, request.length));
        assert(count !== null, "the session was closed by someone else's fault");
        filled += count;
      }
      assertEquals(reply.subarray(0, request.length), request);
    },
    /** Reads until the server ends the session: "end of stream", or "reset". */
    async end(): Promise<string> {
      try {
        return await conn.read(reply) === null ? "end of stream" : "more bytes";
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) return "reset";
        throw error;
      }
    },
    close: () => conn.close(),
  };
}

/** python3 prelude: connect and frame as the echo protocol does. */
const PY_PRELUDE = `
import json, select, socket, struct, sys, time
PORT = int(sys.argv[1])
def frame(payload):
    return struct.pack("<i", len(payload)) + payload
def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return data
def reset(sock):
    """Closes with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
`;

async function python(body: string, args: (string | number)[]): Promise<string> {
  const result = await runPython(PY_PRELUDE + body, {
    args: args.map(String),
    timeoutSeconds: WAIT_LIMIT_SECONDS,
  });
  assertEquals(result.code, 0, `python3 failed:\n${result.stderr}`);
  return result.stdout;
}

/** A python3 peer the test talks to while it runs: one line at a time each way. */
function spawnPython(body: string, args: (string | number)[]) {
  const child = new Deno.Command("python3", {
    args: ["-c", PY_PRELUDE + body, ...args.map(String)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), WAIT_LIMIT_SECONDS * 1000);
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stdin = child.stdin.getWriter();
  let buffered = "";
  const stderr = new Response(child.stderr).text();
  return {
    /** The next line python printed. */
    async readLine(): Promise<string> {
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return line;
        }
        const { value, done } = await lines.read();
        if (done) throw new Error(`python3 ended before a line:\n${await stderr}`);
        buffered += value;
      }
    },
    async writeLine(line: string): Promise<void> {
      await stdin.write(utf8.encode(line + "\n"));
    },
    /** Waits for exit (stdout must be fully read); fails on a non-zero code. */
    async finish(): Promise<void> {
      await stdin.close().catch(() => {});
      for (;;) {
        const { done } = await lines.read();
        if (done) break;
      }
      const status = await child.status;
      clearTimeout(timer);
      assertEquals(status.code, 0, `python3 failed:\n${await stderr}`);
    },
  };
}

/** How many files this process may open (the soft limit), as the shell reports it. */
async function openFileLimit(): Promise<number> {
  const { stdout } = await new Deno.Command("bash", {
    args: ["-c", "ulimit -n"],
    stdout: "piped",
  }).output();
  const limit = text.decode(stdout).trim();
  return limit === "unlimited" ? Infinity : Number(limit);
}

// --- peers that go away --------------------------------------------------------------

Deno.test("fault: a client that resets (RST) in the middle of a frame costs only its connection", async () => {
  await withServer(FrameEcho, {}, async (server) => {
    const session = await openSession(server);
    await session.roundTrip("before");
    await python(
      `
sock = socket.create_connection(("127.0.0.1", PORT), timeout=20)
sock.sendall(frame(b"ping"))
assert recv_exactly(sock, 8) == frame(b"ping")  # served, so the handler is running
sock.sendall(struct.pack("<i", 100) + b"0123456789")  # 10 of 100 payload bytes
reset(sock)
`,
      [server.address.port],
    );
    await server.untilProcessed(1);
    await session.roundTrip("after");
    session.close();
    await server.untilProcessed(2);
    assertEquals(server.errors.length, 1);
    assert(server.errors[0] instanceof Deno.errors.ConnectionReset, String(server.errors[0]));
  });
});

Deno.test("fault: a half-closed client still gets every reply, then the server closes", async () => {
  await withServer(FrameEcho, {}, async (server) => {
    // Python shuts its write side at once, then reads: the server must not take EOF for goodbye.
    const output = await python(
      `
sock = socket.create_connection(("127.0.0.1", PORT), timeout=20)
sock.sendall(frame(b"one") + frame(b"two") + frame(b"x" * 5000))
sock.shutdown(socket.SHUT_WR)
reply = b""
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    reply += chunk
print(json.dumps({"ok": reply == frame(b"one") + frame(b"two") + frame(b"x" * 5000), "bytes": len(reply)}))
`,
      [server.address.port],
    );
    assertEquals(JSON.parse(output), { ok: true, bytes: 5018 });
    await server.untilProcessed(1);
    assertEquals(server.errors, []);
  });
});

Deno.test("fault: a handler that throws is reported, its client sees the end, others go on", async () => {
  await withServer(FrameEcho, {}, async (server) => {
    const session = await openSession(server);
    await session.roundTrip("before");
    // The reply written before the throw is still sent (finish() flushes it).
    const reply = await exchangeBytes(server, concat(frame("ok"), frame("boom")));
    assertEquals(reply, frame("ok"));
    await session.roundTrip("after");
    session.close();
    await server.untilProcessed(2);
    assertEquals(server.errors.length, 1);
    assertMatch(String(server.errors[0]), /the handler failed on purpose/);
  });
});

// --- bad input ---------------------------------------------------------------------

const lengthCases: { name: string; value: number; check: (error: unknown) => boolean }[] = [
  {
    name: "a negative length (-5)",
    value: -5,
    check: (error) => error instanceof InvalidLengthError && error.length === -5,
  },
  {
    name: "the most negative length (-2^31)",
    value: -(2 ** 31),
    check: (error) => error instanceof InvalidLengthError && error.length === -(2 ** 31),
  },
  {
    name: "one byte over maxFrameLength",
    value: MAX_FRAME + 1,
    check: (error) =>
      error instanceof FrameTooLongError && error.length === MAX_FRAME + 1 &&
      error.maxFrameLength === MAX_FRAME,
  },
  {
    name: "the largest length (2^31 - 1), refused before any allocation",
    value: 2 ** 31 - 1,
    check: (error) => error instanceof FrameTooLongError && error.length === 2 ** 31 - 1,
  },
];

Deno.test("fault: negative and oversize lengths close that connection only", async (t) => {
  await withServer(FrameEcho, {}, async (server) => {
    const session = await openSession(server);
    let processed = 0;
    for (const c of lengthCases) {
      await t.step(c.name, async () => {
        await session.roundTrip("before");
        // A good frame first: its reply arrives, then the connection ends.
        const reply = await exchangeBytes(server, concat(frame("good"), lengthField(c.value)));
        assertEquals(reply, frame("good"));
        await server.untilProcessed(++processed);
        const error = server.errors.at(-1);
        assert(c.check(error), String(error));
        await session.roundTrip("after");
        await assertFreshClientServed(server);
        processed++;
      });
    }
    session.close();
    await server.untilProcessed(++processed);
    assertEquals(server.errors.length, lengthCases.length);
  });
});

/** Echoes JSON-header frames, the classic Python file-transfer framing. */
class JsonEcho extends StreamRequestHandler<JsonHeaderFrame> {
  declare readonly server: RecordingServer;
  override codec = new JsonHeaderCodec({ maxHeaderLength: 1024, maxFrameLength: MAX_FRAME });
  override async handle(): Promise<void> {
    this.server.noteStarted();
    for await (const { header, body } of this.frames()) await this.writeFrame({ header, body });
  }
}

/** A JSON-header frame as Python sends it, from raw header bytes. */
function jsonFrame(json: string | Uint8Array, body = new Uint8Array(0)): Uint8Array {
  const header = typeof json === "string" ? utf8.encode(json) : json;
  return concat(lengthField(header.length), header, body);
}

const jsonCases: { name: string; wire: Uint8Array; check: (error: unknown) => boolean }[] = [
  {
    name: "a header that is not JSON",
    wire: jsonFrame("{bad}"),
    check: (error) => error instanceof FrameSyntaxError && /does not parse/.test(error.message),
  },
  {
    name: "a header that is not UTF-8",
    wire: jsonFrame(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])),
    check: (error) => error instanceof FrameSyntaxError,
  },
  {
    name: "a header that is JSON but not an object",
    wire: jsonFrame("[1, 2]"),
    check: (error) => error instanceof FrameSyntaxError && /not an object/.test(error.message),
  },
  {
    name: "a body size that is a string",
    wire: jsonFrame('{"file_size": "5"}'),
    check: (error) => error instanceof FrameSyntaxError,
  },
  {
    name: "a negative body size",
    wire: jsonFrame('{"file_size": -1}'),
    check: (error) => error instanceof InvalidLengthError,
  },
  {
    name: "a header longer than maxHeaderLength",
    wire: lengthField(1025),
    check: (error) => error instanceof FrameTooLongError && error.maxFrameLength === 1024,
  },
  {
    name: "a negative header length",
    wire: lengthField(-1),
    check: (error) => error instanceof InvalidLengthError,
  },
];

Deno.test("fault: a JSON header that does not parse closes that connection only", async (t) => {
  const good = jsonFrame('{"file_name": "a.txt", "file_size": 2}', utf8.encode("hi"));
  const goodReply = jsonFrame('{"file_name":"a.txt","file_size":2}', utf8.encode("hi"));
  await withServer(JsonEcho, {}, async (server) => {
    let processed = 0;
    for (const c of jsonCases) {
      await t.step(c.name, async () => {
        const reply = await exchangeBytes(server, concat(good, c.wire));
        assertEquals(reply, goodReply);
        await server.untilProcessed(++processed);
        const error = server.errors.at(-1);
        assert(c.check(error), String(error));
        await assertFreshClientServed(server, { request: good, reply: goodReply });
        processed++;
      });
    }
    assertEquals(server.errors.length, jsonCases.length);
  }, { request: good, reply: goodReply });
});

// --- slow and silent peers ---------------------------------------------------------------

Deno.test("fault: a slowloris client (a byte every 0.25 s, never a whole frame) is closed by frameTimeout", async () => {
  class Guarded extends FrameEcho {
    // The per-read timeout is longer than the gap between bytes: it never fires.
    override timeout = 10;
    override frameTimeout = 1;
  }
  await withServer(Guarded, {}, async (server) => {
    const session = await openSession(server);
    const output = await python(
      `
sock = socket.create_connection(("127.0.0.1", PORT), timeout=20)
sock.sendall(struct.pack("<i", 1000))  # a 1000-byte frame, sent one byte at a time
sent = 0
closed = False
for _ in range(200):  # 50 s at most, far short of 1000 bytes: the frame never completes
    readable, _, _ = select.select([sock], [], [], 0.25)
    if readable:
        try:
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
        if closed:
            break
    try:
        sock.send(b"x")
        sent += 1
    except (BrokenPipeError, ConnectionResetError):
        closed = True
        break
print(json.dumps({"closed": closed, "complete": sent >= 1000}))
`,
      [server.address.port],
    );
    assertEquals(JSON.parse(output), { closed: true, complete: false });
    await session.roundTrip("a patient session is not affected");
    session.close();
    await server.untilProcessed(2);
    assertEquals(server.errors.length, 1);
    const error = server.errors[0];
    assert(error instanceof FrameTimeoutError, String(error));
    assertEquals(error.timeout, 1);
  });
});

Deno.test("fault: a client that connects and says nothing is closed by idleTimeout", async () => {
  class Guarded extends FrameEcho {
    override idleTimeout = 0.3;
  }
  await withServer(Guarded, {}, async (server) => {
    using silent = await Deno.connect(server.address);
    // The server closes it: the client reads the end of the stream.
    assertEquals(await silent.read(new Uint8Array(1)), null);
    await server.untilProcessed(1);
    assertEquals(server.errors.length, 1);
    const error = server.errors[0];
    assert(error instanceof IdleTimeoutError, String(error));
    assertEquals(error.timeout, 0.3);
  });
});

Deno.test("fault: a client that never reads while the handler writes 100 MiB: memory stays bounded, the write fails with WriteTimeoutError", async () => {
  const FLOOD = 100 * 1024 * 1024;
  const CHUNK = 16 * 1024;
  const outcome: { written: number; peakRss: number; error?: unknown } = { written: 0, peakRss: 0 };
  /** Floods a client that asks for it; echoes one frame for anyone else. */
  class Flood extends FrameEcho {
    override writeTimeout = 0.5;
    override async handle(): Promise<void> {
      this.server.noteStarted();
      const request = await this.readFrame();
      if (text.decode(request!) !== "flood") return await this.writeFrame(request!);
      try {
        while (outcome.written < FLOOD) {
          // A fresh chunk each time: a writer that kept them would grow by all 100 MiB.
          await this.wfile.write(new Uint8Array(CHUNK).fill(outcome.written / CHUNK));
          outcome.written += CHUNK;
          if (outcome.written % (1024 * 1024) === 0) {
            outcome.peakRss = Math.max(outcome.peakRss, Deno.memoryUsage().rss);
          }
        }
      } catch (error) {
        outcome.error = error;
        outcome.peakRss = Math.max(outcome.peakRss, Deno.memoryUsage().rss);
        throw error;
      }
    }
  }
  await withServer(Flood, {}, async (server) => {
    const rssBefore = Deno.memoryUsage().rss;
    const idle = await Deno.connect(server.address);
    await idle.write(frame("flood")); // And never reads.
    // Processed while the client is still connected: the server closed it.
    await server.untilProcessed(1);
    idle.close();
    assert(outcome.error instanceof WriteTimeoutError, String(outcome.error));
    assertEquals(outcome.error.timeout, 0.5);
    assertEquals(server.errors, [outcome.error]);
    assert(outcome.written < FLOOD, "backpressure stopped the handler");
    const grewMiB = (outcome.peakRss - rssBefore) / (1024 * 1024);
    assert(grewMiB < 32, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
  });
});

// --- floods ----------------------------------------------------------------------------

Deno.test("fault: 1000 connections opened and dropped at once (half reset, half closed mid-frame) leave nothing behind", async () => {
  const COUNT = 1000;
  await withServer(FrameEcho, { requestQueueSize: 1024 }, async (server) => {
    const peer = spawnPython(
      `
COUNT = int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", PORT), timeout=20) for _ in range(COUNT)]
for sock in socks:
    sock.sendall(struct.pack("<i", 100) + b"abc")  # 3 of 100 payload bytes
print("connected", flush=True)
sys.stdin.readline()
for i, sock in enumerate(socks):
    if i % 2 == 0:
        reset(sock)
    else:
        sock.close()
print("dropped", flush=True)
`,
      [server.address.port, COUNT],
    );
    assertEquals(await peer.readLine(), "connected");
    // Every connection has a running handler before any is dropped.
    await server.untilStarted(COUNT);
    await peer.writeLine("go");
    assertEquals(await peer.readLine(), "dropped");
    await peer.finish();
    await server.untilProcessed(COUNT);
    await nextTurn();
    assertEquals(server.activeRequests, 0);
    const resets = server.errors.filter((error) => error instanceof Deno.errors.ConnectionReset);
    const cutShort = server.errors.filter((error) => error instanceof IncompleteFrameError);
    assertEquals([resets.length, cutShort.length], [COUNT / 2, COUNT / 2]);
  });
});

Deno.test("fault: a flood past maxConnections waits in the backlog and is served in turn", async () => {
  const LIMIT = 10;
  const CLIENTS = 200;
  const gate = Promise.withResolvers<void>();
  class Gated extends FrameEcho {
    override async handle(): Promise<void> {
      this.server.noteStarted();
      assert(this.server.activeRequests <= LIMIT, "more handlers than maxConnections");
      const request = await this.readFrame();
      // The first LIMIT handlers hold their slots until all LIMIT are in.
      if (this.server.started === LIMIT) gate.resolve();
      await gate.promise;
      await this.writeFrame(request!);
    }
  }
  await withServer(Gated, { maxConnections: LIMIT }, async (server) => {
    const replies = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => exchangeBytes(server, frame(`client ${i}`))),
    );
    replies.forEach((reply, i) => assertEquals(reply, frame(`client ${i}`)));
    await server.untilProcessed(CLIENTS);
    assertEquals(server.peakActive, LIMIT);
    assertEquals(server.errors, []);
  });
});

Deno.test("fault: shutdown with 1000 requests in flight (500 being handled, 500 connecting) answers every accepted one", async () => {
  const TOTAL = 1000;
  const FIRST_WAVE = TOTAL / 2;
  const received = new Set<number>();
  const gate = Promise.withResolvers<void>();
  const halfIn = Promise.withResolvers<void>();
  class Gated extends FrameEcho {
    override async handle(): Promise<void> {
      this.server.noteStarted();
      const request = await this.readFrame();
      const id = new DataView(request!.buffer, request!.byteOffset).getUint32(0);
      received.add(id);
      if (received.size === FIRST_WAVE) halfIn.resolve();
      await gate.promise; // Requests in flight when the server shuts down.
      await this.writeFrame(request!.slice());
    }
  }
  type Outcome = "answered" | "refused" | "lost";
  const outcomes = new Map<number, Outcome>();
  async function client(server: RecordingServer, id: number): Promise<void> {
    const request = new Uint8Array(4);
    new DataView(request.buffer).setUint32(0, id);
    let reply: Uint8Array;
    try {
      using conn = await Deno.connect(server.address);
      await conn.write(frame(request));
      reply = await readToEnd(conn);
    } catch (error) {
      // Refused (the listener was closed), or reset (still in the backlog when it was).
      outcomes.set(
        id,
        isPeerGone(error) || error instanceof Deno.errors.ConnectionRefused ? "refused" : "lost",
      );
      return;
    }
    // An empty reply: accepted by the kernel but closed by serverClose() before it was served.
    const answered = reply.length === 8 && new DataView(reply.buffer).getUint32(4) === id;
    outcomes.set(id, answered ? "answered" : reply.length === 0 ? "refused" : "lost");
  }
  const server = new RecordingServer(LOCALHOST, Gated, { requestQueueSize: 1024 });
  const serving = server.serveForever();
  const clients = Array.from({ length: FIRST_WAVE }, (_, id) => client(server, id));
  await within(halfIn.promise, WAIT_LIMIT_SECONDS, `${FIRST_WAVE} requests received`);
  // The second wave connects as the server stops: refused, reset in the
  // backlog, or closed unserved; never half answered.
  for (let id = FIRST_WAVE; id < TOTAL; id++) clients.push(client(server, id));
  const stopped = server.shutdown();
  const closed = server.serverClose(); // Stops accepting, then drains the running handlers.
  gate.resolve();
  await Promise.all([stopped, closed, serving]);
  await within(Promise.all(clients), WAIT_LIMIT_SECONDS, "every client to finish");
  const count = (what: Outcome) => [...outcomes.values()].filter((o) => o === what).length;
  const answered = [...outcomes].filter(([, o]) => o === "answered").map(([id]) => id);
  assertEquals(count("lost"), 0, "a client got a broken reply");
  assertEquals(count("answered") + count("refused"), TOTAL);
  // Every request a handler received was answered, and only those.
  assertEquals(answered.sort((a, b) => a - b), [...received].sort((a, b) => a - b));
  assert(received.size >= FIRST_WAVE);
  await nextTurn();
  assertEquals(server.activeRequests, 0);
  assert(server.errors.every(isPeerGone), String(server.errors.find((e) => !isPeerGone(e))));
  // Everything was released: a new server binds the same port and serves a fresh client.
  await using again = new RecordingServer(
    { hostname: "127.0.0.1", port: server.address.port },
    FrameEcho,
  );
  const servingAgain = again.serveForever();
  await assertFreshClientServed(again);
  await again.shutdown();
  await servingAgain;
});

const FILE_LIMIT = await openFileLimit();
/** Both ends of every connection would not fit in one process under a 20,000-file limit: the clients run in python. */
const MANY = Math.min(10_000, FILE_LIMIT - 512);

Deno.test(`fault: ${MANY} concurrent connections (python clients, ${FILE_LIMIT} files per process) are all served at once`, async () => {
  class Hold extends FrameEcho {
    override async handle(): Promise<void> {
      this.server.noteStarted();
      const request = await this.readFrame();
      await this.writeFrame(request!);
      await this.readFrame(); // Holds the connection until the client closes.
    }
  }
  await withServer(Hold, { requestQueueSize: 4096, maxConnections: MANY }, async (server) => {
    const output = await python(
      `
import selectors
COUNT = int(sys.argv[2])
# Connections opened but not yet answered: fewer than the listen backlog, so
# the kernel never drops a handshake however far the server's accepts lag.
IN_FLIGHT = 512
selector = selectors.DefaultSelector()
socks, answered, started = [], 0, 0
def start(i):
    sock = socket.socket()
    sock.setblocking(False)
    sock.connect_ex(("127.0.0.1", PORT))
    socks.append(sock)
    selector.register(sock, selectors.EVENT_WRITE, {"id": i, "reply": b""})
while answered < COUNT:
    while started - answered < IN_FLIGHT and started < COUNT:
        start(started)
        started += 1
    events = selector.select(timeout=50)
    assert events, f"stalled with {answered} answered"
    for key, mask in events:
        sock, state = key.fileobj, key.data
        if mask & selectors.EVENT_WRITE:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            sock.send(frame(struct.pack("<I", state["id"])))
            selector.modify(sock, selectors.EVENT_READ, state)
        else:
            state["reply"] += sock.recv(64)
            if len(state["reply"]) == 8:
                assert state["reply"] == frame(struct.pack("<I", state["id"]))
                answered += 1
                selector.unregister(sock)
# Every connection is still open here: all were served at once.
print(json.dumps({"answered": answered, "open": sum(1 for s in socks if s.fileno() >= 0)}))
for sock in socks:
    sock.close()
`,
      [server.address.port, MANY],
    );
    assertEquals(JSON.parse(output), { answered: MANY, open: MANY });
    await server.untilProcessed(MANY);
    assertEquals(server.peakActive, MANY);
    assertEquals(server.errors, []);
  });
});

// --- hardening, round 2 ---------------------------------------------------------------

/** The echo protocol with frames of up to 8 MiB, for the memory budget. */
class LargeFrameEcho extends FrameEcho {
  override codec = new LengthPrefixedCodec({ format: "i", maxFrameLength: 8 * 1024 * 1024 });
}

Deno.test("fault: clients each holding a large unfinished frame: frame memory stays within maxFrameMemory, the largest holders get FrameMemoryError, a patient session is served throughout", async () => {
  const CLIENTS = 24;
  const MiB = 1024 * 1024;
  const BUDGET = 16 * MiB;
  await withServer(LargeFrameEcho, { maxFrameMemory: BUDGET }, async (server) => {
    const session = await openSession(server);
    await session.roundTrip("before");
    // Sampled while the clients send: the budget's own counter never passes the limit.
    let mostHeld = 0;
    const sampler = setInterval(() => mostHeld = Math.max(mostHeld, server.frameMemory.held), 5);
    const peer = spawnPython(
      `
COUNT = int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", PORT), timeout=20) for _ in range(COUNT)]
closed = 0
# Each declares an 8 MiB frame and sends 3 MiB of it, a piece at a time, all in turn:
# never the whole frame. Unbounded, the server would hold 8 MiB for each.
for piece in range(48):
    for sock in socks:
        if sock.fileno() < 0:
            continue
        try:
            if piece == 0:
                sock.sendall(struct.pack("<i", 8 * 1024 * 1024))
            sock.sendall(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            sock.close()
            closed += 1
print(json.dumps({"closed_while_sending": closed}), flush=True)
sys.stdin.readline()
for sock in socks:
    sock.close()
`,
      [server.address.port, CLIENTS],
    );
    const sent = JSON.parse(await peer.readLine());
    await session.roundTrip("while they hold their frames");
    clearInterval(sampler);
    await peer.writeLine("done");
    await peer.finish();
    await server.untilProcessed(CLIENTS);
    await session.roundTrip("after");
    session.close();
    await server.untilProcessed(CLIENTS + 1);
    assertLessOrEqual(mostHeld, BUDGET);
    const evicted = server.errors.filter((error) => error instanceof FrameMemoryError);
    assert(evicted.length >= CLIENTS / 2, `${evicted.length} evicted`);
    for (const error of evicted) {
      assertObjectMatch(error, { limit: BUDGET });
      assert(error.total > BUDGET && error.held > 64 * 1024, error.message);
    }
    // The rest ended their frames with their connections: cut short, not evicted.
    const others = server.errors.filter((error) => !(error instanceof FrameMemoryError));
    assert(others.every((error) => error instanceof IncompleteFrameError), String(others));
    assert(sent.closed_while_sending >= 0);
    assertEquals(server.frameMemory.held, 0, "every connection gave back what it held");
  });
});

Deno.test("fault: idleTimeout closes a client that sends one header byte and then nothing (silence mid-frame), long before frameTimeout", async () => {
  class Guarded extends FrameEcho {
    override idleTimeout = 0.3;
    override frameTimeout = 300;
  }
  await withServer(Guarded, {}, async (server) => {
    using silent = await Deno.connect(server.address);
    await silent.write(new Uint8Array([1]));
    // The server closes it: the client reads the end of the stream.
    assertEquals(
      await within(silent.read(new Uint8Array(1)), WAIT_LIMIT_SECONDS, "the close"),
      null,
    );
    await server.untilProcessed(1);
    assertEquals(server.errors.length, 1);
    const error = server.errors[0];
    assert(error instanceof IdleTimeoutError, String(error));
    assertEquals([error.timeout, error.buffered], [0.3, 1]);
  });
});

Deno.test("fault: 20 clients that send one header byte fill maxConnections 20; idleTimeout frees their slots and a fresh client is served", async () => {
  const LIMIT = 20;
  class Guarded extends FrameEcho {
    override idleTimeout = 0.5;
  }
  await withServer(Guarded, { maxConnections: LIMIT }, async (server) => {
    const peer = spawnPython(
      `
COUNT = int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", PORT), timeout=20) for _ in range(COUNT)]
for sock in socks:
    sock.sendall(b"\\x05")  # one byte of a length field, then silence
print("holding", flush=True)
closed = 0
for sock in socks:
    try:
        closed += sock.recv(1) == b""
    except ConnectionResetError:
        closed += 1
print(json.dumps({"closed": closed}), flush=True)
`,
      [server.address.port, LIMIT],
    );
    assertEquals(await peer.readLine(), "holding");
    await server.untilStarted(LIMIT);
    // Every slot is taken: this client waits in the backlog until idleTimeout frees one.
    const waiting = exchangeBytes(server, FRESH_ECHO.request);
    await server.untilProcessed(LIMIT);
    assertEquals(await waiting, FRESH_ECHO.reply);
    assertEquals(JSON.parse(await peer.readLine()), { closed: LIMIT });
    await peer.finish();
    await server.untilProcessed(LIMIT + 1);
    const idle = server.errors.filter((error) => error instanceof IdleTimeoutError);
    assertEquals([idle.length, server.errors.length], [LIMIT, LIMIT]);
  });
});

Deno.test("fault: 300 frames and a bad header in one sendall: all 300 replies arrive, then the end of the stream, not a reset", async () => {
  await withServer(FrameEcho, {}, async (server) => {
    const output = await python(
      `
sock = socket.create_connection(("127.0.0.1", PORT), timeout=20)
frames = b"".join(frame(b"frame %d " % i * 100) for i in range(300))
# A length over maxFrameLength, then the body it claims: the server reads no further.
sock.sendall(frames + struct.pack("<i", 1 << 30) + b"y" * 100000)
# A client that sends everything first and reads later: the replies wait in the
# socket buffers meanwhile, where a reset would drop them.
time.sleep(0.3)
replies, received, end = 0, b"", "eof"
try:
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
except ConnectionResetError:
    end = "reset"
while len(received) >= 4:
    length = struct.unpack("<i", received[:4])[0]
    if len(received) < 4 + length:
        break
    assert received[4:4 + length] == b"frame %d " % replies * 100, replies
    received = received[4 + length:]
    replies += 1
print(json.dumps({"replies": replies, "end": end, "left": len(received)}))
`,
      [server.address.port],
    );
    assertEquals(JSON.parse(output), { replies: 300, end: "eof", left: 0 });
    await server.untilProcessed(1);
    assertEquals(server.errors.length, 1);
    const error = server.errors[0];
    assert(error instanceof FrameTooLongError, String(error));
    assertEquals(error.length, 1 << 30);
  });
});

Deno.test("fault: a graceful stop closes 50 idle clients at once (end of stream, not a reset) while a busy one gets its whole reply; serverClose returns when it is done", async () => {
  const IDLE = 50;
  const REPLY = MAX_FRAME - 1;
  const gate = Promise.withResolvers<void>();
  const busyStarted = Promise.withResolvers<void>();
  /** Echoes; a frame "slow" is answered with 64 KiB once the gate opens. */
  class Gated extends FrameEcho {
    override async handle(): Promise<void> {
      this.server.noteStarted();
      for await (const payload of this.frames()) {
        if (text.decode(payload) !== "slow") {
          await this.writeFrame(payload);
          continue;
        }
        busyStarted.resolve();
        await gate.promise;
        await this.writeFrame(new Uint8Array(REPLY).fill(0x62));
      }
    }
  }
  // Without the drain's end of idle waits, serverClose() would wait drainTimeout for them.
  const server = new RecordingServer(LOCALHOST, Gated, { drainTimeout: 120 });
  const serving = server.serveForever();
  const idle = await Promise.all(Array.from({ length: IDLE }, () => openSession(server)));
  await Promise.all(idle.map((session, i) => session.roundTrip(`idle ${i}`)));
  using busy = await Deno.connect(server.address);
  await busy.write(frame("slow"));
  await within(busyStarted.promise, WAIT_LIMIT_SECONDS, "the busy request to start");
  await server.shutdown();
  await serving;
  let closed = false;
  const closing = server.serverClose().then(() => closed = true);
  const ends = await within(
    Promise.all(idle.map((session) => session.end())),
    WAIT_LIMIT_SECONDS,
    "the idle clients to be closed",
  );
  assertEquals(ends, Array(IDLE).fill("end of stream"));
  await server.untilProcessed(IDLE);
  assertFalse(closed, "serverClose() waits for the busy request");
  gate.resolve();
  const reply = await within(readToEnd(busy), WAIT_LIMIT_SECONDS, "the busy reply");
  assertEquals(reply.length, 4 + REPLY);
  assertEquals(reply.subarray(4), new Uint8Array(REPLY).fill(0x62));
  await within(closing, WAIT_LIMIT_SECONDS, "serverClose()");
  for (const session of idle) session.close();
  assertEquals(server.errors, []);
  assertEquals(server.activeRequests, 0);
});
