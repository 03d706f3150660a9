/**
 * Typed framing errors. Each subclasses the closest built-in and carries the
 * numbers it reports, so a handler can tell a hostile length from a parse
 * failure without reading the message.
 *
 * @module
 */

/**
 * A frame, declared or scanned, is longer than `maxFrameLength`, or too long
 * for the length field that must carry it; or another limit of a frame's
 * size is passed (a RESP array's element count, its nesting depth), which
 * `quantity` names.
 *
 * @example Catch a frame that is too long
 * ```ts
 * import { FrameTooLongError } from "@socketserver/core/framing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new FrameTooLongError(9_000_000, 8_388_608);
 * assert(error instanceof RangeError);
 * assertEquals(error.message, "Cannot decode frame: length 9000000 exceeds maxFrameLength 8388608");
 * ```
 */
export class FrameTooLongError extends RangeError {
  /** The length that was refused. */
  readonly length: number;
  /** The limit it exceeded. */
  readonly maxFrameLength: number;

  /**
   * Creates the error for a refused length.
   *
   * @param length The length that was refused.
   * @param maxFrameLength The limit it exceeded.
   * @param action `"decode"` or `"encode"`, for the message.
   * @param limitName What the limit is called, for the message.
   * @param quantity What `length` measures, for the message: `"array
   * length"`, `"nesting depth"`.
   */
  constructor(
    length: number,
    maxFrameLength: number,
    action: "decode" | "encode" = "decode",
    limitName = "maxFrameLength",
    quantity = "length",
  ) {
    super(`Cannot ${action} frame: ${quantity} ${length} exceeds ${limitName} ${maxFrameLength}`);
    this.name = "FrameTooLongError";
    this.length = length;
    this.maxFrameLength = maxFrameLength;
  }
}

/**
 * A length field holds a value no frame can have: negative in a signed field,
 * or smaller than the header it must include.
 *
 * @example A negative signed length
 * ```ts
 * import { InvalidLengthError } from "@socketserver/core/framing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new InvalidLengthError(-5, "length field is negative");
 * assert(error instanceof RangeError);
 * assertEquals(error.length, -5);
 * ```
 */
export class InvalidLengthError extends RangeError {
  /** The length that was read. */
  readonly length: number;

  /**
   * Creates the error for an impossible length value.
   *
   * @param length The length that was read.
   * @param reason Why it is invalid, for the message.
   */
  constructor(length: number, reason: string) {
    super(`Cannot decode frame: length ${length} is invalid: ${reason}`);
    this.name = "InvalidLengthError";
    this.length = length;
  }
}

/**
 * The stream ended inside a frame.
 *
 * @example Bytes left at end of stream
 * ```ts
 * import { IncompleteFrameError } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new IncompleteFrameError(3, 10);
 * assertEquals(error.message, "Cannot decode frame: stream ended with 3 of 10 bytes");
 * ```
 */
export class IncompleteFrameError extends Error {
  /** How many bytes of the frame arrived. */
  readonly received: number;
  /** How many the frame needed, when known. */
  readonly expected: number | undefined;

  /**
   * Creates the error for a stream that ended inside a frame.
   *
   * @param received How many bytes of the frame arrived.
   * @param expected How many the frame needed, when known.
   */
  constructor(received: number, expected?: number) {
    super(
      expected === undefined
        ? `Cannot decode frame: stream ended with ${received} bytes of an unfinished frame`
        : `Cannot decode frame: stream ended with ${received} of ${expected} bytes`,
    );
    this.name = "IncompleteFrameError";
    this.received = received;
    this.expected = expected;
  }
}

/**
 * The bytes do not follow the format: a JSON header that does not parse, a
 * netstring without its comma, a varint longer than ten bytes.
 *
 * @example A header that is not JSON
 * ```ts
 * import { FrameSyntaxError } from "@socketserver/core/framing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const error = new FrameSyntaxError("JSON header of 7 bytes does not parse", 12);
 * assert(error instanceof SyntaxError);
 * assertEquals(error.offset, 12);
 * ```
 */
export class FrameSyntaxError extends SyntaxError {
  /** Where in the stream the problem starts, counted from the frame start. */
  readonly offset: number;

  /**
   * Creates the error for bytes that break the format.
   *
   * @param detail What is wrong, for the message.
   * @param offset Where the problem starts, from the frame start.
   */
  constructor(detail: string, offset = 0) {
    super(`Cannot decode frame: ${detail}`);
    this.name = "FrameSyntaxError";
    this.offset = offset;
  }
}
