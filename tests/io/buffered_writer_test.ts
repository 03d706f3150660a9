// BufferedWriter: writes gathered into one destination write per batch.
// A fake destination shows every call it gets (and can hold a call until the
// test releases it); a real socket on 127.0.0.1 proves the same over Deno.Conn.

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";

import { FrameTooLongError, LengthPrefixedCodec, LinesCodec } from "@socketserver/core/framing";
import { BufferedWriter, WriteTimeoutError } from "@socketserver/core/io";
import { FakeDestination } from "../support/fake_source.ts";
import { concat } from "../support/wire.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** One turn of the event loop: every pending microtask and due timer runs. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Whether `promise` has settled after one turn of the event loop. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await tick();
  return done;
}

/** `length` bytes of a pattern that shows misordering. */
function pattern(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);
}

Deno.test("many small writes then flush leave in one destination write, in order", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  const expected: string[] = [];
  for (let i = 0; i < 500; i++) {
    expected.push(`reply ${i}\n`);
    await writer.write(`reply ${i}\n`);
  }
  assertEquals(destination.calls.length, 0);
  assertEquals(writer.buffered, expected.join("").length);
  await writer.flush();
  assertEquals(destination.calls.length, 1);
  assertEquals(text.decode(destination.calls[0]), expected.join(""));
  assertEquals(writer.buffered, 0);
  await writer.close();
});

Deno.test("strings are written as UTF-8", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  await writer.write("héllo ✓ ");
  await writer.write(Uint8Array.of(0xf0, 0x9f, 0x98, 0x80));
  await writer.write(" 日本");
  await writer.close();
  assertEquals(destination.received, utf8.encode("héllo ✓ 😀 日本"));
});

Deno.test("a write followed by no flush is still sent on its own", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  await writer.write("no flush follows");
  // No flush, no close: the writer's own timer must send it.
  await destination.receivedAtLeast(16);
  assertEquals(text.decode(destination.received), "no flush follows");
  await writer.close();
  assertEquals(destination.calls.length, 1);
});

Deno.test("a destination that takes 1 byte per call still gets every byte in order", async () => {
  const destination = new FakeDestination({ maxPerCall: 1 });
  const writer = new BufferedWriter(destination, { highWaterMark: 16 });
  const parts = [pattern(5, 1), pattern(40, 2), pattern(3, 3), pattern(17, 4)];
  for (const part of parts) await writer.write(part);
  await writer.close();
  assertEquals(destination.received, concat(parts));
  assert(destination.calls.every((call) => call.length === 1));
});

Deno.test("a chunk of highWaterMark bytes or more is passed through without a copy", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination, { highWaterMark: 64 });
  const big = pattern(64, 9);
  await writer.write("before");
  await writer.write(big);
  await writer.write("after");
  await writer.close();
  assertEquals(destination.calls.map((call) => call.length), [6, 64, 5]);
  assertEquals(
    destination.received,
    concat([utf8.encode("before"), big, utf8.encode("after")]),
  );
  const passed = destination.given[1];
  assertEquals(passed.buffer, big.buffer);
  assertEquals(passed.byteOffset, big.byteOffset);
});

Deno.test("buffered bytes, a large chunk and later bytes keep their order when not awaited", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination, { highWaterMark: 32 });
  const big = pattern(100, 5);
  const writes = [writer.write("a1"), writer.write(big), writer.write("b2"), writer.write(big)];
  await Promise.all(writes);
  await writer.close();
  assertEquals(
    destination.received,
    concat([utf8.encode("a1"), big, utf8.encode("b2"), big]),
  );
});

interface InFlightCase {
  name: string;
  /** What is written while the first write is held. */
  during: Uint8Array[];
}

const inFlightCases: InFlightCase[] = [
  { name: "small appends that fit the buffer", during: [utf8.encode("two"), utf8.encode("three")] },
  { name: "an append that makes the buffer grow", during: [utf8.encode("two"), pattern(6000)] },
  { name: "a large chunk, then a small append", during: [utf8.encode("two"), pattern(70_000)] },
  { name: "a large chunk alone, then small ones", during: [pattern(70_000), utf8.encode("x")] },
];

for (const c of inFlightCases) {
  Deno.test(`appends made during a flush are sent after it, in order: ${c.name}`, async () => {
    const destination = new FakeDestination({ held: true });
    const writer = new BufferedWriter(destination);
    await writer.write("one");
    const flushing = writer.flush();
    assertEquals(destination.held, 1);
    const writes = [...c.during, utf8.encode("last")].map((bytes) => writer.write(bytes));
    // Release calls one at a time until everything written has gone out.
    while (!(await settled(Promise.all([flushing, ...writes])))) destination.release();
    await writer.close();
    assertEquals(text.decode(destination.calls[0]), "one");
    assertEquals(
      destination.received,
      concat([utf8.encode("one"), ...c.during, utf8.encode("last")]),
    );
  });
}

Deno.test("backpressure: write() does not resolve while highWaterMark bytes are unsent", async () => {
  const destination = new FakeDestination({ held: true });
  const writer = new BufferedWriter(destination, { highWaterMark: 8 });
  // Below the mark: returns at once, nothing sent yet.
  await writer.write("12345");
  assertEquals(destination.calls.length, 0);
  const atMark = writer.write("678");
  assertEquals(destination.held, 1);
  assertEquals(await settled(atMark), false);
  // More writes while the socket is stuck wait too.
  const more = writer.write("9");
  assertEquals(await settled(more), false);
  assertEquals(writer.buffered, 9);
  destination.release();
  // The first call took "12345678"; "9" goes in a second, still held.
  assertEquals(await settled(atMark), false);
  assertEquals(destination.held, 1);
  destination.release();
  await Promise.all([atMark, more]);
  assertEquals(writer.buffered, 0);
  assertEquals(text.decode(destination.received), "123456789");
  await writer.close();
});

Deno.test("an error from the destination rejects flush and every later call", async () => {
  const broken = new Deno.errors.BrokenPipe("peer went away");
  const writer = new BufferedWriter(new FakeDestination({ error: broken }));
  await writer.write("doomed");
  assertStrictEquals(await assertRejects(() => writer.flush()), broken);
  assertStrictEquals(await assertRejects(() => writer.write("more")), broken);
  assertStrictEquals(await assertRejects(() => writer.flush()), broken);
  assertStrictEquals(
    await assertRejects(() => writer.writeFrame(new LinesCodec(), "frame")),
    broken,
  );
  assertStrictEquals(await assertRejects(() => writer.close()), broken);
});

Deno.test("an error from a send the timer started is reported by the next call", async () => {
  const broken = new Deno.errors.ConnectionReset("reset by peer");
  const destination = new FakeDestination({ error: broken });
  const writer = new BufferedWriter(destination);
  await writer.write("sent by the timer");
  // Nothing awaits the timer's flush; the next write must still see its error.
  for (let turn = 0; turn < 100 && destination.given.length === 0; turn++) await tick();
  assertEquals(destination.given.length, 1);
  assertStrictEquals(await assertRejects(() => writer.write("more")), broken);
  assertStrictEquals(await assertRejects(() => writer.close()), broken);
});

Deno.test("close() flushes; a write after close rejects with BadResource", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  await writer.write("last words");
  await writer.close();
  assertEquals(text.decode(destination.received), "last words");
  await assertRejects(() => writer.write("too late"), Deno.errors.BadResource);
  await assertRejects(() => writer.flush(), Deno.errors.BadResource);
  assertEquals(destination.calls.length, 1);
});

interface TimeoutCase {
  name: string;
  /** How many bytes the destination takes before it stops answering. */
  accepted: number;
  write: number;
}

const timeoutCases: TimeoutCase[] = [
  { name: "nothing taken", accepted: 0, write: 10 },
  { name: "part taken, then stuck", accepted: 4, write: 10 },
];

for (const c of timeoutCases) {
  Deno.test(`writeTimeout: a stuck destination is a WriteTimeoutError (${c.name})`, async () => {
    const destination = new FakeDestination({ held: true, maxPerCall: c.accepted || Infinity });
    const writer = new BufferedWriter(destination, { writeTimeout: 0.02 });
    await writer.write(pattern(c.write));
    const flushing = writer.flush();
    if (c.accepted > 0) {
      // The first call is answered at once with a partial count; the second hangs.
      destination.release();
    }
    const error = await assertRejects(() => flushing, WriteTimeoutError);
    assertInstanceOf(error, Deno.errors.TimedOut);
    assertEquals(error.timeout, 0.02);
    assertEquals(error.unsent, c.write - c.accepted);
    await assertRejects(() => writer.write("more"), WriteTimeoutError);
    destination.releaseAll();
    await assertRejects(() => writer.close(), WriteTimeoutError);
  });
}

Deno.test("writeFrame encodes into the buffer: header and payload in one write", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  await writer.writeFrame(new LengthPrefixedCodec(), utf8.encode("hello"));
  await writer.writeFrame(new LinesCodec(), "a line");
  await writer.writeFrame(new LengthPrefixedCodec(), new Uint8Array(0));
  await writer.close();
  assertEquals(destination.calls.length, 1);
  assertEquals(
    destination.received,
    concat([
      Uint8Array.of(0, 0, 0, 5),
      utf8.encode("hello"),
      utf8.encode("a line\n"),
      Uint8Array.of(0, 0, 0, 0),
    ]),
  );
});

Deno.test("writeFrame: a frame the codec refuses throws and leaves the writer usable", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  const strict = new LengthPrefixedCodec({ maxFrameLength: 2 });
  await assertRejects(async () => await writer.writeFrame(strict, pattern(3)), RangeError);
  await writer.write("still fine");
  await writer.close();
  assertEquals(text.decode(destination.received), "still fine");
});

Deno.test("over a real socket: small and large writes arrive whole and in order", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  using _client = client;
  using _server = server;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) {
    parts.push(utf8.encode(`message ${i}\n`));
    if (i % 50 === 0) parts.push(pattern(200_000, i));
  }
  const reading = (async () => {
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    for (let count = await server.read(buffer); count !== null; count = await server.read(buffer)) {
      chunks.push(buffer.slice(0, count));
    }
    return concat(chunks);
  })();
  const writer = new BufferedWriter(client, { highWaterMark: 4096 });
  for (const part of parts) await writer.write(part);
  await writer.close();
  await client.closeWrite();
  const received = await reading;
  const expected = concat(parts);
  assertEquals(received.length, expected.length);
  assertEquals(received.findIndex((byte, i) => byte !== expected[i]), -1);
});

Deno.test("close() twice is harmless, and a refused frame rejects instead of throwing", async () => {
  const sent: number[] = [];
  const writer = new BufferedWriter({
    write: (p) => (sent.push(p.length), Promise.resolve(p.length)),
  });
  const tiny = new LengthPrefixedCodec({ lengthFieldLength: 1 });
  const refused = writer.writeFrame(tiny, new Uint8Array(300)); // 300 does not fit one byte.
  assert(refused instanceof Promise);
  await assertRejects(() => refused, FrameTooLongError);
  await writer.writeFrame(tiny, new Uint8Array(2));
  await writer.close();
  await writer.close();
  assertEquals(sent, [3]);
});

// --- appendFrame and cork ----------------------------------------------------------

Deno.test("appendFrame encodes with no promise; a refused frame throws at once", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  const codec = new LengthPrefixedCodec({ maxFrameLength: 8 });
  assertEquals(writer.appendFrame(codec, utf8.encode("abc")), undefined);
  const error = assertThrows(
    () => writer.appendFrame(codec, utf8.encode("far too long")),
    FrameTooLongError,
  );
  assertEquals(error.length, 12);
  writer.appendFrame(codec, utf8.encode("def"));
  await writer.close();
  assertEquals(destination.calls.length, 1);
  assertEquals(
    destination.received,
    Uint8Array.of(0, 0, 0, 3, 97, 98, 99, 0, 0, 0, 3, 100, 101, 102),
  );
});

Deno.test("appendFrame past highWaterMark starts sending without waiting", async () => {
  const destination = new FakeDestination({ held: true });
  const writer = new BufferedWriter(destination, { highWaterMark: 8 });
  const lines = new LinesCodec();
  writer.appendFrame(lines, "abc");
  assertEquals(destination.held, 0);
  writer.appendFrame(lines, "defgh");
  // 10 bytes: a send is under way, and appendFrame returned before it finished.
  assertEquals(destination.held, 1);
  assertEquals(writer.buffered, 10);
  destination.releaseAll();
  await writer.close();
  assertEquals(text.decode(destination.received), "abc\ndefgh\n");
});

Deno.test("appendFrame after a failed send throws that error", async () => {
  const broken = new Deno.errors.BrokenPipe("gone");
  const writer = new BufferedWriter(new FakeDestination({ error: broken }));
  writer.appendFrame(new LinesCodec(), "lost");
  assertStrictEquals(await assertRejects(() => writer.flush()), broken);
  assertStrictEquals(assertThrows(() => writer.appendFrame(new LinesCodec(), "more")), broken);
  assertStrictEquals(await assertRejects(() => writer.close()), broken);
});

Deno.test("cork holds back the flush a write gets on its own; uncork gives it back", async () => {
  const destination = new FakeDestination();
  const writer = new BufferedWriter(destination);
  writer.cork();
  await writer.write("held");
  await tick();
  await tick();
  assertEquals(destination.calls.length, 0, "nothing is sent while corked");
  writer.uncork();
  await destination.receivedAtLeast(4);
  assertEquals(text.decode(destination.received), "held");
  await writer.close();
});
