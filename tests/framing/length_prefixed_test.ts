import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import {
  ByteWindow,
  encodeFrame,
  LengthPrefixedCodec,
  type LengthPrefixedCodecOptions,
} from "@socketserver/core/framing";
import { cutAt, decodeChunks, encodeAll } from "../support/codec_harness.ts";
import {
  assertThrowsMatching,
  type ConstructorCase,
  type DecodeCase,
  decodeStrict,
  testConstructorRefuses,
  testDecodeCases,
  wire,
} from "../support/wire.ts";

const HELLO = '"Hello world"';

const decodeCases: DecodeCase<LengthPrefixedCodecOptions>[] = [
  {
    name: "one frame in one chunk, 4-byte big-endian default",
    options: {},
    chunks: [`00 00 00 0B ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "header split across two chunks",
    options: {},
    chunks: ["00 00", `00 0B ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "body split",
    options: {},
    chunks: ['00 00 00 0B "Hel"', '"lo wo"', '"rld"'],
    frames: [HELLO],
  },
  {
    name: "many frames in one chunk",
    options: {},
    chunks: ['00 00 00 01 "a" 00 00 00 02 "bc" 00 00 00 03 "def"'],
    frames: ['"a"', '"bc"', '"def"'],
  },
  {
    name: "a chunk ends a frame and starts the next header",
    options: {},
    chunks: ['00 00 00 01 "a" 00 00', '00 02 "bc"'],
    frames: ['"a"', '"bc"'],
  },
  {
    name: "empty frame, alone and between others",
    options: {},
    chunks: ['00 00 00 00 00 00 00 01 "a" 00 00 00 00'],
    frames: ["", '"a"', ""],
  },
  {
    name: "no bytes at all is no frame",
    options: {},
    chunks: [],
    frames: [],
  },
  {
    name: "EOF mid-header",
    options: {},
    chunks: ["00 00 00"],
    error: { name: "IncompleteFrameError", received: 3, expected: undefined },
  },
  {
    name: "EOF mid-frame",
    options: {},
    chunks: ['00 00 00 05 "ab"'],
    error: { name: "IncompleteFrameError", received: 6, expected: 9 },
  },
  {
    name: "too long fails on the header, before any payload arrives",
    options: { maxFrameLength: 4 },
    chunks: ["00 00 00 05"],
    error: {
      name: "FrameTooLongError",
      length: 5,
      maxFrameLength: 4,
      message: "Cannot decode frame: length 5 exceeds maxFrameLength 4",
    },
  },
  {
    name: "a hostile 4 GiB length fails at once under the 8 MiB default",
    options: {},
    chunks: ["FF FF FF FF"],
    error: { name: "FrameTooLongError", length: 4294967295, maxFrameLength: 8388608 },
  },
  {
    name: "a frame exactly maxFrameLength long is accepted",
    options: { maxFrameLength: 4 },
    chunks: ['00 00 00 04 "abcd"'],
    frames: ['"abcd"'],
  },
  {
    name: "too long then recovery with discard, failing twice",
    options: { maxFrameLength: 3, onTooLong: "discard" },
    chunks: [
      '00 00 00 02 "ab" 00 00 00 07 "too"',
      '"long" 00 00 00 01 "c" 00 00 00 0D "much too"',
      '" long" 00 00 00 03 "xyz"',
    ],
    frames: ['"ab"', '"c"', '"xyz"'],
  },
  {
    name: "discard: a too-long frame's header split, its end on a chunk boundary",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ["00 00", '00 03 "abc"', '00 00 00 01 "z"'],
    frames: ['"z"'],
  },
  {
    name: "discard: only too-long frames leaves no frame",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ['00 00 00 02 "ab" 00 00 00 02 "cd"'],
    frames: [],
  },
  {
    name: "discard: EOF inside the discarded frame",
    options: { maxFrameLength: 1, onTooLong: "discard" },
    chunks: ['00 00 00 05 "ab"'],
    error: { name: "IncompleteFrameError", received: 6, expected: 9 },
  },
  {
    name: "little-endian 2-byte field",
    options: { lengthFieldLength: 2, littleEndian: true },
    chunks: [`0B 00 ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "1-byte field",
    options: { lengthFieldLength: 1 },
    chunks: [`0B ${HELLO} 00`],
    frames: [HELLO, ""],
  },
  {
    name: "8-byte big-endian field",
    options: { lengthFieldLength: 8 },
    chunks: [`00 00 00 00 00 00 00 0B ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "8-byte little-endian field",
    options: { lengthFieldLength: 8, littleEndian: true },
    chunks: [`0B 00 00 00 00 00 00 00 ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "8-byte length past Number.MAX_SAFE_INTEGER is invalid",
    options: { lengthFieldLength: 8 },
    chunks: ["FF FF FF FF FF FF FF FF"],
    error: { name: "InvalidLengthError" },
  },
  {
    name: "Python struct.pack('i', 11): 4 bytes little-endian",
    options: { format: "i" },
    chunks: [`0B 00 00 00 ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "Python struct.pack('!I', 11): network order",
    options: { format: "!I" },
    chunks: [`00 00 00 0B ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "format overrides lengthFieldLength, littleEndian and signed",
    options: { format: ">H", lengthFieldLength: 8, littleEndian: true, signed: true },
    chunks: [`00 0B ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "negative signed length, Python struct.pack('i', -1)",
    options: { format: "i" },
    chunks: ["FF FF FF FF"],
    error: { name: "InvalidLengthError", length: -1, message: /negative/ },
  },
  {
    name: "negative signed 2-byte length",
    options: { lengthFieldLength: 2, signed: true },
    chunks: ["80 00"],
    error: { name: "InvalidLengthError", length: -32768 },
  },
  {
    name: "the same bytes unsigned are a large length",
    options: { lengthFieldLength: 2, maxFrameLength: 100 },
    chunks: ["80 00"],
    error: { name: "FrameTooLongError", length: 32768, maxFrameLength: 100 },
  },
  {
    name: "length includes the header",
    options: { lengthFieldLength: 2, lengthIncludesHeader: true },
    chunks: [`00 0D ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "length equal to the header is an empty frame",
    options: { lengthFieldLength: 2, lengthIncludesHeader: true },
    chunks: ["00 02"],
    frames: [""],
  },
  {
    name: "length smaller than the header it includes is invalid",
    options: { lengthFieldLength: 2, lengthIncludesHeader: true },
    chunks: ['00 01 "x"'],
    error: { name: "InvalidLengthError", length: 1, message: /minimum 2 .*2-byte header/ },
  },
  {
    name: "maxFrameLength bounds the payload, not the header it includes",
    options: { lengthFieldLength: 2, lengthIncludesHeader: true, maxFrameLength: 10 },
    chunks: [`00 0D ${HELLO}`],
    error: { name: "FrameTooLongError", length: 11, maxFrameLength: 10 },
  },
  {
    name: "lengthAdjustment -2 reads a 2-byte field that counts itself",
    options: { lengthFieldLength: 2, lengthAdjustment: -2 },
    chunks: [`00 0D ${HELLO}`],
    frames: [HELLO],
  },
  {
    name:
      "lengthIncludesHeader and lengthAdjustment add up (field counts header, not a 2-byte trailer)",
    options: { lengthFieldLength: 2, lengthIncludesHeader: true, lengthAdjustment: 2 },
    chunks: ['00 07 "hello" CC CC'],
    frames: ['"hello" CC CC'],
  },
  {
    name: "negative lengthAdjustment below the minimum is invalid",
    options: { lengthFieldLength: 1, lengthAdjustment: -3 },
    chunks: ["02"],
    error: { name: "InvalidLengthError", length: 2, message: /minimum 3 .*lengthAdjustment is -3/ },
  },
  {
    name: "stripHeader false keeps the length field",
    options: { lengthFieldLength: 2, stripHeader: false },
    chunks: [`00 0B ${HELLO}`],
    frames: [`00 0B ${HELLO}`],
  },
  {
    name: "lengthFieldOffset 2, header stripped",
    options: { lengthFieldOffset: 2, lengthFieldLength: 2 },
    chunks: [`CA FE 00 0B ${HELLO}`],
    frames: [HELLO],
  },
  {
    name: "lengthFieldOffset 2, header kept, split inside the leading bytes",
    options: { lengthFieldOffset: 2, lengthFieldLength: 2, stripHeader: false },
    chunks: ["CA", `FE 00 0B ${HELLO} CA`, "FE 00 00"],
    frames: [`CA FE 00 0B ${HELLO}`, "CA FE 00 00"],
  },
  {
    name: "lengthAdjustment 2: more header after the length field stays in the payload",
    options: { lengthFieldLength: 2, lengthAdjustment: 2 },
    chunks: [`00 0B CA FE ${HELLO}`],
    frames: [`CA FE ${HELLO}`],
  },
  {
    name: "all together: leading byte, length counting the whole frame, header kept",
    options: {
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthIncludesHeader: true,
      stripHeader: false,
    },
    chunks: [`01 00 0E ${HELLO} 02 00 03`],
    frames: [`01 00 0E ${HELLO}`, "02 00 03"],
  },
  {
    name: "discard with a header kept and an offset skips the whole frame",
    options: {
      lengthFieldOffset: 1,
      lengthFieldLength: 1,
      stripHeader: false,
      maxFrameLength: 2,
      onTooLong: "discard",
    },
    chunks: ['07 03 "abc" 07 02 "de"'],
    frames: ['07 02 "de"'],
  },
];

testDecodeCases("LengthPrefixedCodec", (options) => new LengthPrefixedCodec(options), decodeCases);

interface EncodeCase {
  name: string;
  options: LengthPrefixedCodecOptions;
  frame: string | Uint8Array;
  wire?: string;
  error?: Record<string, unknown>;
}

const encodeCases: EncodeCase[] = [
  {
    name: "4-byte big-endian default",
    options: {},
    frame: HELLO,
    wire: `00 00 00 0B ${HELLO}`,
  },
  { name: "empty frame", options: {}, frame: "", wire: "00 00 00 00" },
  {
    name: "Python struct.pack('i', n) bytes",
    options: { format: "i" },
    frame: HELLO,
    wire: `0B 00 00 00 ${HELLO}`,
  },
  { name: "little-endian 2-byte", options: { format: "<H" }, frame: '"ab"', wire: '02 00 "ab"' },
  {
    name: "8-byte big-endian, 300 bytes",
    options: { lengthFieldLength: 8 },
    frame: new Uint8Array(300),
    wire: `00 00 00 00 00 00 01 2C ${"00 ".repeat(300)}`,
  },
  {
    name: "8-byte little-endian, 300 bytes",
    options: { lengthFieldLength: 8, littleEndian: true },
    frame: new Uint8Array(300),
    wire: `2C 01 00 00 00 00 00 00 ${"00 ".repeat(300)}`,
  },
  {
    name: "length includes the header",
    options: { lengthFieldLength: 2, lengthIncludesHeader: true },
    frame: HELLO,
    wire: `00 0D ${HELLO}`,
  },
  {
    name: "lengthAdjustment 2: the frame carries the extra header",
    options: { lengthFieldLength: 2, lengthAdjustment: 2 },
    frame: `CA FE ${HELLO}`,
    wire: `00 0B CA FE ${HELLO}`,
  },
  {
    name: "stripHeader false: leading bytes kept, length field written over",
    options: { lengthFieldOffset: 2, lengthFieldLength: 2, stripHeader: false },
    frame: `CA FE 99 99 ${HELLO}`,
    wire: `CA FE 00 0B ${HELLO}`,
  },
  {
    name: "all together: leading byte, length counting the whole frame",
    options: {
      lengthFieldOffset: 1,
      lengthFieldLength: 2,
      lengthIncludesHeader: true,
      stripHeader: false,
    },
    frame: `01 00 00 ${HELLO}`,
    wire: `01 00 0E ${HELLO}`,
  },
  {
    name: "value too large for the 1-byte length field on encode",
    options: { lengthFieldLength: 1 },
    frame: new Uint8Array(256),
    error: {
      name: "FrameTooLongError",
      length: 256,
      maxFrameLength: 255,
      message:
        /Cannot encode frame: length 256 exceeds the 1-byte unsigned length field's limit 255/,
    },
  },
  {
    name: "value too large for a signed 1-byte field",
    options: { lengthFieldLength: 1, signed: true },
    frame: new Uint8Array(128),
    error: { name: "FrameTooLongError", length: 128, maxFrameLength: 127 },
  },
  {
    name: "the largest frame a 1-byte field counting its header can carry",
    options: { lengthFieldLength: 1, lengthIncludesHeader: true },
    frame: new Uint8Array(255),
    error: { name: "FrameTooLongError", length: 255, maxFrameLength: 254 },
  },
  {
    name: "frame over maxFrameLength on encode",
    options: { maxFrameLength: 4 },
    frame: '"abcde"',
    error: {
      name: "FrameTooLongError",
      length: 5,
      maxFrameLength: 4,
      message: "Cannot encode frame: length 5 exceeds maxFrameLength 4",
    },
  },
  {
    name: "lengthFieldOffset with stripHeader cannot know the leading bytes",
    options: { lengthFieldOffset: 2 },
    frame: HELLO,
    error: { name: "TypeError", message: /lengthFieldOffset 2/ },
  },
  {
    name: "stripHeader false and a frame shorter than its header",
    options: { lengthFieldLength: 4, stripHeader: false },
    frame: "00 00 00",
    error: { name: "RangeError", message: /length 3 is shorter than the 4-byte header/ },
  },
  {
    name: "a frame shorter than a positive lengthAdjustment",
    options: { lengthFieldLength: 2, lengthAdjustment: 2 },
    frame: "CA",
    error: {
      name: "RangeError",
      message: /payload length 1 is below the minimum 2 that lengthAdjustment 2 implies/,
    },
  },
];

for (const { name, options, frame, wire: expected, error } of encodeCases) {
  Deno.test(`LengthPrefixedCodec encode: ${name}`, () => {
    const codec = new LengthPrefixedCodec(options);
    const input = typeof frame === "string" ? wire(frame) : frame;
    if (error !== undefined) {
      assertThrowsMatching(() => encodeFrame(codec, input), error);
    } else {
      const encoded = encodeFrame(codec, input);
      assertEquals(encoded, wire(expected ?? ""));
      // What is encoded decodes back: with stripHeader false, to the wire bytes.
      assertEquals(
        decodeChunks(codec, [encoded]),
        [codec.stripHeader ? input : encoded],
      );
    }
  });
}

const constructorCases: ConstructorCase[] = [
  {
    name: "lengthFieldLength 3",
    options: { lengthFieldLength: 3 },
    error: { name: "RangeError", message: /lengthFieldLength must be 1, 2, 4 or 8, got 3/ },
  },
  {
    name: "a format with two codes",
    options: { format: "ii" },
    error: { name: "TypeError", message: /"ii"/ },
  },
  { name: "a format that is no integer", options: { format: "f" }, error: TypeError },
  { name: "a format that is no string", options: { format: 4 }, error: TypeError },
  {
    name: "negative lengthFieldOffset",
    options: { lengthFieldOffset: -1 },
    error: {
      name: "RangeError",
      message: /lengthFieldOffset must be an integer of at least 0, got -1/,
    },
  },
  { name: "fractional lengthAdjustment", options: { lengthAdjustment: 1.5 }, error: RangeError },
  {
    name: "lengthAdjustment as a string",
    options: { lengthAdjustment: "2" },
    error: { name: "TypeError", message: /lengthAdjustment must be a number, got string/ },
  },
  { name: "negative maxFrameLength", options: { maxFrameLength: -1 }, error: RangeError },
  { name: "NaN maxFrameLength", options: { maxFrameLength: NaN }, error: RangeError },
  {
    name: "unknown onTooLong",
    options: { onTooLong: "drop" },
    error: { name: "RangeError", message: /onTooLong must be "error" or "discard", got "drop"/ },
  },
  { name: "stripHeader as a string", options: { stripHeader: "yes" }, error: TypeError },
  { name: "littleEndian as a number", options: { littleEndian: 1 }, error: TypeError },
];

testConstructorRefuses(
  "LengthPrefixedCodec",
  (options) => new LengthPrefixedCodec(options as LengthPrefixedCodecOptions),
  constructorCases,
);

Deno.test("LengthPrefixedCodec decode: with onTooLong error, a too-long header keeps failing", () => {
  const decoder = new LengthPrefixedCodec({ maxFrameLength: 2 }).decoder();
  const input = new ByteWindow(wire('00 00 00 03 "abc"'));
  assertThrowsMatching(() => decoder.decode(input), { name: "FrameTooLongError" });
  // The stream cannot be resynchronised: the decoder does not skip ahead.
  assertThrowsMatching(() => decoder.decode(input), { name: "FrameTooLongError" });
});

Deno.test("LengthPrefixedCodec decode: frames are zero-copy views of the input", () => {
  // Transports never overwrite consumed bytes (ByteWindow's rule), so a view is safe and
  // saves an allocation per frame.
  const decoder = new LengthPrefixedCodec({ lengthFieldLength: 1 }).decoder();
  const buffer = wire('02 "ab"');
  const frame = decoder.decode(new ByteWindow(buffer));
  assertEquals(frame, wire('"ab"'));
  assertEquals(frame?.buffer, buffer.buffer);
  assertEquals(frame?.byteOffset, 1);
});

Deno.test("LengthPrefixedCodec interop: bytes Python's struct.pack writes, both ways", async () => {
  const script = `
import json, struct
payloads = [b"", b"a", b"Hello world", bytes(range(256)), b"x" * 70000]
print(json.dumps([
    {"payload": p.hex(),
     "native": (struct.pack("i", len(p)) + p).hex(),
     "network": (struct.pack("!I", len(p)) + p).hex()}
    for p in payloads
]))
`;
  const { success, stdout } = await new Deno.Command("python3", {
    args: ["-c", script],
    stdout: "piped",
  }).output();
  assert(success, "python3 failed");
  const fromHex = (hex: string) =>
    Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
  const vectors: { payload: string; native: string; network: string }[] = JSON.parse(
    new TextDecoder().decode(stdout),
  );
  assertEquals(vectors.length, 5);
  const payloads = vectors.map((vector) => fromHex(vector.payload));
  for (const [format, key] of [["i", "native"], ["!I", "network"]] as const) {
    const codec = new LengthPrefixedCodec({ format });
    const python = vectors.map((vector) => fromHex(vector[key]));
    assertEquals(decodeChunks(codec, python), payloads, `decode format ${format}`);
    assertEquals(payloads.map((p) => encodeFrame(codec, p)), python, `encode format ${format}`);
  }
});

const propertyConfigs: { name: string; options: LengthPrefixedCodecOptions }[] = [
  { name: "defaults", options: {} },
  { name: "Python 'i'", options: { format: "i" } },
  {
    name: "1-byte field counting its header",
    options: { lengthFieldLength: 1, lengthIncludesHeader: true },
  },
  {
    name: "8-byte little-endian, lengthAdjustment 3",
    options: { lengthFieldLength: 8, littleEndian: true, lengthAdjustment: 3 },
  },
  {
    name: "2-byte field after 2 leading bytes, header kept",
    options: { lengthFieldOffset: 2, lengthFieldLength: 2, stripHeader: false },
  },
];

for (const { name, options } of propertyConfigs) {
  Deno.test(`LengthPrefixedCodec property (${name}): any frames, cut anywhere, decode to themselves`, () => {
    const codec = new LengthPrefixedCodec(options);
    // Frames at least as long as whatever the layout requires (the header
    // when it is kept, the positive adjustment), up to 60 bytes.
    const minimum = (codec.stripHeader ? 0 : codec.headerLength) +
      Math.max(0, codec.lengthAdjustment);
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: minimum, maxLength: minimum + 60 }), { maxLength: 12 }),
        fc.array(fc.nat({ max: 900 }), { maxLength: 12 }),
        (frames, cuts) => {
          const encoded = encodeAll(codec, frames);
          // With the header kept, a frame decodes to its wire bytes: the
          // length field is the codec's, every other byte the frame's.
          const expected = codec.stripHeader ? frames : frames.map((f) => encodeFrame(codec, f));
          assertEquals(decodeChunks(codec, cutAt(encoded, cuts)), expected);
          assertEquals(decodeStrict(codec, encoded), expected);
          if (!codec.stripHeader) {
            const strip = (
              f: Uint8Array,
            ) => [f.subarray(0, codec.lengthFieldOffset), f.subarray(codec.headerLength)];
            assertEquals(expected.map(strip), frames.map(strip));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
}
