/**
 * Python's `struct` module: pack values into the bytes a C struct (or a
 * Python peer calling `struct.pack`) lays out, and unpack them again. For the
 * same format and values, {@linkcode pack} returns the same bytes as CPython on
 * 64-bit Linux or macOS (x86-64 or ARM64), so a Deno server can speak to a
 * Python client without guessing at byte layouts. (On 64-bit Windows CPython's
 * native `l` and `L` are 4 bytes; here they are 8, as on Linux.)
 *
 * ```
 * pack(">HI", 1, 258)                 pack("@bi", 1, 258)
 * +-- H --+----- I -----+             +- b -+-- pad --+----- i -----+
 * | 00 01 | 00 00 01 02 |             | 01  | 00 00 00| 02 01 00 00 |
 * +-------+-------------+             +-----+---------+-------------+
 * big-endian, standard sizes          native: little-endian, aligned
 * ```
 *
 * A format is an optional byte order followed by codes, each with an optional
 * repeat count (`"4h"` is `"hhhh"`; `"10s"` is one 10-byte string). Whitespace
 * between codes is ignored.
 *
 * | Order       | Byte order    | Sizes    | Alignment |
 * | ----------- | ------------- | -------- | --------- |
 * | `@` or none | native        | native   | native    |
 * | `=`         | native        | standard | none      |
 * | `<`         | little-endian | standard | none      |
 * | `>` and `!` | big-endian    | standard | none      |
 *
 * | Code    | C type             | Value                  | Standard size | Native size |
 * | ------- | ------------------ | ---------------------- | ------------- | ----------- |
 * | `x`     | pad byte           | (none)                 | 1             | 1           |
 * | `c`     | `char`             | 1-byte `Uint8Array`    | 1             | 1           |
 * | `b` `B` | `(un)signed char`  | `number`               | 1             | 1           |
 * | `?`     | `_Bool`            | `boolean`              | 1             | 1           |
 * | `h` `H` | `(unsigned) short` | `number`               | 2             | 2           |
 * | `i` `I` | `(unsigned) int`   | `number`               | 4             | 4           |
 * | `l` `L` | `(unsigned) long`  | `number` / `bigint`    | 4             | 8           |
 * | `q` `Q` | `(unsigned) long long` | `bigint`           | 8             | 8           |
 * | `n` `N` | `ssize_t` / `size_t` | `bigint`             | (native only) | 8           |
 * | `P`     | `void *`           | `bigint`               | (native only) | 8           |
 * | `e`     | IEEE 754 half      | `number`               | 2             | 2           |
 * | `f`     | `float`            | `number`               | 4             | 4           |
 * | `d`     | `double`           | `number`               | 8             | 8           |
 * | `s`     | `char[]`           | `Uint8Array`           | count         | count       |
 * | `p`     | Pascal string      | `Uint8Array`           | count         | count       |
 *
 * Values. Integer codes accept an integral `number`, a `bigint` or a boolean
 * (as Python accepts `True`), and unpack to a `number` when the field is at
 * most 4 bytes and to a `bigint` when it is 8 bytes (`q Q n N P`, and `l L`
 * with `@`): the width decides, so a value never loses precision. Float codes
 * accept a `number` (or a `bigint` or boolean) and unpack to a `number`. `?`
 * packs any value by Python's truthiness (`NaN` and a non-empty `Uint8Array`
 * are true) and unpacks to a boolean. `s` pads with NULs or truncates to its
 * count; `p` stores the length (at most 255) in its first byte.
 *
 * Errors. Python raises one `struct.error` for everything; here each problem
 * throws the closest built-in, as the rest of this package does:
 *
 * - {@linkcode StructError} (a `RangeError`): a value out of the code's range,
 *   a float too large for `e` or `f`, a buffer of the wrong size, an offset
 *   out of range, a struct too large.
 * - `TypeError`: a value of the wrong type, or the wrong number of values.
 * - `SyntaxError`: a format that does not parse (an unknown code, `n N P`
 *   with a standard byte order, a repeat count without a code).
 *
 * Messages carry Python's wording and the numbers:
 * `Cannot pack "<B": ubyte format requires 0 <= number <= 255 (got 256 for item 0)`.
 *
 * Where this differs from CPython 3.11, on purpose:
 *
 * - Range messages always give the bounds (CPython says only "argument out of
 *   range" for the native and 8-byte codes).
 * - `0p` packs nothing; CPython writes a stray 0xff where the field would be.
 * - A struct must be smaller than 2^53 bytes (`Number.MAX_SAFE_INTEGER`).
 * - Only `Uint8Array` is accepted for bytes (Python also takes `bytearray`
 *   and other buffers).
 *
 * @module
 */

/** A value that a struct code packs or unpacks; see the module doc for which code takes which. */
export type StructValue = number | bigint | boolean | Uint8Array;

/**
 * A struct cannot be packed or unpacked because of a number: a value out of
 * its code's range, a float too large for `e` or `f`, a buffer of the wrong
 * size, or an offset out of range. Python raises `struct.error` for these.
 *
 * @example Catch a value out of range
 * ```ts
 * import { pack, StructError } from "@socketserver/core/struct";
 * import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
 *
 * const error = assertThrows(() => pack("B", 256), StructError);
 * assertInstanceOf(error, RangeError);
 * assertEquals(error.format, "B");
 * assertEquals(
 *   error.message,
 *   'Cannot pack "B": ubyte format requires 0 <= number <= 255 (got 256 for item 0)',
 * );
 * ```
 */
export class StructError extends RangeError {
  /** The struct format that was being used. */
  readonly format: string;

  /**
   * Creates the error; its message is `Cannot <operation> "<format>": <detail>`.
   *
   * @param format The struct format that was being used.
   * @param detail What is wrong, with the numbers, for the message.
   * @param operation What failed, for the message.
   */
  constructor(format: string, detail: string, operation: "pack" | "unpack" | "parse" = "pack") {
    super(failure(operation, format, detail));
    this.name = "StructError";
    this.format = format;
  }
}

/** What was being done when something failed, for messages. */
type Operation = "pack" | "unpack" | "parse";

/** The one message template every struct failure uses. */
function failure(operation: Operation, format: string, detail: string): string {
  const subject = operation === "parse" ? "parse struct format" : operation;
  return `Cannot ${subject} ${JSON.stringify(format)}: ${detail}`;
}

/** What one pack or unpack call works on. */
interface Access {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly littleEndian: boolean;
  /** For messages. */
  readonly format: string;
}

/** How one code, at one size, writes and reads a single item. */
interface FieldIO {
  write(access: Access, at: number, value: unknown, item: number): void;
  read(access: Access, at: number): StructValue;
}

/**
 * One compiled field: `count` items of `size` bytes each, starting at
 * `offset`. `"4h"` is one field of count 4; `"10s"` is one field of size 10
 * and count 1 (one value). Pad bytes leave a gap and no field.
 */
interface Field {
  readonly offset: number;
  readonly size: number;
  readonly count: number;
  readonly io: FieldIO;
}

/** What a code is, independent of any one format. */
interface CodeSpec {
  /** Bytes per item with `@`; also its alignment there. */
  readonly nativeSize: number;
  /** Bytes per item with `= < > !`; 0 for codes that exist only with `@`. */
  readonly standardSize: number;
  /** `item`: count items; `bytes`: one item of count bytes (`s`, `p`); `pad`: no item. */
  readonly layout: "item" | "bytes" | "pad";
  /** Builds the reader and writer for the size and mode a format picked. */
  readonly io: (size: number, native: boolean) => FieldIO;
}

/** Describes a value briefly, for messages. */
function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `a ${value.length}-byte Uint8Array`;
  // An integral number past 2^53 is shown as the exact integer it holds, not
  // rounded ("9223372036854775808", not "9223372036854776000"), up to the
  // integer codes' reach; beyond that, "1e+39" reads better.
  if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) <= 2 ** 64) {
    return BigInt(value).toString();
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  return value === null ? "null" : typeof value;
}

function typeError(access: Access, detail: string, value: unknown, item: number): TypeError {
  return new TypeError(
    failure("pack", access.format, `${detail} (got ${describe(value)} for item ${item})`),
  );
}

function rangeError(access: Access, detail: string, value: unknown, item: number): StructError {
  return new StructError(access.format, `${detail} (got ${describe(value)} for item ${item})`);
}

/** Python accepts ints and bools (bool is an int there) for integer codes. */
function toInteger(access: Access, value: unknown, item: number): number | bigint {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "bigint") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  throw typeError(access, "required argument is not an integer", value, item);
}

/** Python accepts floats, ints and bools for float codes. */
function toFloat(access: Access, value: unknown, item: number): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") {
    const float = Number(value);
    if (!Number.isFinite(float)) {
      throw rangeError(access, "int too large to convert to float", value, item);
    }
    return float;
  }
  throw typeError(access, "required argument is not a float", value, item);
}

/** Python's truthiness, which `?` packs: `NaN` is true, empty bytes false. */
function isTruthy(value: unknown): boolean {
  if (typeof value === "number") return value !== 0;
  if (value instanceof Uint8Array) return value.length > 0;
  return Boolean(value);
}

/**
 * An integer code. Python names the 1- and 2-byte types in its messages
 * ("ubyte format requires ...") and quotes the code for the others.
 */
function integer(code: string, signed: boolean, pythonName?: string): CodeSpec["io"] {
  return (size) => {
    const bits = BigInt(size * 8);
    // `P` is an address: Python takes any value a C `intptr_t` or `uintptr_t` holds.
    const min = code === "P" ? -(1n << (bits - 1n)) : signed ? -(1n << (bits - 1n)) : 0n;
    const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
    const requirement = `${pythonName ?? `'${code}'`} format requires ${min} <= number <= ${max}`;
    if (size === 8) {
      return {
        write(access, at, value, item) {
          const integral = toInteger(access, value, item);
          // A number above 2^53 is checked as the exact integer it holds, not rounded.
          const big = typeof integral === "bigint" ? integral : BigInt(integral);
          if (big < min || big > max) throw rangeError(access, requirement, value, item);
          access.view.setBigUint64(at, BigInt.asUintN(64, big), access.littleEndian);
        },
        read: signed
          ? (access, at) => access.view.getBigInt64(at, access.littleEndian)
          : (access, at) => access.view.getBigUint64(at, access.littleEndian),
      };
    }
    // Up to 4 bytes every value is a safe integer: compare and write as numbers.
    const minNumber = Number(min), maxNumber = Number(max);
    return {
      write(access, at, value, item) {
        const integral = toInteger(access, value, item);
        const outOfRange = typeof integral === "bigint"
          ? integral < min || integral > max
          : integral < minNumber || integral > maxNumber;
        if (outOfRange) throw rangeError(access, requirement, value, item);
        // Writing the unsigned bit pattern stores negatives as two's complement.
        const number = Number(integral);
        if (size === 1) access.bytes[at] = number & 0xff;
        else if (size === 2) access.view.setUint16(at, number & 0xffff, access.littleEndian);
        else access.view.setUint32(at, number >>> 0, access.littleEndian);
      },
      read(access, at) {
        const { view, littleEndian } = access;
        if (size === 1) return signed ? view.getInt8(at) : view.getUint8(at);
        if (size === 2) {
          return signed ? view.getInt16(at, littleEndian) : view.getUint16(at, littleEndian);
        }
        return signed ? view.getInt32(at, littleEndian) : view.getUint32(at, littleEndian);
      },
    };
  };
}

/**
 * The IEEE 754 half-precision bits of `x`, rounded to nearest, ties to even,
 * as CPython's `PyFloat_Pack2` does; `undefined` when `x` is finite but rounds
 * past the largest half (65504).
 */
function toHalfBits(x: number): number | undefined {
  if (Number.isNaN(x)) {
    // CPython keeps the sign and sets only the top fraction bit (a quiet NaN).
    SCRATCH_FLOAT[0] = x;
    return (SCRATCH_BYTES[7] & 0x80 ? 0x8000 : 0) | 0x7e00;
  }
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(x);
  if (magnitude === Infinity) return sign | 0x7c00;
  // 65520 is halfway between 65504 and 65536; the tie goes to the even 65536,
  // which does not fit.
  if (magnitude >= 65520) return undefined;
  if (magnitude < 2 ** -14) {
    // Subnormal: units of 2^-24. Scaling by a power of two is exact, and a
    // result of 1024 carries into the exponent field as the smallest normal.
    return sign | roundHalfEven(magnitude * 2 ** 24);
  }
  // log2 can be off by one next to a power of two; correct it exactly.
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent--;
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  // 11 significant bits in [1024, 2048]; 2048 carries into the exponent field.
  const significand = roundHalfEven(magnitude * 2 ** (10 - exponent));
  return sign | (((exponent + 15) << 10) + significand - 1024);
}

/** Rounds a non-negative number below 2^52 to an integer, ties to even. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor; // exact: x has fewer than 53 significant bits above the point
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

function fromHalfBits(bits: number): number {
  const exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
  const magnitude = exponent === 0
    ? fraction * 2 ** -24
    : exponent === 31
    ? (fraction === 0 ? Infinity : NaN)
    : (fraction + 1024) * 2 ** (exponent - 25);
  return bits & 0x8000 ? -magnitude : magnitude;
}

// Reads the sign of a NaN, which no arithmetic can.
const SCRATCH_FLOAT = new Float64Array(1);
const SCRATCH_BYTES = new Uint8Array(SCRATCH_FLOAT.buffer);

const HALF: CodeSpec["io"] = () => ({
  write(access, at, value, item) {
    const bits = toHalfBits(toFloat(access, value, item));
    if (bits === undefined) {
      throw rangeError(access, "float too large to pack with e format", value, item);
    }
    access.view.setUint16(at, bits, access.littleEndian);
  },
  read: (access, at) => fromHalfBits(access.view.getUint16(at, access.littleEndian)),
});

const FLOAT: CodeSpec["io"] = (_size, native) => ({
  write(access, at, value, item) {
    const x = toFloat(access, value, item);
    // CPython 3.11 refuses a finite value that rounds to infinity with a
    // standard byte order, but its native `f` is a plain C cast to infinity.
    if (!native && Number.isFinite(x) && !Number.isFinite(Math.fround(x))) {
      throw rangeError(access, "float too large to pack with f format", value, item);
    }
    access.view.setFloat32(at, x, access.littleEndian);
  },
  read: (access, at) => access.view.getFloat32(at, access.littleEndian),
});

const DOUBLE: CodeSpec["io"] = () => ({
  write(access, at, value, item) {
    access.view.setFloat64(at, toFloat(access, value, item), access.littleEndian);
  },
  read: (access, at) => access.view.getFloat64(at, access.littleEndian),
});

const BOOL: CodeSpec["io"] = () => ({
  write(access, at, value) {
    access.bytes[at] = isTruthy(value) ? 1 : 0;
  },
  read: (access, at) => access.bytes[at] !== 0,
});

const CHAR: CodeSpec["io"] = () => ({
  write(access, at, value, item) {
    const detail = "char format requires a bytes object of length 1";
    if (!(value instanceof Uint8Array)) throw typeError(access, detail, value, item);
    if (value.length !== 1) throw rangeError(access, detail, value, item);
    access.bytes[at] = value[0];
  },
  read: (access, at) => access.bytes.slice(at, at + 1),
});

/** `s`: the bytes, truncated or NUL-padded to the field (already zeroed). */
const STRING: CodeSpec["io"] = (size) => ({
  write(access, at, value, item) {
    if (!(value instanceof Uint8Array)) {
      throw typeError(access, "argument for 's' must be a bytes object", value, item);
    }
    access.bytes.set(value.length > size ? value.subarray(0, size) : value, at);
  },
  read: (access, at) => access.bytes.slice(at, at + size),
});

/** `p`: a length byte (capped at 255), then the bytes, in `size` bytes in all. */
const PASCAL: CodeSpec["io"] = (size) => ({
  write(access, at, value, item) {
    if (!(value instanceof Uint8Array)) {
      throw typeError(access, "argument for 'p' must be a bytes object", value, item);
    }
    if (size === 0) return;
    const length = Math.min(value.length, size - 1);
    access.bytes.set(value.subarray(0, length), at + 1);
    access.bytes[at] = Math.min(length, 255);
  },
  read(access, at) {
    if (size === 0) return new Uint8Array(0);
    const length = Math.min(access.bytes[at], size - 1);
    return access.bytes.slice(at + 1, at + 1 + length);
  },
});

// Never called: compile() turns pad bytes into a gap between fields.
const PAD: CodeSpec["io"] = () => {
  throw new Error("Cannot read or write pad bytes: they have no field");
};

// Native sizes are CPython's on 64-bit Linux and macOS (LP64), as in
// length_field.ts; 64-bit Windows (LLP64) differs only in `l L`, 4 bytes there.
// Every primitive is aligned to its own size on these ABIs, so one number
// gives both size and alignment.
const CODES: ReadonlyMap<string, CodeSpec> = new Map<string, CodeSpec>([
  ["x", { nativeSize: 1, standardSize: 1, layout: "pad", io: PAD }],
  ["c", { nativeSize: 1, standardSize: 1, layout: "item", io: CHAR }],
  ["b", { nativeSize: 1, standardSize: 1, layout: "item", io: integer("b", true, "byte") }],
  ["B", { nativeSize: 1, standardSize: 1, layout: "item", io: integer("B", false, "ubyte") }],
  ["?", { nativeSize: 1, standardSize: 1, layout: "item", io: BOOL }],
  ["h", { nativeSize: 2, standardSize: 2, layout: "item", io: integer("h", true, "short") }],
  ["H", { nativeSize: 2, standardSize: 2, layout: "item", io: integer("H", false, "ushort") }],
  ["i", { nativeSize: 4, standardSize: 4, layout: "item", io: integer("i", true) }],
  ["I", { nativeSize: 4, standardSize: 4, layout: "item", io: integer("I", false) }],
  ["l", { nativeSize: 8, standardSize: 4, layout: "item", io: integer("l", true) }],
  ["L", { nativeSize: 8, standardSize: 4, layout: "item", io: integer("L", false) }],
  ["q", { nativeSize: 8, standardSize: 8, layout: "item", io: integer("q", true) }],
  ["Q", { nativeSize: 8, standardSize: 8, layout: "item", io: integer("Q", false) }],
  ["n", { nativeSize: 8, standardSize: 0, layout: "item", io: integer("n", true) }],
  ["N", { nativeSize: 8, standardSize: 0, layout: "item", io: integer("N", false) }],
  ["P", { nativeSize: 8, standardSize: 0, layout: "item", io: integer("P", false) }],
  ["e", { nativeSize: 2, standardSize: 2, layout: "item", io: HALF }],
  ["f", { nativeSize: 4, standardSize: 4, layout: "item", io: FLOAT }],
  ["d", { nativeSize: 8, standardSize: 8, layout: "item", io: DOUBLE }],
  ["s", { nativeSize: 1, standardSize: 1, layout: "bytes", io: STRING }],
  ["p", { nativeSize: 1, standardSize: 1, layout: "bytes", io: PASCAL }],
]);

// Every platform Deno ships for is little-endian.
const NATIVE_LITTLE_ENDIAN = true;
// The characters C's isspace() accepts, which CPython skips between codes.
const WHITESPACE = " \t\n\v\f\r";

/** A format compiled into fields. */
interface Compiled {
  readonly fields: readonly Field[];
  readonly size: number;
  readonly items: number;
  readonly littleEndian: boolean;
}

/** Parses a format the way CPython's `prepare_s` does. */
function compile(format: string): Compiled {
  if (typeof format !== "string") {
    throw new TypeError(`Cannot parse struct format: expected a string (got ${describe(format)})`);
  }
  const syntaxError = (detail: string) => new SyntaxError(failure("parse", format, detail));
  // The byte order may only come first: CPython reads " <i" as a bad char.
  const hasOrder = format.length > 0 && "@=<>!".includes(format[0]);
  const order = hasOrder ? format[0] : "@";
  const native = order === "@";
  const littleEndian = native || order === "=" ? NATIVE_LITTLE_ENDIAN : order === "<";
  const fields: Field[] = [];
  let size = 0;
  let items = 0;
  let i = hasOrder ? 1 : 0;
  while (i < format.length) {
    if (WHITESPACE.includes(format[i])) {
      i++;
      continue;
    }
    let count = 1;
    if (format[i] >= "0" && format[i] <= "9") {
      const start = i;
      while (format[i] >= "0" && format[i] <= "9") i++;
      if (i === format.length) throw syntaxError("repeat count given without format specifier");
      count = Number(format.slice(start, i));
    }
    const code = format[i];
    const spec = CODES.get(code);
    if (spec === undefined || (!native && spec.standardSize === 0)) {
      const why = spec === undefined ? "" : `, which needs native mode: "@" or no prefix`;
      const quoted = JSON.stringify(code).slice(1, -1);
      throw syntaxError(`bad char in struct format ('${quoted}' at index ${i}${why})`);
    }
    const itemSize = native ? spec.nativeSize : spec.standardSize;
    // Native mode aligns each field to its size, even a field of count 0
    // ("@c0i" is 4 bytes), as CPython does. Unlike a C compiler it adds no
    // padding at the end; Python's docs say to end the format with, say, "0q".
    if (native) size += (itemSize - (size % itemSize)) % itemSize;
    if (spec.layout === "bytes") {
      fields.push({ offset: size, size: count, count: 1, io: spec.io(count, native) });
      size += count;
      items += 1;
    } else {
      if (spec.layout === "item" && count > 0) {
        fields.push({ offset: size, size: itemSize, count, io: spec.io(itemSize, native) });
        items += count;
      }
      size += count * itemSize;
    }
    if (!Number.isSafeInteger(size)) {
      throw new StructError(
        format,
        `total struct size too long: more than ${Number.MAX_SAFE_INTEGER} bytes`,
        "parse",
      );
    }
    i++;
  }
  return { fields, size, items, littleEndian };
}

/**
 * A compiled struct format, Python's `struct.Struct`: parse a format once and
 * pack or unpack with it many times. The module functions ({@linkcode pack},
 * {@linkcode unpack}, ...) keep a small cache of these, so a `Struct` of your
 * own is needed only to hold one explicitly.
 *
 * For callers: {@linkcode Struct.pack}, {@linkcode Struct.packInto},
 * {@linkcode Struct.unpack}, {@linkcode Struct.iterUnpack}, and the
 * {@linkcode Struct.format} and {@linkcode Struct.size} it was built with.
 *
 * @example A record header, packed and unpacked
 * ```ts
 * import { Struct } from "@socketserver/core/struct";
 * import { assertEquals } from "@std/assert";
 *
 * const header = new Struct("!HHI"); // kind, flags, length: network order
 * assertEquals(header.size, 8);
 * const bytes = header.pack(1, 0x8000, 1024);
 * assertEquals(bytes, new Uint8Array([0, 1, 0x80, 0, 0, 0, 4, 0]));
 * assertEquals(header.unpack(bytes), [1, 0x8000, 1024]);
 * ```
 */
export class Struct {
  /** The format this struct was built from, as given. */
  readonly format: string;
  /** How many bytes {@linkcode Struct.pack} produces: Python's `calcsize`. */
  readonly size: number;
  readonly #fields: readonly Field[];
  readonly #items: number;
  readonly #littleEndian: boolean;

  /**
   * Parses `format`.
   *
   * @param format A byte order (optional) and codes with repeat counts, such as `"<hhl"`.
   * @throws {SyntaxError} The format does not parse.
   * @throws {StructError} The struct would be 2^53 bytes or more.
   */
  constructor(format: string) {
    const compiled = compile(format);
    this.format = format;
    this.size = compiled.size;
    this.#fields = compiled.fields;
    this.#items = compiled.items;
    this.#littleEndian = compiled.littleEndian;
  }

  /**
   * Packs `values` into a new array of {@linkcode Struct.size} bytes.
   *
   * @example
   * ```ts
   * import { Struct } from "@socketserver/core/struct";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Struct("<hc").pack(-2, new Uint8Array([65])), new Uint8Array([0xfe, 0xff, 65]));
   * ```
   *
   * @param values One value per item of the format (pad bytes take none).
   * @returns The packed bytes.
   * @throws {TypeError} Wrong number of values, or a value of the wrong type.
   * @throws {StructError} A value is out of its code's range.
   */
  pack(...values: StructValue[]): Uint8Array {
    const bytes = new Uint8Array(this.size);
    this.#write(bytes, 0, values, "pack");
    return bytes;
  }

  /**
   * Packs `values` into `buffer` at `offset`, Python's `pack_into`. The
   * struct's bytes are zeroed first (so pad bytes are 0); if a value is
   * refused, the bytes before it have already been written, as in Python.
   *
   * @example
   * ```ts
   * import { Struct } from "@socketserver/core/struct";
   * import { assertEquals } from "@std/assert";
   *
   * const buffer = new Uint8Array(6).fill(0xaa);
   * new Struct(">H").packInto(buffer, 2, 0x0102);
   * assertEquals(buffer, new Uint8Array([0xaa, 0xaa, 1, 2, 0xaa, 0xaa]));
   * ```
   *
   * @param buffer Where to write.
   * @param offset Where the struct starts; a negative offset counts from the end.
   * @param values One value per item of the format.
   * @throws {TypeError} Wrong number of values, a value of the wrong type, or an offset that is not an integer.
   * @throws {StructError} A value is out of range, or the struct does not fit at `offset`.
   */
  packInto(buffer: Uint8Array, offset: number, ...values: StructValue[]): void {
    const start = this.#start("pack", buffer.length, offset);
    buffer.fill(0, start, start + this.size);
    this.#write(buffer, start, values, "packInto");
  }

  /**
   * Unpacks one struct. Without `offset` this is Python's `unpack`: `bytes`
   * must be exactly {@linkcode Struct.size} long. With `offset` it is
   * `unpack_from`: the struct is read at `offset` and bytes after it are
   * ignored.
   *
   * @example Exact and at an offset
   * ```ts
   * import { Struct } from "@socketserver/core/struct";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const pair = new Struct("<BB");
   * assertEquals(pair.unpack(new Uint8Array([1, 2])), [1, 2]);
   * assertEquals(pair.unpack(new Uint8Array([9, 1, 2, 9]), 1), [1, 2]);
   * assertThrows(() => pair.unpack(new Uint8Array([1, 2, 3])), RangeError);
   * ```
   *
   * @param bytes The packed bytes.
   * @param offset Where the struct starts; a negative offset counts from the end.
   * @returns One value per item; `s`, `p` and `c` values are copies.
   * @throws {StructError} `bytes` is not the struct's size, or too short for it at `offset`.
   * @throws {TypeError} `offset` is not an integer.
   */
  unpack(bytes: Uint8Array, offset?: number): StructValue[] {
    if (offset === undefined && bytes.length !== this.size) {
      throw new StructError(
        this.format,
        `unpack requires a buffer of ${this.size} bytes (got ${bytes.length})`,
        "unpack",
      );
    }
    const start = offset === undefined ? 0 : this.#start("unpack", bytes.length, offset);
    return this.#read(this.#access(bytes), start);
  }

  /**
   * Unpacks consecutive structs from `bytes`, Python's `iter_unpack`. The
   * length is checked now; each struct is read when the iterator reaches it.
   *
   * @example Three records
   * ```ts
   * import { Struct } from "@socketserver/core/struct";
   * import { assertEquals } from "@std/assert";
   *
   * const point = new Struct("<bb");
   * const bytes = new Uint8Array([1, 2, 3, 4, 5, 0xff]);
   * assertEquals([...point.iterUnpack(bytes)], [[1, 2], [3, 4], [5, -1]]);
   * ```
   *
   * @param bytes A whole number of packed structs.
   * @returns An iterator of one value list per struct.
   * @throws {StructError} The struct's size is 0, or `bytes` is not a multiple of it.
   */
  iterUnpack(bytes: Uint8Array): IterableIterator<StructValue[]> {
    if (this.size === 0) {
      throw new StructError(
        this.format,
        "cannot iteratively unpack with a struct of length 0",
        "unpack",
      );
    }
    if (bytes.length % this.size !== 0) {
      throw new StructError(
        this.format,
        `iterative unpacking requires a buffer of a multiple of ${this.size} bytes (got ${bytes.length})`,
        "unpack",
      );
    }
    return this.#iterate(bytes);
  }

  *#iterate(bytes: Uint8Array): IterableIterator<StructValue[]> {
    const access = this.#access(bytes);
    for (let start = 0; start < bytes.length; start += this.size) {
      yield this.#read(access, start);
    }
  }

  #access(bytes: Uint8Array): Access {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { bytes, view, littleEndian: this.#littleEndian, format: this.format };
  }

  #write(bytes: Uint8Array, start: number, values: unknown[], caller: string): void {
    if (values.length !== this.#items) {
      throw new TypeError(
        failure(
          "pack",
          this.format,
          `${caller} expected ${this.#items} items for packing (got ${values.length})`,
        ),
      );
    }
    const access = this.#access(bytes);
    let item = 0;
    for (const { offset, size, count, io } of this.#fields) {
      for (let i = 0, at = start + offset; i < count; i++, at += size, item++) {
        io.write(access, at, values[item], item);
      }
    }
  }

  #read(access: Access, start: number): StructValue[] {
    const values: StructValue[] = [];
    for (const { offset, size, count, io } of this.#fields) {
      for (let i = 0, at = start + offset; i < count; i++, at += size) {
        values.push(io.read(access, at));
      }
    }
    return values;
  }

  /** Checks an offset as CPython's `unpack_from` and `pack_into` do; returns it from the start. */
  #start(operation: "pack" | "unpack", length: number, offset: number): number {
    if (!Number.isInteger(offset)) {
      throw new TypeError(
        failure(operation, this.format, `offset must be an integer (got ${describe(offset)})`),
      );
    }
    const error = (detail: string) => new StructError(this.format, detail, operation);
    const size = this.size;
    if (offset < 0) {
      if (offset + size > 0) {
        throw error(
          operation === "pack"
            ? `no space to pack ${size} bytes at offset ${offset}`
            : `not enough data to unpack ${size} bytes at offset ${offset}`,
        );
      }
      if (offset + length < 0) {
        throw error(`offset ${offset} out of range for ${length}-byte buffer`);
      }
      offset += length;
    }
    if (length - offset < size) {
      const [name, verb] = operation === "pack" ? ["packInto", "packing"] : ["unpack", "unpacking"];
      throw error(
        `${name} requires a buffer of at least ${
          size + offset
        } bytes for ${verb} ${size} bytes at offset ${offset} (actual buffer size is ${length})`,
      );
    }
    return offset;
  }
}

// Fast path: the module functions look formats up here, so a loop that packs
// with the same format parses it once (Python's struct module caches compiled
// Structs the same way). Cleared when full, as Python does, to stay bounded
// without LRU bookkeeping; formats that fail to parse are not cached.
const MAX_CACHED_FORMATS = 100;
const cache = new Map<string, Struct>();

function structOf(format: string): Struct {
  let struct = cache.get(format);
  if (struct === undefined) {
    struct = new Struct(format);
    if (cache.size >= MAX_CACHED_FORMATS) cache.clear();
    cache.set(format, struct);
  }
  return struct;
}

/**
 * Packs `values` as `format` describes, Python's `struct.pack`.
 *
 * @example A Python peer's header
 * ```ts
 * import { pack } from "@socketserver/core/struct";
 * import { assertEquals } from "@std/assert";
 *
 * // Python: struct.pack("!I4s", 7, b"ping")
 * const ping = new TextEncoder().encode("ping");
 * assertEquals(pack("!I4s", 7, ping), new Uint8Array([0, 0, 0, 7, 112, 105, 110, 103]));
 * // Native mode aligns: 1 byte, 3 pad bytes, then a little-endian int.
 * assertEquals(pack("bi", 1, 2), new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]));
 * ```
 *
 * @param format A byte order (optional) and codes with repeat counts, such as `"<hhl"`.
 * @param values One value per item of the format (pad bytes take none).
 * @returns A new array of {@linkcode calcsize}`(format)` bytes.
 * @throws {SyntaxError} The format does not parse.
 * @throws {TypeError} Wrong number of values, or a value of the wrong type.
 * @throws {StructError} A value is out of its code's range.
 */
export function pack(format: string, ...values: StructValue[]): Uint8Array {
  return structOf(format).pack(...values);
}

/**
 * Packs `values` into `buffer` at `offset`, Python's `struct.pack_into`.
 * The struct's bytes are zeroed first; if a value is refused, the bytes
 * before it have already been written, as in Python.
 *
 * @example Fill a header in place
 * ```ts
 * import { packInto } from "@socketserver/core/struct";
 * import { assertEquals } from "@std/assert";
 *
 * const frame = new Uint8Array(8);
 * packInto(">I", frame, 0, 4);
 * frame.set([1, 2, 3, 4], 4);
 * assertEquals(frame, new Uint8Array([0, 0, 0, 4, 1, 2, 3, 4]));
 * ```
 *
 * @param format A byte order (optional) and codes with repeat counts.
 * @param buffer Where to write.
 * @param offset Where the struct starts; a negative offset counts from the end.
 * @param values One value per item of the format.
 * @throws {SyntaxError} The format does not parse.
 * @throws {TypeError} Wrong number of values, a value of the wrong type, or an offset that is not an integer.
 * @throws {StructError} A value is out of range, or the struct does not fit at `offset`.
 */
export function packInto(
  format: string,
  buffer: Uint8Array,
  offset: number,
  ...values: StructValue[]
): void {
  structOf(format).packInto(buffer, offset, ...values);
}

/**
 * Unpacks one struct, as `format` describes. Without `offset` this is
 * Python's `struct.unpack`: `bytes` must be exactly {@linkcode calcsize}`(format)`
 * long. With `offset` it is `struct.unpack_from`: the struct is read at
 * `offset` and bytes after it are ignored.
 *
 * @example Integers come back as numbers, 8-byte ones as bigints
 * ```ts
 * import { unpack } from "@socketserver/core/struct";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new Uint8Array([0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0]);
 * assertEquals(unpack("<hq", bytes), [-1, 1n]);
 * assertEquals(unpack("<H", bytes, 0), [65535]); // unpack_from: the rest is ignored
 * ```
 *
 * @param format A byte order (optional) and codes with repeat counts.
 * @param bytes The packed bytes.
 * @param offset Where the struct starts; a negative offset counts from the end.
 * @returns One value per item of the format.
 * @throws {SyntaxError} The format does not parse.
 * @throws {StructError} `bytes` is not the struct's size, or too short for it at `offset`.
 * @throws {TypeError} `offset` is not an integer.
 */
export function unpack(format: string, bytes: Uint8Array, offset?: number): StructValue[] {
  return structOf(format).unpack(bytes, offset);
}

/**
 * The size in bytes of the struct `format` describes, Python's
 * `struct.calcsize`: with `@` (the default) it includes the padding that
 * aligns each field, but none at the end.
 *
 * @example Standard and native sizes
 * ```ts
 * import { calcsize } from "@socketserver/core/struct";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(calcsize("<bi"), 5);
 * assertEquals(calcsize("bi"), 8); // native: the int is aligned to 4
 * assertEquals(calcsize("<l"), 4);
 * assertEquals(calcsize("l"), 8); // a C long on 64-bit Linux and macOS
 * ```
 *
 * @param format A byte order (optional) and codes with repeat counts.
 * @returns How many bytes {@linkcode pack} produces for it.
 * @throws {SyntaxError} The format does not parse.
 * @throws {StructError} The struct would be 2^53 bytes or more.
 */
export function calcsize(format: string): number {
  return structOf(format).size;
}

/**
 * Unpacks consecutive structs from `bytes`, Python's `struct.iter_unpack`.
 * The length is checked now; each struct is read when the iterator reaches it.
 *
 * @example Records in one buffer
 * ```ts
 * import { iterUnpack } from "@socketserver/core/struct";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const bytes = new Uint8Array([0, 1, 0, 2, 0, 3]);
 * assertEquals([...iterUnpack(">H", bytes)], [[1], [2], [3]]);
 * assertThrows(() => iterUnpack(">H", bytes.subarray(1)), RangeError);
 * ```
 *
 * @param format A byte order (optional) and codes with repeat counts.
 * @param bytes A whole number of packed structs.
 * @returns An iterator of one value list per struct.
 * @throws {SyntaxError} The format does not parse.
 * @throws {StructError} The struct's size is 0, or `bytes` is not a multiple of it.
 */
export function iterUnpack(format: string, bytes: Uint8Array): IterableIterator<StructValue[]> {
  return structOf(format).iterUnpack(bytes);
}
