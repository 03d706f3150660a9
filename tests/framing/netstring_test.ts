import { assertEquals } from "@std/assert";
import fc from "fast-check";
import {
  type ByteSink,
  encodeFrame,
  NetstringCodec,
  type NetstringCodecOptions,
} from "@socketserver/core/framing";
import { bytes } from "../support/codec_harness.ts";
import {
  assertRoundTrip,
  assertThrowsMatching,
  type ConstructorCase,
  type DecodeCase,
  testConstructorRefuses,
  testDecodeCases,
} from "../support/wire.ts";

const decodeCases: DecodeCase<NetstringCodecOptions>[] = [
  { name: "one frame in one chunk", options: {}, chunks: ["5:hello,"], frames: ["hello"] },
  {
    name: "length split across two chunks",
    options: {},
    chunks: ["1", "1:Hello world,"],
    frames: ["Hello world"],
  },
  {
    name: "header split before the colon",
    options: {},
    chunks: ["11", ":Hello world,"],
    frames: ["Hello world"],
  },
  {
    name: "body split, comma in a chunk of its own",
    options: {},
    chunks: ["5:he", "llo", ","],
    frames: ["hello"],
  },
  {
    name: "many frames in one chunk",
    options: {},
    chunks: ["1:a,2:bc,0:,3:def,"],
    frames: ["a", "bc", "", "def"],
  },
  { name: "empty frame", options: {}, chunks: ["0:,"], frames: [""] },
  { name: "no bytes at all is no frame", options: {}, chunks: [], frames: [] },
  {
    name: "a payload may hold colons and commas",
    options: {},
    chunks: ["3:a,b,4:1:x,,"],
    frames: ["a,b", "1:x,"],
  },
  {
    name: "EOF mid-length",
    options: {},
    chunks: ["12"],
    error: { name: "IncompleteFrameError", received: 2, expected: undefined },
  },
  {
    name: "EOF mid-frame",
    options: {},
    chunks: ["5:ab"],
    error: { name: "IncompleteFrameError", received: 4, expected: 8 },
  },
  {
    name: "EOF before the comma",
    options: {},
    chunks: ["3:abc"],
    error: { name: "IncompleteFrameError", received: 5, expected: 6 },
  },
  {
    name: "a leading zero",
    options: {},
    chunks: ["05:hello,"],
    error: { name: "FrameSyntaxError", offset: 0, message: /leading zero/ },
  },
  {
    name: "a zero length written 00",
    options: {},
    chunks: ["00:,"],
    error: { name: "FrameSyntaxError", offset: 0, message: /leading zero/ },
  },
  {
    name: "a non-digit where the length starts",
    options: {},
    chunks: ["x:abc,"],
    error: {
      name: "FrameSyntaxError",
      offset: 0,
      message: 'Cannot decode frame: expected a netstring length digit, found "x" (0x78)',
    },
  },
  {
    name: "a sign before the length",
    options: {},
    chunks: ["+5:hello,"],
    error: { name: "FrameSyntaxError", offset: 0 },
  },
  {
    name: "an empty length",
    options: {},
    chunks: [":,"],
    error: { name: "FrameSyntaxError", offset: 0, message: /found ":"/ },
  },
  {
    name: "a space inside the header",
    options: {},
    chunks: ["5 :hello,"],
    error: { name: "FrameSyntaxError", offset: 1, message: /digit or ":", found " " \(0x20\)/ },
  },
  {
    name: "missing colon",
    options: {},
    chunks: ["5hello,"],
    error: { name: "FrameSyntaxError", offset: 1, message: /found "h"/ },
  },
  {
    name: "missing comma",
    options: {},
    chunks: ["5:hello;"],
    error: {
      name: "FrameSyntaxError",
      offset: 7,
      message:
        'Cannot decode frame: expected "," after the 5-byte netstring payload, found ";" (0x3b)',
    },
  },
  {
    name: "a length too short leaves no comma where it says",
    options: {},
    chunks: ["3:hello,"],
    error: { name: "FrameSyntaxError", offset: 5, message: /found "l"/ },
  },
  {
    name: "a control byte in the length is shown in hex",
    options: {},
    chunks: ["1\n"],
    error: { name: "FrameSyntaxError", offset: 1, message: /found 0x0a$/ },
  },
  {
    name: "too long fails on the header, before any payload arrives",
    options: { maxFrameLength: 4 },
    chunks: ["5:"],
    error: {
      name: "FrameTooLongError",
      length: 5,
      maxFrameLength: 4,
      message: "Cannot decode frame: length 5 exceeds maxFrameLength 4",
    },
  },
  {
    name: "a flood of digits stops at the first digit past the limit",
    options: {},
    chunks: ["1".repeat(40)],
    // 8388608 has 7 digits: the 8th is where the scan stops.
    error: { name: "FrameTooLongError", length: 11111111, maxFrameLength: 8388608 },
  },
  {
    name: "a length with as many digits as the limit, but over it",
    options: { maxFrameLength: 10 },
    chunks: ["11:"],
    error: { name: "FrameTooLongError", length: 11, maxFrameLength: 10 },
  },
  {
    name: "a frame exactly maxFrameLength long is accepted",
    options: { maxFrameLength: 10 },
    chunks: ["10:0123456789,"],
    frames: ["0123456789"],
  },
  {
    name: "too long then recovery with discard, failing twice",
    options: { maxFrameLength: 3, onTooLong: "discard" },
    chunks: ["2:ab,7:too", "long,1:c,13:much too", " long,3:xyz,"],
    frames: ["ab", "c", "xyz"],
  },
  {
    name: "discard: only too-long frames leaves no frame",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ["2:ab,2:cd,"],
    frames: [],
  },
  {
    name: "discard: the skipped frame's comma is still checked",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ["3:abc;"],
    error: { name: "FrameSyntaxError", offset: 5, message: /3-byte netstring payload, found ";"/ },
  },
  {
    name: "discard: EOF inside the discarded frame",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ["5:ab"],
    error: { name: "IncompleteFrameError", received: 4, expected: 8 },
  },
  {
    name: "discard: a length past Number.MAX_SAFE_INTEGER cannot be skipped",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    // Sixteen ones are a safe integer; the 17th digit is where the scan stops.
    chunks: ["1".repeat(40)],
    error: { name: "FrameTooLongError", length: 11111111111111111, maxFrameLength: 1 },
  },
];

testDecodeCases("NetstringCodec", (options) => new NetstringCodec(options), decodeCases, bytes);

const headerCases: { length: number; header: string }[] = [
  { length: 0, header: "0:" },
  { length: 9, header: "9:" },
  { length: 10, header: "10:" },
  { length: 300, header: "300:" },
  { length: 2 ** 32, header: "4294967296:" },
  { length: Number.MAX_SAFE_INTEGER, header: "9007199254740991:" },
];

for (const { length, header } of headerCases) {
  Deno.test(`NetstringCodec encode: the header for length ${length} is "${header}"`, () => {
    const codec = new NetstringCodec({ maxFrameLength: Number.MAX_SAFE_INTEGER });
    // Only the header and comma are looked at, so a frame of any length can
    // be described without allocating it.
    const written: Uint8Array[] = [];
    const sink: ByteSink = {
      write(part) {
        written.push(written.length === 1 ? new Uint8Array(0) : part.slice());
      },
    };
    codec.encode({ length } as Uint8Array, sink);
    assertEquals(written.length, 3);
    assertEquals(written[0], bytes(header));
    assertEquals(written[2], bytes(","));
  });
}

Deno.test("NetstringCodec encode: frames as the spec writes them", () => {
  const codec = new NetstringCodec();
  const text = (frame: string) => new TextDecoder().decode(encodeFrame(codec, bytes(frame)));
  assertEquals(text("hello world!"), "12:hello world!,");
  assertEquals(text(""), "0:,");
  assertEquals(text("a,b:"), "4:a,b:,");
});

Deno.test("NetstringCodec encode: a frame over maxFrameLength is refused", () => {
  const codec = new NetstringCodec({ maxFrameLength: 4 });
  assertThrowsMatching(() => encodeFrame(codec, new Uint8Array(5)), {
    name: "FrameTooLongError",
    length: 5,
    maxFrameLength: 4,
    message: "Cannot encode frame: length 5 exceeds maxFrameLength 4",
  });
});

const constructorCases: ConstructorCase[] = [
  {
    name: "a fractional maxFrameLength",
    options: { maxFrameLength: 1.5 },
    error: {
      name: "RangeError",
      message: /maxFrameLength must be an integer of at least 0, got 1.5/,
    },
  },
  { name: "maxFrameLength as a string", options: { maxFrameLength: "10" }, error: TypeError },
  { name: "an unknown onTooLong", options: { onTooLong: "ignore" }, error: RangeError },
];

testConstructorRefuses(
  "NetstringCodec",
  (options) => new NetstringCodec(options as NetstringCodecOptions),
  constructorCases,
);

Deno.test("NetstringCodec property: any frames, cut anywhere, decode to themselves", () => {
  const codec = new NetstringCodec();
  fc.assert(
    fc.property(
      // Up to 120 bytes, so lengths of one, two and three digits all occur.
      fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 10 }),
      fc.array(fc.nat({ max: 1300 }), { maxLength: 12 }),
      (frames, cuts) => {
        assertRoundTrip(codec, frames, cuts);
      },
    ),
    { numRuns: 200 },
  );
});
