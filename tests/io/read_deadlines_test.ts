// BufferedReader deadlines, one sentence each: `idleTimeout` (no byte for
// this long, between frames or in the middle of one, closes), `frameTimeout`
// (a frame must arrive whole within this long once it starts, or it
// closes) and `timeout` (Python's: one read fails, the connection stays
// usable); all kept by the process-wide watchdog, with no timer per wait.
// And the drain: a graceful stop ends a wait for a new frame as end of
// stream. Against fake sources the test feeds by hand; none asserts how long
// anything took.

import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertLessOrEqual,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";

import { LengthPrefixedCodec, LinesCodec } from "@socketserver/core/framing";
import {
  BufferedReader,
  BufferedWriter,
  FramedConnection,
  FrameTimeoutError,
  IdleTimeoutError,
  ReadTimeoutError,
} from "@socketserver/core/io";
import { StreamRequestHandler } from "@socketserver/core/server";
import { FakeDestination, FakeSource } from "../support/fake_source.ts";
import { lengthFrame } from "../support/wire.ts";

const text = new TextDecoder();

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/** Whether `promise` is still pending after `seconds` (several watchdog ticks). */
async function stillPendingAfter(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await sleep(seconds);
  return !settled;
}

/** Counts the timers and intervals armed while `body` runs. */
async function countTimers(
  body: () => Promise<void>,
): Promise<{ timeouts: number; intervals: number }> {
  const { setTimeout: originalTimeout, setInterval: originalInterval } = globalThis;
  const counts = { timeouts: 0, intervals: 0 };
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    counts.timeouts++;
    return originalTimeout(...args);
  }) as typeof setTimeout;
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    counts.intervals++;
    return originalInterval(...args);
  }) as typeof setInterval;
  try {
    await body();
  } finally {
    globalThis.setTimeout = originalTimeout;
    globalThis.setInterval = originalInterval;
  }
  return counts;
}

// --- idleTimeout -----------------------------------------------------------------

const idleCases: { name: string; read: (reader: BufferedReader) => Promise<unknown> }[] = [
  { name: "read()", read: (reader) => reader.read() },
  { name: "readline()", read: (reader) => reader.readline() },
  { name: "readExactly(4)", read: (reader) => reader.readExactly(4) },
  {
    name: "readFrame(length prefix)",
    read: (reader) => reader.readFrame(new LengthPrefixedCodec().decoder()),
  },
];

for (const c of idleCases) {
  Deno.test(`idleTimeout: ${c.name} from a silent peer fails with IdleTimeoutError and closes the source`, async () => {
    const source = new FakeSource();
    const reader = new BufferedReader(source, { idleTimeout: 0.02 });
    const error = await assertRejects(() => c.read(reader), IdleTimeoutError);
    assertInstanceOf(error, Deno.errors.TimedOut);
    assertFalse(error instanceof ReadTimeoutError);
    assertEquals([error.timeout, error.buffered], [0.02, 0]);
    assert(source.closed, "the reader closes the connection");
    // The reader has stopped: every later read fails the same way.
    assertEquals(await assertRejects(() => reader.read()), error);
  });
}

Deno.test("idleTimeout applies in the middle of a frame: one header byte, then silence", async () => {
  const source = new FakeSource();
  // frameTimeout is far off: only idleTimeout can end this wait.
  const reader = new BufferedReader(source, { idleTimeout: 0.05, frameTimeout: 300 });
  const reading = reader.readFrame(new LengthPrefixedCodec().decoder());
  source.push(new Uint8Array([0]));
  const error = await assertRejects(() => reading, IdleTimeoutError);
  assertEquals([error.timeout, error.buffered], [0.05, 1]);
  assertMatch(error.message, /idle for 0\.05 s with 1 bytes of a frame buffered/);
  assert(source.closed);
});

Deno.test("idleTimeout counts from each byte: a frame that keeps dripping in is not idle", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { idleTimeout: 0.3 });
  const reading = reader.readline();
  // A byte every 10 ms for 0.5 s: longer than idleTimeout in all, never silent for it.
  for (let i = 0; i < 50; i++) {
    source.push("x");
    await sleep(0.01);
  }
  source.push("\n");
  assertEquals(await reading, "x".repeat(50));
  assertFalse(source.closed);
  source.end();
  assertEquals(await reader.readline(), null);
});

Deno.test("idleTimeout applies to each wait anew: frames that keep coming are never idle", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { idleTimeout: 5, frameTimeout: 5 });
  const lines = [];
  for (let i = 0; i < 20; i++) {
    const reading = reader.readline();
    source.push(`line ${i}\n`);
    lines.push(await reading);
  }
  assertEquals(lines.length, 20);
  source.end();
  assertEquals(await reader.readline(), null);
});

// --- frameTimeout ----------------------------------------------------------------

Deno.test("frameTimeout: a frame whose rest never comes fails with FrameTimeoutError and closes the source", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { frameTimeout: 0.05 });
  const reading = reader.readFrame(new LengthPrefixedCodec().decoder());
  source.push(lengthFrame("hello world").subarray(0, 6)); // The header and 2 payload bytes.
  const error = await assertRejects(() => reading, FrameTimeoutError);
  assertInstanceOf(error, Deno.errors.TimedOut);
  assertEquals([error.timeout, error.buffered], [0.05, 6]);
  assertMatch(error.message, /not complete after 0\.05 s with 6 bytes buffered/);
  assert(source.closed, "the reader closes the connection");
});

Deno.test("frameTimeout catches a slowloris that idleTimeout never does", async () => {
  const source = new FakeSource();
  // Each wait gets a byte well within idleTimeout, but the line never ends.
  const reader = new BufferedReader(source, { idleTimeout: 5, frameTimeout: 0.1 });
  const drip = setInterval(() => source.push("x"), 5);
  try {
    await assertRejects(() => reader.readline(), FrameTimeoutError);
  } finally {
    clearInterval(drip);
  }
  assert(source.closed);
});

Deno.test("frameTimeout bounds readExactly too", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { frameTimeout: 0.05 });
  const reading = reader.readExactly(10);
  source.push("abc");
  const error = await assertRejects(() => reading, FrameTimeoutError);
  assertEquals(error.buffered, 3);
});

Deno.test("frameTimeout does not run while nothing of the frame has come", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { frameTimeout: 0.02 });
  const reading = reader.readline();
  assert(await stillPendingAfter(reading, 0.4), "an idle wait must not be a frame timeout");
  source.push("late but whole\n");
  assertEquals(await reading, "late but whole");
  source.end();
  assertEquals(await reader.readline(), null);
});

// --- timeout: Python's, recoverable -----------------------------------------------

Deno.test("timeout fails one read and leaves the connection open, where idleTimeout closes it", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { timeout: 0.05, idleTimeout: 300 });
  const error = await assertRejects(() => reader.readline(), ReadTimeoutError);
  assertEquals(error.timeout, 0.05);
  assertFalse(source.closed, "a read timeout does not close");
  // The read left in flight gets the late bytes.
  reader.timeout = null;
  const reading = reader.readline();
  source.push("late\n");
  assertEquals(await reading, "late");
  source.end();
  assertEquals(await reader.readline(), null);
  assertEquals(source.reads, 2);
});

// --- the watchdog: no timer per wait ----------------------------------------------

Deno.test("deadlines arm no timer: a connection's 200 frames over 600 reads and 200 replies, one interval", async () => {
  const frames = Array.from({ length: 200 }, (_, i) => lengthFrame(`frame ${i} `.repeat(4)));
  const source = new FakeSource();
  // Every chunk queued first: no read waits on the fake, so every timer counted is the library's.
  for (const frame of frames) {
    source.push(frame.subarray(0, 3));
    source.push(frame.subarray(3, 20));
    source.push(frame.subarray(20));
  }
  source.end();
  const destination = new FakeDestination();
  const connection = new FramedConnection(
    { read: (p) => source.read(p), write: (p) => destination.write(p), close: () => {} },
    {
      codec: new LengthPrefixedCodec(),
      timeout: 300,
      idleTimeout: 300,
      frameTimeout: 300,
      writeTimeout: 300,
    },
  );
  let count = 0;
  const timers = await countTimers(async () => {
    for (let frame; (frame = await connection.readFrame()) !== undefined; count++) {
      await connection.writeFrame(frame);
      await connection.flush();
    }
  });
  await connection.close();
  assertEquals([count, destination.calls.length], [200, 200]);
  assertEquals(timers.timeouts, 0, "no timer per wait, per frame, per read or per write");
  assertLessOrEqual(timers.intervals, 1);
});

// --- the frame loop: decodeBuffered and readMore ----------------------------------------

Deno.test("readMore: frameTimeout runs from the first bytes after the last frame, across waits", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { idleTimeout: 5, frameTimeout: 0.1 });
  const decoder = new LengthPrefixedCodec().decoder();
  const wire = lengthFrame("hello world");
  source.push(lengthFrame("first"));
  assertEquals(await reader.readMore(), true);
  assertEquals(text.decode(reader.decodeBuffered(decoder)), "first");
  // The next frame drips in a byte a wait; every wait gets one, the frame never completes.
  let pushed = 0;
  const error = await assertRejects(async () => {
    for (;;) {
      assertEquals(reader.decodeBuffered(decoder), undefined);
      const more = reader.readMore();
      if (pushed < wire.length - 1) source.push(wire.subarray(pushed, ++pushed));
      await more;
      await sleep(0.01);
    }
  }, FrameTimeoutError);
  assertEquals(error.timeout, 0.1);
  assert(source.closed);
});

Deno.test("readMore: idleTimeout ends a silent wait; frames that keep coming are never idle", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { idleTimeout: 0.05 });
  const decoder = new LinesCodec().decoder();
  for (let i = 0; i < 5; i++) {
    const more = reader.readMore();
    source.push(`line ${i}\n`);
    assertEquals(await more, true);
    assertEquals(reader.decodeBuffered(decoder), `line ${i}`);
  }
  const error = await assertRejects(() => reader.readMore(), IdleTimeoutError);
  assertEquals(error.timeout, 0.05);
  assert(source.closed);
});

// --- the drain: a graceful stop ------------------------------------------------------

Deno.test("draining: a reader waiting for a new frame ends as end of stream, and closes its source", async () => {
  const source = new FakeSource();
  const stop = new AbortController();
  const reader = new BufferedReader(source, { draining: stop.signal });
  const reading = reader.readline();
  assert(await stillPendingAfter(reading, 0.05));
  stop.abort();
  assertEquals(await reading, null);
  assert(source.closed, "the reader closes an idle connection itself");
  assert(reader.atEof);
  assertFalse(reader.unreadInput);
});

Deno.test("draining: a frame under way is read to its end; bytes already sent are read; then the stream ends", async () => {
  const source = new FakeSource();
  const stop = new AbortController();
  const reader = new BufferedReader(source, { draining: stop.signal });
  const reading = reader.readline();
  source.push("half a ");
  await sleep(0.01);
  stop.abort();
  source.push("line\nsent before the stop\n");
  assertEquals(await reading, "half a line");
  assertEquals(await reader.readline(), "sent before the stop");
  // Nothing more is there: the next wait ends at the watchdog's next look.
  assertEquals(await reader.readline(), null);
  assert(source.closed);
});

Deno.test("draining: an idle reader whose writer is still sending closes once the writer is done", async () => {
  const source = new FakeSource();
  const destination = new FakeDestination({ held: true });
  const stop = new AbortController();
  const writer = new BufferedWriter(destination);
  const reader = new BufferedReader(source, { writer, draining: stop.signal });
  await writer.write("a reply the client is slow to take");
  // The reader flushes the writer as it starts to wait: that write is held.
  const reading = reader.readline();
  await sleep(0.01);
  assertEquals(destination.held, 1);
  stop.abort();
  await sleep(0.01);
  assertFalse(source.closed, "the reply is still being sent");
  destination.release();
  assertEquals(await reading, null);
  assert(source.closed);
  assertEquals(text.decode(destination.received), "a reply the client is slow to take");
  await writer.close();
});

// --- settings ----------------------------------------------------------------------

Deno.test("timeout, idleTimeout and frameTimeout must be null or a positive number of seconds", () => {
  for (const bad of [0, -1, Number.NaN, Infinity, 3e6, "5" as unknown as number]) {
    for (const name of ["timeout", "idleTimeout", "frameTimeout"] as const) {
      const error = assertThrows(
        () => new BufferedReader(new FakeSource(), { [name]: bad }),
        RangeError,
        undefined,
        `${name}: ${bad}`,
      );
      assertStringIncludes(error.message, name, `${name}: ${bad}`);
    }
  }
  const reader = new BufferedReader(new FakeSource(), { idleTimeout: 0.5, frameTimeout: null });
  assertEquals([reader.idleTimeout, reader.frameTimeout, reader.timeout], [0.5, null, null]);
});

Deno.test("StreamRequestHandler defaults: idleTimeout 60 s, frameTimeout 300 s, writeTimeout 60 s, timeout off", () => {
  const request = {
    read: () => Promise.resolve(null),
    write: (p: Uint8Array) => Promise.resolve(p.length),
  };
  const handler = new StreamRequestHandler(request as unknown as Deno.Conn, {} as Deno.Addr, {
    shutdown: () => Promise.resolve(),
  });
  handler.setup();
  assertEquals(
    [handler.timeout, handler.idleTimeout, handler.frameTimeout, handler.writeTimeout],
    [null, 60, 300, 60],
  );
  assertEquals(
    [handler.rfile.timeout, handler.rfile.idleTimeout, handler.rfile.frameTimeout],
    [null, 60, 300],
  );
  assertEquals(handler.wfile.writeTimeout, 60);
  // The defaults live on the prototype: a connection holds none of them.
  assertFalse(Object.hasOwn(handler, "idleTimeout"));
});
