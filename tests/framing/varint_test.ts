import { assertEquals } from "@std/assert";
import fc from "fast-check";
import {
  type ByteSink,
  encodeFrame,
  VarintLengthCodec,
  type VarintLengthCodecOptions,
} from "@socketserver/core/framing";
import { decodeChunks } from "../support/codec_harness.ts";
import {
  assertRoundTrip,
  assertThrowsMatching,
  type ConstructorCase,
  type DecodeCase,
  testConstructorRefuses,
  testDecodeCases,
  wire,
} from "../support/wire.ts";

const A300 = '"a" '.repeat(300);

const decodeCases: DecodeCase<VarintLengthCodecOptions>[] = [
  {
    name: "one-byte varint",
    options: {},
    chunks: ['0B "Hello world"'],
    frames: ['"Hello world"'],
  },
  { name: "two-byte varint: AC 02 is 300", options: {}, chunks: [`AC 02 ${A300}`], frames: [A300] },
  {
    name: "varint split across two chunks",
    options: {},
    chunks: ["AC", `02 ${A300}`],
    frames: [A300],
  },
  {
    name: "body split",
    options: {},
    chunks: ['05 "he"', '"l"', '"lo"'],
    frames: ['"hello"'],
  },
  {
    name: "many frames in one chunk",
    options: {},
    chunks: ['01 "a" 02 "bc" 00 03 "def"'],
    frames: ['"a"', '"bc"', "", '"def"'],
  },
  { name: "empty frame", options: {}, chunks: ["00"], frames: [""] },
  { name: "no bytes at all is no frame", options: {}, chunks: [], frames: [] },
  {
    name: "an overlong varint (81 80 00 is 1) is accepted, as protobuf does",
    options: {},
    chunks: ['81 80 00 "z"'],
    frames: ['"z"'],
  },
  {
    name: "a 10-byte varint is still a varint",
    options: {},
    chunks: ["80 80 80 80 80 80 80 80 80 00"],
    frames: [""],
  },
  {
    name: "a varint longer than 10 bytes is a syntax error",
    options: {},
    chunks: ["80 80 80 80 80 80 80 80 80 80"],
    error: { name: "FrameSyntaxError", offset: 9, message: /longer than 10 bytes/ },
  },
  {
    name: "EOF mid-varint",
    options: {},
    chunks: ["80"],
    error: { name: "IncompleteFrameError", received: 1, expected: undefined },
  },
  {
    name: "EOF mid-frame",
    options: {},
    chunks: ['05 "ab"'],
    error: { name: "IncompleteFrameError", received: 3, expected: 6 },
  },
  {
    name: "too long: fails on the header, before any payload arrives",
    options: { maxFrameLength: 127 },
    chunks: ["80 01"],
    error: {
      name: "FrameTooLongError",
      length: 128,
      maxFrameLength: 127,
      message: "Cannot decode frame: length 128 exceeds maxFrameLength 127",
    },
  },
  {
    name: "too long: a partial varint already over the limit fails before it ends",
    options: { maxFrameLength: 100 },
    chunks: ["FF"],
    error: { name: "FrameTooLongError", length: 127, maxFrameLength: 100 },
  },
  {
    name: "a hostile varint fails on its 4th byte under the 8 MiB default",
    options: {},
    chunks: ["FF FF FF FF"],
    error: { name: "FrameTooLongError", length: 268435455, maxFrameLength: 8388608 },
  },
  {
    name: "a frame exactly maxFrameLength long is accepted",
    options: { maxFrameLength: 2 },
    chunks: ['02 "ab"'],
    frames: ['"ab"'],
  },
  {
    name: "too long then recovery with discard, failing twice",
    options: { maxFrameLength: 3, onTooLong: "discard" },
    chunks: [
      '02 "ab" 07 "too"',
      '"long" 01 "c" AC',
      `02 ${A300} 03 "xyz"`,
    ],
    frames: ['"ab"', '"c"', '"xyz"'],
  },
  {
    name: "discard: only too-long frames leaves no frame",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ['02 "ab" 02 "cd"'],
    frames: [],
  },
  {
    name: "discard: EOF inside the discarded frame",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ['05 "ab"'],
    error: { name: "IncompleteFrameError", received: 3, expected: 6 },
  },
  {
    name: "discard: a varint past Number.MAX_SAFE_INTEGER is a syntax error",
    options: { maxFrameLength: 10, onTooLong: "discard" },
    chunks: ["FF FF FF FF FF FF FF FF 7F"],
    error: { name: "FrameSyntaxError", offset: 7, message: /MAX_SAFE_INTEGER/ },
  },
];

testDecodeCases("VarintLengthCodec", (options) => new VarintLengthCodec(options), decodeCases);

const headerCases: { name: string; length: number; header: string }[] = [
  { name: "0", length: 0, header: "00" },
  { name: "1", length: 1, header: "01" },
  { name: "127, the largest one-byte varint", length: 127, header: "7F" },
  { name: "128, the smallest two-byte varint", length: 128, header: "80 01" },
  { name: "150, protobuf's own example", length: 150, header: "96 01" },
  { name: "300", length: 300, header: "AC 02" },
  { name: "16384", length: 16384, header: "80 80 01" },
  { name: "2 ** 31, past 32-bit signed arithmetic", length: 2 ** 31, header: "80 80 80 80 08" },
  { name: "2 ** 32, past 32-bit arithmetic", length: 2 ** 32, header: "80 80 80 80 10" },
  {
    name: "Number.MAX_SAFE_INTEGER",
    length: Number.MAX_SAFE_INTEGER,
    header: "FF FF FF FF FF FF FF 0F",
  },
];

for (const { name, length, header } of headerCases) {
  Deno.test(`VarintLengthCodec encode: the varint for ${name}`, () => {
    const codec = new VarintLengthCodec({ maxFrameLength: Number.MAX_SAFE_INTEGER });
    // Only the header is looked at, so a frame of any length can be described
    // without allocating it.
    const written: Uint8Array[] = [];
    const sink: ByteSink = {
      write(part) {
        // The second write is the stand-in frame: keep the header only.
        if (written.length === 0) written.push(part.slice());
      },
    };
    codec.encode({ length } as Uint8Array, sink);
    assertEquals(written[0], wire(header));
    // And the decoder reads the same value back (it then waits for the payload).
    if (length === 0) {
      assertEquals(decodeChunks(codec, [written[0]]), [new Uint8Array(0)]);
    } else {
      assertThrowsMatching(() => decodeChunks(codec, [written[0]]), {
        name: "IncompleteFrameError",
        expected: written[0].length + length,
      });
    }
  });
}

Deno.test("VarintLengthCodec encode: frames round-trip, payload after the varint", () => {
  const codec = new VarintLengthCodec();
  assertEquals(encodeFrame(codec, wire('"hi"')), wire('02 "hi"'));
  assertEquals(encodeFrame(codec, new Uint8Array(0)), wire("00"));
  assertEquals(encodeFrame(codec, wire(A300)), wire(`AC 02 ${A300}`));
});

Deno.test("VarintLengthCodec encode: a frame over maxFrameLength is refused", () => {
  const codec = new VarintLengthCodec({ maxFrameLength: 4 });
  assertThrowsMatching(() => encodeFrame(codec, new Uint8Array(5)), {
    name: "FrameTooLongError",
    length: 5,
    maxFrameLength: 4,
    message: "Cannot encode frame: length 5 exceeds maxFrameLength 4",
  });
});

const constructorCases: ConstructorCase[] = [
  { name: "a negative maxFrameLength", options: { maxFrameLength: -1 }, error: RangeError },
  {
    name: "maxFrameLength as a string",
    options: { maxFrameLength: "10" },
    error: { name: "TypeError", message: /maxFrameLength must be a number, got string/ },
  },
  {
    name: "an unknown onTooLong",
    options: { onTooLong: "skip" },
    error: { name: "RangeError", message: /got "skip"/ },
  },
];

testConstructorRefuses(
  "VarintLengthCodec",
  (options) => new VarintLengthCodec(options as VarintLengthCodecOptions),
  constructorCases,
);

Deno.test("VarintLengthCodec property: any frames, cut anywhere, decode to themselves", () => {
  const codec = new VarintLengthCodec();
  fc.assert(
    fc.property(
      // Up to 300 bytes, so one- and two-byte varints both occur.
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
      fc.array(fc.nat({ max: 2500 }), { maxLength: 12 }),
      (frames, cuts) => {
        assertRoundTrip(codec, frames, cuts);
      },
    ),
    { numRuns: 200 },
  );
});
