// examples/echo.ts as a real subprocess, talked to by python3 clients: an
// independent peer that frames with Python's own struct and socket modules.

import { assert, assertEquals, assertNotMatch } from "@std/assert";
import {
  assertExampleRefuses,
  type ExampleProcess,
  startExample,
} from "../support/example_process.ts";
import { runPython } from "../support/python.ts";

const utf8 = new TextEncoder();

/**
 * Helpers every script starts with. `exchange` sends from a thread while the
 * main thread reads: a blocking client that sent a megabyte before reading
 * could deadlock with an echo server once both socket buffers were full.
 */
const PRELUDE = `
import json, socket, struct, sys, threading, time

PORT = int(sys.argv[1])

def connect(port=PORT):
    return socket.create_connection(("127.0.0.1", port), timeout=20)

def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return data

def recv_to_eof(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)

def exchange(data):
    """Sends data then half-closes (SHUT_WR); returns everything read until EOF."""
    with connect() as sock:
        def send():
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        sender = threading.Thread(target=send)
        sender.start()
        reply = recv_to_eof(sock)
        sender.join()
        return reply
`;

/** Runs `body` after the prelude with `args`; fails on a non-zero exit; returns stdout. */
async function python(body: string, args: (string | number)[], stdin?: Uint8Array) {
  const result = await runPython(PRELUDE + body, { args: args.map(String), stdin });
  assertEquals(result.code, 0, `python3 failed:\n${result.stderr}`);
  return result.stdout;
}

/**
 * Starts examples/echo.ts on a free port, runs `body`, then stops it with
 * SIGTERM and expects a clean exit (it is killed if `body` failed).
 */
async function withEcho(args: string[], body: (echo: ExampleProcess) => Promise<void>) {
  const echo = await startExample("echo.ts", ["--port", "0", ...args]);
  try {
    await body(echo);
  } catch (error) {
    await echo.stop("SIGKILL");
    throw error;
  }
  assertEquals(await echo.stop("SIGTERM"), 0, echo.stderr());
  assertNotMatch(echo.stderr(), /error/i);
}

/** `length` bytes of a 32-bit counter, so a lost or moved chunk shows. */
function counting(length: number): Uint8Array {
  const bytes = new Uint8Array(length + 4);
  const view = new DataView(bytes.buffer);
  for (let at = 0; at < length; at += 4) view.setUint32(at, at / 4);
  return bytes.subarray(0, length);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// --- one connection: bytes in, bytes back --------------------------------------

/** Sends stdin, half-closes, prints the whole reply as hex. */
const EXCHANGE = `
sys.stdout.write(exchange(sys.stdin.buffer.read()).hex())
`;

interface ExchangeCase {
  name: string;
  args: string[];
  send: Uint8Array;
  reply: Uint8Array;
}

const exchangeCases: ExchangeCase[] = [
  ...[0, 1, 1000, 65_539, 1024 * 1024].map((size) => ({
    name: `plain echo of ${size} bytes`,
    args: [],
    send: counting(size),
    reply: counting(size),
  })),
  {
    name: "--upper upper-cases ASCII letters and leaves other bytes alone",
    args: ["--upper"],
    send: utf8.encode("Hello, World! é 123 {z}"),
    reply: utf8.encode("HELLO, WORLD! é 123 {Z}"),
  },
  {
    name: '--framing line: "\\r\\n" and "\\n" lines come back ending in "\\n"',
    args: ["--framing", "line"],
    send: utf8.encode("alpha\r\nbeta\ngamma\r\n\r\n\nlast"),
    reply: utf8.encode("alpha\nbeta\ngamma\n\n\nlast\n"),
  },
  {
    name: "--framing line --upper",
    args: ["--framing", "line", "--upper"],
    send: utf8.encode("quit\r\nnaïve\n"),
    reply: utf8.encode("QUIT\nNAÏVE\n"),
  },
];

for (const c of exchangeCases) {
  Deno.test(`echo example: ${c.name}`, async () => {
    await withEcho(c.args, async (echo) => {
      const reply = await python(EXCHANGE, [echo.port], c.send);
      const expected = hex(c.reply);
      assertEquals(reply.length, expected.length, "reply length (hex digits)");
      // Not assert.equal on two megabytes of hex: its diff alone takes minutes.
      const at = [...reply].findIndex((digit, i) => digit !== expected[i]);
      assertEquals(at, -1, `reply differs from byte ${at / 2}`);
    });
  });
}

Deno.test("echo example: --framing length answers 1000 frames in one sendall with those frames", async () => {
  const script = `
payloads = []
for i in range(1000):
    size = (i * 37) % 700  # 0 for every 700th frame, up to 699 bytes
    payloads.append((struct.pack("!I", i) * (size // 4 + 1))[:size])
wire = b"".join(struct.pack("!I", len(p)) + p for p in payloads)
reply = exchange(wire)
frames, at = [], 0
while at + 4 <= len(reply):
    (n,) = struct.unpack_from("!I", reply, at)
    frames.append(reply[at + 4:at + 4 + n])
    at += 4 + n
print(json.dumps({
    "frames": len(frames),
    "empty": sum(1 for p in payloads if not p),
    "inOrder": frames == payloads,
    "leftOver": len(reply) - at,
}))
`;
  await withEcho(["--framing", "length"], async (echo) => {
    const result = JSON.parse(await python(script, [echo.port]));
    assertEquals(result, { frames: 1000, empty: 2, inOrder: true, leftOver: 0 });
  });
});

// --- two clients: who is answered when --------------------------------------------

/**
 * Client 1 is served; client 2 connects and sends while client 1 is still
 * open; client 1 then makes 20 more round trips, which gives a server that
 * serves both at once every chance to answer client 2. In "wait for 2" mode
 * the script then waits for client 2's reply before it closes client 1; in
 * "look" mode it only looks (without blocking) whether that reply is there,
 * closes client 1, and then waits for it. Prints the order of events.
 */
const TWO_CLIENTS = `
mode = sys.argv[2]
events = []
c1 = connect()
c1.sendall(b"one")
events.append("1: " + recv_exactly(c1, 3).decode())
c2 = connect()
c2.sendall(b"two")
for _ in range(20):
    c1.sendall(b"again")
    assert recv_exactly(c1, 5) == b"again"
events.append("1: 20 round trips")
reply_2 = None
if mode == "wait for 2":
    reply_2 = recv_exactly(c2, 3)
    events.append("2: " + reply_2.decode())
else:
    c2.setblocking(False)
    try:
        reply_2 = c2.recv(3)
        events.append("2 early: " + reply_2.decode())
    except BlockingIOError:
        events.append("2: no reply yet")
    c2.settimeout(20)
c1.close()
events.append("1 closed")
if reply_2 is None:
    events.append("2: " + recv_exactly(c2, 3).decode())
c2.close()
print(json.dumps(events))
`;

Deno.test("echo example: --sequential answers client 2 only after client 1 closes", async () => {
  await withEcho(["--sequential"], async (echo) => {
    const events = JSON.parse(await python(TWO_CLIENTS, [echo.port, "look"]));
    assertEquals(events, [
      "1: one",
      "1: 20 round trips",
      "2: no reply yet",
      "1 closed",
      "2: two",
    ]);
  });
});

Deno.test("echo example: without --sequential client 2 is answered while client 1 is open", async () => {
  await withEcho([], async (echo) => {
    const events = JSON.parse(await python(TWO_CLIENTS, [echo.port, "wait for 2"]));
    assertEquals(events, ["1: one", "1: 20 round trips", "2: two", "1 closed"]);
  });
});

// --- signals ---------------------------------------------------------------------

/**
 * A client mid-session when the signal comes. It echoes once, then tells the
 * test (on the control port) to send the signal, and waits for "sent". It
 * then waits until the server refuses new connections (it has handled the
 * signal), proves its own connection is still served, and closes it, which
 * lets the server finish draining and exit.
 */
const MID_SESSION = `
CONTROL = int(sys.argv[2])
session = connect()
session.sendall(b"before")
before = recv_exactly(session, 6).decode()
with socket.create_connection(("127.0.0.1", CONTROL), timeout=20) as control:
    control.sendall(b"ready")
    assert recv_exactly(control, 4) == b"sent"
refused = False
for attempt in range(2000):
    try:
        connect().close()
    except ConnectionRefusedError:
        refused = True
        break
    time.sleep(0.01)
# Idle when the signal came: closed at once, with the end of the stream (not a reset).
after = session.recv(16).decode()
session.close()
print(json.dumps({"before": before, "refused": refused, "after": after}))
`;

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`echo example: ${signal} mid-session closes the idle session at once and exits 0`, async () => {
    const echo = await startExample("echo.ts", ["--port", "0"]);
    using control = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const client = python(MID_SESSION, [echo.port, control.addr.port]);
    let exited: Promise<number> | undefined;
    try {
      // The client connects here only once its session works; if it fails
      // first, its result ends the wait.
      const ready = await Promise.race([control.accept(), client.then(() => null)]);
      assert(ready !== null, "the client ended before it was ready");
      using conn = ready;
      assertEquals(new TextDecoder().decode(await readExactly(conn, 5)), "ready");
      exited = echo.stop(signal);
      await conn.write(utf8.encode("sent"));
      const result = JSON.parse(await client);
      assertEquals(result, { before: "before", refused: true, after: "" });
      assertEquals(await exited, 0, echo.stderr());
    } finally {
      await (exited ?? echo.stop("SIGKILL"));
      await client.catch(() => {});
    }
  });
}

/** Reads exactly `n` bytes from a Deno connection. */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let filled = 0; filled < n;) {
    const count = await conn.read(out.subarray(filled));
    if (count === null) throw new Error(`EOF after ${filled} of ${n} bytes`);
    filled += count;
  }
  return out;
}

// --- bad flags -------------------------------------------------------------------

const badFlagCases: { args: string[]; message: RegExp }[] = [
  { args: ["--framing", "bogus"], message: /--framing must be none, length or line, got bogus/ },
  { args: ["--port", "70000"], message: /--port must be 0 to 65535, got 70000/ },
  { args: ["--bogus"], message: /unknown flag --bogus/ },
  { args: ["--proxy-protocol", "v2"], message: /--proxy-protocol needs --trusted-proxies/ },
  { args: ["--tls-cert", "cert.pem"], message: /--tls-cert and --tls-key go together/ },
];

for (const c of badFlagCases) {
  Deno.test(`echo example: ${c.args.join(" ")} exits non-zero with a message`, async () => {
    await assertExampleRefuses("echo.ts", c.args, c.message);
  });
}
