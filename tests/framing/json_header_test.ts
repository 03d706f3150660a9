import { assertEquals, assertMatch, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  type ByteSink,
  ByteWindow,
  decodeFrames,
  encodeFrame,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
  JsonHeaderCodec,
  type JsonHeaderCodecOptions,
  type JsonHeaderFrame,
  JsonHeaderStreamCodec,
  type JsonHeaderStreamFrame,
  lengthFieldFromFormat,
  writeLength,
} from "@socketserver/core/framing";
import { bytes, cutAt, decodeChunks, encodeAll } from "../support/codec_harness.ts";
import { assertThrowsMatching, type ErrorClass } from "../support/wire.ts";
import { runPython } from "../support/python.ts";

// What Python sends: struct.pack(format, len(json)) + json + body.
function classic(
  json: string | Uint8Array,
  body: Uint8Array | string = "",
  format = "i",
): Uint8Array {
  const header = typeof json === "string" ? bytes(json) : json;
  const field = lengthFieldFromFormat(format);
  const prefix = new Uint8Array(field.size);
  writeLength(field, prefix, 0, header.length);
  const payload = typeof body === "string" ? bytes(body) : body;
  return new Uint8Array([...prefix, ...header, ...payload]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((part) => [...part]));
}

const frame = (header: Record<string, unknown>, body = ""): JsonHeaderFrame => ({
  header,
  body: bytes(body),
});

interface DecodeCase {
  name: string;
  options?: JsonHeaderCodecOptions;
  chunks: Uint8Array[];
  frames?: JsonHeaderFrame[];
  error?: ErrorClass;
  message?: RegExp;
}

const hello = classic('{"file_name": "a.txt", "file_size": 5}', "hello");
const helloFrame = frame({ file_name: "a.txt", file_size: 5 }, "hello");

const decodeCases: DecodeCase[] = [
  { name: "one frame", chunks: [hello], frames: [helloFrame] },
  { name: "prefix split", chunks: cutAt(hello, [2]), frames: [helloFrame] },
  { name: "header split across two chunks", chunks: cutAt(hello, [10]), frames: [helloFrame] },
  { name: "body split", chunks: cutAt(hello, [hello.length - 2]), frames: [helloFrame] },
  {
    name: "many frames in one chunk",
    chunks: [concat(hello, classic('{"file_size": 2}', "ok"), hello)],
    frames: [helloFrame, frame({ file_size: 2 }, "ok"), helloFrame],
  },
  {
    name: "a header without the size field has an empty body",
    chunks: [concat(classic('{"ping": true}'), hello)],
    frames: [frame({ ping: true }), helloFrame],
  },
  { name: "empty body", chunks: [classic('{"file_size": 0}')], frames: [frame({ file_size: 0 })] },
  {
    name: "non-ASCII header, escaped or raw UTF-8",
    chunks: [concat(
      classic('{"file_name": "r\\u00e9sum\\u00e9", "file_size": 1}', "x"),
      classic('{"file_name": "résumé 日本", "file_size": 1}', "y"),
    )],
    frames: [
      frame({ file_name: "résumé", file_size: 1 }, "x"),
      frame({ file_name: "résumé 日本", file_size: 1 }, "y"),
    ],
  },
  {
    name: "another prefix format and size field",
    options: { headerLengthFormat: "!H", bodySizeField: "len" },
    chunks: [classic('{"len": 3}', "abc", "!H")],
    frames: [frame({ len: 3 }, "abc")],
  },
  {
    name: "bad JSON header",
    chunks: [classic('{"file_size": 5,', "hello")],
    error: FrameSyntaxError,
    message: /JSON header of 16 bytes does not parse/,
  },
  {
    name: "header not an object",
    chunks: [classic("[1, 2]")],
    error: FrameSyntaxError,
    message: /JSON header of 6 bytes is not an object, got an array/,
  },
  { name: "header is null", chunks: [classic("null")], error: FrameSyntaxError },
  {
    name: "header is not UTF-8",
    chunks: [classic(new Uint8Array([0x7b, 0xff, 0x7d]))],
    error: FrameSyntaxError,
  },
  {
    name: "body size that is not a number",
    chunks: [classic('{"file_size": "5"}', "hello")],
    error: FrameSyntaxError,
    message: /"file_size" must be a number, got string/,
  },
  {
    name: "negative body size",
    chunks: [classic('{"file_size": -1}')],
    error: InvalidLengthError,
  },
  {
    name: "fractional body size",
    chunks: [classic('{"file_size": 1.5}')],
    error: InvalidLengthError,
  },
  {
    name: "body size past Number.MAX_SAFE_INTEGER",
    options: { maxFrameLength: Number.MAX_SAFE_INTEGER },
    chunks: [classic('{"file_size": 9007199254740993}')],
    error: InvalidLengthError,
  },
  {
    name: "negative prefix",
    chunks: [new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d])],
    error: InvalidLengthError,
  },
  {
    name: "header over maxHeaderLength, refused before it arrives",
    options: { maxHeaderLength: 10 },
    chunks: [new Uint8Array([11, 0, 0, 0])],
    error: FrameTooLongError,
    message: /length 11 exceeds maxHeaderLength 10/,
  },
  {
    name: "body over maxFrameLength, refused before it arrives",
    options: { maxFrameLength: 4 },
    chunks: [classic('{"file_size": 5}')],
    error: FrameTooLongError,
    message: /length 5 exceeds maxFrameLength 4/,
  },
  {
    name: "too long then recovery with discard, twice",
    options: { maxFrameLength: 4, onTooLong: "discard" },
    chunks: [concat(hello, classic('{"file_size": 2}', "ok"), hello, classic("{}"))],
    frames: [frame({ file_size: 2 }, "ok"), frame({})],
  },
  { name: "EOF mid-prefix", chunks: [hello.subarray(0, 3)], error: IncompleteFrameError },
  { name: "EOF mid-header", chunks: [hello.subarray(0, 10)], error: IncompleteFrameError },
  {
    name: "EOF mid-body",
    chunks: [hello.subarray(0, hello.length - 1)],
    error: IncompleteFrameError,
    message: /stream ended with 46 of 47 bytes/,
  },
  {
    name: "EOF inside a body being discarded",
    options: { maxFrameLength: 4, onTooLong: "discard" },
    chunks: [hello.subarray(0, hello.length - 1)],
    error: IncompleteFrameError,
  },
];

for (const c of decodeCases) {
  Deno.test(`JsonHeaderCodec decodes: ${c.name}`, () => {
    const codec = new JsonHeaderCodec(c.options);
    const all = concat(...c.chunks);
    // As given, whole, and a byte at a time.
    for (const chunks of [c.chunks, [all], cutAt(all, [...all.keys()])]) {
      if (c.error) {
        const error = assertThrows(() => decodeChunks(codec, chunks), c.error!);
        if (c.message) assertMatch(error.message, c.message);
      } else {
        assertEquals(decodeChunks(codec, chunks), c.frames);
      }
    }
  });
}

Deno.test("JsonHeaderCodec decodes: error mode, a caller that goes on skips that body", () => {
  const decoder = new JsonHeaderCodec({ maxFrameLength: 4 }).decoder();
  const input = new ByteWindow(concat(hello, classic("{}")));
  assertThrows(() => decoder.decode(input), FrameTooLongError);
  assertEquals(decoder.decode(input), frame({}));
});

Deno.test("JsonHeaderCodec decodes: a syntax error carries the header's offset", () => {
  assertThrowsMatching(
    () =>
      decodeFrames(new JsonHeaderCodec({ headerLengthFormat: "!H" }), classic("nope", "", "!H")),
    { offset: 2 },
  );
});

interface EncodeCase {
  name: string;
  options?: JsonHeaderCodecOptions;
  frame: JsonHeaderFrame;
  wire?: Uint8Array;
  error?: ErrorClass;
  message?: RegExp;
}

const encodeCases: EncodeCase[] = [
  {
    name: "the body size is added",
    frame: frame({ file_name: "a.txt" }, "hello"),
    wire: classic('{"file_name":"a.txt","file_size":5}', "hello"),
  },
  {
    name: "a wrong body size is overwritten in place",
    frame: frame({ file_size: 99, file_name: "a.txt" }, "hi"),
    wire: classic('{"file_size":2,"file_name":"a.txt"}', "hi"),
  },
  { name: "empty body", frame: frame({}), wire: classic('{"file_size":0}') },
  {
    name: "non-ASCII header as raw UTF-8",
    frame: frame({ name: "日本" }),
    wire: classic('{"name":"日本","file_size":0}'),
  },
  {
    name: "value too large for the length field on encode",
    options: { headerLengthFormat: "b" },
    frame: frame({ name: "x".repeat(120) }),
    error: FrameTooLongError,
    message: /length 145 exceeds the limit of headerLengthFormat "b" 127/,
  },
  {
    name: "header over maxHeaderLength",
    options: { maxHeaderLength: 16 },
    frame: frame({ name: "long enough" }),
    error: FrameTooLongError,
    message: /exceeds maxHeaderLength 16/,
  },
  {
    name: "body over maxFrameLength",
    options: { maxFrameLength: 4 },
    frame: frame({}, "hello"),
    error: FrameTooLongError,
  },
  {
    name: "a header that is not an object",
    frame: { header: [1] as unknown as Record<string, unknown>, body: bytes("") },
    error: TypeError,
  },
  { name: "a header JSON cannot hold", frame: frame({ size: 1n }), error: TypeError },
];

for (const c of encodeCases) {
  Deno.test(`JsonHeaderCodec encodes: ${c.name}`, () => {
    const codec = new JsonHeaderCodec(c.options);
    if (c.error) {
      const error = assertThrows(() => encodeFrame(codec, c.frame), c.error!);
      if (c.message) assertMatch(error.message, c.message);
    } else {
      assertEquals(encodeFrame(codec, c.frame), c.wire);
    }
  });
}

Deno.test("JsonHeaderCodec encodes: the caller's header is left alone", () => {
  const header = { file_size: 7 };
  encodeFrame(new JsonHeaderCodec(), { header, body: bytes("ab") });
  assertEquals(header, { file_size: 7 });
});

const badOptions: [string, JsonHeaderCodecOptions, ErrorClass][] = [
  ["a struct format that is not one integer", { headerLengthFormat: "ii" }, TypeError],
  ["a bodySizeField that is not a string", { bodySizeField: 1 as unknown as string }, TypeError],
  ["a maxHeaderLength below 2", { maxHeaderLength: 1 }, RangeError],
  ["a negative maxFrameLength", { maxFrameLength: -1 }, RangeError],
];

for (const [name, options, error] of badOptions) {
  Deno.test(`JsonHeaderCodec refuses options: ${name}`, () => {
    assertThrows(() => new JsonHeaderCodec(options), error);
  });
}

Deno.test("JsonHeaderCodec property: frames encoded and cut anywhere decode to the same frames", () => {
  const codec = new JsonHeaderCodec({ maxFrameLength: 64 });
  const frameArb = fc.record({
    header: fc.record({ name: fc.fullUnicodeString({ maxLength: 6 }), n: fc.integer() }),
    body: fc.uint8Array({ maxLength: 32 }),
  });
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 6 }),
      fc.array(fc.nat(400), { maxLength: 10 }),
      (frames, offsets) => {
        const wire = encodeAll(codec, frames);
        const expected = frames.map((f) => ({
          header: { ...f.header, file_size: f.body.length },
          body: f.body,
        }));
        assertEquals(decodeChunks(codec, cutAt(wire, offsets)), expected);
      },
    ),
    { numRuns: 200 },
  );
});

// Python interop: the classic sender's bytes decode with both codecs, and
// what both codecs write reads back with the classic receiver.

const PYTHON_SENDER = `
import json, struct, sys
files = [
    ("a.txt", b""),
    ("a.txt", b"hello"),
    ("r\\u00e9sum\\u00e9 \\u65e5\\u672c.txt", "h\\u00e9llo w\\u00f6rld".encode()),
    ("b.bin", bytes(range(256)) * 3),
]
out = b""
for name, body in files:
    h = json.dumps({"file_name": name, "file_size": len(body)}).encode()
    out += struct.pack('i', len(h)) + h + body
h = json.dumps({"file_name": "na\\u00efve.txt", "file_size": 3}, ensure_ascii=False).encode()
out += struct.pack('i', len(h)) + h + b"abc"
sys.stdout.write(out.hex())
`;

const PYTHON_RECEIVER = `
import json, struct, sys
data = bytes.fromhex(sys.stdin.read())
i, frames = 0, []
while i < len(data):
    (n,) = struct.unpack('i', data[i:i + 4]); i += 4
    h = json.loads(data[i:i + n].decode('utf-8')); i += n
    body = data[i:i + h["file_size"]]; i += h["file_size"]
    frames.append({"header": h, "body": body.hex()})
print(json.dumps(frames))
`;

const pythonFrames: JsonHeaderFrame[] = [
  { header: { file_name: "a.txt", file_size: 0 }, body: new Uint8Array(0) },
  { header: { file_name: "a.txt", file_size: 5 }, body: bytes("hello") },
  { header: { file_name: "résumé 日本.txt", file_size: 13 }, body: bytes("héllo wörld") },
  {
    header: { file_name: "b.bin", file_size: 768 },
    body: Uint8Array.from({ length: 768 }, (_, i) => i % 256),
  },
  { header: { file_name: "naïve.txt", file_size: 3 }, body: bytes("abc") },
];

const toHex = (data: Uint8Array) =>
  Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (hex: string) =>
  Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));

async function python(script: string, stdin?: string): Promise<string> {
  const { code, stdout, stderr } = await runPython(script, { stdin });
  assertEquals(code, 0, stderr);
  return stdout;
}

Deno.test("JsonHeaderCodec interop: Python's struct.pack('i') + json.dumps frames, both ways", async () => {
  const wire = fromHex(await python(PYTHON_SENDER));
  const codec = new JsonHeaderCodec();
  const streamCodec = new JsonHeaderStreamCodec();

  // Python -> us, in 7-byte chunks so every part is split somewhere.
  const chunks = cutAt(wire, Array.from({ length: wire.length / 7 }, (_, i) => (i + 1) * 7));
  assertEquals(decodeChunks(codec, chunks), pythonFrames);
  assertEquals(collectBodies(decodeChunks(streamCodec, chunks)), pythonFrames);

  // Us -> Python: the buffered codec, then the streamed one in 2-byte chunks.
  const parts: Uint8Array[] = [];
  const sink: ByteSink = { write: (data) => parts.push(data.slice()) };
  for (const { header, body } of pythonFrames) {
    streamCodec.encode({ type: "header", header, bodySize: body.length }, sink);
    for (let i = 0; i < body.length; i += 2) {
      streamCodec.encode({ type: "body", chunk: body.subarray(i, i + 2) }, sink);
    }
    streamCodec.encode({ type: "end" }, sink);
  }
  for (const ours of [encodeAll(codec, pythonFrames), concat(...parts)]) {
    const read = JSON.parse(await python(PYTHON_RECEIVER, toHex(ours))) as {
      header: Record<string, unknown>;
      body: string;
    }[];
    assertEquals(read.map((f) => ({ header: f.header, body: fromHex(f.body) })), pythonFrames);
  }
});

// Joins the stream codec's events back into whole frames.
function collectBodies(events: JsonHeaderStreamFrame[]): JsonHeaderFrame[] {
  const frames: JsonHeaderFrame[] = [];
  let chunks: Uint8Array[] = [];
  let header: Record<string, unknown> = {};
  for (const event of events) {
    if (event.type === "header") {
      header = event.header;
      chunks = [];
    } else if (event.type === "body") {
      chunks.push(event.chunk);
    } else {
      frames.push({ header, body: concat(...chunks) });
    }
  }
  return frames;
}
