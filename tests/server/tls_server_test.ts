// TLSServer and ThreadingTLSServer over real sockets, with Deno's TLS client
// and python3's ssl module as peers. The certificate is made with the openssl
// CLI once for this module and removed when the module unloads.

import { deadline, delay } from "@std/async";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertThrows,
} from "@std/assert";

import {
  StreamRequestHandler,
  type TCPBoundAddress,
  ThreadingTLSServer,
  TLSHandshakeError,
  TLSServer,
  type TLSServerOptions,
} from "@socketserver/core";
import { readToEnd, within } from "../support/clients.ts";
import { startExample } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const utf8 = new TextEncoder();
const text = new TextDecoder();

const CERT_DIR = await Deno.makeTempDir({ prefix: "tls_server_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(CERT_DIR, { recursive: true }));
const CERT_FILE = `${CERT_DIR}/cert.pem`;
const KEY_FILE = `${CERT_DIR}/key.pem`;
{
  // CA:FALSE: Deno's TLS client (rustls) refuses a CA certificate as a server's.
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-days",
      "1",
      "-keyout",
      KEY_FILE,
      "-out",
      CERT_FILE,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(made.code, 0, `openssl failed:\n${text.decode(made.stderr)}`);
}
const CERT = Deno.readTextFileSync(CERT_FILE);
const KEY = Deno.readTextFileSync(KEY_FILE);
const TLS = { cert: CERT, key: KEY };

/** Echoes every chunk until the client closes. */
class Echo extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const chunk of this.rfile) await this.wfile.write(chunk);
  }
}

/** Echoes line by line. */
class LineEcho extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const line of this.rfile.lines()) await this.wfile.write(`${line}\n`);
  }
}

/** Writes the negotiated ALPN protocol, then echoes lines. */
class ReportAlpn extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const { alpnProtocol } = await (this.request as Deno.TlsConn).handshake();
    await this.wfile.write(`alpn ${alpnProtocol}\n`);
    for await (const line of this.rfile.lines()) await this.wfile.write(`${line}\n`);
  }
}

/** A server kind with handleError recorded instead of printed. */
function recording(Base: typeof TLSServer) {
  return class Recording extends Base {
    readonly reported: unknown[] = [];
    #waiters: { index: number; resolve: (error: unknown) => void }[] = [];

    override handleError(error: unknown): void {
      this.reported.push(error);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (waiter.index >= this.reported.length) return true;
        waiter.resolve(this.reported[waiter.index]);
        return false;
      });
    }

    /** The `index`-th error reported, once it is. */
    errorAt(index: number): Promise<unknown> {
      if (index < this.reported.length) return Promise.resolve(this.reported[index]);
      const { promise, resolve } = Promise.withResolvers<unknown>();
      this.#waiters.push({ index, resolve });
      return within(promise, 20, `error #${index}`);
    }
  };
}

const KINDS = [
  { name: "TLSServer", Server: recording(TLSServer) },
  { name: "ThreadingTLSServer", Server: recording(ThreadingTLSServer) },
];

/** Connects with Deno's TLS client trusting the test certificate. */
function connectTls(
  address: Deno.NetAddr,
  options: { alpnProtocols?: string[]; caCerts?: string[] } = {},
): Promise<Deno.TlsConn> {
  return Deno.connectTls({
    hostname: address.hostname,
    port: address.port,
    caCerts: options.caCerts ?? [CERT],
    ...(options.alpnProtocols ? { alpnProtocols: options.alpnProtocols } : {}),
  });
}

/** Sends `data` while reading, half-closes, and returns everything received. */
async function tlsExchange(address: Deno.NetAddr, data: Uint8Array): Promise<Uint8Array> {
  using conn = await connectTls(address);
  const sending = (async () => {
    // A TlsConn takes at most 64 KiB per write.
    for (let sent = 0; sent < data.length;) sent += await conn.write(data.subarray(sent));
    await conn.closeWrite();
  })();
  const reply = await readToEnd(conn);
  await sending;
  return reply;
}

/**
 * Helpers every python script starts with: argv is the port and the CA file.
 * `connect()` verifies the certificate against the test CA for "localhost".
 */
const PRELUDE = `
import socket, ssl, sys, threading

PORT = int(sys.argv[1])
CAFILE = sys.argv[2]

def context(alpn=None):
    ctx = ssl.create_default_context(cafile=CAFILE)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx

def connect(ctx=None):
    raw = socket.create_connection(("127.0.0.1", PORT), timeout=20)
    return (ctx or context()).wrap_socket(raw, server_hostname="localhost")

def recv_line(sock):
    data = b""
    while not data.endswith(b"\\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise EOFError(f"EOF after {data!r}")
        data += chunk
    return data.decode()
`;

/** Runs a python3 client against `server`; fails on a non-zero exit; returns stdout. */
async function python(body: string, server: { address: Deno.NetAddr }): Promise<string> {
  const result = await runPython(PRELUDE + body, {
    args: [String(server.address.port), CERT_FILE],
  });
  assertEquals(result.code, 0, `python3 failed:\n${result.stderr}`);
  return result.stdout;
}

for (const { name, Server } of KINDS) {
  Deno.test(`${name}: three echo round trips with Deno's TLS client`, async () => {
    const server = new Server(LOCALHOST, Echo, TLS);
    const serving = server.serveForever();
    for (let i = 0; i < 3; i++) {
      const sent = `hello over tls ${i}\n`;
      assertEquals(text.decode(await tlsExchange(server.address, utf8.encode(sent))), sent);
    }
    await server.shutdown();
    await serving;
    await server.serverClose();
    assertEquals(server.reported, []);
  });

  Deno.test(`${name}: a 1 MiB echo comes back intact`, async () => {
    await using server = new Server(LOCALHOST, Echo, TLS);
    const serving = server.serveForever();
    const sent = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    const received = await tlsExchange(server.address, sent);
    // Compared by hand: assert's diff of a megabyte would take minutes to print.
    assertEquals(received.length, sent.length);
    assert(received.every((byte, i) => byte === sent[i]), "the echo differs");
    await server.shutdown();
    await serving;
  });

  Deno.test(`${name}: python's ssl client, echo round trip`, async () => {
    const server = new Server(LOCALHOST, LineEcho, TLS);
    const serving = server.serveForever();
    const out = await python(
      `
with connect() as tls:
    print("version", tls.version())
    print("alpn", tls.selected_alpn_protocol())
    tls.sendall(b"hello over tls\\n")
    print("echo", recv_line(tls), end="")
    # close() sends no close_notify: a "ragged EOF" the server takes as a close.
`,
      server,
    );
    assertEquals(out, "version TLSv1.3\nalpn None\necho hello over tls\n");
    await server.shutdown();
    await serving;
    await server.serverClose();
    // suppressRaggedEofs (default): the close without close_notify is no error.
    assertEquals(server.reported, []);
  });

  // Bad clients: each is contained (reported as TLSHandshakeError, no handler
  // runs), and the next TLS client is served.
  const BAD_CLIENTS: {
    what: string;
    cause: new (...args: never[]) => Error;
    misbehave(address: TCPBoundAddress): Promise<void>;
  }[] = [
    {
      what: "a plain-TCP client sending an HTTP request",
      cause: Deno.errors.InvalidData,
      async misbehave(address) {
        using conn = await Deno.connect(address);
        await conn.write(utf8.encode("GET / HTTP/1.0\r\n\r\n"));
        // The server answers with a TLS alert and closes (or resets).
        await readToEnd(conn).catch(() => new Uint8Array());
      },
    },
    {
      what: "a client closing inside its client hello",
      cause: Deno.errors.UnexpectedEof,
      async misbehave(address) {
        using conn = await Deno.connect(address);
        // A handshake record header announcing 512 bytes, then 3 of them.
        await conn.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]));
        await conn.closeWrite();
        await readToEnd(conn).catch(() => new Uint8Array());
      },
    },
    {
      what: "a TLS client that refuses the certificate",
      cause: Deno.errors.InvalidData,
      async misbehave(address) {
        // No caCerts: the self-signed certificate is unknown to the client.
        await assertRejects(
          () =>
            (async () => {
              using conn = await connectTls(address, { caCerts: [] });
              await conn.handshake();
            })(),
        );
      },
    },
  ];

  for (const bad of BAD_CLIENTS) {
    Deno.test(`${name}: ${bad.what} is contained; the next client is served`, async () => {
      let handled = 0;
      class Counting extends Echo {
        override async handle(): Promise<void> {
          handled++;
          await super.handle();
        }
      }
      await using server = new Server(LOCALHOST, Counting, TLS);
      const serving = server.serveForever();
      await bad.misbehave(server.address);
      const error = await server.errorAt(0);
      assert(error instanceof TLSHandshakeError, String(error));
      assert(error.cause instanceof bad.cause, String(error.cause));
      assertMatch(error.message, /^Cannot complete TLS handshake with 127\.0\.0\.1:\d+: /);
      assertEquals(text.decode(await tlsExchange(server.address, utf8.encode("next"))), "next");
      assertEquals(handled, 1);
      await server.shutdown();
      await serving;
    });
  }
}

Deno.test("ALPN: python offers h2 and echo/1, the server offers echo/1, the handler sees echo/1", async () => {
  await using server = new ThreadingTLSServer(LOCALHOST, ReportAlpn, {
    ...TLS,
    alpnProtocols: ["echo/1"],
  });
  const serving = server.serveForever();
  const out = await python(
    `
with connect(context(alpn=["h2", "echo/1"])) as tls:
    print("client", tls.selected_alpn_protocol())
    print("server", recv_line(tls), end="")
with connect() as tls:
    print("no alpn:", recv_line(tls), end="")
`,
    server,
  );
  assertEquals(out, "client echo/1\nserver alpn echo/1\nno alpn: alpn null\n");
  await server.shutdown();
  await serving;
});

Deno.test("ALPN: a client offering only other protocols fails the handshake", async () => {
  const Server = recording(ThreadingTLSServer);
  await using server = new Server(LOCALHOST, ReportAlpn, { ...TLS, alpnProtocols: ["echo/1"] });
  const serving = server.serveForever();
  await assertRejects(
    () =>
      (async () => {
        using conn = await connectTls(server.address, { alpnProtocols: ["h2"] });
        await conn.handshake();
      })(),
  );
  const error = await server.errorAt(0);
  assert(error instanceof TLSHandshakeError, String(error));
  await server.shutdown();
  await serving;
});

Deno.test("ThreadingTLSServer: a silent client does not block others and is given up after handshakeTimeout", async () => {
  const Server = recording(ThreadingTLSServer);
  await using server = new Server(LOCALHOST, Echo, { ...TLS, handshakeTimeout: 0.2 });
  const serving = server.serveForever();
  using silent = await Deno.connect(server.address);
  // Served while the silent client's handshake is still pending.
  assertEquals(
    text.decode(await tlsExchange(server.address, utf8.encode("meanwhile"))),
    "meanwhile",
  );
  const error = await server.errorAt(0);
  assert(error instanceof TLSHandshakeError, String(error));
  assert(error.cause instanceof Deno.errors.TimedOut, String(error.cause));
  assertMatch(error.message, /not complete after 0\.2 s \(handshakeTimeout 0\.2 s\)$/);
  assertEquals(error.clientAddress, silent.localAddr);
  // Its slot is freed: nothing runs once its request has ended.
  for (let i = 0; i < 500 && server.activeRequests > 0; i++) {
    await delay(10);
  }
  assertEquals(server.activeRequests, 0);
  await server.shutdown();
  await serving;
});

/** This process's open file descriptors. */
function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

Deno.test("ThreadingTLSServer: silent clients' sockets are closed after handshakeTimeout (fd count back to baseline)", async () => {
  const Server = recording(ThreadingTLSServer);
  await using server = new Server(LOCALHOST, Echo, { ...TLS, handshakeTimeout: 0.2 });
  const serving = server.serveForever();
  // 50 clients that connect (on "go") and never send a byte, in a process of
  // their own so that only the server's descriptors are counted here.
  const script = `
import socket, sys
sys.stdin.readline()
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(50)]
sys.stdin.read()
`;
  const silent = new Deno.Command("python3", {
    args: ["-c", script, String(server.address.port)],
    stdin: "piped",
  }).spawn();
  const stdin = silent.stdin.getWriter();
  const baseline = openFds();
  try {
    await stdin.write(utf8.encode("go\n"));
    await server.errorAt(49);
    assertEquals(server.reported.length, 50);
    for (const error of server.reported) {
      assert(error instanceof TLSHandshakeError, String(error));
      assert(error.cause instanceof Deno.errors.TimedOut, String(error.cause));
    }
    // Every timed-out socket is closed at once, though its client still holds
    // its end open (Deno.listenTls kept each one until the client sent or closed).
    for (let i = 0; i < 500 && (server.activeRequests > 0 || openFds() > baseline); i++) {
      await delay(10);
    }
    assertEquals(openFds(), baseline);
    assertEquals(server.activeRequests, 0);
    // And the server still serves.
    assertEquals(text.decode(await tlsExchange(server.address, utf8.encode("still"))), "still");
  } finally {
    await stdin.close();
    await silent.status;
  }
  await server.shutdown();
  await serving;
});

Deno.test("TLSServer: a silent client holds the sequential server only until handshakeTimeout", async () => {
  const Server = recording(TLSServer);
  await using server = new Server(LOCALHOST, Echo, { ...TLS, handshakeTimeout: 0.2 });
  const serving = server.serveForever();
  using _silent = await Deno.connect(server.address);
  assertEquals(text.decode(await tlsExchange(server.address, utf8.encode("after"))), "after");
  assert((await server.errorAt(0)) instanceof TLSHandshakeError);
  await server.shutdown();
  await serving;
});

Deno.test("ThreadingTLSServer serves 20 python TLS clients at once", async () => {
  await using server = new ThreadingTLSServer(LOCALHOST, LineEcho, TLS);
  const serving = server.serveForever();
  const out = await python(
    `
N = 20
# Every client completes its handshake before any sends: only a server that
# handshakes concurrently lets all 20 reach the barrier.
barrier = threading.Barrier(N, timeout=15)
results = [None] * N

def client(i):
    try:
        with connect() as tls:
            barrier.wait()
            tls.sendall(f"client {i}\\n".encode())
            results[i] = recv_line(tls)
    except Exception as error:
        results[i] = repr(error)

threads = [threading.Thread(target=client, args=(i,)) for i in range(N)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
bad = [r for i, r in enumerate(results) if r != f"client {i}\\n"]
print("ok" if not bad else bad)
`,
    server,
  );
  assertEquals(out, "ok\n");
  await server.shutdown();
  await serving;
});

Deno.test("suppressRaggedEofs false: a close without close_notify is the handler's error", async () => {
  const Server = recording(ThreadingTLSServer);
  const server = new Server(LOCALHOST, LineEcho, { ...TLS, suppressRaggedEofs: false });
  const serving = server.serveForever();
  await python(
    `
with connect() as tls:
    tls.sendall(b"one\\n")
    recv_line(tls)
`,
    server,
  );
  const error = await server.errorAt(0);
  assert(error instanceof Deno.errors.UnexpectedEof, String(error));
  await server.shutdown();
  await serving;
  await server.serverClose();
});

Deno.test("closeWrite() on a TLS connection already closed fails with BadResource at once", async () => {
  // The server's shutdownRequest half-closes every connection, also those a
  // deadline or the drain already closed: that must not wait on a dead TLS stream.
  const outcome = Promise.withResolvers<unknown>();
  class CloseThenHalfClose extends StreamRequestHandler {
    override async handle(): Promise<void> {
      this.request.close();
      outcome.resolve(await this.request.closeWrite().then(() => "settled", (error) => error));
    }
  }
  await using server = new ThreadingTLSServer(LOCALHOST, CloseThenHalfClose, TLS);
  const serving = server.serveForever();
  using conn = await connectTls(server.address);
  await conn.write(utf8.encode("hi"));
  const error = await deadline(outcome.promise, 5000);
  assertInstanceOf(error, Deno.errors.BadResource);
  await server.shutdown();
  await serving;
});

Deno.test("a python client that sends close_notify (unwrap) ends the stream cleanly", async () => {
  const Server = recording(ThreadingTLSServer);
  const server = new Server(LOCALHOST, LineEcho, { ...TLS, suppressRaggedEofs: false });
  const serving = server.serveForever();
  const out = await python(
    `
with connect() as tls:
    tls.sendall(b"one\\n")
    print(recv_line(tls), end="")
    tls.unwrap()  # sends close_notify and waits for the server's
    print("unwrapped")
`,
    server,
  );
  assertEquals(out, "one\nunwrapped\n");
  await server.shutdown();
  await serving;
  await server.serverClose();
  assertEquals(server.reported, []);
});

Deno.test("await using shuts a TLS server down, closes it and frees the port", async () => {
  let port: number;
  {
    await using server = new ThreadingTLSServer(LOCALHOST, Echo, TLS);
    port = server.address.port;
    const serving = server.serveForever();
    assertEquals(text.decode(await tlsExchange(server.address, utf8.encode("x"))), "x");
    await server.shutdown();
    await serving;
  }
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

for (const { name, Server } of KINDS) {
  Deno.test(`${name}: shutdown awaited from a handler does not deadlock`, async () => {
    class StopAndReply extends StreamRequestHandler {
      override async handle(): Promise<void> {
        await this.server.shutdown();
        await this.wfile.write("stopped\n");
      }
    }
    const server = new Server(LOCALHOST, StopAndReply, TLS);
    const serving = server.serveForever();
    using conn = await connectTls(server.address);
    await serving;
    await server.serverClose();
    assertEquals(text.decode(await readToEnd(conn)), "stopped\n");
    assertEquals(server.reported, []);
  });
}

Deno.test("past drainTimeout, serverClose closes an idle TLS client and a silent one", async () => {
  const entered = Promise.withResolvers<void>();
  class Idle extends StreamRequestHandler {
    override async handle(): Promise<void> {
      entered.resolve();
      await this.rfile.read(); // The client never sends: only a close ends this.
    }
  }
  const Server = recording(ThreadingTLSServer);
  const server = new Server(LOCALHOST, Idle, { ...TLS, drainTimeout: 0.1, handshakeTimeout: 60 });
  const serving = server.serveForever();
  using idle = await connectTls(server.address);
  await idle.handshake();
  await entered.promise;
  using _silent = await Deno.connect(server.address);
  for (let i = 0; i < 500 && server.activeRequests < 2; i++) {
    await delay(10);
  }
  assertEquals(server.activeRequests, 2);
  await server.shutdown();
  await serving;
  await server.serverClose();
  assertEquals(server.activeRequests, 0);
  // The idle client sees its connection cut (no close_notify: the server gave
  // up on it); the forced closes are not reported.
  await assertRejects(() => readToEnd(idle), Deno.errors.UnexpectedEof);
  assertEquals(server.reported, []);
});

Deno.test("settings: static defaults, options, and subclass overrides", async () => {
  class Patient extends TLSServer {
    static override handshakeTimeout: number | null = 60;
    static override alpnProtocols: readonly string[] = ["echo/1"];
  }
  const cases: {
    what: string;
    make(): TLSServer;
    expect: Partial<Record<keyof TLSServerOptions, unknown>>;
  }[] = [
    {
      what: "defaults",
      make: () => new TLSServer(LOCALHOST, Echo, TLS),
      expect: {
        requestQueueSize: 511,
        allowReuseAddress: true,
        allowReusePort: false,
        alpnProtocols: [],
        handshakeTimeout: 10,
        suppressRaggedEofs: true,
        maxConnections: 10000,
        timeout: null,
      },
    },
    {
      what: "options",
      make: () =>
        new ThreadingTLSServer(LOCALHOST, Echo, {
          ...TLS,
          requestQueueSize: 16,
          alpnProtocols: ["h2"],
          handshakeTimeout: null,
          suppressRaggedEofs: false,
          maxConnections: 3,
        }),
      expect: {
        requestQueueSize: 16,
        alpnProtocols: ["h2"],
        handshakeTimeout: null,
        suppressRaggedEofs: false,
        maxConnections: 3,
      },
    },
    {
      what: "subclass statics",
      make: () => new Patient(LOCALHOST, Echo, TLS),
      expect: { handshakeTimeout: 60, alpnProtocols: ["echo/1"] },
    },
    {
      what: "an option beats a subclass static",
      make: () => new Patient(LOCALHOST, Echo, { ...TLS, handshakeTimeout: 1 }),
      expect: { handshakeTimeout: 1 },
    },
  ];
  for (const { what, make, expect } of cases) {
    const server = make();
    try {
      for (const [field, value] of Object.entries(expect)) {
        assertEquals(server[field as keyof TLSServer], value, `${what}: ${field}`);
      }
      assertEquals(server.address.transport, "tcp");
      assertEquals(server.address.hostname, "127.0.0.1");
    } finally {
      await server.serverClose();
    }
  }
});

Deno.test("settings refused or invalid throw in the constructor and leave nothing open", () => {
  const cases: {
    what: string;
    options: TLSServerOptions;
    error: new (message?: string) => Error;
  }[] = [
    {
      what: "allowReuseAddress false",
      options: { ...TLS, allowReuseAddress: false },
      error: TypeError,
    },
    {
      what: "a cert that is not PEM",
      options: { ...TLS, cert: "nope" },
      error: Deno.errors.InvalidData,
    },
    {
      what: "a key that is not PEM",
      options: { ...TLS, key: "nope" },
      error: Deno.errors.InvalidData,
    },
    {
      what: "cert and key swapped",
      options: { cert: KEY, key: CERT },
      error: Deno.errors.InvalidData,
    },
  ];
  for (const { what, options, error } of cases) {
    assertThrows(() => new TLSServer(LOCALHOST, Echo, options), error, undefined, what);
  }
});

Deno.test("behind a load balancer passing TLS through: the PROXY header comes before the handshake", async () => {
  class WhoIsIt extends StreamRequestHandler {
    override async handle(): Promise<void> {
      const { hostname, port } = this.clientAddress as Deno.NetAddr;
      await this.wfile.write(`${hostname}:${port}\n`);
    }
  }
  await using server = new ThreadingTLSServer(LOCALHOST, WhoIsIt, {
    ...TLS,
    proxyProtocol: "v1",
    trustedProxies: ["127.0.0.1"],
  });
  const serving = server.serveForever();
  // As HAProxy in TCP mode with send-proxy: the header, then the client's TLS.
  const tcp = await Deno.connect(server.address);
  await tcp.write(utf8.encode("PROXY TCP4 192.0.2.9 127.0.0.1 41000 443\r\n"));
  using tls = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [CERT] });
  assertEquals(text.decode(await readToEnd(tls)), "192.0.2.9:41000\n");
  await server.shutdown();
  await serving;
});

Deno.test("the port is taken: the constructor throws AddrInUse", async () => {
  await using first = new TLSServer(LOCALHOST, Echo, TLS);
  assertThrows(
    () => new TLSServer({ hostname: "127.0.0.1", port: first.address.port }, Echo, TLS),
    Deno.errors.AddrInUse,
  );
});

Deno.test("examples/echo.ts --tls-cert --tls-key serves python's ssl client", async () => {
  const echo = await startExample(
    "echo.ts",
    ["--port", "0", "--framing", "line", "--upper", "--tls-cert", CERT_FILE, "--tls-key", KEY_FILE],
    { permissions: ["--allow-net", "--allow-read"] },
  );
  try {
    const out = await python(
      `
with connect() as tls:
    tls.sendall(b"hello over tls\\n")
    print(recv_line(tls), end="")
`,
      { address: { transport: "tcp", hostname: "127.0.0.1", port: echo.port } },
    );
    assertEquals(out, "HELLO OVER TLS\n");
  } catch (error) {
    await echo.stop("SIGKILL");
    throw error;
  }
  assertEquals(await echo.stop("SIGTERM"), 0, echo.stderr());
  assertEquals(echo.stderr(), "");
});
