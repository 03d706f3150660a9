import { assertEquals } from "@std/assert";
import fc from "fast-check";
import {
  encodeFrame,
  FixedLengthCodec,
  type FixedLengthCodecOptions,
} from "@socketserver/core/framing";

import {
  assertRoundTrip,
  assertThrowsMatching,
  type ConstructorCase,
  type DecodeCase,
  type ErrorMatcher,
  testConstructorRefuses,
  testDecodeCases,
  wire,
} from "../support/wire.ts";

const decodeCases: DecodeCase<FixedLengthCodecOptions>[] = [
  {
    name: "one frame in one chunk",
    options: { frameLength: 3 },
    chunks: ['"abc"'],
    frames: ['"abc"'],
  },
  {
    name: "many frames in one chunk",
    options: { frameLength: 2 },
    chunks: ['"abcdef"'],
    frames: ['"ab"', '"cd"', '"ef"'],
  },
  {
    name: "frame split across two chunks",
    options: { frameLength: 4 },
    chunks: ['"ab"', '"cdef"', '"gh"'],
    frames: ['"abcd"', '"efgh"'],
  },
  {
    name: "1-byte frames",
    options: { frameLength: 1 },
    chunks: ['"xyz"'],
    frames: ['"x"', '"y"', '"z"'],
  },
  { name: "no bytes at all is no frame", options: { frameLength: 4 }, chunks: [], frames: [] },
  {
    name: "EOF mid-frame",
    options: { frameLength: 4 },
    chunks: ['"abcd" "ef"'],
    error: {
      name: "IncompleteFrameError",
      received: 2,
      expected: 4,
      message: "Cannot decode frame: stream ended with 2 of 4 bytes",
    },
  },
  {
    name: "binary bytes pass through untouched",
    options: { frameLength: 2 },
    chunks: ["00 FF 0A 0D"],
    frames: ["00 FF", "0A 0D"],
  },
];

testDecodeCases("FixedLengthCodec", (options) => new FixedLengthCodec(options), decodeCases);

const encodeCases: {
  name: string;
  frameLength: number;
  frame: Uint8Array;
  error?: ErrorMatcher;
}[] = [
  { name: "a frame of the right size is written as it is", frameLength: 3, frame: wire('"abc"') },
  {
    name: "a frame too long is refused with both numbers",
    frameLength: 3,
    frame: wire('"abcd"'),
    error: { name: "RangeError", message: "Cannot encode frame: length 4 is not frameLength 3" },
  },
  {
    name: "a frame too short is refused",
    frameLength: 3,
    frame: wire('"ab"'),
    error: { name: "RangeError", message: /length 2 is not frameLength 3/ },
  },
  {
    name: "an empty frame is refused",
    frameLength: 1,
    frame: new Uint8Array(0),
    error: RangeError,
  },
];

for (const { name, frameLength, frame, error } of encodeCases) {
  Deno.test(`FixedLengthCodec encode: ${name}`, () => {
    const codec = new FixedLengthCodec({ frameLength });
    if (error !== undefined) {
      assertThrowsMatching(() => encodeFrame(codec, frame), error);
    } else {
      assertEquals(encodeFrame(codec, frame), frame);
    }
  });
}

const constructorCases: ConstructorCase[] = [
  {
    name: "frameLength 0",
    options: { frameLength: 0 },
    error: { name: "RangeError", message: /frameLength must be an integer of at least 1, got 0/ },
  },
  { name: "a negative frameLength", options: { frameLength: -4 }, error: RangeError },
  { name: "a fractional frameLength", options: { frameLength: 2.5 }, error: RangeError },
  {
    name: "a missing frameLength",
    options: {},
    error: { name: "TypeError", message: /frameLength must be a number, got undefined/ },
  },
  {
    name: "frameLength over maxFrameLength",
    options: { frameLength: 10, maxFrameLength: 8 },
    error: {
      name: "RangeError",
      message: "Cannot create FixedLengthCodec: frameLength 10 exceeds maxFrameLength 8",
    },
  },
  {
    name: "frameLength over the 8 MiB default",
    options: { frameLength: 8 * 1024 * 1024 + 1 },
    error: { name: "RangeError", message: /exceeds maxFrameLength 8388608/ },
  },
  {
    name: "a negative maxFrameLength",
    options: { frameLength: 1, maxFrameLength: -1 },
    error: RangeError,
  },
];

testConstructorRefuses(
  "FixedLengthCodec",
  (options) => new FixedLengthCodec(options as unknown as FixedLengthCodecOptions),
  constructorCases,
);

Deno.test("FixedLengthCodec: frameLength equal to maxFrameLength is allowed", () => {
  const codec = new FixedLengthCodec({ frameLength: 8, maxFrameLength: 8 });
  assertEquals(codec.frameLength, 8);
  assertEquals(codec.maxFrameLength, 8);
});

Deno.test("FixedLengthCodec property: any frames, cut anywhere, decode to themselves", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 16 }).chain((frameLength) =>
        fc.tuple(
          fc.constant(frameLength),
          fc.array(fc.uint8Array({ minLength: frameLength, maxLength: frameLength }), {
            maxLength: 12,
          }),
        )
      ),
      fc.array(fc.nat({ max: 200 }), { maxLength: 12 }),
      ([frameLength, frames], cuts) => {
        const codec = new FixedLengthCodec({ frameLength });
        assertRoundTrip(codec, frames, cuts);
      },
    ),
    { numRuns: 200 },
  );
});
