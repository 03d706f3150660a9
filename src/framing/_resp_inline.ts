// Internal: splits an inline command (`SET a "b c"`, what redis-cli and
// telnet send) into its arguments as Redis's `sdssplitargs` does. Not part
// of the public API.
//
// Between arguments any C whitespace is skipped. A word ends at a space, a
// tab, `\r`, `\n` or NUL (a NUL also ends the line, as in C). `"..."` takes
// the escapes `\n \r \t \b \a \\ \"` and `\xHH`; `'...'` takes `\'`; a
// closing quote must be followed by whitespace or the end of the line.

import { FrameSyntaxError } from "./errors.ts";

const NUL = 0x00;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;
const LOWER_X = 0x78;

// C's isspace (space, \t \n \v \f \r): between arguments.
function isSpace(byte: number): boolean {
  return byte === SPACE || (byte >= TAB && byte <= CR);
}

// What ends an unquoted word (VT and FF do not, as in sdssplitargs).
function endsWord(byte: number): boolean {
  return byte === SPACE || byte === TAB || byte === LF || byte === CR || byte === NUL;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

const ESCAPES: Record<number, number> = {
  0x6e: LF, // \n
  0x72: CR, // \r
  0x74: TAB, // \t
  0x62: 0x08, // \b
  0x61: 0x07, // \a
};

/**
 * The arguments of the inline command in `bytes[from, to)` (the line without
 * its `\r\n`). Plain words are views of `bytes`; a word with quotes is a
 * copy, its escapes resolved. An empty or blank line has none.
 *
 * @param bytes The buffer.
 * @param from The line's first byte, which is also the frame's.
 * @param to One past its last byte.
 * @returns The arguments.
 * @throws {FrameSyntaxError} A quote is not closed, or a closing quote is
 * followed by something else than whitespace.
 */
export function splitInline(bytes: Uint8Array, from: number, to: number): Uint8Array[] {
  const args: Uint8Array[] = [];
  let at = from;
  for (;;) {
    while (at < to && isSpace(bytes[at])) at++;
    if (at === to || bytes[at] === NUL) return args;
    // Fast path: a word without quotes is a view, no copy.
    const start = at;
    while (
      at < to && !endsWord(bytes[at]) && bytes[at] !== DOUBLE_QUOTE && bytes[at] !== SINGLE_QUOTE
    ) {
      at++;
    }
    if (at === to || endsWord(bytes[at])) {
      args.push(bytes.subarray(start, at));
    } else {
      at = readQuoted(bytes, start, at, to, from, args);
    }
  }
}

// Reads the word at `start` that has a quote at `at`, pushes it, and
// returns where the next word may start.
function readQuoted(
  bytes: Uint8Array,
  start: number,
  at: number,
  to: number,
  from: number,
  args: Uint8Array[],
): number {
  // Past the line reads as NUL, as the C string does.
  const byteAt = (index: number): number => index < to ? bytes[index] : NUL;
  const word: number[] = Array.from(bytes.subarray(start, at));
  let quote = NUL;
  for (;;) {
    const byte = byteAt(at);
    if (quote === NUL) {
      if (endsWord(byte)) break;
      if (byte === DOUBLE_QUOTE || byte === SINGLE_QUOTE) quote = byte;
      else word.push(byte);
    } else if (byte === NUL) {
      throw new FrameSyntaxError("unbalanced quotes in inline command", at - from);
    } else if (byte === quote) {
      const next = byteAt(at + 1);
      if (next !== NUL && !isSpace(next)) {
        throw new FrameSyntaxError(
          "a closing quote in an inline command must be followed by a space",
          at + 1 - from,
        );
      }
      quote = NUL;
      at++;
      break;
    } else if (byte === BACKSLASH && quote === DOUBLE_QUOTE && byteAt(at + 1) !== NUL) {
      const high = hexValue(byteAt(at + 2));
      const low = hexValue(byteAt(at + 3));
      if (byteAt(at + 1) === LOWER_X && high >= 0 && low >= 0) {
        word.push(high * 16 + low);
        at += 3;
      } else {
        at++;
        word.push(ESCAPES[bytes[at]] ?? bytes[at]);
      }
    } else if (byte === BACKSLASH && quote === SINGLE_QUOTE && byteAt(at + 1) === SINGLE_QUOTE) {
      word.push(SINGLE_QUOTE);
      at++;
    } else {
      word.push(byte);
    }
    at++;
  }
  args.push(Uint8Array.from(word));
  return at;
}
