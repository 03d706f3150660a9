// UnixDatagramServer and ThreadingUnixDatagramServer on socket files in a
// temp dir: round trips with Deno and python3 AF_UNIX SOCK_DGRAM clients,
// replies while the server is receiving (Deno's unixpacket socket cannot do
// both at once by itself), unbound senders, socket files, oversized datagrams.

import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import {
  DatagramRequestHandler,
  DatagramTooLongError,
  ThreadingUnixDatagramServer,
  UnixDatagramServer,
} from "@socketserver/core";
import { DatagramClient, DatagramEcho, pythonExchange, slowEcho } from "../support/datagrams.ts";

const KINDS = [
  { name: "UnixDatagramServer", Server: UnixDatagramServer },
  { name: "ThreadingUnixDatagramServer", Server: ThreadingUnixDatagramServer },
];

/** Runs `body` with a fresh temp dir, removed afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const { name, Server } of KINDS) {
  Deno.test(`${name}: echo round trips with a Deno client; the socket file is removed on close`, () =>
    inTempDir(async (dir) => {
      const path = `${dir}/server.sock`;
      const server = new Server({ path }, DatagramEcho);
      assertEquals(server.address, { transport: "unixpacket", path });
      assert(Deno.lstatSync(path).isSocket);
      const serving = server.serveForever();
      {
        await using client = DatagramClient.unix(`${dir}/client.sock`);
        for (const text of ["hello", "two\nlines\n", "", "x".repeat(60_000)]) {
          assertEquals(await client.exchange(text, server.address), text);
        }
      }
      await server.shutdown();
      await serving;
      await server.serverClose();
      assertThrows(() => Deno.lstatSync(path), Deno.errors.NotFound);
    }));

  Deno.test(`${name}: python3 AF_UNIX SOCK_DGRAM clients, bound and connected`, () =>
    inTempDir(async (dir) => {
      const path = `${dir}/server.sock`;
      await using server = new Server({ path }, DatagramEcho);
      const serving = server.serveForever();
      const bound = await pythonExchange(
        { family: "unix", path, bind: `${dir}/py-bound.sock` },
        ["ping", "from python"],
      );
      assertEquals(bound, ["ping", "from python"]);
      // A connected socket accepts datagrams from the server's path only: the
      // reply really comes from the server's own socket.
      const connected = await pythonExchange(
        { family: "unix", path, bind: `${dir}/py-connected.sock`, connect: true },
        ["connected ping"],
      );
      assertEquals(connected, ["connected ping"]);
      await server.shutdown();
      await serving;
    }));
}

Deno.test("ThreadingUnixDatagramServer: 400 datagrams from 8 senders while it keeps receiving", () =>
  inTempDir(async (dir) => {
    const { SlowEcho, overlap } = slowEcho();
    await using server = new ThreadingUnixDatagramServer({ path: `${dir}/server.sock` }, SlowEcho);
    const serving = server.serveForever();
    // Lock-step per sender: a Deno unixpacket client cannot send while it receives.
    const senders = Array.from({ length: 8 }, async (_, id) => {
      await using client = DatagramClient.unix(`${dir}/client-${id}.sock`);
      for (let i = 0; i < 50; i++) {
        assertEquals(await client.exchange(`${id}:${i}`, server.address), `${id}:${i} ok`);
      }
    });
    await Promise.all(senders);
    assert(overlap.max > 1, `handlers never overlapped (max ${overlap.max})`);
    await server.shutdown();
    await serving;
  }));

Deno.test("UnixDatagramServer: replies sent at once from one handler all go out", () =>
  inTempDir(async (dir) => {
    class Burst extends DatagramRequestHandler {
      override async handle(): Promise<void> {
        // Deno alone would fail the second send with "Busy": sends are queued.
        await Promise.all([this.reply("one"), this.reply("two"), this.reply("three")]);
      }
    }
    await using server = new UnixDatagramServer({ path: `${dir}/server.sock` }, Burst);
    const serving = server.serveForever();
    await using client = DatagramClient.unix(`${dir}/client.sock`);
    await client.send("go", server.address);
    const replies = [
      await client.receiveText(),
      await client.receiveText(),
      await client.receiveText(),
    ];
    assertEquals(replies, ["one", "two", "three"]);
    await server.shutdown();
    await serving;
  }));

Deno.test("UnixDatagramServer: an unbound sender is served but cannot be answered", () =>
  inTempDir(async (dir) => {
    const errors: unknown[] = [];
    const senders: Deno.Addr[] = [];
    class Recording extends UnixDatagramServer {
      override handleError(error: unknown): void {
        errors.push(error);
      }
    }
    class Noting extends DatagramEcho {
      override async handle(): Promise<void> {
        senders.push(this.clientAddress);
        await super.handle();
      }
    }
    await using server = new Recording({ path: `${dir}/server.sock` }, Noting);
    const serving = server.serveForever();
    const unbound = Deno.listenDatagram({ transport: "unixpacket" });
    try {
      await unbound.send(new TextEncoder().encode("anonymous"), server.address);
    } finally {
      unbound.close();
    }
    await using client = DatagramClient.unix(`${dir}/client.sock`);
    assertEquals(await client.exchange("marker", server.address), "marker");
    assertEquals(senders[0], { transport: "unixpacket", path: "" });
    assertEquals(errors.length, 1);
    assert(errors[0] instanceof TypeError);
    assertMatch(errors[0].message, /not bound to a path/);
    await server.shutdown();
    await serving;
  }));

Deno.test("UnixDatagramServer: a stale socket file is replaced, a live one is refused", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/server.sock`;
    // A crashed server's leftover: a socket file no socket holds.
    Deno.listenDatagram({ transport: "unixpacket", path }).close();
    assert(Deno.lstatSync(path).isSocket);
    await using server = new UnixDatagramServer({ path }, DatagramEcho);
    assertThrows(() => new UnixDatagramServer({ path }, DatagramEcho), Deno.errors.AddrInUse);
    // The refused bind did not take the live server's file.
    assert(Deno.lstatSync(path).isSocket);
    const serving = server.handleRequest();
    await using client = DatagramClient.unix(`${dir}/client.sock`);
    assertEquals(await client.exchange("still served", server.address), "still served");
    await serving;
  }));

Deno.test("UnixDatagramServer: a datagram over the 64 KiB default needs a larger maxPacketSize", () =>
  inTempDir(async (dir) => {
    class Length extends DatagramRequestHandler {
      override async handle(): Promise<void> {
        await this.reply(String(this.packet.length));
      }
    }
    // Unix datagrams, unlike UDP ones, may exceed 65535 bytes.
    await using server = new UnixDatagramServer({ path: `${dir}/server.sock` }, Length, {
      maxPacketSize: 200_000,
    });
    const serving = server.serveForever();
    await using client = DatagramClient.unix(`${dir}/client.sock`);
    assertEquals(await client.exchange(new Uint8Array(150_000), server.address), "150000");
    await server.shutdown();
    await serving;
  }));

Deno.test("UnixDatagramServer: a datagram over maxPacketSize is reported, the next answered", () =>
  inTempDir(async (dir) => {
    const errors: unknown[] = [];
    class Recording extends UnixDatagramServer {
      override handleError(error: unknown): void {
        errors.push(error);
      }
    }
    await using server = new Recording({ path: `${dir}/server.sock` }, DatagramEcho, {
      maxPacketSize: 1000,
    });
    const serving = server.serveForever();
    await using client = DatagramClient.unix(`${dir}/client.sock`);
    await client.send("y".repeat(5000), server.address);
    assertEquals(await client.exchange("marker", server.address), "marker");
    assertEquals(errors.length, 1);
    assert(errors[0] instanceof DatagramTooLongError);
    await server.shutdown();
    await serving;
  }));

Deno.test("ThreadingUnixDatagramServer: serverClose lets a running handler reply before the socket closes", () =>
  inTempDir(async (dir) => {
    const started = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    class Late extends DatagramRequestHandler {
      override async handle(): Promise<void> {
        started.resolve();
        await release.promise;
        await this.reply("late reply");
      }
    }
    const path = `${dir}/server.sock`;
    const server = new ThreadingUnixDatagramServer({ path }, Late);
    const serving = server.serveForever();
    await using client = DatagramClient.unix(`${dir}/client.sock`);
    await client.send("hi", server.address);
    await started.promise;
    await server.shutdown();
    await serving;
    // The server stopped receiving, but a receive is still pending on the
    // socket: the reply must get past it.
    const closing = server.serverClose();
    release.resolve();
    await closing;
    assertEquals(await client.receiveText(), "late reply");
    assertThrows(() => Deno.lstatSync(path), Deno.errors.NotFound);
  }));
