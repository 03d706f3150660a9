import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  ByteWindow,
  encodeFrame,
  FrameSyntaxError,
  FrameTooLongError,
  RespCodec,
  type RespCodecOptions,
  RespError,
  type RespValue,
} from "@socketserver/core/framing";
import { bytes, cutAt, decodeChunks, encodeAll } from "../support/codec_harness.ts";
import {
  assertThrowsMatching,
  byteByByte,
  type ConstructorCase,
  decodeStrict,
  type ErrorMatcher,
  testConstructorRefuses,
} from "../support/wire.ts";

/** Every way to cut `wire` in two, and one byte a chunk. */
function everySplit(wire: Uint8Array): Uint8Array[][] {
  const splits = [[wire], byteByByte([wire])];
  for (let at = 1; at < wire.length; at++) splits.push(cutAt(wire, [at]));
  return splits;
}

interface DecodeCase {
  name: string;
  options?: RespCodecOptions;
  wire: string;
  values: RespValue[];
}

// Bulk strings are bytes: `b("GET")` is what the decoder yields for `$3\r\nGET\r\n`.
const b = bytes;
const EVERY_BYTE = Uint8Array.from({ length: 256 }, (_, i) => i);

const decodeCases: DecodeCase[] = [
  // The command redis-benchmark sends most.
  { name: "PING as a RESP array", wire: "*1\r\n$4\r\nPING\r\n", values: [[b("PING")]] },
  {
    // Pipelined commands in one read, as `redis-benchmark -P 16` sends them.
    name: "pipelined SET and GET",
    wire: "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n",
    values: [[b("SET"), b("key"), b("value")], [b("GET"), b("key")]],
  },
  // Simple string, error and integer replies.
  { name: "a simple string", wire: "+OK\r\n", values: ["OK"] },
  { name: "an empty simple string", wire: "+\r\n", values: [""] },
  { name: "a UTF-8 simple string", wire: "+caf\xc3\xa9\r\n", values: ["caf\u00e9"] },
  {
    name: "an error reply",
    wire: "-ERR unknown command 'FOO'\r\n",
    values: [new RespError("ERR unknown command 'FOO'")],
  },
  {
    name: "integers: zero, negative, positive",
    wire: ":0\r\n:-42\r\n:1000\r\n",
    values: [0, -42, 1000],
  },
  {
    // Past Number.MAX_SAFE_INTEGER an integer is a bigint, exact to 64 bits.
    name: "integers past 2 ** 53 are bigints",
    wire: ":9223372036854775807\r\n:-9223372036854775808\r\n:9007199254740991\r\n",
    values: [2n ** 63n - 1n, -(2n ** 63n), Number.MAX_SAFE_INTEGER],
  },
  // Bulk strings: empty, binary-safe (they may hold \r\n), null.
  { name: "an empty bulk string", wire: "$0\r\n\r\n", values: [b("")] },
  { name: "a bulk string holding \\r\\n", wire: "$4\r\na\r\nb\r\n", values: [b("a\r\nb")] },
  {
    name: "a bulk string of every byte value",
    wire: `$256\r\n${String.fromCharCode(...EVERY_BYTE)}\r\n`,
    values: [EVERY_BYTE],
  },
  { name: "the null bulk string", wire: "$-1\r\n", values: [null] },
  // Arrays: empty, null, nested, mixed.
  { name: "the empty array", wire: "*0\r\n", values: [[]] },
  { name: "the null array", wire: "*-1\r\n", values: [null] },
  {
    name: "nested arrays of every kind",
    wire: "*3\r\n*2\r\n:1\r\n+two\r\n*0\r\n*2\r\n$-1\r\n-ERR x\r\n",
    values: [[[1, "two"], [], [null, new RespError("ERR x")]]],
  },
  {
    name: "an array of null elements",
    wire: "*2\r\n*-1\r\n$-1\r\n",
    values: [[null, null]],
  },
  // Inline commands, as telnet or redis-cli in a pipe send them.
  { name: "inline PING with \\r\\n", wire: "PING\r\n", values: [[b("PING")]] },
  { name: "inline PING with a bare \\n", wire: "PING\n", values: [[b("PING")]] },
  {
    name: "inline words split on runs of spaces and tabs",
    wire: "  SET\t a   b  \r\n",
    values: [[b("SET"), b("a"), b("b")]],
  },
  {
    name: "inline double quotes keep spaces and resolve escapes",
    wire: 'SET k "hello world\\n\\x41\\"" \r\n',
    values: [[b("SET"), b("k"), b('hello world\nA"')]],
  },
  {
    name: "inline single quotes take \\' only",
    wire: "SET k 'it\\'s \\n'\n",
    values: [[b("SET"), b("k"), b("it's \\n")]],
  },
  {
    name: "inline empty quotes are an empty argument",
    wire: 'SET k ""\n',
    values: [[b("SET"), b("k"), b("")]],
  },
  {
    name: "empty and blank inline lines are skipped, as Redis does",
    wire: "\r\n\n   \r\nPING\r\n",
    values: [[b("PING")]],
  },
  {
    name: "inline and RESP commands interleaved",
    wire: "PING\r\n*1\r\n$4\r\nPING\r\nECHO hi\n",
    values: [[b("PING")], [b("PING")], [b("ECHO"), b("hi")]],
  },
  { name: "no bytes at all is no frame", wire: "", values: [] },
];
// `wire` strings are Latin-1: one byte a character (UTF-8 text is spelled
// out as its bytes, "\xc3\xa9" for "\u00e9").
function wireBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

for (const c of decodeCases) {
  Deno.test(`RespCodec decodes: ${c.name}, whole and split at every byte`, () => {
    const codec = new RespCodec(c.options);
    const wire = wireBytes(c.wire);
    for (const chunks of everySplit(wire)) {
      assertEquals(decodeChunks(codec, chunks), c.values, `split ${chunks.map((x) => x.length)}`);
    }
    assertEquals(decodeStrict(codec, wire), c.values);
  });
}

interface ErrorCase {
  name: string;
  options?: RespCodecOptions;
  wire: string;
  error: ErrorMatcher;
}

const errorCases: ErrorCase[] = [
  {
    // Checked on the declared length, before a byte of it is waited for.
    name: "a bulk string over maxFrameLength",
    options: { maxFrameLength: 8 },
    wire: "$9\r\n",
    error: {
      name: "FrameTooLongError",
      length: 9,
      maxFrameLength: 8,
      message: "Cannot decode frame: length 9 exceeds maxFrameLength 8",
    },
  },
  {
    // A flood of digits fails as soon as it says more than the limit.
    name: "a hostile bulk length fails on its 7th digit under the 8 MiB default",
    wire: "$99999999999",
    error: { name: "FrameTooLongError", length: 9999999, maxFrameLength: 8388608 },
  },
  {
    name: "an array over maxArrayLength",
    options: { maxArrayLength: 4 },
    wire: "*5\r\n",
    error: {
      name: "FrameTooLongError",
      length: 5,
      maxFrameLength: 4,
      message: "Cannot decode frame: array length 5 exceeds maxArrayLength 4",
    },
  },
  {
    name: "an array inside arrays past maxDepth",
    options: { maxDepth: 2 },
    wire: "*1\r\n*1\r\n*1\r\n",
    error: {
      name: "FrameTooLongError",
      length: 3,
      maxFrameLength: 2,
      message: "Cannot decode frame: nesting depth 3 exceeds maxDepth 2",
    },
  },
  {
    name: "an inline command over maxLineLength",
    options: { maxLineLength: 8 },
    wire: "PINGPINGPING\r\n",
    error: {
      name: "FrameTooLongError",
      length: 9,
      maxFrameLength: 8,
      message: "Cannot decode frame: line length 9 exceeds maxLineLength 8",
    },
  },
  {
    name: "an inline command over maxLineLength, never ended",
    options: { maxLineLength: 8 },
    wire: "PINGPINGPING",
    error: { name: "FrameTooLongError", length: 9, maxFrameLength: 8 },
  },
  {
    name: "a simple string over maxLineLength",
    options: { maxLineLength: 2 },
    wire: "+OKAY\r\n",
    error: { name: "FrameTooLongError", length: 3, maxFrameLength: 2 },
  },
  {
    name: "an inline command of exactly maxLineLength is fine, one more byte is not",
    options: { maxLineLength: 4 },
    wire: "PING\r\nPINGS\r\n",
    error: { name: "FrameTooLongError", length: 5, maxFrameLength: 4 },
  },
  {
    // An inline command's arguments are bulk strings, the command an array.
    name: "an inline argument over maxFrameLength",
    options: { maxFrameLength: 3 },
    wire: "GET abcd\r\n",
    error: { name: "FrameTooLongError", length: 4, maxFrameLength: 3 },
  },
  {
    name: "an inline command of more arguments than maxArrayLength",
    options: { maxArrayLength: 2 },
    wire: "SET a b\r\n",
    error: {
      name: "FrameTooLongError",
      message: "Cannot decode frame: array length 3 exceeds maxArrayLength 2",
    },
  },
  {
    name: "a bad type byte inside an array",
    wire: "*1\r\n?\r\n",
    error: {
      name: "FrameSyntaxError",
      offset: 4,
      message:
        'Cannot decode frame: expected a RESP type byte ("*", "$", "+", "-" or ":"), found "?" (0x3f)',
    },
  },
  {
    name: "a length that is not a number",
    wire: "$x\r\n",
    error: { name: "FrameSyntaxError", offset: 1, message: /expected a digit in a RESP length/ },
  },
  {
    name: "a length with no digits",
    wire: "*\r\n",
    error: { name: "FrameSyntaxError", offset: 1 },
  },
  {
    name: "a length with a leading zero",
    wire: "$03\r\nabc\r\n",
    error: { name: "FrameSyntaxError", offset: 1, message: /leading zero/ },
  },
  {
    name: "a length followed by something else than \\r\\n",
    wire: "$3 \r\n",
    error: { name: "FrameSyntaxError", offset: 2 },
  },
  {
    name: "a negative length other than -1",
    wire: "$-2\r\n",
    error: {
      name: "InvalidLengthError",
      length: -2,
      message:
        "Cannot decode frame: length -2 is invalid: a RESP length is -1 (null) or at least 0",
    },
  },
  {
    name: "a negative array length other than -1",
    wire: "*-10\r\n",
    error: { name: "InvalidLengthError", length: -10 },
  },
  {
    name: "a bulk string not followed by \\r\\n",
    wire: "$3\r\nabcXY",
    error: { name: "FrameSyntaxError", offset: 7, message: /after the 3-byte bulk string/ },
  },
  {
    name: "a simple string ended by a bare \\n",
    wire: "+OK\n",
    error: { name: "FrameSyntaxError", offset: 3 },
  },
  {
    name: "an integer of 20 digits",
    wire: ":12345678901234567890\r\n",
    error: { name: "FrameSyntaxError", message: /more than 19 digits/ },
  },
  {
    name: "an integer past 64 bits",
    wire: ":9223372036854775808\r\n",
    error: { name: "FrameSyntaxError", message: /9223372036854775808 is not a 64-bit integer/ },
  },
  {
    name: "an inline command with an unclosed quote",
    wire: 'SET k "abc\r\n',
    error: {
      name: "FrameSyntaxError",
      offset: 10,
      message: "Cannot decode frame: unbalanced quotes in inline command",
    },
  },
  {
    name: "an inline closing quote followed by a letter",
    wire: "SET 'a'b\r\n",
    error: { name: "FrameSyntaxError", offset: 7 },
  },
  {
    name: "the stream ends inside an array",
    wire: "*2\r\n$3\r\nGET\r\n",
    error: {
      name: "IncompleteFrameError",
      received: 13,
      message: "Cannot decode frame: stream ended with 13 bytes of an unfinished frame",
    },
  },
  {
    name: "the stream ends inside a bulk string",
    wire: "$5\r\nhel",
    error: { name: "IncompleteFrameError", received: 7 },
  },
  {
    name: "the stream ends inside an inline command",
    wire: "PING",
    error: { name: "IncompleteFrameError", received: 4 },
  },
];

for (const c of errorCases) {
  Deno.test(`RespCodec refuses: ${c.name}, however it is split`, () => {
    const codec = new RespCodec(c.options);
    for (const chunks of everySplit(wireBytes(c.wire))) {
      assertThrowsMatching(
        () => decodeChunks(codec, chunks),
        c.error,
        `split ${chunks.map((x) => x.length)}`,
      );
    }
  });
}

Deno.test("RespCodec decodes: bulk strings are zero-copy views of the received bytes", () => {
  const wire = bytes("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
  const input = new ByteWindow(wire);
  const command = new RespCodec().decoder().decode(input) as Uint8Array[];
  assertStrictEquals(command[0].buffer, wire.buffer);
  assertEquals([command[0].byteOffset, command[1].byteOffset], [8, 17]);
  assertEquals(input.start, wire.length);
});

Deno.test("RespCodec decodes: a bulk string waiting for its bytes reserves the whole frame, as a hint", () => {
  const input = new ByteWindow(bytes("*2\r\n$1\r\na\r\n$1000\r\nabc"));
  assertEquals(new RespCodec().decoder().decode(input), undefined);
  // 11 bytes of the first element, a 7-byte header, 1000 bytes and "\r\n".
  assertEquals(input.wanted, 11 + 7 + 1000 + 2);
  // Nothing is consumed until the frame is whole.
  assertEquals(input.start, 0);
});

Deno.test("RespCodec decodes: a 200,000-element array arriving 64 bytes a read is parsed once, where it stopped", () => {
  // Each read adds 64 bytes behind the others, as the reader appends them;
  // parsing from the start each time would take ~3,000 times longer.
  const count = 200_000;
  const wire = bytes(`*${count}\r\n` + "$1\r\nx\r\n".repeat(count - 1) + ":7\r\n");
  const decoder = new RespCodec().decoder();
  const input = new ByteWindow(wire, 0, 0);
  let value: RespValue | undefined;
  while (value === undefined && input.end < wire.length) {
    input.end = Math.min(wire.length, input.end + 64);
    value = decoder.decode(input);
  }
  const array = value as RespValue[];
  assertEquals(array.length, count);
  assertEquals(array[0], b("x"));
  assertEquals(array[count - 1], 7);
  assertEquals(input.start, wire.length);
});

Deno.test("RespCodec decodes: a value is made once its frame is whole, so a buffer compacted in place cannot move bytes under it", () => {
  const decoder = new RespCodec().decoder();
  const buffer = new Uint8Array(64);
  const first = bytes("*2\r\n$3\r\nabc\r\n");
  buffer.set(first);
  const input = new ByteWindow(buffer, 0, first.length);
  assertEquals(decoder.decode(input), undefined);
  // The transport moves the unconsumed bytes to the front of its buffer
  // (here they already are) and writes new ones behind them, over old space.
  buffer.fill(0x7e, first.length);
  const rest = bytes("$2\r\nde\r\n");
  buffer.set(rest, first.length);
  input.end = first.length + rest.length;
  assertEquals(decoder.decode(input), [b("abc"), b("de")]);
});

interface EncodeCase {
  name: string;
  options?: RespCodecOptions;
  value: RespValue;
  wire?: string;
  error?: ErrorMatcher;
}

const encodeCases: EncodeCase[] = [
  { name: "a simple string", value: "OK", wire: "+OK\r\n" },
  { name: "a UTF-8 simple string", value: "caf\u00e9", wire: "+caf\xc3\xa9\r\n" },
  { name: "an error", value: new RespError("ERR no"), wire: "-ERR no\r\n" },
  {
    name: "integers",
    value: [0, -1, 1234567890123],
    wire: "*3\r\n:0\r\n:-1\r\n:1234567890123\r\n",
  },
  { name: "a bigint", value: -(2n ** 63n), wire: ":-9223372036854775808\r\n" },
  { name: "null is the null bulk string", value: null, wire: "$-1\r\n" },
  { name: "a short bulk string", value: b("hello"), wire: "$5\r\nhello\r\n" },
  {
    name: "a bulk string longer than the scratch",
    value: b("x".repeat(100)),
    wire: `$100\r\n${"x".repeat(100)}\r\n`,
  },
  { name: "nested arrays", value: [[], [[b("a")]]], wire: "*2\r\n*0\r\n*1\r\n*1\r\n$1\r\na\r\n" },
  {
    name: "a simple string holding \\r\\n is refused",
    value: "a\r\nb",
    error: { name: "TypeError", message: /holds "\\r" or "\\n"; send a bulk string/ },
  },
  {
    name: "a bulk string over maxFrameLength",
    options: { maxFrameLength: 2 },
    value: b("abc"),
    error: {
      name: "FrameTooLongError",
      message: "Cannot encode frame: length 3 exceeds maxFrameLength 2",
    },
  },
  {
    name: "an array over maxArrayLength",
    options: { maxArrayLength: 1 },
    value: [1, 2],
    error: { name: "FrameTooLongError", length: 2, maxFrameLength: 1 },
  },
  {
    name: "arrays past maxDepth",
    options: { maxDepth: 1 },
    value: [[1]],
    error: {
      name: "FrameTooLongError",
      message: "Cannot encode frame: nesting depth 2 exceeds maxDepth 1",
    },
  },
  {
    name: "a simple string over maxLineLength",
    options: { maxLineLength: 1 },
    value: "OK",
    error: { name: "FrameTooLongError", length: 2, maxFrameLength: 1 },
  },
  {
    name: "a number that is not a safe integer",
    value: 1.5,
    error: {
      name: "RangeError",
      message: "Cannot encode integer: 1.5 is not a safe integer (pass a bigint)",
    },
  },
  { name: "a bigint past 64 bits", value: 2n ** 63n, error: { name: "RangeError" } },
  {
    name: "something that is no RESP value",
    value: true as unknown as RespValue,
    error: TypeError,
  },
];

for (const c of encodeCases) {
  Deno.test(`RespCodec encodes: ${c.name}`, () => {
    const codec = new RespCodec(c.options);
    if (c.error !== undefined) {
      assertThrowsMatching(() => encodeFrame(codec, c.value), c.error);
    } else {
      assertEquals(encodeFrame(codec, c.value), wireBytes(c.wire!));
    }
  });
}

Deno.test("RespCodec encodes: a refused array leaves nothing half-written in the sink", () => {
  const written: Uint8Array[] = [];
  const codec = new RespCodec({ maxFrameLength: 1 });
  assertThrows(
    () => codec.encode([b("a"), b("too long")], { write: (x) => written.push(x) }),
    FrameTooLongError,
  );
  assertEquals(written, []);
});

Deno.test("RespCodec encodes: the reply helpers write what encode writes, with no value built", () => {
  const codec = new RespCodec();
  const wire: number[] = [];
  const sink = { write: (part: Uint8Array) => wire.push(...part) };
  codec.writeSimple(sink, "PONG");
  codec.writeError(sink, "WRONGTYPE Operation against a key holding the wrong kind of value");
  codec.writeInteger(sink, 1);
  codec.writeInteger(sink, 2n ** 60n);
  codec.writeBulk(sink, "value");
  codec.writeBulk(sink, b("x".repeat(70)));
  codec.writeNull(sink);
  codec.writeArrayHeader(sink, 2);
  codec.writeBulk(sink, "a");
  codec.writeBulk(sink, new Uint8Array(0));
  const values: RespValue[] = [
    "PONG",
    new RespError("WRONGTYPE Operation against a key holding the wrong kind of value"),
    1,
    2n ** 60n,
    b("value"),
    b("x".repeat(70)),
    null,
    [b("a"), b("")],
  ];
  assertEquals(new Uint8Array(wire), encodeAll(codec, values));
  assertEquals(new RespError("WRONGTYPE x").kind, "WRONGTYPE");
});

Deno.test("RespCodec encodes: the helpers check their input as encode does", () => {
  const codec = new RespCodec({ maxArrayLength: 3 });
  const sink = { write: () => {} };
  assertThrows(() => codec.writeSimple(sink, "a\nb"), TypeError);
  assertThrows(() => codec.writeError(sink, "ERR\r"), TypeError);
  assertThrows(() => codec.writeInteger(sink, Number.MAX_SAFE_INTEGER + 1), RangeError);
  assertThrows(() => codec.writeArrayHeader(sink, 4), FrameTooLongError);
  assertThrows(() => codec.writeArrayHeader(sink, -1), RangeError);
});

const constructorCases: ConstructorCase[] = [
  { name: "a negative maxFrameLength", options: { maxFrameLength: -1 }, error: RangeError },
  { name: "a maxArrayLength of 0", options: { maxArrayLength: 0 }, error: RangeError },
  {
    name: "a fractional maxDepth",
    options: { maxDepth: 1.5 },
    error: { name: "RangeError", message: /maxDepth must be an integer of at least 1, got 1.5/ },
  },
  { name: "maxLineLength as a string", options: { maxLineLength: "64" }, error: TypeError },
];

testConstructorRefuses(
  "RespCodec",
  (options) => new RespCodec(options as RespCodecOptions),
  constructorCases,
);

// Values as the decoder gives them back: integers in the safe range as
// numbers, past it as bigints; simple strings and errors without line ends.
const lineText = fc.string({ unit: "grapheme", maxLength: 12 }).filter((text) =>
  !/[\r\n]/.test(text)
);
const respValue: fc.Arbitrary<RespValue> = fc.letrec<{ value: RespValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.uint8Array({ maxLength: 40 }),
    lineText,
    lineText.map((text) => new RespError(text)),
    fc.maxSafeInteger(),
    fc.oneof(
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 1n }),
      fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }),
    ),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
  ),
})).value;

Deno.test("RespCodec property: any values, encoded and cut anywhere, decode to themselves", () => {
  const codec = new RespCodec();
  fc.assert(
    fc.property(
      fc.array(respValue, { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (values, cuts) => {
        const wire = encodeAll(codec, values);
        assertEquals(
          decodeChunks(codec, cutAt(wire, cuts.map((cut) => cut % (wire.length + 1)))),
          values,
        );
        assertEquals(decodeStrict(codec, wire), values);
      },
    ),
  );
});

Deno.test("RespCodec property: any bytes decode to values or fail with a typed error, whole or split", () => {
  const codec = new RespCodec({
    maxFrameLength: 16,
    maxArrayLength: 4,
    maxDepth: 3,
    maxLineLength: 32,
  });
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }).map((raw) =>
        raw.map((byte) => byte % 2 ? byte : "*$+-:\r\n1 "[byte % 9].charCodeAt(0))
      ),
      fc.array(fc.nat(), { maxLength: 4 }),
      (wire, cuts) => {
        const outcome = (chunks: Uint8Array[]): unknown => {
          try {
            return decodeChunks(codec, chunks);
          } catch (error) {
            // Only the typed framing errors: RangeError, SyntaxError, IncompleteFrameError.
            assert(error instanceof Error, `${error}`);
            assert(
              error instanceof RangeError || error instanceof SyntaxError ||
                error.name === "IncompleteFrameError",
              `${error}`,
            );
            return error.name;
          }
        };
        assertEquals(outcome(cutAt(wire, cuts)), outcome([wire]));
      },
    ),
  );
});

Deno.test("RespCodec decodes: a syntax error's offset counts from the frame's first byte", () => {
  const codec = new RespCodec();
  const error = assertThrows(
    () => decodeChunks(codec, [bytes("+OK\r\n*2\r\n:1\r\n!")]),
    FrameSyntaxError,
  );
  assertEquals(error.offset, 8);
});
