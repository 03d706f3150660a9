// Stream servers with proxyProtocol, over real sockets: python3 clients play
// the load balancer (they send a PROXY header, then data), and the handler
// reports the client address it was given.

import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "@std/assert";

import {
  formatAddress,
  ProxiedConn,
  ProxyProtocolError,
  StreamRequestHandler,
  type StreamServerOptions,
  TCPServer,
  ThreadingTCPServer,
  ThreadingUnixStreamServer,
} from "@socketserver/core";
import { readToEnd } from "../support/clients.ts";
import { runPython } from "../support/python.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const BEHIND_LOCAL_PROXY = { proxyProtocol: "any", trustedProxies: ["127.0.0.1"] } as const;

/**
 * Replies `client HOST:PORT`, `conn proxied|plain` and, when the header had
 * one, `authority NAME`, each on a line, then echoes every byte until EOF.
 */
class Report extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const conn = this.request;
    await this.wfile.write(`client ${formatAddress(this.clientAddress)}\n`);
    await this.wfile.write(`conn ${conn instanceof ProxiedConn ? "proxied" : "plain"}\n`);
    if (conn instanceof ProxiedConn && conn.proxyHeader.authority !== undefined) {
      await this.wfile.write(`authority ${conn.proxyHeader.authority}\n`);
    }
    for await (const chunk of this.rfile) await this.wfile.write(chunk);
  }
}

/** What `handleError` received. */
interface Reported {
  error: unknown;
  address: Deno.Addr | null;
}

function recordErrors(server: TCPServer | ThreadingUnixStreamServer): Reported[] {
  const reported: Reported[] = [];
  server.handleError = (error, _request, address) => void reported.push({ error, address });
  return reported;
}

/**
 * Builders for the headers, in Python: an independent implementation of the
 * specification, so the parser is not only tested against itself.
 */
const PRELUDE = `
import json, socket, struct, sys

TARGET = json.loads(sys.argv[1])
SIG = b"\\r\\n\\r\\n\\x00\\r\\nQUIT\\n"

def v2(command, family, body):
    return SIG + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body

def inet(src, sport, dst, dport):
    pton = lambda a: socket.inet_pton(socket.AF_INET, a)
    return pton(src) + pton(dst) + struct.pack("!HH", sport, dport)

def inet6(src, sport, dst, dport):
    pton = lambda a: socket.inet_pton(socket.AF_INET6, a)
    return pton(src) + pton(dst) + struct.pack("!HH", sport, dport)

def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value

def connect():
    if "path" in TARGET:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        sock.connect(TARGET["path"])
        return sock
    return socket.create_connection(("127.0.0.1", TARGET["port"]), timeout=20)

def exchange(*parts):
    """Sends each part with its own send (all at once for one part), half-closes,
    reads to EOF; prints the reply and the client's own address as JSON."""
    with connect() as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) if "port" in TARGET else None
        try:
            for part in parts:
                sock.sendall(part)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # The server refused the connection before all was sent.
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        name = sock.getsockname()
        me = name if isinstance(name, str) else f"{name[0]}:{name[1]}"
        print(json.dumps({"reply": b"".join(chunks).decode("latin-1"), "me": me}))
`;

/** Runs `body` (after the prelude) against `address`; returns what `exchange` printed. */
async function client(
  address: Deno.Addr,
  body: string,
): Promise<{ reply: string; me: string }> {
  const target = "path" in address
    ? { path: address.path }
    : { port: (address as Deno.NetAddr).port };
  const result = await runPython(PRELUDE + body, { args: [JSON.stringify(target)] });
  assertEquals(result.code, 0, `python3 failed:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** Serves with `options` until `body` returns, then shuts down. */
async function withServer(
  options: StreamServerOptions<Deno.NetAddr>,
  body: (server: TCPServer, errors: Reported[]) => Promise<void>,
  Server: typeof TCPServer = ThreadingTCPServer,
): Promise<void> {
  await using server = new Server(LOCALHOST, Report, options);
  const errors = recordErrors(server);
  const serving = server.serveForever();
  try {
    await body(server, errors);
  } finally {
    await server.shutdown();
    await serving;
  }
}

interface ServeCase {
  name: string;
  /** Python: a call of `exchange(...)`. */
  send: string;
  /** The reply, with `$ME` for the client's own address (the proxy's, here). */
  reply: string;
}

const serveCases: ServeCase[] = [
  {
    name: "v1 TCP4 and data in one packet",
    send: `exchange(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\\r\\nhello world")`,
    reply: "client 192.0.2.1:56324\nconn proxied\nhello world",
  },
  {
    name: "v1 TCP6",
    send: `exchange(b"PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\\r\\n", b"data")`,
    reply: "client [2001:db8::1]:56324\nconn proxied\ndata",
  },
  {
    name: "v1 UNKNOWN keeps the proxy's address",
    send: `exchange(b"PROXY UNKNOWN\\r\\nx")`,
    reply: "client $ME\nconn proxied\nx",
  },
  {
    name: "v1 header sent a byte at a time",
    send:
      `exchange(*[bytes([b]) for b in b"PROXY TCP4 192.0.2.9 198.51.100.2 1 2\\r\\n"], b"late")`,
    reply: "client 192.0.2.9:1\nconn proxied\nlate",
  },
  {
    name: "v2 PROXY INET and data in one packet",
    send: `exchange(v2(1, 0x11, inet("203.0.113.5", 40000, "127.0.0.1", 80)) + b"GET /")`,
    reply: "client 203.0.113.5:40000\nconn proxied\nGET /",
  },
  {
    name: "v2 PROXY INET6 with an AUTHORITY TLV",
    send: `exchange(v2(1, 0x21, inet6("2001:db8::7", 5, "::1", 443)
        + tlv(0x02, b"example.com") + tlv(0x05, b"id-1")) + b"tls bytes")`,
    reply: "client [2001:db8::7]:5\nconn proxied\nauthority example.com\ntls bytes",
  },
  {
    name: "v2 LOCAL (a health check) keeps the proxy's address",
    send: `exchange(v2(0, 0x00, b""), b"ping")`,
    reply: "client $ME\nconn proxied\nping",
  },
  {
    name: "v2 PROXY AF_UNSPEC keeps the proxy's address",
    send: `exchange(v2(1, 0x00, b""))`,
    reply: "client $ME\nconn proxied\n",
  },
  {
    name: "v2 header split inside its signature and its addresses",
    send: `header = v2(1, 0x11, inet("198.51.100.77", 1234, "127.0.0.1", 80))
exchange(header[:5], header[5:20], header[20:] + b"a", b"b")`,
    reply: "client 198.51.100.77:1234\nconn proxied\nab",
  },
];

for (const Server of [ThreadingTCPServer, TCPServer]) {
  Deno.test(`${Server.name} with proxyProtocol: the handler gets the original client and every byte after the header`, async (t) => {
    await withServer(BEHIND_LOCAL_PROXY, async (server, errors) => {
      for (const { name, send, reply } of serveCases) {
        await t.step(name, async () => {
          const result = await client(server.address, send);
          assertEquals(result.reply, reply.replace("$ME", result.me));
        });
      }
      assertEquals(errors, []);
    }, Server);
  });
}

interface RefusedCase {
  name: string;
  options?: StreamServerOptions<Deno.NetAddr>;
  send: string;
  error: (error: unknown) => boolean;
}

const refusedCases: RefusedCase[] = [
  {
    name: "a peer not in trustedProxies",
    options: { proxyProtocol: "any", trustedProxies: ["10.0.0.0/8", "::1"] },
    send: `exchange(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\\r\\nhello")`,
    error: (error) =>
      error instanceof Deno.errors.PermissionDenied &&
      /^Cannot read PROXY header: peer 127\.0\.0\.1:\d+ is not in trustedProxies$/.test(
        error.message,
      ),
  },
  {
    name: "no header: a plain HTTP request",
    send: `exchange(b"GET / HTTP/1.1\\r\\n\\r\\n")`,
    error: (error) => error instanceof ProxyProtocolError && error.offset === 0,
  },
  {
    name: "a v1 port out of range",
    send: `exchange(b"PROXY TCP4 192.0.2.1 198.51.100.2 70000 443\\r\\nhello")`,
    error: (error) =>
      error instanceof ProxyProtocolError && error.offset === 34 &&
      /source port "70000"/.test(error.message),
  },
  {
    name: "a v2 header with a bad signature",
    send: `exchange(b"\\r\\n\\r\\n\\x00\\r\\nQUIZ\\n\\x21\\x11\\x00\\x00")`,
    error: (error) => error instanceof ProxyProtocolError && error.offset === 10,
  },
  {
    name: "a v2 header with a bad CRC32C",
    send:
      `exchange(v2(1, 0x11, inet("192.0.2.1", 1, "127.0.0.1", 2) + tlv(0x03, b"\\0\\0\\0\\1")))`,
    error: (error) => error instanceof ProxyProtocolError && /CRC32C/.test(error.message),
  },
  {
    name: "a v2 length over maxProxyHeaderLength",
    options: { ...BEHIND_LOCAL_PROXY, maxProxyHeaderLength: 64 },
    send: `exchange(v2(1, 0x11, inet("192.0.2.1", 1, "127.0.0.1", 2) + tlv(0x04, bytes(100))))`,
    error: (error) =>
      error instanceof ProxyProtocolError &&
      /header of 131 bytes exceeds maxHeaderLength 64/.test(error.message),
  },
  {
    name: "a v1 header where only v2 is accepted",
    options: { proxyProtocol: "v2", trustedProxies: ["127.0.0.1"] },
    send: `exchange(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\\r\\n")`,
    error: (error) => error instanceof ProxyProtocolError && /only v2/.test(error.message),
  },
  {
    name: "a stream that ends inside the header",
    send: `exchange(b"PROXY TCP4 192.0.2.1 ")`,
    error: (error) =>
      error instanceof ProxyProtocolError &&
      /stream ended after 21 bytes, inside the header/.test(error.message),
  },
];

Deno.test("proxyProtocol: a refused connection is closed, reported, and the server keeps serving", async (t) => {
  for (const { name, options, send, error } of refusedCases) {
    await t.step(name, async () => {
      await withServer(options ?? BEHIND_LOCAL_PROXY, async (server, errors) => {
        const refused = await client(server.address, send);
        assertEquals(refused.reply, "", "nothing reaches the handler");
        // The accepted address is reported: the header gave no other.
        assertEquals(errors.length, 1);
        assert(error(errors[0].error), String(errors[0].error));
        assertEquals(formatAddress(errors[0].address), refused.me);
        // A second connection is handled the same way: nothing was left broken.
        const again = await client(server.address, send);
        assertEquals(again.reply, "");
        assertEquals(server.stats.errors, 2);
        assertEquals(server.activeRequests, 0);
      });
    });
  }
});

Deno.test("proxyProtocol: a good client after a bad header is served", async () => {
  await withServer(BEHIND_LOCAL_PROXY, async (server, errors) => {
    assertEquals((await client(server.address, `exchange(b"garbage")`)).reply, "");
    const good = await client(server.address, `exchange(b"PROXY UNKNOWN\\r\\nok")`);
    assertEquals(good.reply, `client ${good.me}\nconn proxied\nok`);
    assertEquals(errors.length, 1);
  });
});

Deno.test("proxyHeaderTimeout: a peer that stalls inside the header is closed with TimedOut", async () => {
  await withServer({ ...BEHIND_LOCAL_PROXY, proxyHeaderTimeout: 0.2 }, async (server, errors) => {
    using conn = await Deno.connect(server.address);
    await conn.write(new TextEncoder().encode("PROXY TCP4 "));
    assertEquals((await readToEnd(conn)).length, 0, "closed without a reply");
    assertEquals(errors.length, 1);
    const error = errors[0].error;
    assert(error instanceof Deno.errors.TimedOut);
    assertMatch(
      error.message,
      /^Cannot read PROXY header: 11 bytes received in 0.2 s \(proxyHeaderTimeout 0.2 s\)$/,
    );
  });
});

Deno.test("without proxyProtocol a PROXY line is data and the request is the accepted connection", async () => {
  await withServer({}, async (server) => {
    const result = await client(server.address, `exchange(b"PROXY UNKNOWN\\r\\n")`);
    assertEquals(result.reply, `client ${result.me}\nconn plain\nPROXY UNKNOWN\r\n`);
  });
});

Deno.test("proxyProtocol settings: static defaults, subclass overrides, options", async () => {
  await using plain = new TCPServer(LOCALHOST, Report);
  assertEquals(plain.proxyProtocol, undefined);
  assertEquals(plain.trustedProxies, []);
  assertEquals(plain.proxyHeaderTimeout, 5);
  assertEquals(plain.maxProxyHeaderLength, 4096);

  class BehindHAProxy extends ThreadingTCPServer {
    static override proxyProtocol = "v2" as const;
    static override trustedProxies = ["127.0.0.0/8"];
    static override proxyHeaderTimeout = 1;
  }
  await using subclassed = new BehindHAProxy(LOCALHOST, Report);
  assertEquals(subclassed.proxyProtocol, "v2");
  assertEquals(subclassed.trustedProxies, ["127.0.0.0/8"]);
  assertEquals(subclassed.proxyHeaderTimeout, 1);
  const serving = subclassed.serveForever();
  const result = await client(
    subclassed.address,
    `exchange(v2(1, 0x11, inet("192.0.2.3", 9, "127.0.0.1", 80)))`,
  );
  assertEquals(result.reply, "client 192.0.2.3:9\nconn proxied\n");
  await subclassed.shutdown();
  await serving;

  await using optioned = new BehindHAProxy(LOCALHOST, Report, {
    proxyProtocol: "v1",
    trustedProxies: ["::1", "127.0.0.1"],
    maxProxyHeaderLength: 300,
  });
  assertEquals(optioned.proxyProtocol, "v1");
  assertEquals(optioned.trustedProxies, ["::1", "127.0.0.1"]);
  assertEquals(optioned.maxProxyHeaderLength, 300);
  assert(Object.isFrozen(optioned.trustedProxies));
});

Deno.test("proxyProtocol settings are checked at construction, leaving nothing open", async (t) => {
  const cases: {
    name: string;
    options: StreamServerOptions<Deno.NetAddr>;
    error: typeof Error;
    message: RegExp;
  }[] = [
    {
      name: "no trustedProxies on TCP",
      options: { proxyProtocol: "v2" },
      error: TypeError,
      message: /^Cannot use proxyProtocol "v2" without trustedProxies: list the proxies'/,
    },
    {
      name: "a trustedProxies entry that is not an address",
      options: { proxyProtocol: "v1", trustedProxies: ["127.0.0.1", "localhost"] },
      error: TypeError,
      message: /"localhost" is not an IP address or CIDR network/,
    },
    {
      name: "an unknown version",
      options: { proxyProtocol: "v3" as "v2", trustedProxies: ["127.0.0.1"] },
      error: TypeError,
      message: /expected "v1", "v2" or "any", got "v3"/,
    },
    {
      name: "a timeout of 0",
      options: { ...BEHIND_LOCAL_PROXY, proxyHeaderTimeout: 0 },
      error: RangeError,
      message: /proxyHeaderTimeout 0/,
    },
    {
      name: "maxProxyHeaderLength under 16",
      options: { ...BEHIND_LOCAL_PROXY, maxProxyHeaderLength: 8 },
      error: RangeError,
      message: /maxHeaderLength 8 is not an integer from 16 to 65551/,
    },
  ];
  for (const { name, options, error, message } of cases) {
    await t.step(name, () => {
      const thrown = assertThrows(() => new ThreadingTCPServer(LOCALHOST, Report, options), error);
      assertMatch(thrown.message, message);
    });
  }
  await t.step("on a Unix socket the socket file is removed too", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/refused.sock`;
      assertThrows(
        () =>
          new ThreadingUnixStreamServer({ path }, Report, {
            proxyProtocol: "v2",
            proxyHeaderTimeout: -1,
          }),
        RangeError,
      );
      await assertRejects(() => Deno.lstat(path), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  // trustedProxies alone (without proxyProtocol) is inert, not an error.
  await using inert = new TCPServer(LOCALHOST, Report, { trustedProxies: ["bad"] });
  assertEquals(inert.proxyProtocol, undefined);
});

Deno.test("ThreadingUnixStreamServer with proxyProtocol: no trustedProxies needed, LOCAL keeps the peer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = new ThreadingUnixStreamServer({ path: `${dir}/proxied.sock` }, Report, {
      proxyProtocol: "v2",
    });
    const errors = recordErrors(server);
    const serving = server.serveForever();
    const proxied = await client(
      server.address,
      `exchange(v2(1, 0x11, inet("192.0.2.44", 4444, "127.0.0.1", 80)) + b"over unix")`,
    );
    assertEquals(proxied.reply, "client 192.0.2.44:4444\nconn proxied\nover unix");
    const local = await client(server.address, `exchange(v2(0, 0x00, b""))`);
    // The peer's own address: Deno reports an unnamed Unix client socket's path as null.
    assertMatch(local.reply, /^client (null|\(unnamed socket\))\nconn proxied\n$/);
    const unix = await client(
      server.address,
      `exchange(v2(1, 0x31, b"/run/client.sock".ljust(108, b"\\0") + b"/run/lb.sock".ljust(108, b"\\0")))`,
    );
    assertEquals(unix.reply, "client /run/client.sock\nconn proxied\n");
    assertEquals(errors, []);
    await server.shutdown();
    await serving;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
