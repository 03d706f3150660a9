// BufferedReader: bytes, lines and frames from one reused buffer. Fake
// sources control exactly how bytes are split into reads; real sockets on
// 127.0.0.1 prove the same over Deno.Conn.

import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import {
  encodeFrame,
  FrameTooLongError,
  IncompleteFrameError,
  LengthPrefixedCodec,
  LinesCodec,
} from "@socketserver/core/framing";
import { BufferedReader, type ByteSource, ReadTimeoutError } from "@socketserver/core/io";
import { FakeSource } from "../support/fake_source.ts";
import { concat } from "../support/wire.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** `bytes` cut into chunks whose sizes cycle through `sizes`. */
function split(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length];
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Byte equality with a short message: a diff of a megabyte would take minutes. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  assertEquals(at, -1, `${what}: first difference at index ${at}`);
}

/** A connected TCP pair on 127.0.0.1: `client` writes, `server` is read. */
async function tcpPair(): Promise<{ client: Deno.Conn; server: Deno.Conn } & Disposable> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  return {
    client,
    server,
    [Symbol.dispose]() {
      client.close();
      server.close();
    },
  };
}

// --- read(max) ---------------------------------------------------------------

Deno.test("read(max) returns what is buffered without waiting, then null at EOF", async () => {
  const source = FakeSource.of("hello world");
  const reader = new BufferedReader(source);
  assertEquals(text.decode((await reader.read(5))!), "hello");
  assertEquals(reader.buffered, 6);
  // Less than asked for, and no second socket read: " world" was already here.
  assertEquals(text.decode((await reader.read(100))!), " world");
  assertEquals(source.reads, 1);
  assertEquals(await reader.read(), null);
  assertEquals(await reader.read(), null);
  assert(reader.atEof);
});

Deno.test("read() with nothing buffered waits for the next chunk and returns only it", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source);
  const reading = reader.read();
  source.push("late");
  assertEquals(text.decode((await reading)!), "late");
  source.end();
  assertEquals(await reader.read(), null);
});

// --- readExactly ---------------------------------------------------------------

interface ExactlyCase {
  name: string;
  chunks: string[];
  n: number;
  expected?: string;
  /** [received, expected] of the IncompleteFrameError. */
  incomplete?: [number, number];
}

const exactlyCases: ExactlyCase[] = [
  { name: "all in one chunk", chunks: ["abcdefgh"], n: 8, expected: "abcdefgh" },
  { name: "one byte a chunk", chunks: [..."abcdefgh"], n: 8, expected: "abcdefgh" },
  { name: "across uneven chunks", chunks: ["ab", "cde", "f", "ghij"], n: 8, expected: "abcdefgh" },
  { name: "zero bytes", chunks: ["ab"], n: 0, expected: "" },
  { name: "EOF after some bytes", chunks: ["ab", "c"], n: 5, incomplete: [3, 5] },
  { name: "EOF before any byte", chunks: [], n: 4, incomplete: [0, 4] },
];

for (const c of exactlyCases) {
  Deno.test(`readExactly: ${c.name}`, async () => {
    const reader = new BufferedReader(FakeSource.of(...c.chunks), { bufferSize: 4 });
    if (c.incomplete === undefined) {
      assertEquals(text.decode(await reader.readExactly(c.n)), c.expected);
      return;
    }
    const error = await assertRejects(() => reader.readExactly(c.n), IncompleteFrameError);
    assertEquals(error.received, c.incomplete![0]);
    assertEquals(error.expected, c.incomplete![1]);
  });
}

Deno.test("readExactly leaves the bytes after it for the next read", async () => {
  const reader = new BufferedReader(FakeSource.of("abc", "defg", "hi"));
  assertEquals(text.decode(await reader.readExactly(5)), "abcde");
  assertEquals(text.decode(await reader.readExactly(3)), "fgh");
  assertEquals(text.decode((await reader.read())!), "i");
  assertEquals(await reader.read(), null);
});

// --- readline and lines() ------------------------------------------------------

interface LineCase {
  name: string;
  chunks: string[];
  lines: string[];
}

const lineCases: LineCase[] = [
  { name: '"\\n" is stripped', chunks: ["one\ntwo\n"], lines: ["one", "two"] },
  { name: '"\\r\\n" is stripped', chunks: ["one\r\ntwo\r\n"], lines: ["one", "two"] },
  { name: '"\\r\\n" split across chunks', chunks: ["one\r", "\ntwo\n"], lines: ["one", "two"] },
  { name: "a line across many chunks", chunks: ["th", "re", "e\n"], lines: ["three"] },
  { name: "empty lines", chunks: ["\n\r\n"], lines: ["", ""] },
  { name: "the last line needs no newline", chunks: ["a\nlast"], lines: ["a", "last"] },
  { name: "UTF-8 split inside a character", chunks: ["h\xc3", "\xa9\n"], lines: ["hé"] },
  { name: "no bytes at all", chunks: [], lines: [] },
];

/** Latin-1 escapes in a case's chunks stand for raw bytes. */
function raw(chunk: string): Uint8Array {
  return Uint8Array.from(chunk, (char) => char.charCodeAt(0));
}

for (const c of lineCases) {
  Deno.test(`readline: ${c.name}`, async () => {
    const reader = new BufferedReader(FakeSource.of(...c.chunks.map(raw)));
    const lines: string[] = [];
    for (let line = await reader.readline(); line !== null; line = await reader.readline()) {
      lines.push(line);
    }
    assertEquals(lines, c.lines);
    assertEquals(await reader.readline(), null);
  });

  Deno.test(`lines(): ${c.name}`, async () => {
    const reader = new BufferedReader(FakeSource.of(...c.chunks.map(raw)));
    assertEquals(await Array.fromAsync(reader.lines()), c.lines);
  });
}

Deno.test("readline accepts a line of exactly its limit and refuses a longer one", async () => {
  const reader = new BufferedReader(FakeSource.of("abcd\n", "abcde\n"));
  assertEquals(await reader.readline(4), "abcd");
  const error = await assertRejects(() => reader.readline(4), FrameTooLongError);
  assertInstanceOf(error, RangeError);
  assertEquals(error.maxFrameLength, 4);
});

Deno.test("readline refuses an endless line once past its limit, before EOF", async () => {
  // The source never ends: the error must come from the limit, not from EOF.
  const source = new FakeSource();
  for (let i = 0; i < 10; i++) source.push("x".repeat(100));
  const reader = new BufferedReader(source);
  await assertRejects(() => reader.readline(256), FrameTooLongError);
  source.end();
});

Deno.test("lines() and readline mix: text after a line is kept for the next call", async () => {
  const reader = new BufferedReader(FakeSource.of("first\nsec", "ond\nthird"));
  assertEquals(await reader.readline(), "first");
  assertEquals(await Array.fromAsync(reader.lines()), ["second", "third"]);
});

// --- Python parity: read to end of stream, bytes lines -------------------------------

Deno.test("read() is one chunk, as socket.recv() (Python's read1), not everything to the end", async () => {
  const reader = new BufferedReader(FakeSource.of("first ", "second"));
  assertEquals(text.decode((await reader.read())!), "first ");
  assertEquals(text.decode((await reader.read())!), "second");
  assertEquals(await reader.read(), null);
});

Deno.test("readAll: everything until end of stream, as Python's rfile.read(); past its limit, FrameTooLongError", async (t) => {
  await t.step("within the limit", async () => {
    const reader = new BufferedReader(FakeSource.of("GET / ", "HTTP/1.0\r\n", "\r\n"));
    assertEquals(text.decode(await reader.readAll(64)), "GET / HTTP/1.0\r\n\r\n");
    assertEquals(await reader.readAll(64), new Uint8Array(0), "nothing left: empty");
  });
  await t.step("a stream longer than the limit", async () => {
    const reader = new BufferedReader(FakeSource.of("x".repeat(40), "x".repeat(40)), {
      bufferSize: 16,
    });
    const error = await assertRejects(() => reader.readAll(64), FrameTooLongError);
    assertEquals(error.maxFrameLength, 64);
    assert(error.length > 64);
  });
});

Deno.test("readlineBytes: bytes with their newline as Python's readline(), null at end of stream, too long fails", async (t) => {
  await t.step("lines and a last one without a newline", async () => {
    const reader = new BufferedReader(
      FakeSource.of("one\r\ntw", "o\n", new Uint8Array([0xff, 0xfe, 0x0a]), "last"),
    );
    const lines = [];
    for (let line; (line = await reader.readlineBytes()) !== null;) lines.push(line);
    assertEquals(lines.map((line) => Array.from(line)), [
      Array.from(utf8.encode("one\r\n")),
      Array.from(utf8.encode("two\n")),
      // Not UTF-8 text: bytes pass through, as Python's.
      [0xff, 0xfe, 0x0a],
      Array.from(utf8.encode("last")),
    ]);
  });
  await t.step("a line longer than the limit", async () => {
    const reader = new BufferedReader(FakeSource.of("a".repeat(20) + "\n"));
    const error = await assertRejects(() => reader.readlineBytes(8), FrameTooLongError);
    assertEquals(error.maxFrameLength, 8);
  });
});

// --- frames ------------------------------------------------------------------

const lengthPrefixed = new LengthPrefixedCodec();

/** The wire bytes of `payloads` as 4-byte length-prefixed frames. */
function lengthFrames(payloads: Uint8Array[]): Uint8Array {
  return concat(payloads.map((payload) => encodeFrame(lengthPrefixed, payload)));
}

Deno.test("frames(): many length-prefixed frames in one chunk take one socket read", async () => {
  const payloads = Array.from({ length: 100 }, (_, i) => utf8.encode(`frame ${i}`));
  const source = FakeSource.of(lengthFrames(payloads));
  const reader = new BufferedReader(source, { bufferSize: 4096 });
  const frames = await Array.fromAsync(reader.frames(lengthPrefixed));
  assertEquals(frames.map((frame) => text.decode(frame)), payloads.map((p) => text.decode(p)));
  // One read for the chunk, one that saw EOF.
  assertEquals(source.reads, 2);
});

Deno.test("frames(): many lines in one chunk with LinesCodec", async () => {
  const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
  const source = FakeSource.of(lines.join("\r\n") + "\r\n");
  const reader = new BufferedReader(source, { bufferSize: 4096 });
  assertEquals(await Array.fromAsync(reader.frames(new LinesCodec())), lines);
  assertEquals(source.reads, 2);
});

Deno.test("readFrame and frames() share one decoder: a header read by one is used by the other", async () => {
  const wire = lengthFrames([utf8.encode("one"), utf8.encode("two"), utf8.encode("three")]);
  // Cut inside the second frame's payload, so the decoder holds its header.
  const reader = new BufferedReader(FakeSource.of(wire.subarray(0, 9), wire.subarray(9)));
  const decoder = lengthPrefixed.decoder();
  assertEquals(text.decode((await reader.readFrame(decoder))!), "one");
  const rest = await Array.fromAsync(reader.frames(decoder));
  assertEquals(rest.map((frame) => text.decode(frame)), ["two", "three"]);
  assertEquals(await reader.readFrame(decoder), undefined);
});

Deno.test("readFrame: EOF inside a frame is an IncompleteFrameError", async () => {
  const wire = lengthFrames([utf8.encode("hello")]);
  const reader = new BufferedReader(FakeSource.of(wire.subarray(0, 6)));
  await assertRejects(() => reader.readFrame(lengthPrefixed.decoder()), IncompleteFrameError);
});

Deno.test("a frame larger than the initial buffer arrives intact", async () => {
  const payload = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7 + 3) & 0xff);
  const wire = lengthFrames([payload, utf8.encode("after")]);
  const reader = new BufferedReader(FakeSource.of(...split(wire, [1000, 17, 4096])), {
    bufferSize: 16,
  });
  const frames = await Array.fromAsync(reader.frames(lengthPrefixed));
  assertEquals(frames.length, 2);
  assertSameBytes(frames[0], payload);
  assertEquals(text.decode(frames[1]), "after");
});

// --- zero-copy safety -------------------------------------------------------------

/** Frame `i`: its index, then `i % 29` bytes that depend on `i`. */
function distinctPayload(i: number): Uint8Array {
  const payload = new Uint8Array(4 + (i % 29));
  new DataView(payload.buffer).setUint32(0, i);
  for (let k = 4; k < payload.length; k++) payload[k] = (i * 31 + k) & 0xff;
  return payload;
}

Deno.test("zero-copy: 5000 frames handed out stay intact after every later read", async () => {
  const payloads = Array.from({ length: 5000 }, (_, i) => distinctPayload(i));
  const chunks = split(lengthFrames(payloads), [1, 7, 3, 64, 13, 200, 5]);
  const reader = new BufferedReader(FakeSource.of(...chunks), { bufferSize: 16 });
  const decoder = lengthPrefixed.decoder();
  const iterator = reader.frames(decoder);
  const kept: Uint8Array[] = [];
  // Both ways of reading frames, taking turns on one decoder; every view is kept.
  for (let i = 0;; i++) {
    const frame = i % 2 === 0
      ? await reader.readFrame(decoder)
      : await iterator.next().then((next) => next.done ? undefined : next.value);
    if (frame === undefined) break;
    kept.push(frame);
  }
  assertEquals(kept.length, payloads.length);
  // Checked only now, after thousands of reads and buffer moves.
  for (let i = 0; i < kept.length; i++) assertSameBytes(kept[i], payloads[i], `frame ${i}`);
});

Deno.test("zero-copy: chunks from read() and readExactly() stay intact after later reads", async () => {
  const sent = Uint8Array.from({ length: 60_000 }, (_, i) => (i * 13 + (i >> 8)) & 0xff);
  const reader = new BufferedReader(FakeSource.of(...split(sent, [3, 50, 1, 999, 20])), {
    bufferSize: 16,
  });
  const kept: Uint8Array[] = [];
  for (let i = 0;; i++) {
    // readExactly of bytes already buffered is a view too, like read().
    const exact = Math.min(1 + (i % 37), reader.buffered);
    const piece = i % 2 === 1 && exact > 0
      ? await reader.readExactly(exact)
      : await reader.read(1 + (i % 40));
    if (piece === null) break;
    kept.push(piece);
  }
  assert(kept.length > 2000);
  assertSameBytes(concat(kept), sent);
});

// --- beforeWait ----------------------------------------------------------------

Deno.test("beforeWait runs before each socket read and not while a frame is buffered", async () => {
  const wire = lengthFrames([utf8.encode("a"), utf8.encode("b"), utf8.encode("c")]);
  const source = FakeSource.of(wire, wire);
  let waits = 0;
  const reader = new BufferedReader(source, {
    beforeWait: () => {
      waits++;
      assertEquals(source.reads, waits - 1, "beforeWait must come before its read");
    },
  });
  const decoder = lengthPrefixed.decoder();
  assertEquals(text.decode((await reader.readFrame(decoder))!), "a");
  assertEquals(waits, 1);
  // Already buffered: no wait, no hook.
  assertEquals(text.decode((await reader.readFrame(decoder))!), "b");
  assertEquals(text.decode((await reader.readFrame(decoder))!), "c");
  assertEquals(waits, 1);
  assertEquals((await Array.fromAsync(reader.frames(decoder))).length, 3);
  // The second chunk and the EOF read each waited once more.
  assertEquals(waits, 3);
  assertEquals(source.reads, 3);
});

Deno.test("beforeWait is awaited before the socket is read", async () => {
  const source = FakeSource.of("x");
  const hook = Promise.withResolvers<void>();
  const reader = new BufferedReader(source, { beforeWait: () => hook.promise });
  const reading = reader.read();
  await Promise.resolve();
  assertEquals(source.reads, 0);
  hook.resolve();
  assertEquals(text.decode((await reading)!), "x");
});

Deno.test("beforeWait over a real socket: one call before every read, none in between", async () => {
  using pair = await tcpPair();
  const events: string[] = [];
  const counted: ByteSource = {
    read(p) {
      events.push("read");
      return pair.server.read(p);
    },
  };
  const reader = new BufferedReader(counted, { beforeWait: () => void events.push("wait") });
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i}`);
  const writing = (async () => {
    for (let i = 0; i < lines.length; i += 20) {
      await pair.client.write(utf8.encode(lines.slice(i, i + 20).join("\n") + "\n"));
    }
    await pair.client.closeWrite();
  })();
  assertEquals(await Array.fromAsync(reader.lines()), lines);
  await writing;
  const reads = events.filter((event) => event === "read").length;
  assert(reads >= 2);
  assertEquals(events, Array.from({ length: reads }, () => ["wait", "read"]).flat());
});

// --- timeout -------------------------------------------------------------------

Deno.test("timeout: a read with no data fails with ReadTimeoutError", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { timeout: 0.02 });
  const error = await assertRejects(() => reader.read(), ReadTimeoutError);
  assertInstanceOf(error, Deno.errors.TimedOut);
  assertEquals(error.timeout, 0.02);
  source.end();
  assertEquals(await reader.read(), null);
});

Deno.test("timeout: bytes arriving after a timeout go to the next read, none lost", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { timeout: 0.02 });
  await assertRejects(() => reader.readline(), ReadTimeoutError);
  source.push("late line\nmore");
  source.end();
  reader.timeout = null;
  assertEquals(await reader.readline(), "late line");
  assertEquals(await reader.readline(), "more");
  // The read left in flight by the timeout was reused, not doubled.
  assertEquals(source.reads, 2);
});

Deno.test("timeout over a real socket: ReadTimeoutError, then the late bytes arrive", async () => {
  using pair = await tcpPair();
  const reader = new BufferedReader(pair.server, { timeout: 0.05 });
  await assertRejects(() => reader.read(), ReadTimeoutError);
  await assertRejects(() => reader.read(), ReadTimeoutError);
  await pair.client.write(utf8.encode("late"));
  await pair.client.closeWrite();
  reader.timeout = null;
  const received = concat(await Array.fromAsync(reader));
  assertEquals(text.decode(received), "late");
});

Deno.test("timeout: readExactly keeps the bytes it had when it timed out", async () => {
  const source = new FakeSource();
  source.push("abcd");
  const reader = new BufferedReader(source, { timeout: 0.02 });
  await assertRejects(() => reader.readExactly(8), ReadTimeoutError);
  source.push("efgh");
  source.end();
  reader.timeout = null;
  assertEquals(text.decode(await reader.readExactly(8)), "abcdefgh");
});

// --- async iteration over a real socket -------------------------------------------

Deno.test("async iteration over a real socket reassembles 1 MiB of random bytes", async () => {
  using pair = await tcpPair();
  const sent = new Uint8Array(1024 * 1024);
  for (let at = 0; at < sent.length; at += 65536) {
    crypto.getRandomValues(sent.subarray(at, at + 65536));
  }
  const writing = (async () => {
    for (let at = 0; at < sent.length;) at += await pair.client.write(sent.subarray(at));
    await pair.client.closeWrite();
  })();
  const chunks: Uint8Array[] = [];
  for await (const chunk of new BufferedReader(pair.server)) chunks.push(chunk);
  await writing;
  // Every chunk is still a valid view once all of them have been read.
  assertSameBytes(concat(chunks), sent);
});

Deno.test("frames over a real socket: 2000 length-prefixed frames written one by one", async () => {
  using pair = await tcpPair();
  const payloads = Array.from({ length: 2000 }, (_, i) => distinctPayload(i));
  const writing = (async () => {
    for (const payload of payloads) {
      const frame = encodeFrame(lengthPrefixed, payload);
      for (let at = 0; at < frame.length;) at += await pair.client.write(frame.subarray(at));
    }
    await pair.client.closeWrite();
  })();
  const reader = new BufferedReader(pair.server, { bufferSize: 16 });
  const frames = await Array.fromAsync(reader.frames(lengthPrefixed));
  await writing;
  assertEquals(frames.length, payloads.length);
  for (let i = 0; i < frames.length; i++) assertSameBytes(frames[i], payloads[i], `frame ${i}`);
});

// --- reuseBuffer -------------------------------------------------------------------

Deno.test("reuseBuffer: the buffer is reused, so a frame is valid only until the next read", async () => {
  const frames = ["one", "two", "three"].map((word) => lengthFrames([utf8.encode(word)]));
  const reader = new BufferedReader(FakeSource.of(...frames), { reuseBuffer: true });
  const decoder = lengthPrefixed.decoder();
  const first = await reader.readFrame(decoder);
  assertEquals(text.decode(first!), "one"); // Valid now...
  const second = await reader.readFrame(decoder);
  assertEquals(text.decode(second!), "two");
  // ...and both came from one buffer, read into from the front each time.
  assertEquals(second!.buffer, first!.buffer);
  assertEquals(second!.byteOffset, first!.byteOffset);
  assertEquals(text.decode(first!), "two"); // The documented trade: `first` was overwritten.
  assertEquals(text.decode((await reader.readFrame(decoder))!), "three");
  assertEquals(await reader.readFrame(decoder), undefined);
});

Deno.test("reuseBuffer: frames larger than the buffer and split reads still arrive whole", async () => {
  const payloads = Array.from({ length: 50 }, (_, i) => new Uint8Array(i * 997).fill(i));
  const wire = lengthFrames(payloads);
  const reader = new BufferedReader(FakeSource.of(...split(wire, [7, 1000, 13, 4096])), {
    bufferSize: 16,
    reuseBuffer: true,
  });
  const decoder = new LengthPrefixedCodec().decoder();
  for (const payload of payloads) {
    // Checked before the next read, as reuse mode requires.
    assertEquals(await reader.readFrame(decoder), payload);
  }
  assertEquals(await reader.readFrame(decoder), undefined);
});

Deno.test("reuseBuffer switched on later: frames already returned stay valid", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { bufferSize: 32 });
  const decoder = lengthPrefixed.decoder();
  const reading = reader.readFrame(decoder);
  source.push(lengthFrames([utf8.encode("kept"), utf8.encode("also kept")]));
  const kept = [(await reading)!, (await reader.readFrame(decoder))!];
  reader.reuseBuffer = true;
  for (let i = 0; i < 10; i++) {
    const next = reader.readFrame(decoder);
    source.push(lengthFrames([utf8.encode(`later ${i}`)]));
    assertEquals(text.decode((await next)!), `later ${i}`);
  }
  assertEquals(kept.map((frame) => text.decode(frame)), ["kept", "also kept"]);
  source.end();
});

// --- decodeBuffered and readMore -----------------------------------------------------

Deno.test("decodeBuffered never reads; readMore reads once and is false at end of stream", async () => {
  const source = FakeSource.of("a\nb\n", "c");
  const reader = new BufferedReader(source);
  const decoder = new LinesCodec().decoder();
  assertEquals(reader.decodeBuffered(decoder), undefined);
  assertEquals(source.reads, 0);
  assertEquals(await reader.readMore(), true);
  assertEquals([reader.decodeBuffered(decoder), reader.decodeBuffered(decoder)], ["a", "b"]);
  assertEquals(reader.decodeBuffered(decoder), undefined);
  assertEquals(await reader.readMore(), true);
  // "c" has no newline: only the end of the stream makes it a line.
  assertEquals(reader.decodeBuffered(decoder), undefined);
  assertEquals(await reader.readMore(), false);
  assertEquals(reader.decodeBuffered(decoder), "c");
  assertEquals(reader.decodeBuffered(decoder), undefined);
  assertEquals(await reader.readMore(), false);
  assertEquals(source.reads, 3);
});

Deno.test("decodeBuffered: a partial frame at end of stream is an IncompleteFrameError", async () => {
  const reader = new BufferedReader(
    FakeSource.of(lengthFrames([utf8.encode("cut")]).subarray(0, 5)),
  );
  const decoder = lengthPrefixed.decoder();
  assertEquals(await reader.readMore(), true);
  assertEquals(reader.decodeBuffered(decoder), undefined);
  assertEquals(await reader.readMore(), false);
  const error = assertThrows(() => reader.decodeBuffered(decoder), IncompleteFrameError);
  assertEquals(error.received, 5);
});
