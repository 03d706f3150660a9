// Internal: RespCodec's decoder. Not part of the public API.
//
// A frame stays in the window until all of it has arrived, so the
// transport's buffer, its reserve() hint and its budget for incomplete
// frames see every byte of it; and values are views made once the frame is
// whole, so a transport that compacts its buffer in place cannot move bytes
// under them. Parsing resumes where it stopped, so a frame that arrives in
// pieces is read once (O(n)), not again from its start on every read:
//
// - `#cursor`: bytes from the window's front already parsed, each element
//   recorded on `#tape` as three numbers (its kind and two of offset,
//   length or value), never as objects;
// - `#open`: how many elements each open array still owes, outermost first;
// - `#scanned`: bytes of the line at the cursor already searched for its end.
//
// When the last element arrives, `#build` turns the tape into values in one
// pass and the whole frame is consumed. An element cut short (a bulk string
// whose bytes are late, a line without its end) is parsed again from its
// first byte, which is bounded: its header line by the limits.

import type { ByteWindow } from "./byte_window.ts";
import type { FrameDecoder } from "./codec.ts";
import {
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
} from "./errors.ts";
import { describeByte } from "./_describe.ts";
import { indexOfByte } from "./_index_of_byte.ts";
import { splitInline } from "./_resp_inline.ts";
import {
  COLON,
  CR,
  DOLLAR,
  INT64_MAX,
  INT64_MIN,
  LF,
  MINUS,
  PLUS,
  STAR,
  ZERO,
} from "./_resp_bytes.ts";
import { RespError, type RespValue } from "./resp_value.ts";

/** The limits of a RESP decoder (see `RespCodecOptions`). */
export interface RespLimits {
  maxFrameLength: number;
  maxArrayLength: number;
  maxDepth: number;
  maxLineLength: number;
}

const NINE = 0x39;

// Tape kinds.
const BULK = 0; // offset, length
const ARRAY = 1; // count
const INTEGER = 2; // value
const BIG_INTEGER = 3; // offset, length of its digits
const SIMPLE = 4; // offset, length
const ERROR = 5; // offset, length
const NULL = 6;

// What the line readers return while the line is not all buffered.
const NEED_MORE = -2;
// A length of -1: the null bulk string or array.
const NULL_LENGTH = -1;
// Digits in the longest 64-bit integer.
const INT64_DIGITS = 19;
// A tape longer than this (a frame of many elements) is let go once used.
const RETAINED_TAPE = 3 * 1024;

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

/**
 * Whether `byte` starts a RESP value; any other first byte of a frame starts
 * an inline command, as Redis reads it.
 */
function isTypeByte(byte: number): boolean {
  return byte === STAR || byte === DOLLAR || byte === PLUS || byte === MINUS ||
    byte === COLON;
}

/** One per connection. */
export class RespDecoder implements FrameDecoder<RespValue> {
  readonly #maxFrameLength: number;
  readonly #maxArrayLength: number;
  readonly #maxDepth: number;
  readonly #maxLineLength: number;
  #cursor = 0;
  #tape: number[] = [];
  #tapeLength = 0;
  #open: number[] = [];
  #scanned = 0;
  // Set by the line readers: one past the line's `\n`.
  #lineEnd = 0;
  // #build's read position on the tape.
  #read = 0;

  constructor(limits: RespLimits) {
    this.#maxFrameLength = limits.maxFrameLength;
    this.#maxArrayLength = limits.maxArrayLength;
    this.#maxDepth = limits.maxDepth;
    this.#maxLineLength = limits.maxLineLength;
  }

  decode(input: ByteWindow): RespValue | undefined {
    // Loops only past empty inline lines, which Redis skips.
    for (;;) {
      if (input.start === input.end) return undefined;
      if (this.#cursor === 0) {
        const first = input.bytes[input.start];
        if (first === STAR) {
          const command = this.#command(input);
          if (command !== undefined) return command;
        } else if (!isTypeByte(first)) {
          const command = this.#inline(input);
          if (command === undefined || command.length > 0) return command;
          continue;
        }
      }
      return this.#parse(input) ? this.#build(input) : undefined;
    }
  }

  decodeEof(input: ByteWindow): RespValue | undefined {
    // A caller that skipped the last `decode` still gets a whole frame.
    const frame = this.decode(input);
    if (frame !== undefined) return frame;
    const left = input.end - input.start;
    if (left > 0) throw new IncompleteFrameError(left);
    return undefined;
  }

  // Parses on from the cursor; true once the frame is whole.
  #parse(input: ByteWindow): boolean {
    const bytes = input.bytes;
    const start = input.start;
    const end = input.end;
    const open = this.#open;
    let at = start + this.#cursor;
    while (at < end) {
      const type = bytes[at];
      if (type === DOLLAR) {
        const length = this.#readBulk(input, at);
        if (length === NEED_MORE) break;
        if (length === NULL_LENGTH) this.#record(NULL, 0, 0);
        else this.#record(BULK, this.#lineEnd - 2 - length - start, length);
      } else if (type === STAR) {
        const count = this.#readLength(bytes, at, end, this.#maxArrayLength, start);
        if (count === NEED_MORE) break;
        if (count === NULL_LENGTH) {
          this.#record(NULL, 0, 0);
        } else {
          if (open.length >= this.#maxDepth) {
            throw new FrameTooLongError(
              open.length + 1,
              this.#maxDepth,
              "decode",
              "maxDepth",
              "nesting depth",
            );
          }
          this.#record(ARRAY, count, 0);
          if (count > 0) {
            open.push(count);
            at = this.#advance(start);
            continue;
          }
        }
      } else if (type === COLON) {
        if (!this.#readInteger(bytes, at, end, start)) break;
      } else if (type === PLUS || type === MINUS) {
        const lineFeed = this.#findLine(bytes, at + 1, end);
        if (lineFeed < 0) break;
        if (bytes[lineFeed - 1] !== CR) {
          throw this.#missingLineEnd(bytes, lineFeed, start, "a RESP line");
        }
        this.#record(type === PLUS ? SIMPLE : ERROR, at + 1 - start, lineFeed - 2 - at);
        this.#lineEnd = lineFeed + 1;
      } else {
        throw new FrameSyntaxError(
          `expected a RESP type byte ("*", "$", "+", "-" or ":"), found ${describeByte(type)}`,
          at - start,
        );
      }
      at = this.#advance(start);
      // An element is whole: count it off the arrays it closes.
      while (open.length > 0 && --open[open.length - 1] === 0) open.pop();
      if (open.length === 0) return true;
    }
    return false;
  }

  // Reads the bulk string at `at`: its length (NULL_LENGTH for the null
  // one), with #lineEnd set past it; or NEED_MORE.
  #readBulk(input: ByteWindow, at: number): number {
    const bytes = input.bytes;
    const start = input.start;
    const end = input.end;
    const length = this.#readLength(bytes, at, end, this.#maxFrameLength, start);
    if (length < 0) return length;
    const dataEnd = this.#lineEnd + length;
    if (end - dataEnd < 2) {
      // The true size of the frame so far: a hint, the transport may grow
      // its buffer as the bytes arrive.
      input.reserve(dataEnd + 2 - start);
      return NEED_MORE;
    }
    if (bytes[dataEnd] !== CR || bytes[dataEnd + 1] !== LF) {
      const at = bytes[dataEnd] === CR ? dataEnd + 1 : dataEnd;
      throw this.#missingLineEnd(bytes, at, start, `the ${length}-byte bulk string`);
    }
    this.#lineEnd = dataEnd + 2;
    return length;
  }

  // Fast path: a command (an array of bulk strings) all buffered, as
  // pipelined commands are, read straight into its values with no tape.
  // Undefined for anything else, which the general parse then reads from
  // the start: at most once per frame, since it moves the cursor on.
  #command(input: ByteWindow): Uint8Array[] | undefined {
    const bytes = input.bytes;
    const count = this.#readLength(
      bytes,
      input.start,
      input.end,
      this.#maxArrayLength,
      input.start,
    );
    if (count < 0) return undefined;
    const command: Uint8Array[] = [];
    let at = this.#lineEnd;
    for (let index = 0; index < count; index++) {
      if (at === input.end || bytes[at] !== DOLLAR) return undefined;
      const length = this.#readBulk(input, at);
      if (length < 0) return undefined;
      at = this.#lineEnd;
      command.push(bytes.subarray(at - 2 - length, at - 2));
    }
    input.start = at;
    return command;
  }

  // Moves the cursor past the line or element just read.
  #advance(start: number): number {
    this.#cursor = this.#lineEnd - start;
    this.#scanned = 0;
    return this.#lineEnd;
  }

  #record(kind: number, a: number, b: number): void {
    const tape = this.#tape;
    const at = this.#tapeLength;
    tape[at] = kind;
    tape[at + 1] = a;
    tape[at + 2] = b;
    this.#tapeLength = at + 3;
  }

  // Reads the length line `<type><digits>\r\n` or `<type>-1\r\n` at `at`:
  // the length (NULL_LENGTH for -1), with #lineEnd set; or NEED_MORE. Digits
  // are checked as they come, so a flood of them fails before its line ends.
  #readLength(bytes: Uint8Array, at: number, end: number, max: number, start: number): number {
    const negative = at + 1 < end && bytes[at + 1] === MINUS;
    const first = at + (negative ? 2 : 1);
    let value = 0;
    let index = first;
    for (; index < end; index++) {
      const byte = bytes[index];
      if (byte < ZERO || byte > NINE) break;
      if (index > first && value === 0) {
        throw new FrameSyntaxError("a RESP length has a leading zero", first - start);
      }
      value = value * 10 + (byte - ZERO);
      // Only -1 may be negative: the null bulk string or array.
      if (negative) {
        if (value > 1) throw invalidLength(-value);
      } else if (value > max) {
        throw this.#tooLong(bytes[at], value, max);
      }
    }
    if (index === end) return NEED_MORE;
    if (index === first) throw this.#notANumber(bytes, index, start, "length");
    if (negative && value !== 1) throw invalidLength(-value);
    if (!this.#endOfLine(bytes, index, end, start)) return NEED_MORE;
    return negative ? NULL_LENGTH : value;
  }

  // Reads `:<integer>\r\n` at `at` onto the tape; false while not all there.
  #readInteger(bytes: Uint8Array, at: number, end: number, start: number): boolean {
    const negative = at + 1 < end && bytes[at + 1] === MINUS;
    const first = at + 1 + (negative ? 1 : 0);
    let index = first;
    let value = 0;
    for (; index < end; index++) {
      const byte = bytes[index];
      if (byte < ZERO || byte > NINE) break;
      if (index === first + 1 && bytes[first] === ZERO) {
        throw new FrameSyntaxError("a RESP integer has a leading zero", first - start);
      }
      if (index - first === INT64_DIGITS) {
        throw new FrameSyntaxError("a RESP integer has more than 19 digits", index - start);
      }
      value = value * 10 + (byte - ZERO);
    }
    if (index === end) return false;
    if (index === first || (negative && value === 0)) {
      throw this.#notANumber(bytes, index, start, "integer");
    }
    if (!this.#endOfLine(bytes, index, end, start)) return false;
    if (Number.isSafeInteger(value)) {
      this.#record(INTEGER, negative ? -value : value, 0);
    } else {
      // Past 2 ** 53 the digits are read again exactly, as a bigint.
      const big = BigInt(latin1.decode(bytes.subarray(at + 1, index)));
      if (big < INT64_MIN || big > INT64_MAX) {
        throw new FrameSyntaxError(`RESP integer ${big} is not a 64-bit integer`, at + 1 - start);
      }
      this.#record(BIG_INTEGER, at + 1 - start, index - at - 1);
    }
    return true;
  }

  // After a number, the line must end: true past `\r\n` (#lineEnd set),
  // false while it is not all buffered.
  #endOfLine(bytes: Uint8Array, at: number, end: number, start: number): boolean {
    if (bytes[at] !== CR) throw this.#notANumber(bytes, at, start, "number");
    if (end - at < 2) return false;
    if (bytes[at + 1] !== LF) throw this.#missingLineEnd(bytes, at + 1, start, "a number");
    this.#lineEnd = at + 2;
    return true;
  }

  // Finds the `\n` that ends the line whose content starts at `from`,
  // resuming the search where the last call stopped; -1 while it is not
  // buffered. Throws once the content is longer than maxLineLength.
  #findLine(bytes: Uint8Array, from: number, end: number): number {
    const maxLine = this.#maxLineLength;
    // The content, then `\r`: at most maxLine + 1 bytes before the `\n`.
    const limit = Math.min(end, from + maxLine + 2);
    const lineFeed = indexOfByte(bytes, LF, from + this.#scanned, limit);
    if (lineFeed >= 0) {
      const length = lineFeed - from - (lineFeed > from && bytes[lineFeed - 1] === CR ? 1 : 0);
      if (length > maxLine) throw this.#lineTooLong(length);
      return lineFeed;
    }
    if (limit - from === maxLine + 2) throw this.#lineTooLong(maxLine + 1);
    this.#scanned = limit - from;
    return -1;
  }

  // The inline command at the window's front (an empty one for a blank
  // line, which the caller skips), consumed; or undefined while its line is
  // not all buffered.
  #inline(input: ByteWindow): Uint8Array[] | undefined {
    const bytes = input.bytes;
    const start = input.start;
    const lineFeed = this.#findLine(bytes, start, input.end);
    if (lineFeed < 0) return undefined;
    const lineEnd = lineFeed > start && bytes[lineFeed - 1] === CR ? lineFeed - 1 : lineFeed;
    const command = splitInline(bytes, start, lineEnd);
    // Its arguments are bulk strings, the command an array: the same limits.
    if (command.length > this.#maxArrayLength) {
      throw this.#tooLong(STAR, command.length, this.#maxArrayLength);
    }
    for (const argument of command) {
      if (argument.length > this.#maxFrameLength) {
        throw this.#tooLong(DOLLAR, argument.length, this.#maxFrameLength);
      }
    }
    input.start = lineFeed + 1;
    this.#scanned = 0;
    return command;
  }

  // The frame is whole: its values, from the tape, and the window past it.
  #build(input: ByteWindow): RespValue {
    this.#read = 0;
    const value = this.#value(input.bytes, input.start);
    input.start += this.#cursor;
    this.#cursor = 0;
    this.#tapeLength = 0;
    if (this.#tape.length > RETAINED_TAPE) this.#tape = [];
    return value;
  }

  #value(bytes: Uint8Array, base: number): RespValue {
    const tape = this.#tape;
    const at = this.#read;
    this.#read = at + 3;
    const a = tape[at + 1];
    switch (tape[at]) {
      case BULK:
        return bytes.subarray(base + a, base + a + tape[at + 2]);
      case ARRAY: {
        const array: RespValue[] = [];
        for (let index = 0; index < a; index++) array.push(this.#value(bytes, base));
        return array;
      }
      case INTEGER:
        return a;
      case BIG_INTEGER:
        return BigInt(latin1.decode(bytes.subarray(base + a, base + a + tape[at + 2])));
      case SIMPLE:
        return text(bytes, base + a, base + a + tape[at + 2]);
      case ERROR:
        return new RespError(text(bytes, base + a, base + a + tape[at + 2]));
      default:
        return null;
    }
  }

  #tooLong(type: number, value: number, max: number): FrameTooLongError {
    return type === DOLLAR
      ? new FrameTooLongError(value, max)
      : new FrameTooLongError(value, max, "decode", "maxArrayLength", "array length");
  }

  #lineTooLong(length: number): FrameTooLongError {
    return new FrameTooLongError(
      length,
      this.#maxLineLength,
      "decode",
      "maxLineLength",
      "line length",
    );
  }

  #notANumber(bytes: Uint8Array, at: number, start: number, what: string): FrameSyntaxError {
    return new FrameSyntaxError(
      `expected a digit in a RESP ${what}, found ${describeByte(bytes[at])}`,
      at - start,
    );
  }

  // The line end after `what` is wrong from `at` on.
  #missingLineEnd(bytes: Uint8Array, at: number, start: number, what: string): FrameSyntaxError {
    return new FrameSyntaxError(
      `expected "\\r\\n" after ${what}, found ${describeByte(bytes[at])}`,
      at - start,
    );
  }
}

function invalidLength(length: number): InvalidLengthError {
  return new InvalidLengthError(length, "a RESP length is -1 (null) or at least 0");
}

// A simple string or error's text. Fast path: short ASCII, the common
// reply (`OK`, `PONG`, `ERR ...`), without a decoder call.
function text(bytes: Uint8Array, from: number, to: number): string {
  if (to - from <= 16) {
    let result = "";
    for (let index = from; index < to; index++) {
      const byte = bytes[index];
      if (byte >= 0x80) return utf8.decode(bytes.subarray(from, to));
      result += String.fromCharCode(byte);
    }
    return result;
  }
  return utf8.decode(bytes.subarray(from, to));
}
