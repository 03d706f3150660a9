import { assertEquals, assertRejects } from "@std/assert";
import fc from "fast-check";
import {
  type Codec,
  DelimiterCodec,
  FrameDecoderStream,
  FrameEncoderStream,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  JsonHeaderCodec,
  type JsonHeaderFrame,
  JsonHeaderStreamCodec,
  type JsonHeaderStreamFrame,
  LinesCodec,
} from "@socketserver/core/framing";
import { bytes, cutAt, decodeChunks, encodeAll } from "../support/codec_harness.ts";
import type { ErrorClass } from "../support/wire.ts";

function decodeStream<Frame>(codec: Codec<Frame, never>, chunks: Uint8Array[]): Promise<Frame[]> {
  return Array.fromAsync(ReadableStream.from(chunks).pipeThrough(new FrameDecoderStream(codec)));
}

function encodeStream<Input>(codec: Codec<unknown, Input>, frames: Input[]): Promise<Uint8Array[]> {
  return Array.fromAsync(ReadableStream.from(frames).pipeThrough(new FrameEncoderStream(codec)));
}

interface DecodeCase {
  name: string;
  codec: Codec<string, never>;
  chunks: string[];
  lines?: string[];
  error?: ErrorClass;
}

const decodeCases: DecodeCase[] = [
  {
    name: "many frames in one chunk",
    codec: new LinesCodec(),
    chunks: ["a\nb\nc\n"],
    lines: ["a", "b", "c"],
  },
  {
    name: "frames split across chunks, tails kept between them",
    codec: new LinesCodec(),
    chunks: ["he", "llo\nwo", "rld\r", "\n"],
    lines: ["hello", "world"],
  },
  {
    name: "a last unterminated frame comes at the end of the input",
    codec: new LinesCodec(),
    chunks: ["a\nla", "st"],
    lines: ["a", "last"],
  },
  { name: "no input, no frames", codec: new LinesCodec(), chunks: [], lines: [] },
  { name: "empty chunks are fine", codec: new LinesCodec(), chunks: ["", "a\n", ""], lines: ["a"] },
  {
    name: "EOF mid-frame errors the stream",
    codec: new LinesCodec({ emitUnterminated: false }),
    chunks: ["a\nb"],
    error: IncompleteFrameError,
  },
  {
    name: "a frame too long errors the stream",
    codec: new LinesCodec({ maxFrameLength: 2 }),
    chunks: ["ok\n", "toolong\n"],
    error: FrameTooLongError,
  },
  {
    name: "too long then recovery with discard, twice",
    codec: new LinesCodec({ maxFrameLength: 2, onTooLong: "discard" }),
    chunks: ["xxxx", "xx\nok\nyyy", "y\nhi\n"],
    lines: ["ok", "hi"],
  },
];

for (const c of decodeCases) {
  Deno.test(`FrameDecoderStream: ${c.name}`, async () => {
    const chunks = c.chunks.map(bytes);
    if (c.error) {
      await assertRejects(() => decodeStream(c.codec, chunks), c.error);
    } else {
      assertEquals(await decodeStream(c.codec, chunks), c.lines);
    }
  });
}

Deno.test("FrameDecoderStream: invalid UTF-8 errors the stream with FrameSyntaxError", async () => {
  await assertRejects(
    () => decodeStream(new LinesCodec(), [new Uint8Array([0xff, 0x0a])]),
    FrameSyntaxError,
  );
});

Deno.test("FrameDecoderStream: a frame larger than the buffer grows it, a byte at a time too", async () => {
  const big = "z".repeat(200_000);
  const wire = bytes(`a\n${big}\nb\n`);
  const reads = cutAt(
    wire,
    Array.from({ length: wire.length / 1000 }, (_, i) => (i + 1) * 1000 - 3),
  );
  assertEquals(await decodeStream(new LinesCodec(), reads), ["a", big, "b"]);
  const small = bytes("x".repeat(5000) + "\ny\n");
  assertEquals(await decodeStream(new LinesCodec(), cutAt(small, [...small.keys()])), [
    "x".repeat(5000),
    "y",
  ]);
});

Deno.test("FrameDecoderStream: frames stay valid while later chunks fill the buffer", async () => {
  // Every frame but the first ends in a later chunk, so each is decoded from
  // the stream's buffer; they are all read after the last chunk went in.
  const chunks = ["a", "1\nb", "2\nc", "3\nd", "4\n"].map(bytes);
  const frames = await decodeStream(new DelimiterCodec(), chunks);
  assertEquals(frames.map((frame) => new TextDecoder().decode(frame)), [
    "a1",
    "b2",
    "c3",
    "d4",
  ]);
});

Deno.test("FrameEncoderStream: one chunk per frame, header and payload together", async () => {
  const codec = new JsonHeaderCodec();
  const frames: JsonHeaderFrame[] = [
    { header: { file_name: "a" }, body: bytes("hello") },
    { header: {}, body: new Uint8Array(0) },
  ];
  const chunks = await encodeStream(codec, frames);
  assertEquals(chunks.length, 2);
  chunks.forEach((chunk, i) => assertEquals(chunk, encodeAll(codec, [frames[i]])));
});

Deno.test("FrameEncoderStream: stream events share one sink, and an end writes no chunk", async () => {
  const codec = new JsonHeaderStreamCodec();
  const events: JsonHeaderStreamFrame[] = [
    { type: "header", header: { file_name: "a" }, bodySize: 4 },
    { type: "body", chunk: bytes("ab") },
    { type: "body", chunk: bytes("cd") },
    { type: "end" },
  ];
  const chunks = await encodeStream(codec, events);
  assertEquals(chunks.length, 3);
  const back = await decodeStream(codec, chunks);
  assertEquals(back, [
    { type: "header", header: { file_name: "a", file_size: 4 }, bodySize: 4 },
    { type: "body", chunk: bytes("ab") },
    { type: "body", chunk: bytes("cd") },
    { type: "end" },
  ]);
});

Deno.test("FrameEncoderStream: a frame the codec refuses errors the stream", async () => {
  await assertRejects(() => encodeStream(new LinesCodec(), ["ok", "two\nlines"]), TypeError);
  const events: JsonHeaderStreamFrame[] = [{ type: "header", header: {}, bodySize: 3 }, {
    type: "end",
  }];
  await assertRejects(() => encodeStream(new JsonHeaderStreamCodec(), events), RangeError);
});

Deno.test("FrameDecoderStream property: frames cut anywhere come out as the harness decodes them", async () => {
  const lines = new LinesCodec({ maxFrameLength: 64 });
  const json = new JsonHeaderCodec({ maxFrameLength: 32 });
  const lineArb = fc.fullUnicodeString({ maxLength: 10 }).map((s) =>
    s.replaceAll("\n", "").replace(/\r$/, "")
  );
  const frameArb = fc.record({
    header: fc.record({ name: fc.string({ maxLength: 5 }) }),
    body: fc.uint8Array({ maxLength: 20 }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(lineArb, { maxLength: 8 }),
      fc.array(frameArb, { maxLength: 5 }),
      fc.array(fc.nat(300), { maxLength: 12 }),
      async (lineFrames, jsonFrames, offsets) => {
        const lineWire = encodeAll(lines, lineFrames);
        assertEquals(await decodeStream(lines, cutAt(lineWire, offsets)), lineFrames);
        const jsonWire = concat(await encodeStream(json, jsonFrames));
        const chunks = cutAt(jsonWire, offsets);
        assertEquals(await decodeStream(json, chunks), decodeChunks(json, chunks));
      },
    ),
    { numRuns: 200 },
  );
});

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((part) => [...part]));
}
