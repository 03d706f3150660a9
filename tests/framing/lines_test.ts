import { assertEquals, assertMatch, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  ByteWindow,
  encodeFrame,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  LinesCodec,
  type LinesCodecOptions,
} from "@socketserver/core/framing";
import { bytes, cutAt, decodeChunks, encodeAll } from "../support/codec_harness.ts";
import { assertThrowsMatching, type ErrorClass } from "../support/wire.ts";

interface DecodeCase {
  name: string;
  options?: LinesCodecOptions;
  chunks: (string | number[])[];
  lines?: string[];
  error?: ErrorClass;
}

const decodeCases: DecodeCase[] = [
  { name: "\r\n and \n mixed", chunks: ["a\r\nb\nc\r\n"], lines: ["a", "b", "c"] },
  { name: "many lines in one chunk", chunks: ["1\n2\n3\n4\n"], lines: ["1", "2", "3", "4"] },
  { name: "line split inside \r\n", chunks: ["a\r", "\nb\n"], lines: ["a", "b"] },
  { name: "empty lines", chunks: ["\n\r\n\n"], lines: ["", "", ""] },
  { name: "a \r inside a line is kept", chunks: ["a\rb\n"], lines: ["a\rb"] },
  { name: "only the last \r before \n is stripped", chunks: ["a\r\r\n"], lines: ["a\r"] },
  { name: "the last line needs no newline", chunks: ["a\nlast"], lines: ["a", "last"] },
  { name: "a \r at the very end is stripped too", chunks: ["a\nlast\r"], lines: ["a", "last"] },
  {
    name: "EOF mid-line is an error when unterminated lines are refused",
    options: { emitUnterminated: false },
    chunks: ["a\nlast"],
    error: IncompleteFrameError,
  },
  {
    name: "a UTF-8 character split across chunks",
    chunks: [[0x68, 0xc3], [0xa9, 0x0a]],
    lines: ["hé"],
  },
  { name: "non-ASCII text", chunks: ["日本語\r\nnaïve ✓\n"], lines: ["日本語", "naïve ✓"] },
  { name: "a BOM at the start of a line is kept", chunks: ["\ufeffa\n"], lines: ["\ufeffa"] },
  {
    name: "invalid UTF-8 is a FrameSyntaxError",
    chunks: [[0x61, 0xff, 0x0a]],
    error: FrameSyntaxError,
  },
  {
    name: "invalid UTF-8 decodes to U+FFFD when fatal is false",
    options: { fatal: false },
    chunks: [[0x61, 0xff, 0x0a]],
    lines: ["a\ufffd"],
  },
  {
    name: "too long",
    options: { maxFrameLength: 3 },
    chunks: ["abcd\n"],
    error: FrameTooLongError,
  },
  {
    name: "maxFrameLength counts the \r of a \r\n",
    options: { maxFrameLength: 3 },
    chunks: ["abc\r\n"],
    error: FrameTooLongError,
  },
  {
    name: "too long then recovery with discard, twice",
    options: { maxFrameLength: 3, onTooLong: "discard" },
    chunks: ["0123456\r\nok\n", "xxxxxxxxx", "xx\r\nye\r\n"],
    lines: ["ok", "ye"],
  },
];

for (const c of decodeCases) {
  Deno.test(`LinesCodec decodes: ${c.name}`, () => {
    const codec = new LinesCodec(c.options);
    const given = c.chunks.map((chunk) =>
      typeof chunk === "string" ? bytes(chunk) : new Uint8Array(chunk)
    );
    const all = new Uint8Array(given.flatMap((chunk) => [...chunk]));
    // As given, whole, and a byte at a time.
    for (const chunks of [given, [all], cutAt(all, [...all.keys()])]) {
      if (c.error) {
        assertThrows(() => decodeChunks(codec, chunks), c.error);
      } else {
        assertEquals(decodeChunks(codec, chunks), c.lines);
      }
    }
  });
}

Deno.test("LinesCodec decodes: after an invalid line the next line still decodes", () => {
  const decoder = new LinesCodec().decoder();
  const input = new ByteWindow(new Uint8Array([0xc3, 0x28, 0x0a, ...bytes("ok\n")]));
  assertThrowsMatching(() => decoder.decode(input), {
    name: "FrameSyntaxError",
    message: "Cannot decode frame: line of 2 bytes is not valid UTF-8",
  });
  assertEquals(decoder.decode(input), "ok");
});

interface EncodeCase {
  name: string;
  options?: LinesCodecOptions;
  line: string;
  wire?: string;
  error?: ErrorClass;
}

const encodeCases: EncodeCase[] = [
  { name: "a line then \n", line: "hello", wire: "hello\n" },
  { name: "an empty line", line: "", wire: "\n" },
  { name: "UTF-8", line: "naïve ✓", wire: "naïve ✓\n" },
  { name: "a \r inside is kept", line: "a\rb", wire: "a\rb\n" },
  { name: "a \n inside is refused", line: "a\nb", error: TypeError },
  { name: "a \r at the end is refused", line: "a\r", error: TypeError },
  {
    name: "maxFrameLength counts UTF-8 bytes",
    options: { maxFrameLength: 2 },
    line: "é!",
    error: FrameTooLongError,
  },
];

for (const c of encodeCases) {
  Deno.test(`LinesCodec encodes: ${c.name}`, () => {
    const codec = new LinesCodec(c.options);
    if (c.error) {
      assertThrows(() => encodeFrame(codec, c.line), c.error);
    } else {
      assertEquals(encodeFrame(codec, c.line), bytes(c.wire!));
    }
  });
}

Deno.test("LinesCodec refuses options with its own name in the message", () => {
  assertMatch(
    String(assertThrows(() => new LinesCodec({ maxFrameLength: -1 }))),
    /^RangeError: Cannot create LinesCodec/,
  );
  assertThrows(() => new LinesCodec({ fatal: "yes" as unknown as boolean }), TypeError);
});

Deno.test("LinesCodec property: lines encoded and cut anywhere decode to the same lines", () => {
  const codec = new LinesCodec({ maxFrameLength: 64 });
  const line = fc.fullUnicodeString({ maxLength: 12 })
    .map((value) => value.replaceAll("\n", "\r\n").replace(/\r$/, ""));
  fc.assert(
    fc.property(
      fc.array(line, { maxLength: 8 }),
      fc.array(fc.nat(300), { maxLength: 10 }),
      (lines, offsets) => {
        const wire = encodeAll(codec, lines);
        assertEquals(decodeChunks(codec, cutAt(wire, offsets)), lines);
      },
    ),
    { numRuns: 200 },
  );
});
