import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  ByteWindow,
  decodeFrames,
  DelimiterCodec,
  type DelimiterCodecOptions,
  encodeFrame,
  FrameTooLongError,
  IncompleteFrameError,
} from "@socketserver/core/framing";
import { bytes, cutAt, decodeChunks, encodeAll } from "../support/codec_harness.ts";
import { assertThrowsMatching, type ErrorClass } from "../support/wire.ts";

const text = (frame: Uint8Array): string => new TextDecoder().decode(frame);

// Every way the test splits a stream: as given, whole, a byte at a time, and
// cut once at each offset. A decoder must give the same result for all.
function splits(chunks: Uint8Array[]): Uint8Array[][] {
  const whole = cutAt(encodeAllBytes(chunks), []);
  const all = whole[0];
  const ways = [chunks, whole, cutAt(all, [...all.keys()])];
  for (let i = 1; i < all.length; i++) ways.push(cutAt(all, [i]));
  return ways;
}

function encodeAllBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

interface DecodeCase {
  name: string;
  options?: DelimiterCodecOptions;
  chunks: string[];
  frames?: string[];
  error?: ErrorClass;
}

const decodeCases: DecodeCase[] = [
  { name: "one frame", chunks: ["hello\n"], frames: ["hello"] },
  { name: "many frames in one chunk", chunks: ["a\nbb\nccc\n"], frames: ["a", "bb", "ccc"] },
  { name: "empty frame", chunks: ["\n\nx\n"], frames: ["", "", "x"] },
  { name: "nothing at all", chunks: [], frames: [] },
  { name: "frame split across three chunks", chunks: ["he", "ll", "o\n"], frames: ["hello"] },
  {
    name: "delimiter split 1/2",
    options: { delimiters: "\r\n" },
    chunks: ["a\r", "\nb\r\n"],
    frames: ["a", "b"],
  },
  {
    name: "delimiter split 2/2, frame ends exactly at a chunk end",
    options: { delimiters: "\r\n" },
    chunks: ["a", "\r\n", "b", "\r", "\n"],
    frames: ["a", "b"],
  },
  {
    name: "\r\n and \n mixed",
    options: { delimiters: ["\r\n", "\n"] },
    chunks: ["a\r\nb\nc\r\n\n"],
    frames: ["a", "b", "c", ""],
  },
  {
    name: "the earliest delimiter wins: \r\n starts before \n, whatever the list order",
    options: { delimiters: ["\n", "\r\n"] },
    chunks: ["a\r\nb\n"],
    frames: ["a", "b"],
  },
  {
    name: "the longest delimiter wins at the same start, waiting for its last byte",
    options: { delimiters: ["\r\n", "\r"] },
    chunks: ["a\r", "\nb\rc\r"],
    frames: ["a", "b", "c"],
  },
  {
    name: "a lone \r is data when only \r\n and \n end frames",
    options: { delimiters: ["\r\n", "\n"] },
    chunks: ["a\rb\r\r\n"],
    frames: ["a\rb\r"],
  },
  {
    name: "keepDelimiter keeps each frame's own delimiter",
    options: { delimiters: ["\r\n", "\n"], keepDelimiter: true },
    chunks: ["a\r\nb\n"],
    frames: ["a\r\n", "b\n"],
  },
  {
    name: "multi-byte delimiter whose first byte is also data",
    options: { delimiters: "--" },
    chunks: ["a-b--c--"],
    frames: ["a-b", "c"],
  },
  {
    name: "a failed partial match restarts one byte later",
    options: { delimiters: "aab" },
    chunks: ["xaaabyaab"],
    frames: ["xa", "y"],
  },
  {
    name: "delimiter given as bytes",
    options: { delimiters: new Uint8Array([0xff, 0x00]) },
    chunks: ["a\xff\x00"],
    frames: ["a"],
  },
  { name: "EOF mid-frame", chunks: ["a\nb"], error: IncompleteFrameError },
  {
    name: "EOF mid-frame with emitUnterminated gives a last frame",
    options: { emitUnterminated: true },
    chunks: ["a\nb"],
    frames: ["a", "b"],
  },
  {
    name: "EOF mid-delimiter with emitUnterminated keeps the partial delimiter as data",
    options: { delimiters: "\r\n", emitUnterminated: true },
    chunks: ["a\r\nb\r"],
    frames: ["a", "b\r"],
  },
  {
    name: "a frame of exactly maxFrameLength is accepted",
    options: { maxFrameLength: 3, delimiters: "\r\n" },
    chunks: ["abc\r\n"],
    frames: ["abc"],
  },
  {
    name: "too long: no delimiter within maxFrameLength bytes",
    options: { maxFrameLength: 3 },
    chunks: ["abcd\n"],
    error: FrameTooLongError,
  },
  {
    name: "too long, seen before its delimiter arrives",
    options: { maxFrameLength: 3 },
    chunks: ["ok\nabcdefgh"],
    error: FrameTooLongError,
  },
  {
    name: "too long then recovery with discard, twice",
    options: { maxFrameLength: 3, onTooLong: "discard" },
    chunks: ["abcdef\nok\nxxxxxxxxxx\nyes\n"],
    frames: ["ok", "yes"],
  },
  {
    name: "discard with a multi-byte delimiter split across the skipped bytes",
    options: { maxFrameLength: 2, onTooLong: "discard", delimiters: "\r\n" },
    chunks: ["abc\r", "\nok\r\n"],
    frames: ["ok"],
  },
  {
    name: "discard: a too-long frame cut by EOF is an IncompleteFrameError",
    options: { maxFrameLength: 2, onTooLong: "discard" },
    chunks: ["ok\nabcdef"],
    error: IncompleteFrameError,
  },
  {
    name: "discard: a too-long last frame is dropped when unterminated frames are allowed",
    options: { maxFrameLength: 2, onTooLong: "discard", emitUnterminated: true },
    chunks: ["ok\nabcdef"],
    frames: ["ok"],
  },
];

for (const c of decodeCases) {
  Deno.test(`DelimiterCodec decodes: ${c.name}`, () => {
    const codec = new DelimiterCodec(c.options);
    for (const chunks of splits(c.chunks.map(latin1))) {
      const split = chunks.map((chunk) => chunk.length).join("+");
      if (c.error) {
        assertThrows(() => decodeChunks(codec, chunks), c.error, undefined, `split ${split}`);
      } else {
        assertEquals(decodeChunks(codec, chunks).map(latin1Text), c.frames, `split ${split}`);
      }
    }
  });
}

// Strings in the table are bytes, one char each ("\xff" is 0xff).
function latin1(chunk: string): Uint8Array {
  return Uint8Array.from(chunk, (char) => char.charCodeAt(0));
}
function latin1Text(frame: Uint8Array): string {
  return String.fromCharCode(...frame);
}

Deno.test("DelimiterCodec decodes: error mode, a caller that goes on skips the rest of that frame", () => {
  const decoder = new DelimiterCodec({ maxFrameLength: 3 }).decoder();
  const input = new ByteWindow(bytes("abcdefg"));
  assertThrows(() => decoder.decode(input), FrameTooLongError);
  // Only the bytes scanned so far are gone; the rest goes as it arrives.
  assert(input.length < 7);
  input.reset(bytes("hij\nok\n"));
  assertEquals(text(decoder.decode(input)!), "ok");
  assertEquals(decoder.decode(input), undefined);
});

Deno.test("DelimiterCodec decodes: discard keeps no more than a delimiter's length of a long frame", () => {
  const decoder = new DelimiterCodec({
    maxFrameLength: 4,
    onTooLong: "discard",
    delimiters: "<end>",
  }).decoder();
  const input = new ByteWindow(bytes("x".repeat(100) + "<en"));
  assertEquals(decoder.decode(input), undefined);
  assert(input.length <= 4, `${input.length} bytes kept`);
  input.reset(new Uint8Array([...input.view(), ...bytes("d>ok<end>")]));
  assertEquals(text(decoder.decode(input)!), "ok");
});

Deno.test("DelimiterCodec decodes: the error carries the numbers", () => {
  const codec = new DelimiterCodec({ maxFrameLength: 5 });
  assertThrowsMatching(() => decodeFrames(codec, bytes("0123456789\n")), {
    name: "FrameTooLongError",
    message: "Cannot decode frame: length 6 exceeds maxFrameLength 5",
  });
  assertThrowsMatching(() => decodeFrames(codec, bytes("ab")), {
    name: "IncompleteFrameError",
    message: "Cannot decode frame: stream ended with 2 bytes of an unfinished frame",
  });
});

Deno.test("DelimiterCodec decodes: scanning resumes where it stopped (frames are still whole)", () => {
  // A 10 000-byte frame fed a byte at a time through one decoder and window.
  const decoder = new DelimiterCodec({ delimiters: "\r\n" }).decoder();
  const frame = bytes("y".repeat(10_000) + "\r\n");
  const buffer = new Uint8Array(frame.length);
  const input = new ByteWindow(buffer, 0, 0);
  const frames: Uint8Array[] = [];
  for (const byte of frame) {
    buffer[input.end++] = byte;
    const decoded = decoder.decode(input);
    if (decoded) frames.push(decoded);
  }
  assertEquals(frames.length, 1);
  assertEquals(frames[0].length, 10_000);
});

interface EncodeCase {
  name: string;
  options?: DelimiterCodecOptions;
  frame: string;
  wire?: string;
  error?: ErrorClass;
}

const encodeCases: EncodeCase[] = [
  { name: "frame then the default delimiter", frame: "abc", wire: "abc\n" },
  { name: "empty frame", frame: "", wire: "\n" },
  {
    name: "the first delimiter of several",
    options: { delimiters: ["\r\n", "\n"] },
    frame: "a",
    wire: "a\r\n",
  },
  {
    name: "a frame that ends with \r is fine when \r\n is written",
    options: { delimiters: ["\r\n", "\n"] },
    frame: "a\r",
    wire: "a\r\r\n",
  },
  { name: "a frame holding the delimiter is refused", frame: "a\nb", error: TypeError },
  {
    name: "a frame holding another delimiter is refused",
    options: { delimiters: ["\r\n", "\n"] },
    frame: "a\nb",
    error: TypeError,
  },
  {
    name: "a frame whose end makes a delimiter with the one written is refused",
    options: { delimiters: ["\n", "\r\n"] },
    frame: "a\r",
    error: TypeError,
  },
  {
    name: "a frame over maxFrameLength is refused",
    options: { maxFrameLength: 2 },
    frame: "abc",
    error: FrameTooLongError,
  },
];

for (const c of encodeCases) {
  Deno.test(`DelimiterCodec encodes: ${c.name}`, () => {
    const codec = new DelimiterCodec(c.options);
    if (c.error) {
      assertThrows(() => encodeFrame(codec, latin1(c.frame)), c.error);
    } else {
      assertEquals(latin1Text(encodeFrame(codec, latin1(c.frame))), c.wire);
    }
  });
}

const badOptions: [string, DelimiterCodecOptions, ErrorClass][] = [
  ["no delimiters", { delimiters: [] }, RangeError],
  ["an empty delimiter", { delimiters: ["\n", ""] }, RangeError],
  ["a delimiter of the wrong type", { delimiters: [5 as unknown as string] }, TypeError],
  ["a first delimiter that starts another", { delimiters: ["\r", "\r\n"] }, RangeError],
  ["a negative maxFrameLength", { maxFrameLength: -1 }, RangeError],
  ["an unknown onTooLong", { onTooLong: "drop" as "discard" }, RangeError],
  ["a keepDelimiter that is not a boolean", { keepDelimiter: 1 as unknown as boolean }, TypeError],
];

for (const [name, options, error] of badOptions) {
  Deno.test(`DelimiterCodec refuses options: ${name}`, () => {
    assertThrows(() => new DelimiterCodec(options), error);
  });
}

// Properties: a frame the encoder accepts decodes back, however the bytes are
// cut; and any stream decodes the same whole or cut.

const delimiterSets: (string | string[])[] = ["\n", ["\r\n", "\n"], "--", ["abc", "ab", "b"]];

Deno.test("DelimiterCodec property: encoded frames cut anywhere decode to the same frames", () => {
  for (const delimiters of delimiterSets) {
    const codec = new DelimiterCodec({ delimiters, maxFrameLength: 16 });
    const canEncode = (frame: Uint8Array) => {
      try {
        encodeFrame(codec, frame);
        return true;
      } catch {
        return false;
      }
    };
    const frame = fc.uint8Array({ maxLength: 16 }).map((raw) =>
      raw.map((b) => "ab-\r\n"[b % 5].charCodeAt(0))
    )
      .filter(canEncode);
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 8 }),
        fc.array(fc.nat(200), { maxLength: 10 }),
        (frames, offsets) => {
          const wire = encodeAll(codec, frames);
          assertEquals(decodeChunks(codec, cutAt(wire, offsets)), frames);
        },
      ),
      { numRuns: 200 },
    );
  }
});

Deno.test("DelimiterCodec property: any bytes decode the same whole and cut", () => {
  for (const delimiters of delimiterSets) {
    for (const onTooLong of ["error", "discard"] as const) {
      const codec = new DelimiterCodec({
        delimiters,
        maxFrameLength: 4,
        onTooLong,
        emitUnterminated: true,
      });
      const outcome = (chunks: Uint8Array[]) => {
        try {
          return decodeChunks(codec, chunks);
        } catch (error) {
          return (error as Error).name;
        }
      };
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 40 }).map((raw) =>
            raw.map((b) => "abcx-\r\n"[b % 7].charCodeAt(0))
          ),
          fc.array(fc.nat(40), { maxLength: 10 }),
          (wire, offsets) => {
            assertEquals(outcome(cutAt(wire, offsets)), outcome([wire]));
          },
        ),
        { numRuns: 200 },
      );
    }
  }
});

Deno.test("DelimiterCodec decodes: decodeEof gives one frame per call when overlapping delimiters leave two", () => {
  // "ab" ends "x" only once "abcd" can no longer complete: at the end of the
  // stream, when "c" is left as a last, unterminated frame.
  const decoder = new DelimiterCodec({ delimiters: ["abcd", "ab"], emitUnterminated: true })
    .decoder();
  const input = new ByteWindow(bytes("xabc"));
  assertEquals(decoder.decode(input), undefined);
  assertEquals(text(decoder.decodeEof(input)!), "x");
  assertEquals(text(decoder.decodeEof(input)!), "c");
  assertEquals(decoder.decodeEof(input), undefined);
});
