// The reply guard of datagram servers over real UDP sockets: the
// amplification limit for unverified peers, the reflection rule that ends a
// bounce between two echo services, verifyPeer() lifting both, and the peer
// table staying bounded under a flood of forged sources.
//
// Every peer in these tests is on 127.0.0.1, which the default verifyPeer()
// trusts (the network cannot forge a loopback source); the servers here
// trust only the peers a test lists, as a server facing the internet would.

import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  AmplificationLimitError,
  type DatagramRequest,
  DatagramRequestHandler,
  formatAddress,
  ReflectedReplyError,
  type RequestHandlerClass,
  UDPServer,
  type UDPServerOptions,
} from "@socketserver/core";
import { MAX_TRACKED_PEERS, ReplyGuard } from "../../src/server/_reply_guard.ts";
import { DatagramClient, DatagramEcho } from "../support/datagrams.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const utf8 = new TextEncoder();

/** A UDPServer that trusts only the peers in `verified` and records what handleError gets. */
class PublicServer extends UDPServer {
  readonly verified = new Set<string>();
  readonly errors: unknown[] = [];
  readonly #reported: { count: number; resolve: () => void }[] = [];

  override verifyPeer(peer: Deno.Addr): boolean {
    return this.verified.has(formatAddress(peer));
  }

  override handleError(error: unknown): void {
    this.errors.push(error);
    for (const waiter of this.#reported) if (this.errors.length >= waiter.count) waiter.resolve();
  }

  /** Resolves once `count` errors in all were reported. */
  reported(count: number): Promise<void> {
    if (this.errors.length >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#reported.push({ count, resolve });
    return promise;
  }
}

/** Serves `Handler` on a PublicServer; runs `body`; stops it. */
async function withPublicServer(
  Handler: RequestHandlerClass<DatagramRequest, Deno.Addr>,
  options: UDPServerOptions,
  body: (server: PublicServer) => Promise<void>,
): Promise<void> {
  await using server = new PublicServer(LOCALHOST, Handler, options);
  const serving = server.serveForever();
  try {
    await body(server);
  } finally {
    await server.shutdown();
    await serving;
  }
}

/** Answers each datagram with 12 upper-cased copies of it: 12 times the bytes, as a "%c" time query. */
class TwelveFold extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    const upper = new TextDecoder().decode(this.packet).toUpperCase();
    for (let i = 0; i < 12; i++) await this.reply(upper);
  }
}

/** Receives datagrams until `last` arrives; returns those before it. */
async function receiveUntil(client: DatagramClient, last: string): Promise<string[]> {
  const before: string[] = [];
  for (let text = await client.receiveText(); text !== last; text = await client.receiveText()) {
    before.push(text);
  }
  return before;
}

Deno.test("reply guard: a 12-fold reply to an unverified peer is cut to amplificationFactor 3", async () => {
  await withPublicServer(TwelveFold, {}, async (server) => {
    await using client = DatagramClient.udp();
    await using witness = DatagramClient.udp();
    server.verified.add(formatAddress(witness.address));
    for (const request of ["a1", "a2", "a3", "a4"]) await client.send(request, server.address);
    // The sequential server answers in order: the witness's answer means the
    // four queries are done. Then the client is verified, so its next query
    // is answered in full, and marks the end of what the four got.
    assertEquals(await witness.exchange("w", server.address), "W");
    server.verified.add(formatAddress(client.address));
    await client.send("zz", server.address);
    const cut = await receiveUntil(client, "ZZ");
    // 8 bytes received: 24 bytes (12 two-byte replies) may go out, not 96.
    assertEquals(
      cut,
      [..."AAA"].map(() => "A1").concat(
        ["A2", "A2", "A2", "A3", "A3", "A3", "A4", "A4", "A4"],
      ),
    );
    assertEquals(cut.join("").length, 3 * 8);
    // 36 replies dropped: reported once (at most one report per 10 s), with the numbers.
    await server.reported(1);
    assertEquals(server.errors.length, 1);
    const [error] = server.errors;
    assertInstanceOf(error, AmplificationLimitError);
    assertInstanceOf(error, RangeError);
    assertEquals(
      [error.replyLength, error.sent, error.received, error.amplificationFactor, error.dropped],
      [2, 6, 2, 3, 1],
    );
    assertEquals(formatAddress(error.peer), formatAddress(client.address));
  });
});

Deno.test("reply guard: a verified peer is not limited", async () => {
  await withPublicServer(TwelveFold, {}, async (server) => {
    await using client = DatagramClient.udp();
    server.verified.add(formatAddress(client.address));
    await client.send("b", server.address);
    const replies = [];
    for (let i = 0; i < 12; i++) replies.push(await client.receiveText());
    assertEquals(replies, Array(12).fill("B"));
    assertEquals(server.errors, []);
  });
});

Deno.test("reply guard: amplificationFactor Infinity turns the limit off", async () => {
  await withPublicServer(TwelveFold, { amplificationFactor: Infinity }, async (server) => {
    await using client = DatagramClient.udp();
    await client.send("c", server.address);
    const replies = [];
    for (let i = 0; i < 12; i++) replies.push(await client.receiveText());
    assertEquals(replies, Array(12).fill("C"));
    assertEquals(server.errors, []);
  });
});

/** Echoes, except that "probe" is answered "ok": a marker that is not an echo. */
class EchoOrProbe extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    const text = new TextDecoder().decode(this.packet);
    await this.reply(text === "probe" ? "ok" : this.packet);
  }
}

Deno.test("reply guard: a datagram is answered with itself once per unverified peer, not again", async () => {
  await withPublicServer(EchoOrProbe, {}, async (server) => {
    await using client = DatagramClient.udp();
    assertEquals(await client.exchange("ping", server.address), "ping");
    await client.send("ping", server.address);
    // The sequential server answers in order: "ok" first means the second ping got nothing.
    assertEquals(await client.exchange("probe", server.address), "ok");
    await server.reported(1);
    const [error] = server.errors;
    assertInstanceOf(error, ReflectedReplyError);
    assertEquals([error.replyLength, error.dropped], [4, 1]);
  });
});

Deno.test("reply guard: two echo services stop bouncing a datagram after one round trip", async () => {
  // No amplification limit: the reflection rule alone must end the loop.
  const options = { amplificationFactor: Infinity };
  await withPublicServer(DatagramEcho, options, async (a) => {
    await withPublicServer(DatagramEcho, options, async (b) => {
      // As a forged datagram would: "x" reaches b as if a had sent it.
      await a.socket.send(utf8.encode("x"), b.address);
      // b echoes to a, a echoes back (each once), then b refuses to echo again.
      await b.reported(1);
      assertInstanceOf(b.errors[0], ReflectedReplyError);
      assertEquals([a.stats.requests, b.stats.requests], [1, 2]);
      assertEquals(a.errors, []);
    });
  });
});

Deno.test("reply guard: loopback peers are trusted by default, others are not", async () => {
  await using server = new UDPServer(LOCALHOST, DatagramEcho);
  const peer = (hostname: string) => ({ transport: "udp" as const, hostname, port: 5000 });
  for (const local of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    assert(server.verifyPeer(peer(local)), local);
  }
  for (const remote of ["192.0.2.1", "10.0.0.1", "::ffff:192.0.2.1", "2001:db8::1"]) {
    assert(!server.verifyPeer(peer(remote)), remote);
  }
  // So a loopback client is echoed again and again.
  const serving = server.serveForever();
  await using client = DatagramClient.udp();
  for (let i = 0; i < 3; i++) assertEquals(await client.exchange("again", server.address), "again");
  await server.shutdown();
  await serving;
});

Deno.test("reply guard: the peer table stays bounded under 10,000 forged sources", () => {
  const guard = new ReplyGuard();
  const datagram = new Uint8Array(2);
  guard.received("192.0.2.1:1", datagram);
  for (let i = 0; i < 10_000; i++) guard.received(`198.51.100.${i % 256}:${1024 + i}`, datagram);
  assertEquals(guard.size, MAX_TRACKED_PEERS);
  // The flood evicted the oldest peer: its credit is gone, so the guard got
  // stricter with it, never looser.
  assertEquals(guard.admit("192.0.2.1:1", new Uint8Array(1), 3), {
    reason: "amplification",
    sent: 0,
    received: 0,
  });
  // A peer still remembered keeps its credit: 2 bytes received, 6 may go out.
  assertEquals(guard.admit("198.51.100.15:11023", new Uint8Array(6), 3), undefined);
});

Deno.test("amplificationFactor: the static default, an option, and a refused value", async () => {
  await using plain = new UDPServer(LOCALHOST, DatagramEcho);
  await using loose = new UDPServer(LOCALHOST, DatagramEcho, { amplificationFactor: 10 });
  assertEquals([plain.amplificationFactor, loose.amplificationFactor], [3, 10]);
  assertThrows(
    () => new UDPServer(LOCALHOST, DatagramEcho, { amplificationFactor: -1 }),
    RangeError,
    "amplificationFactor -1 is not a number of 0 or more",
  );
});
