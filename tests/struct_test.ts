// struct: byte-for-byte agreement with CPython's struct module, checked by
// running python3 once per test on a whole table of cases.

import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  calcsize,
  iterUnpack,
  pack,
  packInto,
  Struct,
  StructError,
  type StructValue,
  unpack,
} from "@socketserver/core/struct";

// ---------------------------------------------------------------------------
// The Python side. Values cross as tagged JSON so nothing is lost on the way:
// integers as decimal strings, floats as their 64 bits in hex (keeps -0 and
// subnormals exact), bytes as hex.

type Wire = ["i", string] | ["f", string] | ["?", boolean] | ["b", string];

type PyOp =
  | { op: "pack"; format: string; values: Wire[] }
  | { op: "pack_each"; format: string; values: Wire[] }
  | { op: "unpack"; format: string; hex: string; offset?: number }
  | { op: "pack_into"; format: string; size: number; offset: number; values: Wire[] }
  | { op: "iter_unpack"; format: string; hex: string }
  | { op: "calcsize"; format: string };

interface PyResult {
  error?: string;
  message?: string;
  hex?: string;
  size?: number;
  values?: Wire[];
  records?: Wire[][];
  each?: (string | null)[];
}

const PYTHON = String.raw`
import json, math, struct, sys

def decode(wire):
    tag, value = wire
    if tag == "i": return int(value)
    if tag == "f": return float("nan") if value == "nan" else struct.unpack(">d", bytes.fromhex(value))[0]
    if tag == "?": return value
    return bytes.fromhex(value)

def encode(value):
    if isinstance(value, bool): return ["?", value]
    if isinstance(value, int): return ["i", str(value)]
    if isinstance(value, float):
        if value != value: return ["f", "nan"]
        if value.is_integer() and math.copysign(1, value) > 0: return ["i", str(int(value))]
        return ["f", struct.pack(">d", value).hex()]
    return ["b", bytes(value).hex()]

def run(case):
    op, fmt = case["op"], case["format"]
    values = [decode(w) for w in case.get("values", [])]
    if op == "pack":
        packed = struct.pack(fmt, *values)
        return {"hex": packed.hex(), "size": struct.calcsize(fmt),
                "values": [encode(v) for v in struct.unpack(fmt, packed)]}
    if op == "pack_each":
        each = []
        for v in values:
            try: each.append(struct.pack(fmt, v).hex())
            except (struct.error, OverflowError): each.append(None)
        return {"each": each}
    if op == "unpack":
        data = bytes.fromhex(case["hex"])
        got = struct.unpack(fmt, data) if case.get("offset") is None else struct.unpack_from(fmt, data, case["offset"])
        return {"values": [encode(v) for v in got]}
    if op == "pack_into":
        buffer = bytearray(b"\xaa" * case["size"])
        struct.pack_into(fmt, buffer, case["offset"], *values)
        return {"hex": buffer.hex()}
    if op == "iter_unpack":
        return {"records": [[encode(v) for v in r] for r in struct.iter_unpack(fmt, bytes.fromhex(case["hex"]))]}
    return {"size": struct.calcsize(fmt)}

def safe(case):
    try: return run(case)
    except Exception as e: return {"error": type(e).__name__, "message": str(e)}

print(json.dumps([safe(c) for c in json.load(sys.stdin)]))
`;

/** Runs every case in one python3 process and returns its results in order. */
async function python(cases: PyOp[]): Promise<PyResult[]> {
  const child = new Deno.Command("python3", {
    args: ["-c", PYTHON],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)?.map((pair) => parseInt(pair, 16)) ?? []);
}

function floatHex(x: number): string {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, x);
  return hex(bytes);
}

/** The tagged form of a value; an integral number crosses as a Python int, like a bigint. */
function toWire(value: StructValue): Wire {
  if (typeof value === "bigint") return ["i", value.toString()];
  if (typeof value === "boolean") return ["?", value];
  if (value instanceof Uint8Array) return ["b", hex(value)];
  if (Number.isNaN(value)) return ["f", "nan"];
  if (Number.isInteger(value) && !Object.is(value, -0)) return ["i", BigInt(value).toString()];
  return ["f", floatHex(value)];
}

/**
 * Sends numbers as Python floats, which is what a JS number means to `e`, `f`
 * and `d`: CPython words some errors differently for an int there ("int too
 * large to convert" instead of "float too large to pack with e format").
 */
function toFloatWire(value: StructValue): Wire {
  if (typeof value !== "number" || Number.isNaN(value)) return toWire(value);
  return ["f", floatHex(value)];
}

/** The wire form for a format's values: floats when every code is a float code. */
function wireFor(format: string): (value: StructValue) => Wire {
  return /^[@=<>!]?(\s*\d*[efd])*\s*$/.test(format) ? toFloatWire : toWire;
}

const bytes = (text: string) => new TextEncoder().encode(text);

// ---------------------------------------------------------------------------
// 1. pack, calcsize and unpack agree with CPython, code by code.

interface PackCase {
  format: string;
  values: StructValue[];
}

const PACK_CASES: PackCase[] = [
  // b at its minimum, native
  { format: "b", values: [-128] },
  // B at its maximum, native
  { format: "B", values: [255] },
  // h negative, little-endian
  { format: "<h", values: [-2] },
  // H, big-endian
  { format: ">H", values: [0xfeed] },
  // i minimum, network order
  { format: "!i", values: [-2147483648] },
  // I maximum, native order with standard size
  { format: "=I", values: [4294967295] },
  // l is 4 bytes with a standard order
  { format: "<l", values: [-1] },
  // L maximum with a standard order
  { format: ">L", values: [4294967295] },
  // l is 8 bytes natively (LP64)
  { format: "l", values: [-(2n ** 63n)] },
  // L maximum natively
  { format: "L", values: [2n ** 64n - 1n] },
  // q minimum, little-endian
  { format: "<q", values: [-(2n ** 63n)] },
  // Q maximum, big-endian
  { format: ">Q", values: [2n ** 64n - 1n] },
  // n: ssize_t, native only
  { format: "n", values: [-5n] },
  // N: size_t, native only
  { format: "N", values: [12345678901234567890n] },
  // P: a pointer, native only
  { format: "P", values: [0xdeadbeefn] },
  // an integral number above 2^53 into q
  { format: "<q", values: [2 ** 60] },
  // a bigint into a 4-byte code
  { format: "<i", values: [123n] },
  // booleans into integer codes, as Python accepts True
  { format: "<iB", values: [true, false] },
  // ? packs Python truthiness: 2 and NaN are true
  { format: "4?", values: [true, false, 2, NaN] },
  // ? of empty and non-empty bytes
  { format: "??", values: [new Uint8Array(0), new Uint8Array([0])] },
  // x pad bytes between fields
  { format: "<bxxh", values: [1, 2] },
  // only padding, no values
  { format: "3x", values: [] },
  // c, repeated
  { format: "3c", values: [bytes("a"), bytes("b"), bytes("c")] },
  // s padded with NULs
  { format: "5s", values: [bytes("hi")] },
  // s truncated
  { format: "2s", values: [bytes("hello")] },
  // 0s still takes one value and packs nothing
  { format: "0sB", values: [bytes("abc"), 7] },
  // p: length byte, then the bytes, padded
  { format: "4p", values: [bytes("hi")] },
  // p truncated to count - 1
  { format: "3p", values: [bytes("abcdef")] },
  // 1p holds only the length byte, 0
  { format: "1p", values: [bytes("abc")] },
  // p longer than 255: the length byte is capped
  { format: "300p", values: [new Uint8Array(400).fill(97)] },
  // e: an exact half
  { format: "<e", values: [1.5] },
  // e: the largest half
  { format: ">e", values: [65504] },
  // e: just below the overflow tie, rounds down to 65504
  { format: "<e", values: [65519] },
  // e: the smallest subnormal
  { format: "e", values: [6e-8] },
  // e: a tie at 2^-25 rounds to even (0)
  { format: "<e", values: [2 ** -25] },
  // e: 1/3 rounds to nearest
  { format: "<e", values: [1 / 3] },
  // e: -0, infinities and NaN
  { format: "<4e", values: [-0, Infinity, -Infinity, NaN] },
  // f: the largest float32
  { format: "<f", values: [3.4028234663852886e38] },
  // f: pi rounds to float32
  { format: ">f", values: [Math.PI] },
  // f: a float32 subnormal
  { format: "<f", values: [1e-45] },
  // f native: CPython 3.11 casts an overflow to infinity without an error
  { format: "f", values: [1e39] },
  // f: -0, infinity, NaN
  { format: "<3f", values: [-0, -Infinity, NaN] },
  // d: pi
  { format: "d", values: [Math.PI] },
  // d: -0 big-endian, and the smallest subnormal
  { format: "!dd", values: [-0, 5e-324] },
  // d: NaN and infinity
  { format: "<dd", values: [NaN, Infinity] },
  // d: a bigint converts to float
  { format: "<d", values: [2n ** 70n] },
  // native alignment: i after b is padded to 4
  { format: "@bi", values: [1, 2] },
  // native alignment: q after h is padded to 8
  { format: "@hq", values: [-1, -1n] },
  // native alignment across c, i, ?, d
  { format: "@ci?d", values: [bytes("A"), -2, true, 1.5] },
  // native alignment applies even before a field of count 0
  { format: "@c0ib", values: [bytes("A"), 5] },
  // native: no padding at the end
  { format: "@qb", values: [1n, 2] },
  // native default with every integer size
  { format: "bhiq", values: [1, 2, 3, 4n] },
  // native: e is aligned to 2
  { format: "?e", values: [true, 0.5] },
  // native: n after c is aligned to 8
  { format: "cn", values: [bytes("z"), 9n] },
  // native: s and p are not aligned, i after them is
  { format: "c5s3pi", values: [bytes("A"), bytes("hello"), bytes("xy"), 1] },
  // standard orders never align
  { format: "=bi", values: [1, 2] },
  // whitespace between codes is ignored
  { format: "< h  i\tq\n", values: [1, 2, 3n] },
  // repeat counts on integers
  { format: "<4h", values: [1, -1, 256, -256] },
  // repeat counts on floats
  { format: ">2e3f", values: [1, 2, 3, 4, 5] },
  // a record header with every kind mixed
  { format: "!HH8sQ?x", values: [1, 2, bytes("payload!"), 2n ** 40n, true] },
  // empty format
  { format: "", values: [] },
];

Deno.test("struct: pack matches CPython byte for byte, with calcsize and round trip", async () => {
  const results = await python(
    PACK_CASES.map(({ format, values }) => ({ op: "pack", format, values: values.map(toWire) })),
  );
  PACK_CASES.forEach(({ format, values }, index) => {
    const py = results[index];
    const label = `${JSON.stringify(format)} ${Deno.inspect(values)}`;
    assertEquals(py.error, undefined, `${label}: python raised ${py.message}`);
    const packed = pack(format, ...values);
    assertEquals(hex(packed), py.hex, label);
    assertEquals(calcsize(format), py.size, label);
    assertEquals(unpack(format, packed).map(toWire), py.values, label);
  });
});

Deno.test("struct: unpack returns numbers up to 4 bytes, bigints for 8", () => {
  const cases: [format: string, expected: string][] = [
    // 1-, 2- and 4-byte integers are numbers
    ["<bBhHiI", "number"],
    // l and L are 4 bytes with a standard order
    ["<lL", "number"],
    // and 8 bytes natively
    ["lL", "bigint"],
    // every 8-byte integer is a bigint
    ["qQnNP", "bigint"],
    // floats are numbers
    ["efd", "number"],
    // ? is a boolean
    ["?", "boolean"],
    // c, s and p are bytes
    ["c2s3p", "object"],
  ];
  for (const [format, expected] of cases) {
    const values = unpack(format, new Uint8Array(calcsize(format)));
    assert(values.length > 0);
    for (const value of values) assertEquals(typeof value, expected, format);
  }
});

// ---------------------------------------------------------------------------
// 2. Errors: the class, the numbers, and Python's wording.

type ErrorClass = typeof StructError | TypeErrorConstructor | SyntaxErrorConstructor;

interface ErrorCase {
  call:
    | { op: "pack"; format: string; values: StructValue[] }
    | { op: "unpack"; format: string; bytes: Uint8Array; offset?: number }
    | { op: "packInto"; format: string; size: number; offset: number; values: StructValue[] }
    | { op: "iterUnpack"; format: string; bytes: Uint8Array }
    | { op: "calcsize"; format: string };
  error: ErrorClass;
  /** Our message contains these. */
  includes: string[];
  /** Our message contains CPython's whole message (with our function names). */
  samePythonText: boolean;
}

const pk = (format: string, ...values: StructValue[]) => ({ op: "pack" as const, format, values });

const ERROR_CASES: ErrorCase[] = [
  // B above 255
  { call: pk("B", 256), error: StructError, includes: ["256"], samePythonText: true },
  // B below 0
  { call: pk("B", -1), error: StructError, includes: ["-1"], samePythonText: true },
  // b above 127
  { call: pk("b", 128), error: StructError, includes: ["128"], samePythonText: true },
  // h above 32767
  { call: pk("h", 40000), error: StructError, includes: ["40000"], samePythonText: true },
  // H above 65535, little-endian
  { call: pk("<H", 70000), error: StructError, includes: ["70000"], samePythonText: true },
  // i above 2^31 - 1
  { call: pk("<i", 2 ** 31), error: StructError, includes: ["2147483648"], samePythonText: true },
  // I above 2^32 - 1, standard order
  { call: pk("<I", 2 ** 32), error: StructError, includes: ["4294967296"], samePythonText: true },
  // I negative: CPython says only "argument out of range" here; we give the bounds
  {
    call: pk("<I", -1),
    error: StructError,
    includes: ["0 <= number <= 4294967295", "got -1"],
    samePythonText: false,
  },
  // l is 4 bytes with a standard order
  { call: pk("<l", 2 ** 31), error: StructError, includes: ["2147483648"], samePythonText: true },
  // L above 2^32 - 1, standard order
  { call: pk("<L", 2 ** 32), error: StructError, includes: ["4294967296"], samePythonText: true },
  // native I: CPython says only "argument out of range"; we give the bounds
  {
    call: pk("I", -1),
    error: StructError,
    includes: ["0 <= number <= 4294967295"],
    samePythonText: false,
  },
  // q above 2^63 - 1, as a bigint
  {
    call: pk("q", 2n ** 63n),
    error: StructError,
    includes: ["-9223372036854775808 <= number <= 9223372036854775807", "9223372036854775808"],
    samePythonText: false,
  },
  // q: the number 2^63 is checked exactly, not rounded down into range
  {
    call: pk("<q", 2 ** 63),
    error: StructError,
    includes: ["got 9223372036854775808"],
    samePythonText: false,
  },
  // Q negative
  {
    call: pk(">Q", -1n),
    error: StructError,
    includes: ["0 <= number <= 18446744073709551615"],
    samePythonText: false,
  },
  // Q above 2^64 - 1
  {
    call: pk("<Q", 2n ** 64n),
    error: StructError,
    includes: ["18446744073709551616"],
    samePythonText: false,
  },
  // native l above 2^63 - 1
  { call: pk("l", 2n ** 63n), error: StructError, includes: ["'l' format"], samePythonText: false },
  // n above 2^63 - 1
  { call: pk("n", 2n ** 63n), error: StructError, includes: ["'n' format"], samePythonText: false },
  // N negative
  { call: pk("N", -1), error: StructError, includes: ["'N' format"], samePythonText: false },
  // a fraction for an integer code
  { call: pk("i", 1.5), error: TypeError, includes: ["1.5"], samePythonText: true },
  // bytes for an integer code
  { call: pk("i", bytes("a")), error: TypeError, includes: ["1-byte"], samePythonText: true },
  // bytes for a float code
  { call: pk("d", bytes("a")), error: TypeError, includes: ["item 0"], samePythonText: true },
  // e: 65520 ties to 65536, which does not fit
  { call: pk("<e", 65520), error: StructError, includes: ["65520"], samePythonText: true },
  // e: far too large
  { call: pk("e", 1e6), error: StructError, includes: ["1000000"], samePythonText: true },
  // f with a standard order: too large for float32
  { call: pk("<f", 1e39), error: StructError, includes: ["1e+39"], samePythonText: true },
  // f: the first double that rounds to float32 infinity
  {
    call: pk(">f", 3.4028235677973366e38),
    error: StructError,
    includes: ["f format"],
    samePythonText: true,
  },
  // c with two bytes
  { call: pk("c", bytes("ab")), error: StructError, includes: ["2-byte"], samePythonText: true },
  // c with a number
  { call: pk("c", 1), error: TypeError, includes: ["got 1"], samePythonText: true },
  // s with a number
  { call: pk("s", 1), error: TypeError, includes: ["got 1"], samePythonText: true },
  // p with a boolean
  { call: pk("p", true), error: TypeError, includes: ["got true"], samePythonText: true },
  // too few values
  { call: pk("ii", 1), error: TypeError, includes: ["2", "1"], samePythonText: true },
  // too many values
  { call: pk("i", 1, 2), error: TypeError, includes: ["1", "2"], samePythonText: true },
  // pad bytes take no value
  { call: pk("x", 1), error: TypeError, includes: ["0", "1"], samePythonText: true },
  // unpack: too short
  {
    call: { op: "unpack", format: "i", bytes: new Uint8Array(3) },
    error: StructError,
    includes: ["4", "got 3"],
    samePythonText: true,
  },
  // unpack: too long
  {
    call: { op: "unpack", format: "<h", bytes: new Uint8Array(5) },
    error: StructError,
    includes: ["2", "got 5"],
    samePythonText: true,
  },
  // unpack at an offset: too short from there
  {
    call: { op: "unpack", format: "i", bytes: new Uint8Array(6), offset: 3 },
    error: StructError,
    includes: ["7", "4", "3", "6"],
    samePythonText: true,
  },
  // unpack at a negative offset too close to the end
  {
    call: { op: "unpack", format: "i", bytes: new Uint8Array(6), offset: -2 },
    error: StructError,
    includes: ["4", "-2"],
    samePythonText: true,
  },
  // unpack at a negative offset before the start
  {
    call: { op: "unpack", format: "i", bytes: new Uint8Array(6), offset: -7 },
    error: StructError,
    includes: ["-7", "6"],
    samePythonText: true,
  },
  // unpack at an offset that is not an integer
  {
    call: { op: "unpack", format: "i", bytes: new Uint8Array(6), offset: 1.5 },
    error: TypeError,
    includes: ["1.5"],
    samePythonText: false,
  },
  // packInto: too short from the offset
  {
    call: { op: "packInto", format: "i", size: 6, offset: 3, values: [1] },
    error: StructError,
    includes: ["7", "4", "3", "6"],
    samePythonText: true,
  },
  // packInto at a negative offset too close to the end
  {
    call: { op: "packInto", format: "i", size: 6, offset: -2, values: [1] },
    error: StructError,
    includes: ["4", "-2"],
    samePythonText: true,
  },
  // packInto at a negative offset before the start
  {
    call: { op: "packInto", format: "i", size: 6, offset: -7, values: [1] },
    error: StructError,
    includes: ["-7", "6"],
    samePythonText: true,
  },
  // packInto with too few values
  {
    call: { op: "packInto", format: "ii", size: 8, offset: 0, values: [1] },
    error: TypeError,
    includes: ["2", "1"],
    samePythonText: true,
  },
  // iterUnpack: not a multiple of the size
  {
    call: { op: "iterUnpack", format: "i", bytes: new Uint8Array(5) },
    error: StructError,
    includes: ["4", "got 5"],
    samePythonText: true,
  },
  // iterUnpack: a struct of size 0
  {
    call: { op: "iterUnpack", format: "0s", bytes: new Uint8Array(0) },
    error: StructError,
    includes: ["length 0"],
    samePythonText: true,
  },
  // an unknown code
  { call: pk("z", 1), error: SyntaxError, includes: ["'z' at index 0"], samePythonText: true },
  // n needs native mode
  { call: pk("<n", 1), error: SyntaxError, includes: ["'n'", "native"], samePythonText: true },
  // N needs native mode, even with "="
  { call: pk("=N", 1), error: SyntaxError, includes: ["'N'", "native"], samePythonText: true },
  // P needs native mode
  { call: pk("!P", 1), error: SyntaxError, includes: ["'P'", "native"], samePythonText: true },
  // the byte order must come first, before any whitespace
  { call: pk(" <i", 1), error: SyntaxError, includes: ["'<' at index 1"], samePythonText: true },
  // a byte order after a code
  { call: pk("i<", 1), error: SyntaxError, includes: ["'<' at index 1"], samePythonText: true },
  // whitespace between a count and its code
  { call: pk("3 i", 1), error: SyntaxError, includes: ["' ' at index 1"], samePythonText: true },
  // a count with no code
  { call: { op: "calcsize", format: "4" }, error: SyntaxError, includes: [], samePythonText: true },
  // a struct larger than Python allows
  {
    call: { op: "calcsize", format: "10000000000000000000s" },
    error: StructError,
    includes: ["9007199254740991"],
    samePythonText: true,
  },
];

function runOurs(call: ErrorCase["call"]): unknown {
  switch (call.op) {
    case "pack":
      return pack(call.format, ...call.values);
    case "unpack":
      return unpack(call.format, call.bytes, call.offset);
    case "packInto":
      return packInto(call.format, new Uint8Array(call.size), call.offset, ...call.values);
    case "iterUnpack":
      return iterUnpack(call.format, call.bytes);
    case "calcsize":
      return calcsize(call.format);
  }
}

function toPython(call: ErrorCase["call"]): PyOp {
  switch (call.op) {
    case "pack":
      return { op: "pack", format: call.format, values: call.values.map(wireFor(call.format)) };
    case "unpack":
      return { op: "unpack", format: call.format, hex: hex(call.bytes), offset: call.offset };
    case "packInto":
      return { ...call, op: "pack_into", values: call.values.map(toWire) };
    case "iterUnpack":
      return { op: "iter_unpack", format: call.format, hex: hex(call.bytes) };
    case "calcsize":
      return call;
  }
}

Deno.test("struct: errors have the right class, the numbers and Python's wording", async () => {
  const results = await python(ERROR_CASES.map(({ call }) => toPython(call)));
  ERROR_CASES.forEach(({ call, error, includes, samePythonText }, index) => {
    const label = `${call.op} ${JSON.stringify(call.format)}`;
    const py = results[index];
    assert(py.error !== undefined, `${label}: python did not raise`);
    const thrown = assertThrows(() => runOurs(call), error, undefined, label);
    assertMatch(thrown.message, /^Cannot (pack|unpack|parse struct format) ".*": /, label);
    for (const text of includes) assert(thrown.message.includes(text), thrown.message);
    if (samePythonText) {
      const pythonText = py.message!.replace("unpack_from", "unpack")
        .replace("pack_into", "packInto");
      assert(thrown.message.includes(pythonText), `${thrown.message} / ${pythonText}`);
    }
  });
});

Deno.test("struct: StructError is a RangeError carrying the format", () => {
  const error = new StructError("<I", "something is off", "unpack");
  assert(error instanceof RangeError);
  assertEquals(error.name, "StructError");
  assertEquals(error.format, "<I");
  assertEquals(error.message, 'Cannot unpack "<I": something is off');
});

// ---------------------------------------------------------------------------
// 3. packInto, unpack at an offset, iterUnpack, Struct.

Deno.test("struct: packInto writes like pack_into, zeroing pad bytes", async () => {
  const cases: { format: string; size: number; offset: number; values: StructValue[] }[] = [
    // into the middle of a filled buffer
    { format: "<hi", size: 10, offset: 2, values: [-1, 258] },
    // native alignment padding is zeroed, not left as it was
    { format: "@bi", size: 10, offset: 1, values: [1, 2] },
    // a negative offset counts from the end
    { format: ">I", size: 6, offset: -4, values: [0x01020304] },
    // pad bytes are zeroed
    { format: "<b2xb", size: 4, offset: 0, values: [7, 8] },
    // exactly filling the buffer
    { format: "<q", size: 8, offset: 0, values: [-2n] },
  ];
  const results = await python(
    cases.map((c) => ({ ...c, op: "pack_into" as const, values: c.values.map(toWire) })),
  );
  cases.forEach(({ format, size, offset, values }, index) => {
    const buffer = new Uint8Array(size).fill(0xaa);
    packInto(format, buffer, offset, ...values);
    assertEquals(hex(buffer), results[index].hex, format);
  });
});

Deno.test("struct: unpack with an offset reads like unpack_from", async () => {
  const data = fromHex("00112233445566778899aabbccddeeff");
  const cases: { format: string; offset: number }[] = [
    // offset 0 on a longer buffer: the rest is ignored
    { format: "<I", offset: 0 },
    // from the middle
    { format: ">hH", offset: 5 },
    // ending exactly at the end
    { format: "<q", offset: 8 },
    // a negative offset counts from the end
    { format: ">I", offset: -4 },
    // a struct of size 0 at the very end
    { format: "", offset: 16 },
  ];
  const results = await python(
    cases.map(({ format, offset }) => ({ op: "unpack", format, hex: hex(data), offset })),
  );
  cases.forEach(({ format, offset }, index) => {
    assertEquals(unpack(format, data, offset).map(toWire), results[index].values, format);
  });
});

Deno.test("struct: unpack reads a subarray at its own offset", () => {
  // the view starts 3 bytes into its ArrayBuffer, which a DataView must honour
  const backing = new Uint8Array([9, 9, 9, 0, 1, 0, 2]);
  assertEquals(unpack(">HH", backing.subarray(3)), [1, 2]);
  const target = new Uint8Array(8);
  packInto(">H", target.subarray(4), 1, 0x0102);
  assertEquals(target, new Uint8Array([0, 0, 0, 0, 0, 1, 2, 0]));
});

Deno.test("struct: unpacked bytes are copies", () => {
  const data = bytes("abc");
  const [copy] = unpack("3s", data);
  data[0] = 0;
  assertEquals(copy, bytes("abc"));
});

Deno.test("struct: iterUnpack yields each record like iter_unpack", async () => {
  const cases: { format: string; data: Uint8Array }[] = [
    // three 2-byte records
    { format: "<bB", data: fromHex("01ff02fe0380") },
    // records with native padding
    { format: "bi", data: pack("bibi", 1, 2, 3, 4) },
    // an empty buffer yields nothing
    { format: ">I", data: new Uint8Array(0) },
  ];
  const results = await python(
    cases.map(({ format, data }) => ({ op: "iter_unpack", format, hex: hex(data) })),
  );
  cases.forEach(({ format, data }, index) => {
    const records = [...iterUnpack(format, data)].map((record) => record.map(toWire));
    assertEquals(records, results[index].records, format);
  });
});

Deno.test("struct: iterUnpack is lazy and its own iterator", () => {
  const iterator = iterUnpack("<H", new Uint8Array([1, 0, 2, 0]));
  assertEquals(iterator[Symbol.iterator](), iterator);
  assertEquals(iterator.next(), { value: [1], done: false });
  assertEquals(iterator.next(), { value: [2], done: false });
  assertEquals(iterator.next().done, true);
});

Deno.test("struct: Struct holds a format and agrees with the functions", () => {
  const record = new Struct("!H3sq");
  assertEquals(record.format, "!H3sq");
  assertEquals(record.size, calcsize("!H3sq"));
  const packed = record.pack(7, bytes("abc"), -3n);
  assertEquals(packed, pack("!H3sq", 7, bytes("abc"), -3n));
  assertEquals(record.unpack(packed), [7, bytes("abc"), -3n]);
  assertEquals([...record.iterUnpack(packed)], [record.unpack(packed)]);
  const buffer = new Uint8Array(record.size + 1);
  record.packInto(buffer, 1, 7, bytes("abc"), -3n);
  assertEquals(buffer.subarray(1), packed);
});

Deno.test("struct: many formats in turn still pack correctly after the cache is cleared", () => {
  // more distinct formats than the cache holds, twice over
  for (let round = 0; round < 2; round++) {
    for (let count = 1; count <= 150; count++) {
      const values = Array.from({ length: count }, (_, i) => i % 256);
      assertEquals([...pack(`${count}B`, ...values)], values);
    }
  }
});

// ---------------------------------------------------------------------------
// 4. Properties: random formats and values against CPython, in one batch each.

const INTEGER_CODES = ["b", "B", "h", "H", "i", "I", "l", "L", "q", "Q"];
const NATIVE_ONLY_CODES = ["n", "N", "P"];

/** A random format of integer codes with values in range, as numbers or bigints. */
const integerStruct: fc.Arbitrary<PackCase> = fc
  .constantFrom("", "@", "=", "<", ">", "!")
  .chain((order) => {
    const codes = order === "" || order === "@"
      ? [...INTEGER_CODES, ...NATIVE_ONLY_CODES]
      : INTEGER_CODES;
    const field = fc.record({
      code: fc.constantFrom(...codes),
      count: fc.integer({ min: 1, max: 3 }),
    });
    return fc.array(field, { minLength: 1, maxLength: 5 }).chain((fields) => {
      const values = fields.flatMap(({ code, count }) => {
        const size = calcsize(`${order}${code}`);
        const signed = code === code.toLowerCase();
        const bits = BigInt(size * 8);
        const min = signed ? -(1n << (bits - 1n)) : 0n;
        const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
        const value = fc.bigInt({ min, max }).chain((big) =>
          // a safe integer may come as a number or as a bigint
          Number.isSafeInteger(Number(big)) && BigInt(Number(big)) === big
            ? fc.constantFrom<StructValue>(Number(big), big)
            : fc.constant<StructValue>(big)
        );
        return Array.from({ length: count }, () => value);
      });
      const format = order + fields.map(({ code, count }) => `${count}${code}`).join(" ");
      return fc.tuple(...values).map((list) => ({ format, values: list }));
    });
  });

Deno.test("struct: random integer formats pack as CPython does", async () => {
  const samples = fc.sample(integerStruct, { numRuns: 200, seed: 20240611 });
  const results = await python(
    samples.map(({ format, values }) => ({ op: "pack", format, values: values.map(toWire) })),
  );
  samples.forEach(({ format, values }, index) => {
    const label = `${JSON.stringify(format)} ${Deno.inspect(values)}`;
    assertEquals(hex(pack(format, ...values)), results[index].hex, label);
    assertEquals(calcsize(format), results[index].size, label);
  });
});

Deno.test("struct: random integer formats round-trip through unpack", () => {
  fc.assert(
    fc.property(integerStruct, ({ format, values }) => {
      const normalized = values.map((value) => BigInt(value as number | bigint));
      const back = unpack(format, pack(format, ...values)).map((value) =>
        BigInt(value as number | bigint)
      );
      assertEquals(back, normalized);
    }),
    { numRuns: 300, seed: 7 },
  );
});

/** The double a half-precision bit pattern stands for (via unpack, which the round-trip test covers). */
function halfValue(bits: number): number {
  const [value] = unpack("<e", new Uint8Array([bits & 0xff, bits >> 8]));
  return value as number;
}

Deno.test("struct: e matches CPython on every rounding tie and random doubles", async () => {
  // every midpoint between adjacent finite halves, where round-half-to-even decides
  const ties: number[] = [];
  for (let bits = 0; bits < 0x7bff; bits++) {
    ties.push((halfValue(bits) + halfValue(bits + 1)) / 2);
  }
  ties.push(65520, -65520, 65519.99, -(2 ** -25));
  const doubles = [
    ...fc.sample(fc.double(), { numRuns: 300, seed: 1 }),
    ...fc.sample(fc.double({ min: -70000, max: 70000 }), { numRuns: 300, seed: 2 }),
    ...fc.sample(fc.double({ min: -(2 ** -13), max: 2 ** -13 }), { numRuns: 300, seed: 3 }),
  ];
  const formats = ["<e", ">e"];
  const values = [...ties, ...doubles];
  const results = await python(
    formats.map((format) => ({ op: "pack_each", format, values: values.map(wireFor(format)) })),
  );
  formats.forEach((format, index) => {
    const expected = results[index].each!;
    values.forEach((value, i) => {
      let ours: string | null;
      try {
        ours = hex(pack(format, value));
      } catch (error) {
        assert(error instanceof StructError, String(error));
        ours = null;
      }
      assertEquals(ours, expected[i], `${format} ${value}`);
    });
  });
});

Deno.test("struct: e round-trips every half-precision bit pattern", () => {
  for (let bits = 0; bits <= 0xffff; bits++) {
    const packed = new Uint8Array([bits & 0xff, bits >> 8]);
    const value = unpack("<e", packed)[0] as number;
    const isNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
    if (isNaN) {
      assert(Number.isNaN(value));
    } else {
      assertEquals(pack("<e", value), packed, `0x${bits.toString(16)}`);
    }
  }
});

Deno.test("struct: f matches CPython on random doubles, standard and native", async () => {
  const values = [
    ...fc.sample(fc.double(), { numRuns: 300, seed: 4 }),
    ...fc.sample(fc.double({ min: -3.5e38, max: 3.5e38 }), { numRuns: 300, seed: 5 }),
    ...fc.sample(fc.double({ min: -1e-37, max: 1e-37 }), { numRuns: 300, seed: 6 }),
  ];
  const formats = ["<f", "f"];
  const results = await python(
    formats.map((format) => ({ op: "pack_each", format, values: values.map(wireFor(format)) })),
  );
  formats.forEach((format, index) => {
    values.forEach((value, i) => {
      let ours: string | null;
      try {
        ours = hex(pack(format, value));
      } catch (error) {
        assert(error instanceof StructError, String(error));
        ours = null;
      }
      assertEquals(ours, results[index].each![i], `${format} ${value}`);
    });
  });
});
