// BufferedReader deadlines: `idleTimeout` (nothing of the next frame has
// come) and `frameTimeout` (a started frame does not finish), against a fake
// source the test feeds by hand. Each test proves what fires and what does
// not; none asserts how long anything took.

import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";

import { LengthPrefixedCodec, LinesCodec } from "@socketserver/core/framing";
import {
  BufferedReader,
  FramedConnection,
  FrameTimeoutError,
  IdleTimeoutError,
  ReadTimeoutError,
} from "@socketserver/core/io";
import { StreamRequestHandler } from "@socketserver/core/server";
import { FakeSource } from "../support/fake_source.ts";

const utf8 = new TextEncoder();

/** A 4-byte big-endian length, then `payload`. */
function lengthFrame(payload: string): Uint8Array {
  const body = utf8.encode(payload);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/** Whether `promise` is still pending after `seconds` (a later timer than the one under test). */
async function stillPendingAfter(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  await sleep(seconds);
  return !settled;
}

/** Counts the timers armed while `body` runs. */
async function countTimers(body: () => Promise<void>): Promise<number> {
  const original = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    armed++;
    return original(...args);
  }) as typeof setTimeout;
  try {
    await body();
  } finally {
    globalThis.setTimeout = original;
  }
  return armed;
}

// --- frameTimeout ----------------------------------------------------------------

Deno.test("frameTimeout: a frame whose rest never comes fails with FrameTimeoutError, and no byte is lost", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { frameTimeout: 0.05 });
  const decoder = new LengthPrefixedCodec().decoder();
  const wire = lengthFrame("hello world");
  const reading = reader.readFrame(decoder);
  source.push(wire.subarray(0, 6)); // The header and 2 payload bytes.
  const error = await assertRejects(() => reading, FrameTimeoutError);
  assertInstanceOf(error, Deno.errors.TimedOut);
  assertEquals(error.timeout, 0.05);
  assertEquals(error.buffered, 6);
  assertMatch(error.message, /not complete after 0\.05 s with 6 bytes buffered/);
  // The read still in flight gets the rest: a caller that goes on loses nothing.
  const next = reader.readFrame(decoder);
  source.push(wire.subarray(6));
  assertEquals(new TextDecoder().decode((await next)!), "hello world");
  source.end();
  assertEquals(await reader.readFrame(decoder), null);
});

Deno.test("frameTimeout catches a slowloris that the per-read timeout never does", async () => {
  const source = new FakeSource();
  // Each read gets a byte well within `timeout`, but the line never ends.
  const reader = new BufferedReader(source, { timeout: 5, frameTimeout: 0.1 });
  const drip = setInterval(() => source.push("x"), 5);
  try {
    await assertRejects(() => reader.readline(), FrameTimeoutError);
  } finally {
    clearInterval(drip);
    source.end();
  }
});

Deno.test("frameTimeout bounds readExactly too", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { frameTimeout: 0.05 });
  const reading = reader.readExactly(10);
  source.push("abc");
  const error = await assertRejects(() => reading, FrameTimeoutError);
  assertEquals(error.buffered, 3);
  // Nothing was consumed: the 3 bytes are still there.
  const next = reader.readExactly(4);
  source.push("d");
  assertEquals(new TextDecoder().decode(await next), "abcd");
  source.end();
});

Deno.test("frameTimeout does not run while nothing of the frame has come", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { frameTimeout: 0.02 });
  const reading = reader.readline();
  assert(await stillPendingAfter(reading, 0.1), "an idle wait must not be a frame timeout");
  source.push("late but whole\n");
  assertEquals(await reading, "late but whole");
  source.end();
});

// --- idleTimeout -------------------------------------------------------------------

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
  Deno.test(`idleTimeout: ${c.name} from a silent peer fails with IdleTimeoutError`, async () => {
    const source = new FakeSource();
    const reader = new BufferedReader(source, { idleTimeout: 0.02 });
    const error = await assertRejects(() => c.read(reader), IdleTimeoutError);
    assertInstanceOf(error, Deno.errors.TimedOut);
    assertFalse(error instanceof ReadTimeoutError);
    assertEquals(error.timeout, 0.02);
    source.end();
    assertEquals(await reader.read(), null);
  });
}

Deno.test("idleTimeout stops at the first byte of a frame: the rest is frameTimeout's", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { idleTimeout: 0.02 });
  const reading = reader.readline();
  source.push("sl");
  assert(await stillPendingAfter(reading, 0.1), "a started frame must not be an idle timeout");
  source.push("ow\n");
  assertEquals(await reading, "slow");
  source.end();
});

Deno.test("idleTimeout applies to each frame anew: frames that keep coming are never idle", async () => {
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
});

// --- cost --------------------------------------------------------------------------

Deno.test("deadline timers: none for a frame that arrives in one read, one per frame (not per read) otherwise", async (t) => {
  const wire = lengthFrame("x".repeat(40));
  const cases: {
    name: string;
    options: { idleTimeout?: number; frameTimeout?: number };
    chunks: Uint8Array[];
    timers: number;
  }[] = [
    { name: "no deadline set", options: {}, chunks: [wire], timers: 0 },
    {
      name: "frameTimeout, the frame in one read",
      options: { frameTimeout: 300 },
      chunks: [wire],
      timers: 0,
    },
    {
      name: "frameTimeout, the frame in 11 reads",
      options: { frameTimeout: 300 },
      chunks: Array.from({ length: 11 }, (_, i) => wire.subarray(i * 4, i * 4 + 4)),
      timers: 1,
    },
    {
      name: "idleTimeout and frameTimeout, the frame in 11 reads",
      options: { idleTimeout: 300, frameTimeout: 300 },
      chunks: Array.from({ length: 11 }, (_, i) => wire.subarray(i * 4, i * 4 + 4)),
      timers: 2,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const source = new FakeSource();
      const reader = new BufferedReader(source, c.options);
      const decoder = new LengthPrefixedCodec().decoder();
      let frame: Uint8Array | null = null;
      const timers = await countTimers(async () => {
        const reading = reader.readFrame(decoder);
        for (const chunk of c.chunks) {
          await Promise.resolve(); // Let the reader wait first, as on a socket.
          source.push(chunk);
        }
        frame = await reading;
      });
      assertEquals(frame!.length, 40);
      assertEquals(timers, c.timers);
      source.end();
    });
  }
});

// --- the frame loop: decodeBuffered and readMore ----------------------------------------

Deno.test("readMore: frameTimeout runs from the first wait after the last frame, across waits", async () => {
  const source = new FakeSource();
  const reader = new BufferedReader(source, { frameTimeout: 0.05 });
  const decoder = new LengthPrefixedCodec().decoder();
  const wire = lengthFrame("hello world");
  source.push(lengthFrame("first"));
  assertEquals(await reader.readMore(), true);
  assertEquals(new TextDecoder().decode(reader.decodeBuffered(decoder)), "first");
  // The next frame drips in a byte a wait; every wait gets one, the frame never completes.
  let pushed = 0;
  const error = await assertRejects(async () => {
    for (;;) {
      assertEquals(reader.decodeBuffered(decoder), undefined);
      const more = reader.readMore();
      if (pushed < wire.length - 1) source.push(wire.subarray(pushed, ++pushed));
      await more;
      await sleep(0.005);
    }
  }, FrameTimeoutError);
  assertEquals(error.timeout, 0.05);
  // A caller that goes on loses nothing, and starts with fresh deadlines.
  source.push(wire.subarray(pushed));
  let frame;
  while ((frame = reader.decodeBuffered(decoder)) === undefined) await reader.readMore();
  assertEquals(new TextDecoder().decode(frame), "hello world");
  source.end();
  assertEquals(await reader.readMore(), false);
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
  source.end();
  assertEquals(await reader.readMore(), false);
});

Deno.test("deadline timers in a frame loop: none for whole frames, one for many split frames", async (t) => {
  const frames = Array.from({ length: 20 }, (_, i) => lengthFrame(`frame ${i} `.repeat(4)));
  const cases = [
    { name: "each frame in one read", chunks: frames, timers: 0 },
    {
      // Each frame in 3 pieces: a deadline is armed and disarmed per frame,
      // on one timer kept while the loop runs.
      name: "each frame in 3 reads",
      chunks: frames.flatMap((
        frame,
      ) => [frame.subarray(0, 3), frame.subarray(3, 20), frame.subarray(20)]),
      timers: 1,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const source = new FakeSource();
      const connection = new FramedConnection(
        { read: (p) => source.read(p), write: (p) => Promise.resolve(p.length) },
        { codec: new LengthPrefixedCodec(), frameTimeout: 300 },
      );
      let handled = 0;
      const timers = await countTimers(async () => {
        const serving = connection.serve(() => void handled++);
        // One read each: the source hands out one chunk a read.
        for (const chunk of c.chunks) source.push(chunk);
        source.end();
        await serving;
      });
      await connection.close();
      assertEquals(handled, 20);
      assertEquals(timers, c.timers);
    });
  }
});

// --- settings ----------------------------------------------------------------------

Deno.test("idleTimeout and frameTimeout must be null or a positive number of seconds", () => {
  for (const bad of [0, -1, Number.NaN, Infinity, 3e6, "5" as unknown as number]) {
    for (const name of ["idleTimeout", "frameTimeout"] as const) {
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

Deno.test("StreamRequestHandler defaults: frameTimeout 300 s, idleTimeout and writeTimeout off", () => {
  const conn = {
    read: () => Promise.resolve(null),
    write: (p: Uint8Array) => Promise.resolve(p.length),
  };
  const handler = new StreamRequestHandler(conn as unknown as Deno.Conn, {} as Deno.Addr, {
    shutdown: () => Promise.resolve(),
  });
  handler.setup();
  assertEquals([handler.frameTimeout, handler.idleTimeout, handler.writeTimeout], [
    300,
    null,
    null,
  ]);
  assertEquals([handler.rfile.frameTimeout, handler.rfile.idleTimeout], [300, null]);
});
