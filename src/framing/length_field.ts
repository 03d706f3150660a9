/**
 * Length fields: the integer in front of a frame that says how long it is,
 * described either directly or by a Python `struct` format such as `"i"`
 * (what `struct.pack('i', n)` sends: 4 bytes, little-endian on x86 and ARM,
 * signed) or `"!I"` (network order, unsigned).
 *
 * @module
 */

import { InvalidLengthError } from "./errors.ts";

/** How a length is stored. */
export interface LengthField {
  /** Width in bytes. */
  size: 1 | 2 | 4 | 8;
  /** Least significant byte first. */
  littleEndian: boolean;
  /** Two's complement; a negative value is refused when decoding. */
  signed: boolean;
}

// Python's native sizes on the 64-bit platforms Deno runs on (LP64): `l`, `L`,
// `n`, `N` are 8 bytes with "@" and 4 (`l`, `L`) with a standard byte order.
const NATIVE_SIZES: Record<string, 1 | 2 | 4 | 8> = {
  b: 1,
  B: 1,
  h: 2,
  H: 2,
  i: 4,
  I: 4,
  l: 8,
  L: 8,
  q: 8,
  Q: 8,
  n: 8,
  N: 8,
};
const STANDARD_SIZES: Record<string, 1 | 2 | 4 | 8> = {
  b: 1,
  B: 1,
  h: 2,
  H: 2,
  i: 4,
  I: 4,
  l: 4,
  L: 4,
  q: 8,
  Q: 8,
};
// Every platform Deno ships for is little-endian.
const NATIVE_LITTLE_ENDIAN = true;

/**
 * Reads a one-integer Python struct format as a length field.
 *
 * @example The classic `struct.pack('i', n)` header
 * ```ts
 * import { lengthFieldFromFormat } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(lengthFieldFromFormat("i"), { size: 4, littleEndian: true, signed: true });
 * assertEquals(lengthFieldFromFormat("!I"), { size: 4, littleEndian: false, signed: false });
 * ```
 *
 * @param format A byte order (`@ = < > !`, optional) and one integer code
 * (`b B h H i I l L q Q`, and `n N` in native mode).
 * @returns The field it describes.
 * @throws {TypeError} The format is not a single integer.
 */
export function lengthFieldFromFormat(format: string): LengthField {
  const match = /^([@=<>!]?)([a-zA-Z])$/.exec(format.trim());
  const order = match?.[1] ?? "";
  const code = match?.[2] ?? "";
  const native = order === "" || order === "@";
  const size = (native ? NATIVE_SIZES : STANDARD_SIZES)[code];
  if (size === undefined) {
    throw new TypeError(
      `Cannot use struct format "${format}" as a length field: expected one integer code such as "i", "<I", "!I", ">H" or "Q"`,
    );
  }
  const littleEndian = native || order === "=" ? NATIVE_LITTLE_ENDIAN : order === "<";
  return { size, littleEndian, signed: code === code.toLowerCase() };
}

/**
 * The largest length a field can carry, capped at `Number.MAX_SAFE_INTEGER`.
 *
 * @example
 * ```ts
 * import { maxLengthOf } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(maxLengthOf({ size: 2, littleEndian: false, signed: false }), 65535);
 * assertEquals(maxLengthOf({ size: 4, littleEndian: true, signed: true }), 2147483647);
 * ```
 *
 * @param field The field.
 * @returns The largest value it can store.
 */
export function maxLengthOf(field: LengthField): number {
  const bits = field.size * 8 - (field.signed ? 1 : 0);
  return bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
}

/**
 * Reads a length at `bytes[offset]`.
 *
 * @example
 * ```ts
 * import { readLength } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const field = { size: 4, littleEndian: false, signed: false } as const;
 * assertEquals(readLength(field, new Uint8Array([0, 0, 1, 0]), 0), 256);
 * ```
 *
 * @param field How the length is stored.
 * @param bytes The buffer; `field.size` bytes from `offset` must be present.
 * @param offset Where the field starts.
 * @returns The length, never negative.
 * @throws {InvalidLengthError} A signed field holds a negative value, or an
 * 8-byte field holds more than `Number.MAX_SAFE_INTEGER`.
 */
export function readLength(field: LengthField, bytes: Uint8Array, offset: number): number {
  // Fast path: 1, 2 and 4-byte fields by byte arithmetic, no DataView per
  // frame; the rare 8-byte field and the error apart, so that this stays
  // small enough for V8 to inline into a decoder.
  const b = bytes, o = offset, { littleEndian, signed } = field;
  let value: number;
  switch (field.size) {
    case 1:
      value = signed ? (b[o] << 24) >> 24 : b[o];
      break;
    case 2:
      value = littleEndian ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
      if (signed) value = (value << 16) >> 16;
      break;
    case 4:
      // `|` yields a signed 32-bit integer; `>>> 0` reads it as unsigned.
      value = littleEndian
        ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
        : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
      if (!signed) value >>>= 0;
      break;
    case 8:
      value = readLength64(field, b, o);
      break;
  }
  if (value < 0) throw negativeLength(value);
  return value;
}

function readLength64(field: LengthField, bytes: Uint8Array, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
  const big = field.signed
    ? view.getBigInt64(0, field.littleEndian)
    : view.getBigUint64(0, field.littleEndian);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidLengthError(
      Number(big),
      `exceeds Number.MAX_SAFE_INTEGER ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return Number(big);
}

function negativeLength(value: number): InvalidLengthError {
  return new InvalidLengthError(value, "length field is negative");
}

/**
 * Writes a length at `bytes[offset]`.
 *
 * @example
 * ```ts
 * import { writeLength } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new Uint8Array(2);
 * writeLength({ size: 2, littleEndian: true, signed: false }, bytes, 0, 258);
 * assertEquals(bytes, new Uint8Array([2, 1]));
 * ```
 *
 * @param field How the length is stored.
 * @param bytes The buffer; `field.size` bytes from `offset` must fit.
 * @param offset Where the field starts.
 * @param length The length, between 0 and {@linkcode maxLengthOf}.
 * @throws {RangeError} The length does not fit the field.
 */
export function writeLength(
  field: LengthField,
  bytes: Uint8Array,
  offset: number,
  length: number,
): void {
  const max = maxLengthOf(field);
  if (!Number.isInteger(length) || length < 0 || length > max) {
    throw new RangeError(
      `Cannot encode length ${length}: a ${field.size}-byte ${
        field.signed ? "signed" : "unsigned"
      } field holds 0 to ${max}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, field.size);
  const { littleEndian } = field;
  switch (field.size) {
    case 1:
      view.setUint8(0, length);
      break;
    case 2:
      view.setUint16(0, length, littleEndian);
      break;
    case 4:
      view.setUint32(0, length, littleEndian);
      break;
    case 8:
      view.setBigUint64(0, BigInt(length), littleEndian);
      break;
  }
}
