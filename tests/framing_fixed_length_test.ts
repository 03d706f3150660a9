import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeFrame } from "../src/framing/encode_frame.ts";
import { FixedLengthCodec, type FixedLengthCodecOptions } from "../src/framing/fixed_length.ts";
import { cutAt, decodeChunks, encodeAll } from "./support/codec_harness.ts";
import { byteByByte, decodeStrict, wire } from "./support/wire.ts";

interface DecodeCase {
  name: string;
  frameLength: number;
  /** Each string is one chunk, as `wire()` reads it. */
  chunks: string[];
  frames?: string[];
  error?: Record<string, unknown>;
}

const decodeCases: DecodeCase[] = [
  { name: "one frame in one chunk", frameLength: 3, chunks: ['"abc"'], frames: ['"abc"'] },
  {
    name: "many frames in one chunk",
    frameLength: 2,
    chunks: ['"abcdef"'],
    frames: ['"ab"', '"cd"', '"ef"'],
  },
  {
    name: "frame split across two chunks",
    frameLength: 4,
    chunks: ['"ab"', '"cdef"', '"gh"'],
    frames: ['"abcd"', '"efgh"'],
  },
  { name: "1-byte frames", frameLength: 1, chunks: ['"xyz"'], frames: ['"x"', '"y"', '"z"'] },
  { name: "no bytes at all is no frame", frameLength: 4, chunks: [], frames: [] },
  {
    name: "EOF mid-frame",
    frameLength: 4,
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
    frameLength: 2,
    chunks: ["00 FF 0A 0D"],
    frames: ["00 FF", "0A 0D"],
  },
];

for (const { name, frameLength, chunks, frames, error } of decodeCases) {
  Deno.test(`FixedLengthCodec decode: ${name}`, () => {
    const codec = new FixedLengthCodec({ frameLength });
    const input = chunks.map(wire);
    for (const split of [input, byteByByte(input)]) {
      if (error !== undefined) {
        assert.throws(() => decodeChunks(codec, split), error);
      } else {
        assert.deepEqual(decodeChunks(codec, split), (frames ?? []).map(wire));
      }
    }
  });
}

const encodeCases: { name: string; frameLength: number; frame: Uint8Array; error?: unknown }[] = [
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
      assert.throws(() => encodeFrame(codec, frame), error as Record<string, unknown>);
    } else {
      assert.deepEqual(encodeFrame(codec, frame), frame);
    }
  });
}

const constructorCases: { name: string; options: Record<string, unknown>; error: unknown }[] = [
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

for (const { name, options, error } of constructorCases) {
  Deno.test(`FixedLengthCodec constructor refuses ${name}`, () => {
    assert.throws(
      () => new FixedLengthCodec(options as unknown as FixedLengthCodecOptions),
      error as Record<string, unknown>,
    );
  });
}

Deno.test("FixedLengthCodec: frameLength equal to maxFrameLength is allowed", () => {
  const codec = new FixedLengthCodec({ frameLength: 8, maxFrameLength: 8 });
  assert.equal(codec.frameLength, 8);
  assert.equal(codec.maxFrameLength, 8);
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
        const encoded = encodeAll(codec, frames);
        assert.deepEqual(decodeChunks(codec, cutAt(encoded, cuts)), frames);
        assert.deepEqual(decodeStrict(codec, encoded), frames);
      },
    ),
    { numRuns: 200 },
  );
});
