// Internal: the bytes and bounds of RESP that RespCodec's encoder and
// decoder share. Not part of the public API.

/** The type bytes: array, bulk string, simple string, error, integer. */
export const STAR = 0x2a;
export const DOLLAR = 0x24;
export const PLUS = 0x2b;
export const MINUS = 0x2d;
export const COLON = 0x3a;

/** The line end, and the first digit. */
export const CR = 0x0d;
export const LF = 0x0a;
export const ZERO = 0x30;

/** RESP integers are 64-bit, as Redis's replies carry them. */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
