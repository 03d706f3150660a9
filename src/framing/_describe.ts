// Internal: how decoders name a byte or a value in an error message. Not
// part of the public API.

/**
 * A byte for an error message: the character when printable, and its code.
 *
 * @param byte The byte.
 * @returns `"\",\" (0x2c)"` or `"0x0a"`.
 */
export function describeByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, "0")}`;
  return byte >= 0x20 && byte < 0x7f
    ? `${JSON.stringify(String.fromCharCode(byte))} (${hex})`
    : hex;
}

/**
 * A JSON value's kind for an error message.
 *
 * @param value The value.
 * @returns `"null"`, `"an array"` or its `typeof`.
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
