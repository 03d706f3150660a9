import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  type ByteSink,
  ByteWindow,
  encodeFrame,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
  JsonHeaderCodec,
  JsonHeaderStreamCodec,
  type JsonHeaderStreamCodecOptions,
  type JsonHeaderStreamFrame,
} from "@socketserver/core/framing";
import { bytes, cutAt, decodeChunks } from "../support/codec_harness.ts";
import { assertThrowsMatching, type ErrorClass } from "../support/wire.ts";

// What Python sends: struct.pack('i', len(json)) + json + body.
function classic(json: string, body = ""): Uint8Array {
  const header = bytes(json);
  return new Uint8Array([
    ...new Uint8Array(new Int32Array([header.length]).buffer),
    ...header,
    ...bytes(body),
  ]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((part) => [...part]));
}

// The events with the body chunks joined: what a split must not change.
type Whole = { header: Record<string, unknown>; bodySize: number; body: string };
function whole(events: JsonHeaderStreamFrame[]): Whole[] {
  const frames: Whole[] = [];
  for (const event of events) {
    if (event.type === "header") {
      frames.push({ header: event.header, bodySize: event.bodySize, body: "" });
    } else if (event.type === "body") {
      assert(event.chunk.length > 0, "no empty chunks");
      frames[frames.length - 1].body += new TextDecoder().decode(event.chunk);
    } else {
      const last = frames[frames.length - 1];
      assertEquals(bytes(last.body).length, last.bodySize, "end comes when the body is complete");
    }
  }
  return frames;
}

const hello = classic('{"file_name": "a.txt", "file_size": 5}', "hello");
const helloWhole: Whole = {
  header: { file_name: "a.txt", file_size: 5 },
  bodySize: 5,
  body: "hello",
};

interface DecodeCase {
  name: string;
  options?: JsonHeaderStreamCodecOptions;
  chunks: Uint8Array[];
  events?: JsonHeaderStreamFrame[];
  frames?: Whole[];
  error?: ErrorClass;
}

const decodeCases: DecodeCase[] = [
  {
    name: "one frame in one chunk: header, the whole body, end",
    chunks: [hello],
    events: [
      { type: "header", header: { file_name: "a.txt", file_size: 5 }, bodySize: 5 },
      { type: "body", chunk: bytes("hello") },
      { type: "end" },
    ],
  },
  {
    name: "body split: one chunk per read, never waiting to fill one",
    chunks: cutAt(hello, [hello.length - 4, hello.length - 1]),
    events: [
      { type: "header", header: { file_name: "a.txt", file_size: 5 }, bodySize: 5 },
      { type: "body", chunk: bytes("h") },
      { type: "body", chunk: bytes("ell") },
      { type: "body", chunk: bytes("o") },
      { type: "end" },
    ],
  },
  {
    name: "a body of 0 bytes gives header then end",
    chunks: [classic('{"file_size": 0}')],
    events: [{ type: "header", header: { file_size: 0 }, bodySize: 0 }, { type: "end" }],
  },
  {
    name: "a header without the size field gives header then end",
    chunks: [classic("{}")],
    events: [{ type: "header", header: {}, bodySize: 0 }, { type: "end" }],
  },
  { name: "header split across two chunks", chunks: cutAt(hello, [9]), frames: [helloWhole] },
  {
    name: "many frames in one chunk",
    chunks: [concat(hello, classic("{}"), hello)],
    frames: [helloWhole, { header: {}, bodySize: 0, body: "" }, helloWhole],
  },
  { name: "bad JSON header", chunks: [classic("{")], error: FrameSyntaxError },
  { name: "header not an object", chunks: [classic('"a"')], error: FrameSyntaxError },
  { name: "negative body size", chunks: [classic('{"file_size": -5}')], error: InvalidLengthError },
  {
    name: "header over maxHeaderLength",
    options: { maxHeaderLength: 8 },
    chunks: [hello],
    error: FrameTooLongError,
  },
  {
    name: "body over maxBodyLength",
    options: { maxBodyLength: 4 },
    chunks: [hello],
    error: FrameTooLongError,
  },
  {
    name: "too long then recovery with discard, twice: no event for a skipped frame",
    options: { maxBodyLength: 4, onTooLong: "discard" },
    chunks: [concat(hello, classic('{"file_size": 2}', "ok"), hello, classic("{}"))],
    frames: [{ header: { file_size: 2 }, bodySize: 2, body: "ok" }, {
      header: {},
      bodySize: 0,
      body: "",
    }],
  },
  { name: "EOF mid-header", chunks: [hello.subarray(0, 12)], error: IncompleteFrameError },
  {
    name: "EOF mid-body",
    chunks: [hello.subarray(0, hello.length - 1)],
    error: IncompleteFrameError,
  },
];

for (const c of decodeCases) {
  Deno.test(`JsonHeaderStreamCodec decodes: ${c.name}`, () => {
    const codec = new JsonHeaderStreamCodec(c.options);
    if (c.events) assertEquals(decodeChunks(codec, c.chunks), c.events);
    const all = concat(...c.chunks);
    // As given, whole, and a byte at a time.
    for (const chunks of [c.chunks, [all], cutAt(all, [...all.keys()])]) {
      if (c.error) {
        assertThrows(() => decodeChunks(codec, chunks), c.error);
      } else {
        const expected = c.frames ?? whole(c.events!);
        assertEquals(whole(decodeChunks(codec, chunks)), expected);
      }
    }
  });
}

Deno.test("JsonHeaderStreamCodec decodes: the end counts the whole frame when it is cut short", () => {
  const decoder = new JsonHeaderStreamCodec().decoder();
  const input = new ByteWindow(hello.subarray(0, hello.length - 2));
  while (decoder.decode(input) !== undefined);
  assertThrowsMatching(() => decoder.decodeEof(input), {
    name: "IncompleteFrameError",
    message: `Cannot decode frame: stream ended with ${hello.length - 2} of ${hello.length} bytes`,
  });
});

Deno.test("JsonHeaderStreamCodec decodes: a 20 MiB body passes in chunks no larger than the reads", () => {
  const size = 20 * 1024 * 1024;
  const readSize = 64 * 1024;
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + (i >>> 16)) & 0xff;
  const codec = new JsonHeaderStreamCodec();
  const parts: Uint8Array[] = [];
  const sink: ByteSink = { write: (data) => parts.push(data.slice()) };
  codec.encode({ type: "header", header: { file_name: "big.bin" }, bodySize: size }, sink);
  codec.encode({ type: "body", chunk: body }, sink);
  codec.encode({ type: "end" }, sink);
  const wire = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    wire.set(part, offset);
    offset += part.length;
  }

  const reads = cutAt(
    wire,
    Array.from({ length: wire.length / readSize }, (_, i) => (i + 1) * readSize),
  );
  const events = decodeChunks(codec, reads);
  assertEquals(events[0], {
    type: "header",
    header: { file_name: "big.bin", file_size: size },
    bodySize: size,
  });
  assertEquals(events[events.length - 1], { type: "end" });
  let received = 0;
  let mismatches = 0;
  for (const event of events.slice(1, -1)) {
    assertEquals(event.type, "body");
    if (event.type !== "body") continue;
    assert(event.chunk.length <= readSize, `a chunk of ${event.chunk.length} bytes`);
    for (let i = 0; i < event.chunk.length; i++) {
      if (event.chunk[i] !== body[received + i]) mismatches++;
    }
    received += event.chunk.length;
  }
  assertEquals(received, size);
  assertEquals(mismatches, 0);
  // The buffered codec, with its default 8 MiB maxFrameLength, refuses it.
  assertThrows(() => decodeChunks(new JsonHeaderCodec(), reads.slice(0, 1)), FrameTooLongError);
});

// Encoding: events go to one sink in order; the codec keeps count per sink.

function recorder(): { sink: ByteSink; wire: () => Uint8Array } {
  const parts: Uint8Array[] = [];
  return { sink: { write: (data) => parts.push(data.slice()) }, wire: () => concat(...parts) };
}

interface EncodeCase {
  name: string;
  options?: JsonHeaderStreamCodecOptions;
  events: JsonHeaderStreamFrame[];
  wire?: Uint8Array;
  error?: ErrorClass;
}

const head = (bodySize: number, header: Record<string, unknown> = {}): JsonHeaderStreamFrame => ({
  type: "header",
  header,
  bodySize,
});
const chunk = (text: string): JsonHeaderStreamFrame => ({ type: "body", chunk: bytes(text) });
const end: JsonHeaderStreamFrame = { type: "end" };

const encodeCases: EncodeCase[] = [
  {
    name: "header with the body size set, chunks, end",
    events: [head(5, { file_name: "a.txt", file_size: 1 }), chunk("hel"), chunk("lo"), end],
    wire: classic('{"file_name":"a.txt","file_size":5}', "hello"),
  },
  {
    name: "an empty body: header then end",
    events: [head(0), end],
    wire: classic('{"file_size":0}'),
  },
  { name: "a body before any header", events: [chunk("x")], error: TypeError },
  { name: "an end before any header", events: [end], error: TypeError },
  { name: "a chunk past the body size", events: [head(2), chunk("abc")], error: FrameTooLongError },
  {
    name: "an end before the body is complete",
    events: [head(2), chunk("a"), end],
    error: RangeError,
  },
  { name: "a header while a body is owed", events: [head(2), head(0)], error: RangeError },
  { name: "a header after a body without its end", events: [head(0), head(0)], error: RangeError },
  { name: "a negative bodySize", events: [head(-1)], error: RangeError },
  {
    name: "a bodySize over maxBodyLength",
    options: { maxBodyLength: 3 },
    events: [head(4)],
    error: FrameTooLongError,
  },
  {
    name: "an unknown event type",
    events: [{ type: "trailer" } as unknown as JsonHeaderStreamFrame],
    error: TypeError,
  },
];

for (const c of encodeCases) {
  Deno.test(`JsonHeaderStreamCodec encodes: ${c.name}`, () => {
    const codec = new JsonHeaderStreamCodec(c.options);
    const { sink, wire } = recorder();
    const run = () => c.events.forEach((event) => codec.encode(event, sink));
    if (c.error) {
      assertThrows(run, c.error);
    } else {
      run();
      assertEquals(wire(), c.wire);
    }
  });
}

Deno.test("JsonHeaderStreamCodec encodes: one codec, two sinks interleaved, each counted apart", () => {
  const codec = new JsonHeaderStreamCodec();
  const a = recorder();
  const b = recorder();
  codec.encode(head(2), a.sink);
  codec.encode(head(1), b.sink);
  codec.encode(chunk("x"), a.sink);
  codec.encode(chunk("y"), b.sink);
  codec.encode(end, b.sink);
  codec.encode(chunk("z"), a.sink);
  codec.encode(end, a.sink);
  assertEquals(a.wire(), classic('{"file_size":2}', "xz"));
  assertEquals(b.wire(), classic('{"file_size":1}', "y"));
});

Deno.test("JsonHeaderStreamCodec encodes: encodeFrame suits a header event", () => {
  assertEquals(encodeFrame(new JsonHeaderStreamCodec(), head(0)), classic('{"file_size":0}'));
});

Deno.test("JsonHeaderStreamCodec property: events encoded and cut anywhere decode to the same frames", () => {
  const codec = new JsonHeaderStreamCodec();
  const frameArb = fc.record({
    header: fc.record({ name: fc.string({ maxLength: 6 }) }),
    // The body as chunks, so the encoder is fed chunks of every size.
    chunks: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  });
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 5 }),
      fc.array(fc.nat(300), { maxLength: 10 }),
      (frames, offsets) => {
        const { sink, wire } = recorder();
        for (const frame of frames) {
          const body = frame.chunks.join("");
          codec.encode(head(bytes(body).length, frame.header), sink);
          frame.chunks.forEach((text) => codec.encode(chunk(text), sink));
          codec.encode(end, sink);
        }
        const expected = frames.map((frame) => {
          const body = frame.chunks.join("");
          const bodySize = bytes(body).length;
          return { header: { ...frame.header, file_size: bodySize }, bodySize, body };
        });
        assertEquals(whole(decodeChunks(codec, cutAt(wire(), offsets))), expected);
      },
    ),
    { numRuns: 200 },
  );
});
