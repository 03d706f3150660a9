// Memory held by incomplete frames: a frame's buffer grows as its bytes
// arrive (never to the declared size up front), and a budget shared by every
// reader of a server bounds what all of them hold past their read-ahead;
// over it, the largest holders fail with FrameMemoryError and close.

import {
  assert,
  assertEquals,
  assertFalse,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { LengthPrefixedCodec } from "@socketserver/core/framing";
import { BufferedReader, FrameMemoryBudget, FrameMemoryError } from "@socketserver/core/io";
import { FakeSource } from "../support/fake_source.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** A 4-byte big-endian length header declaring `length` payload bytes. */
function header(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length);
  return out;
}

/** Lets the reader take in what was pushed (a few turns of the microtask queue and event loop). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10));
}

/** A reader of 8 MiB length-prefixed frames with a read in flight. */
function frameReader(source: FakeSource, budget: FrameMemoryBudget) {
  const reader = new BufferedReader(source, { memoryBudget: budget });
  const decoder = new LengthPrefixedCodec({ maxFrameLength: 8 * MiB }).decoder();
  const reading = reader.readFrame(decoder);
  // Observed through `reading`: a rejection is what the test looks for.
  reading.catch(() => {});
  return { reader, reading };
}

Deno.test("a frame that declares 8 MiB and sends 5 bytes holds no more than the read-ahead", async () => {
  const budget = new FrameMemoryBudget(64 * MiB);
  const source = new FakeSource();
  const { reader, reading } = frameReader(source, budget);
  source.push(header(8 * MiB));
  source.push(new Uint8Array(5));
  await settle();
  assertEquals(budget.held, 0, "nothing past the read-ahead");
  assertEquals(reader.buffered, 9);
  source.end();
  await assertRejects(() => reading);
});

Deno.test("a frame's buffer grows with what has arrived: at most 4 times it, then the whole frame", async () => {
  const budget = new FrameMemoryBudget(64 * MiB);
  const source = new FakeSource();
  const { reading } = frameReader(source, budget);
  const frame = new Uint8Array(4 + 8 * MiB);
  frame.set(header(8 * MiB));
  for (let i = 4; i < frame.length; i++) frame[i] = i & 0xff;
  const steps: { arrived: number; held: number }[] = [];
  for (let arrived = 0; arrived < frame.length;) {
    const piece = frame.subarray(arrived, Math.min(frame.length, arrived + 64 * KiB));
    source.push(piece);
    arrived += piece.length;
    await settle();
    steps.push({ arrived, held: budget.held });
  }
  const payload = await reading;
  assertEquals(payload?.length, 8 * MiB);
  assertEquals(payload?.[12345], (12345 + 4) & 0xff);
  for (const { arrived, held } of steps) {
    // The buffer is at most FRAME_GROWTH (4) times what has arrived, plus the read-ahead.
    assertLessOrEqual(held, 4 * arrived, `after ${arrived} bytes`);
  }
  source.end();
});

Deno.test("over budget, the largest holder fails with FrameMemoryError and closes; the others go on", async () => {
  // A's buffer reaches its frame's size, 8 MiB (it grows by up to 4 times what
  // has arrived); B's stays small; C's growth takes the total over 9 MiB.
  const budget = new FrameMemoryBudget(9 * MiB);
  const open = () => {
    const source = new FakeSource();
    return { source, ...frameReader(source, budget) };
  };
  /** Sends `bytes` in 64 KiB pieces, as a socket delivers them, and lets the reader take them in. */
  const send = async (source: FakeSource, bytes: number) => {
    for (let sent = 0; sent < bytes; sent += 64 * KiB) {
      source.push(new Uint8Array(Math.min(64 * KiB, bytes - sent)));
      await settle();
    }
  };
  // A declares 8 MiB and sends 2; B declares 8 MiB and sends 128 KiB: both stall.
  const a = open();
  a.source.push(header(8 * MiB));
  await send(a.source, 2 * MiB);
  const b = open();
  b.source.push(header(8 * MiB));
  await send(b.source, 128 * KiB);
  assertFalse(a.source.closed);
  // C sends a whole 2 MiB frame: as its buffer grows, the budget runs over.
  const c = open();
  c.source.push(header(2 * MiB));
  await send(c.source, 2 * MiB);
  assertEquals((await c.reading)?.length, 2 * MiB, "C is served");
  const error = await assertRejects(() => a.reading, FrameMemoryError);
  assert(a.source.closed, "the largest holder is closed");
  assert(error.held >= 2 * MiB, `A held ${error.held}`);
  assert(error.total > budget.limit, `all held ${error.total}`);
  assertEquals(error.limit, 9 * MiB);
  assertFalse(b.source.closed, "a small holder goes on");
  assertLessOrEqual(budget.held, budget.limit);
  for (const { source, reader } of [a, b, c]) {
    if (!source.closed) source.end();
    reader.close();
  }
  await assertRejects(() => b.reading);
  assertEquals(budget.held, 0);
});

Deno.test("close() gives back what a reader held, and a reader under strain drops a grown buffer after its frame", async () => {
  const budget = new FrameMemoryBudget(2 * MiB);
  const source = new FakeSource();
  const reader = new BufferedReader(source, { memoryBudget: budget, reuseBuffer: true });
  const decoder = new LengthPrefixedCodec().decoder();
  const reading = reader.readFrame(decoder);
  const frame = new Uint8Array(4 + 1536 * KiB);
  frame.set(header(1536 * KiB));
  for (let at = 0; at < frame.length; at += 64 * KiB) {
    source.push(frame.subarray(at, at + 64 * KiB));
  }
  assertEquals((await reading)?.length, 1536 * KiB);
  // More than half the budget is held: the grown buffer goes before the next wait.
  assert(budget.strained);
  const next = reader.readFrame(decoder);
  await settle();
  assertEquals(budget.held, 0);
  source.push(new Uint8Array([0, 0, 0, 1, 42]));
  assertEquals(await next, new Uint8Array([42]));
  reader.close();
  source.end();
});

Deno.test("FrameMemoryBudget: the limit must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
    assertThrows(() => new FrameMemoryBudget(bad), RangeError, "limit");
  }
});
