// ProxiedConn over real sockets: the bytes that came after the PROXY header
// are read first, and everything else is the accepted connection's.

import { assertEquals, assertMatch, assertRejects, assertThrows } from "@std/assert";

import { parseProxyHeader, ProxiedConn, type ProxyHeader } from "@socketserver/core";
import { readToEnd } from "../support/clients.ts";

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const HEADER: ProxyHeader = parseProxyHeader(utf8.encode("PROXY UNKNOWN\r\n"))!;

/** A connected TCP pair on 127.0.0.1: [the client, the accepted end]. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  return [client, await listener.accept()];
}

Deno.test("ProxiedConn.read returns the leftover first, in pieces as small as the buffer", async () => {
  const [client, accepted] = await tcpPair();
  using _client = client;
  using conn = new ProxiedConn(accepted, HEADER, utf8.encode("hello"));
  await client.write(utf8.encode(" world"));
  await client.closeWrite();
  const small = new Uint8Array(3);
  assertEquals(await conn.read(small), 3);
  assertEquals(text(small), "hel");
  assertEquals(await conn.read(small), 2);
  assertEquals(text(small.subarray(0, 2)), "lo");
  assertEquals(text(await readToEnd(conn)), " world");
});

Deno.test("ProxiedConn copies the leftover: the caller may reuse its buffer", async () => {
  const [client, accepted] = await tcpPair();
  using _client = client;
  const buffer = utf8.encode("data");
  using conn = new ProxiedConn(accepted, HEADER, buffer);
  buffer.fill(0);
  const out = new Uint8Array(4);
  assertEquals(await conn.read(out), 4);
  assertEquals(text(out), "data");
});

Deno.test("ProxiedConn.readable yields the leftover, then the socket's bytes, to the end", async () => {
  const [client, accepted] = await tcpPair();
  using _client = client;
  const conn = new ProxiedConn(accepted, HEADER, utf8.encode("first "));
  await client.write(utf8.encode("second"));
  await client.closeWrite();
  assertEquals(conn.readable, conn.readable, "the same stream each time");
  let received = "";
  for await (const chunk of conn.readable) received += text(chunk);
  assertEquals(received, "first second");
  conn[Symbol.dispose](); // The stream closed the connection at its end: disposing again is harmless.
});

Deno.test("ProxiedConn.readable cancelled before any socket read closes the connection", async () => {
  const [client, accepted] = await tcpPair();
  using _client = client;
  const conn = new ProxiedConn(accepted, HEADER, utf8.encode("x"));
  const reader = conn.readable.getReader();
  assertEquals(text((await reader.read()).value!), "x");
  await reader.cancel();
  assertEquals(await client.read(new Uint8Array(1)), null);
  conn[Symbol.dispose]();
});

Deno.test("ProxiedConn without leftover: readable is the socket's own stream", async () => {
  const [client, accepted] = await tcpPair();
  using _client = client;
  const conn = new ProxiedConn(accepted, HEADER, new Uint8Array(0));
  assertEquals(conn.readable, accepted.readable);
  await client.write(utf8.encode("only"));
  await client.closeWrite();
  let received = "";
  for await (const chunk of conn.readable) received += text(chunk);
  assertEquals(received, "only");
});

Deno.test("ProxiedConn delegates write, writable, closeWrite, addresses, ref/unref and TCP options", async () => {
  const [client, accepted] = await tcpPair();
  using _client = client;
  using conn = new ProxiedConn(accepted, HEADER);
  assertEquals(conn.localAddr, accepted.localAddr);
  assertEquals(conn.remoteAddr, client.localAddr);
  assertEquals(conn.proxyHeader, HEADER);
  conn.setNoDelay(true);
  conn.setKeepAlive(true);
  conn.unref();
  conn.ref();
  assertEquals(await conn.write(utf8.encode("a")), 1);
  const writer = conn.writable.getWriter();
  await writer.write(utf8.encode("b"));
  writer.releaseLock();
  await conn.closeWrite();
  assertEquals(text(await readToEnd(client)), "ab");
});

Deno.test("ProxiedConn.close drops the leftover: a read after close fails like the socket's", async () => {
  const [client, accepted] = await tcpPair();
  using _client = client;
  const conn = new ProxiedConn(accepted, HEADER, utf8.encode("unread"));
  conn.close();
  await assertRejects(() => conn.read(new Uint8Array(8)), Deno.errors.BadResource);
  assertThrows(() => conn.close(), Deno.errors.BadResource);
  conn[Symbol.dispose]();
  assertEquals(await client.read(new Uint8Array(1)), null);
});

Deno.test("ProxiedConn over a Unix connection refuses TCP options with a TypeError", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/conn.sock`;
  try {
    using listener = Deno.listen({ transport: "unix", path });
    using client = await Deno.connect({ transport: "unix", path });
    using conn = new ProxiedConn(await listener.accept(), HEADER);
    assertThrows(() => conn.setNoDelay(true), TypeError);
    const error = assertThrows(() => conn.setKeepAlive(true));
    assertMatch(String(error), /Cannot call setKeepAlive: the connection is not TCP/);
    await client.write(utf8.encode("u"));
    const out = new Uint8Array(1);
    assertEquals(await conn.read(out), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
