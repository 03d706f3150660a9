// Types that fit: a TCP or TLS handler's `clientAddress` is a Deno.NetAddr
// with no annotation, a Unix handler declares Deno.UnixAddr, a handler shared
// by both declares Deno.Addr, and `this.server` is typed by one `declare`
// line. `deno task check` type-checks this file: each `@ts-expect-error`
// line is a test that the mistake below it is a compile-time error (an
// unused one fails the check). The runtime tests prove the types tell the
// truth.

import { assert, assertEquals } from "@std/assert";
import {
  formatAddress,
  StreamRequestHandler,
  ThreadingTCPServer,
  ThreadingTLSServer,
  ThreadingUnixStreamServer,
} from "@socketserver/core/server";
import { exchange, readToEnd } from "../support/clients.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };

/** The common case: a TCP handler reads the port, no annotation. */
class TcpPort extends StreamRequestHandler {
  override async handle(): Promise<void> {
    const { hostname, port } = this.clientAddress;
    await this.wfile.write(`${hostname} ${port}`);
  }
}

/** A Unix handler declares its address type. */
class UnixPeer extends StreamRequestHandler<Uint8Array, Uint8Array, Deno.UnixAddr> {
  override async handle(): Promise<void> {
    // An unbound client socket has no path (Deno reports null).
    await this.wfile.write(
      `${this.clientAddress.transport} ${this.clientAddress.path ?? "unnamed"}`,
    );
  }
}

/** A handler for TCP and Unix servers alike declares Deno.Addr and narrows. */
class Shared extends StreamRequestHandler<Uint8Array, Uint8Array, Deno.Addr> {
  override async handle(): Promise<void> {
    const address = this.clientAddress;
    await this.wfile.write(
      address.transport === "tcp" ? `port ${address.port}` : address.transport,
    );
  }
}

class CountingServer extends ThreadingTCPServer {
  served = 0;
}

/** `this.server` typed as the server subclass: one line. */
class Counted extends StreamRequestHandler {
  declare readonly server: CountingServer;
  override async handle(): Promise<void> {
    await this.wfile.write(`served ${++this.server.served}`);
  }
}

/** Connects, half-closes at once, and returns the reply as text. */
function replyFrom(address: Deno.ConnectOptions | Deno.UnixConnectOptions): Promise<string> {
  return exchange(address, "");
}

Deno.test("types: mistakes are compile-time errors (checked by deno check, run by nobody)", () => {
  const typeChecksOnly = () => {
    // @ts-expect-error A handler declared for Unix addresses cannot serve TCP clients.
    new ThreadingTCPServer(LOCALHOST, UnixPeer);
    const tls = { cert: "", key: "" };
    // @ts-expect-error Nor TLS clients.
    new ThreadingTLSServer(LOCALHOST, UnixPeer, tls);
    class NoPath extends StreamRequestHandler {
      override handle(): void {
        // @ts-expect-error A TCP client's address has no path.
        void this.clientAddress.path;
      }
    }
    class Undeclared extends StreamRequestHandler {
      override handle(): void {
        // @ts-expect-error Without the declare line, `server` is what every server offers.
        void this.server.served;
      }
    }
    class NoPort extends StreamRequestHandler<Uint8Array, Uint8Array, Deno.Addr> {
      override handle(): void {
        // @ts-expect-error A shared handler narrows before it reads the port.
        void this.clientAddress.port;
      }
    }
    return [NoPath, Undeclared, NoPort];
  };
  assertEquals(typeof typeChecksOnly, "function");
});

Deno.test("types: a TCP handler's clientAddress is the client's NetAddr: port needs no annotation", async () => {
  await using server = new ThreadingTCPServer(LOCALHOST, TcpPort);
  const serving = server.serveForever();
  using conn = await Deno.connect(server.address);
  await conn.closeWrite();
  const reply = new TextDecoder().decode(await readToEnd(conn));
  assertEquals(reply, `127.0.0.1 ${(conn.localAddr as Deno.NetAddr).port}`);
  await server.shutdown();
  await serving;
});

Deno.test("types: a Unix handler gets a UnixAddr; a shared one serves TCP and Unix; a default one runs on Unix too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases = [
      { Handler: UnixPeer, reply: (text: string) => text === "unix unnamed" },
      { Handler: Shared, reply: (text: string) => text === "unix" },
      // Written for TCP and shared unchanged: the type says NetAddr, the transport tells.
      { Handler: TcpPort, reply: (text: string) => text === "undefined undefined" },
    ];
    for (const [i, c] of cases.entries()) {
      const path = `${dir}/${i}.sock`;
      await using server = new ThreadingUnixStreamServer({ path }, c.Handler);
      const serving = server.serveForever();
      const reply = await replyFrom({ transport: "unix", path });
      assert(c.reply(reply), `${c.Handler.name}: ${reply}`);
      await server.shutdown();
      await serving;
    }
    await using tcp = new ThreadingTCPServer(LOCALHOST, Shared);
    const serving = tcp.serveForever();
    assertEquals((await replyFrom(tcp.address)).startsWith("port "), true);
    await tcp.shutdown();
    await serving;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("types: `declare readonly server: CountingServer` reaches the subclass's fields", async () => {
  await using server = new CountingServer(LOCALHOST, Counted);
  const serving = server.serveForever();
  assertEquals(await replyFrom(server.address), "served 1");
  assertEquals(await replyFrom(server.address), "served 2");
  assertEquals(formatAddress(server.address).startsWith("127.0.0.1:"), true);
  await server.shutdown();
  await serving;
});
