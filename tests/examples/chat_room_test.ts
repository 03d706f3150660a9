import { assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import { withExample } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";

const chatClient = await Deno.readTextFile(
  new URL("../../examples/python/chat_client.py", import.meta.url),
);

/** Runs the chat room for `body`; it must exit 0 on SIGTERM. */
async function withRoom(args: string[], body: (port: number) => Promise<void>): Promise<void> {
  await withExample("chat_room.ts", ["--port", "0", ...args], (server) => body(server.port));
}

Deno.test("chat room: 20 python clients each get every other client's messages exactly once", async () => {
  await withRoom([], async (port) => {
    const result = await runPython(
      `
import socket, sys, threading

PORT, CLIENTS, MESSAGES = int(sys.argv[1]), 20, 10
ready = threading.Barrier(CLIENTS, timeout=20)
received, errors = {}, []

def client(i):
    name = "c%02d" % i
    try:
        sock = socket.create_connection(("127.0.0.1", PORT))
        sock.settimeout(20)
        lines = sock.makefile("rb")
        sock.sendall((name + "\\n").encode())
        # The welcome says this client is in the room; once all are, everyone talks.
        while not lines.readline().startswith(b"* welcome"):
            pass
        ready.wait()
        for k in range(MESSAGES):
            sock.sendall(("message %d from %s\\n" % (k, name)).encode())
        got = []
        while len(got) < (CLIENTS - 1) * MESSAGES:
            line = lines.readline().decode()
            if not line:
                raise ConnectionError("closed after %d messages" % len(got))
            if line.startswith("["):
                got.append(line.rstrip("\\n"))
        received[name] = got
        sock.close()
    except Exception as error:
        errors.append("%s: %r" % (name, error))
        ready.abort()

threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if errors:
    sys.exit("\\n".join(errors))
names = sorted(received)
assert len(names) == CLIENTS, names
for name in names:
    got = received[name]
    for other in names:
        if other == name:
            assert not any(line.startswith("[%s]" % name) for line in got), name + " got its own"
            continue
        theirs = [line for line in got if line.startswith("[%s] " % other)]
        expected = ["[%s] message %d from %s" % (other, k, other) for k in range(MESSAGES)]
        assert theirs == expected, (name, other, theirs)  # all, once each, in order
print("ok", len(names), sum(len(got) for got in received.values()))
`,
      { args: [String(port)], timeoutSeconds: 40 },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, `ok 20 ${20 * 19 * 10}\n`);
  });
});

Deno.test("chat room: a client that never reads is dropped while the others keep chatting", async () => {
  await withRoom(["--max-queue", "262144"], async (port) => {
    const result = await runPython(
      `
import socket, sys, threading

PORT = int(sys.argv[1])
LINE = "x" * 1000
MAX_LINES = 100000  # 100 MB: far past any queue and socket buffers; the test fails there

def join(name):
    sock = socket.create_connection(("127.0.0.1", PORT))
    sock.settimeout(30)
    sock.sendall((name + "\\n").encode())
    lines = sock.makefile("rb")
    while not lines.readline().startswith(b"* welcome"):
        pass
    return sock, lines

alice, alice_lines = join("alice")
bob, bob_lines = join("bob")

# The silent client shrinks its receive buffer, says its name, and never reads again.
silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
silent.connect(("127.0.0.1", PORT))
silent.sendall(b"silent\\n")
while alice_lines.readline() != b"* silent joined\\n":
    pass

bob_count = 0
bob_progress = threading.Condition()
dropped = threading.Event()

def bob_reads():
    global bob_count
    for raw in bob_lines:
        line = raw.decode()
        with bob_progress:
            if line.startswith("[alice] "):
                bob_count += 1
            if line == "* silent was dropped (not reading)\\n":
                dropped.set()
            bob_progress.notify_all()
        if line == "[alice] after the drop\\n":
            return

reader = threading.Thread(target=bob_reads)
reader.start()
# Alice sends in rounds of 100 lines and waits for bob to read them, so that
# only the silent client's queue grows.
sent = 0
while not dropped.is_set():
    assert sent < MAX_LINES, "silent was never dropped"
    alice.sendall(("%s\\n" % LINE).encode() * 100)
    sent += 100
    with bob_progress:
        assert bob_progress.wait_for(lambda: bob_count >= sent or dropped.is_set(), 30)
alice.sendall(b"after the drop\\n")
reader.join(30)
assert not reader.is_alive(), "bob missed the message after the drop"

# Alice saw the notice too, and bob can still talk to her.
while alice_lines.readline() != b"* silent was dropped (not reading)\\n":
    pass
bob.sendall(b"still here\\n")
while alice_lines.readline() != b"[bob] still here\\n":
    pass

# The silent client's connection was closed: what it holds ends in EOF or a reset.
silent.settimeout(30)
try:
    while silent.recv(65536):
        pass
except ConnectionResetError:
    pass
for sock in (alice, bob, silent):
    sock.close()
print("ok")
`,
      { args: [String(port)], timeoutSeconds: 60 },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "ok\n");
  });
});

Deno.test("chat room: the README's python client talks to the room", async () => {
  await withRoom([], async (port) => {
    // An observer in the room, reading with a bounded wait.
    const observer = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await observer.write(new TextEncoder().encode("observer\n"));
      const heard = new LineReader(observer);
      assertMatch(await heard.next(), /^\* welcome, observer \(1 online\)$/);
      const result = await runPython(chatClient, {
        args: ["alice", String(port)],
        stdin: "hello room\nsecond line\n",
      });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout, "* welcome, alice (2 online)\n");
      assertEquals(
        [await heard.next(), await heard.next(), await heard.next(), await heard.next()],
        ["* alice joined", "[alice] hello room", "[alice] second line", "* alice left"],
      );
    } finally {
      observer.close();
    }
  });
});

Deno.test("chat room: control characters and bidi overrides never reach other clients or the log", async () => {
  const stopped = await withExample("chat_room.ts", ["--port", "0"], async (server) => {
    const observer = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      await observer.write(new TextEncoder().encode("observer\n"));
      const heard = new LineReader(observer);
      assertMatch(await heard.next(), /^\* welcome, observer/);
      const result = await runPython(chatClient, {
        args: ["mal\x1b[31mlory\x07", String(server.port)],
        // A bare CR would return to the line's start: shown as alice speaking.
        stdin: "\r[alice] send me your password\x1b[2K\x07\n\u202eevil\u202c\tok\n",
      });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(
        [await heard.next(), await heard.next(), await heard.next(), await heard.next()],
        [
          "* mal[31mlory joined",
          "[mal[31mlory] [alice] send me your password[2K",
          "[mal[31mlory] evil\tok",
          "* mal[31mlory left",
        ],
      );
    } finally {
      observer.close();
    }
  });
  // The log has no control character but the newlines that end its lines.
  // deno-lint-ignore no-control-regex
  assertNotMatch(stopped.stdout(), /[\x00-\x09\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]/);
  assertMatch(stopped.stdout(), /mal\[31mlory joined from 127\.0\.0\.1/);
});

/** Lines from a connection; a line that does not come within 10 s fails the test. */
class LineReader {
  #conn: Deno.Conn;
  #text = "";
  #decoder = new TextDecoder();

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async next(): Promise<string> {
    const timer = setTimeout(() => this.#conn.close(), 10_000);
    try {
      while (!this.#text.includes("\n")) {
        const buffer = new Uint8Array(4096);
        const count = await this.#conn.read(buffer);
        if (count === null) throw new Error(`Connection closed; partial line: ${this.#text}`);
        this.#text += this.#decoder.decode(buffer.subarray(0, count), { stream: true });
      }
    } finally {
      clearTimeout(timer);
    }
    const end = this.#text.indexOf("\n");
    const line = this.#text.slice(0, end);
    this.#text = this.#text.slice(end + 1);
    return line;
  }
}
