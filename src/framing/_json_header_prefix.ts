// Internal: the head of a JSON-header frame (length prefix, then the JSON
// header), read and written the same way by JsonHeaderCodec and
// JsonHeaderStreamCodec. Not part of the public API.

import type { ByteWindow } from "./byte_window.ts";
import type { ByteSink } from "./codec.ts";
import {
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
} from "./errors.ts";
import {
  type LengthField,
  lengthFieldFromFormat,
  maxLengthOf,
  readLength,
  writeLength,
} from "./length_field.ts";
import { checkInteger } from "./_frame_limits.ts";
import type { JsonHeaderFormat } from "./json_header.ts";

/** The default `maxHeaderLength`: 64 KiB. */
export const DEFAULT_MAX_HEADER_LENGTH = 64 * 1024;

/** `JsonHeaderFormat` with the defaults filled in and checked. */
export interface ResolvedJsonHeaderFormat {
  /** The struct format of the prefix. */
  headerLengthFormat: string;
  /** The prefix it describes. */
  lengthField: LengthField;
  /** The header field that holds the body size. */
  bodySizeField: string;
  /** The largest header, in bytes of JSON. */
  maxHeaderLength: number;
}

/**
 * Checks the header options and fills in their defaults.
 *
 * @param codecName The class name, for the message.
 * @param options The caller's options.
 * @returns The format to use.
 * @throws {TypeError} An option has the wrong type, or `headerLengthFormat`
 * is not a single integer struct format.
 * @throws {RangeError} `maxHeaderLength` is less than 2 (`{}`).
 */
export function resolveJsonHeaderFormat(
  codecName: string,
  options: JsonHeaderFormat,
): ResolvedJsonHeaderFormat {
  const headerLengthFormat = options.headerLengthFormat ?? "i";
  if (typeof headerLengthFormat !== "string") {
    throw new TypeError(
      `Cannot create ${codecName}: headerLengthFormat must be a string, got ${typeof headerLengthFormat}`,
    );
  }
  const bodySizeField = options.bodySizeField ?? "file_size";
  if (typeof bodySizeField !== "string") {
    throw new TypeError(
      `Cannot create ${codecName}: bodySizeField must be a string, got ${typeof bodySizeField}`,
    );
  }
  return {
    headerLengthFormat,
    lengthField: lengthFieldFromFormat(headerLengthFormat),
    bodySizeField,
    maxHeaderLength: checkInteger(
      codecName,
      "maxHeaderLength",
      options.maxHeaderLength ?? DEFAULT_MAX_HEADER_LENGTH,
      2,
    ),
  };
}

// Strict, as Python's json.loads on bytes: the header is data, not text to
// repair. `ignoreBOM` leaves a BOM in place, where JSON.parse refuses it as
// Python does.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/**
 * Reads the head of one frame after another: the prefix, then the JSON
 * header once all of it is buffered. One per decoder.
 */
export class JsonHeaderReader {
  /** The header read by the last `read` that returned true. */
  header: Record<string, unknown> = {};
  /** Its body size: the `bodySizeField` value, 0 when absent. */
  bodySize = 0;
  /** Bytes of prefix and JSON of the head read last, or being read. */
  headLength = 0;

  #format: ResolvedJsonHeaderFormat;
  // The JSON length from a prefix already consumed, or -1 before the prefix.
  #jsonLength = -1;

  /**
   * Makes a reader with no head read yet.
   *
   * @param format The checked header options.
   */
  constructor(format: ResolvedJsonHeaderFormat) {
    this.#format = format;
  }

  /**
   * Consumes the prefix as soon as it is buffered, then the JSON header once
   * it is all there, and parses it.
   *
   * @param input The buffered bytes.
   * @returns true when a header was read into `header` and `bodySize`; false
   * when more bytes are needed.
   * @throws {InvalidLengthError} A negative prefix, or a body size that is a
   * negative or unsafe number.
   * @throws {FrameTooLongError} The prefix exceeds `maxHeaderLength`.
   * @throws {FrameSyntaxError} The header is not UTF-8 JSON of an object, or
   * its body size is not a number.
   */
  read(input: ByteWindow): boolean {
    const { lengthField, maxHeaderLength } = this.#format;
    if (this.#jsonLength < 0) {
      if (input.end - input.start < lengthField.size) return false;
      const jsonLength = readLength(lengthField, input.bytes, input.start);
      // Checked before a byte of the header is waited for.
      if (jsonLength > maxHeaderLength) {
        throw new FrameTooLongError(jsonLength, maxHeaderLength, "decode", "maxHeaderLength");
      }
      input.start += lengthField.size;
      this.#jsonLength = jsonLength;
      this.headLength = lengthField.size + jsonLength;
    }
    const jsonLength = this.#jsonLength;
    if (input.end - input.start < jsonLength) return false;
    const json = input.bytes.subarray(input.start, input.start + jsonLength);
    input.start += jsonLength;
    this.#jsonLength = -1;
    this.header = this.#parse(json);
    this.bodySize = this.#bodySize(this.header);
    return true;
  }

  /**
   * At end of stream: fails when a head is partly buffered.
   *
   * @param input The bytes left.
   * @throws {IncompleteFrameError} A prefix or header is cut short.
   */
  checkEof(input: ByteWindow): void {
    const left = input.end - input.start;
    if (this.#jsonLength >= 0) {
      throw new IncompleteFrameError(this.#format.lengthField.size + left, this.headLength);
    }
    if (left > 0) throw new IncompleteFrameError(left);
  }

  #parse(json: Uint8Array): Record<string, unknown> {
    const offset = this.#format.lengthField.size;
    let value: unknown;
    try {
      value = JSON.parse(strictUtf8.decode(json));
    } catch (error) {
      const reason = error instanceof SyntaxError ? error.message : "it is not valid UTF-8";
      throw new FrameSyntaxError(
        `JSON header of ${json.length} bytes does not parse: ${reason}`,
        offset,
      );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new FrameSyntaxError(
        `JSON header of ${json.length} bytes is not an object, got ${describe(value)}`,
        offset,
      );
    }
    return value as Record<string, unknown>;
  }

  #bodySize(header: Record<string, unknown>): number {
    const field = this.#format.bodySizeField;
    if (!Object.hasOwn(header, field)) return 0;
    const size = header[field];
    if (typeof size !== "number") {
      throw new FrameSyntaxError(
        `JSON header field ${JSON.stringify(field)} must be a number, got ${describe(size)}`,
        this.#format.lengthField.size,
      );
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidLengthError(
        size,
        `JSON header field ${JSON.stringify(field)} must be a non-negative safe integer`,
      );
    }
    return size;
  }
}

/**
 * Writes the head of a frame: the prefix, then the header as JSON with the
 * body size set. One per codec: the sink copies the prefix it is given, so
 * the prefix bytes are reused.
 */
export class JsonHeaderWriter {
  #format: ResolvedJsonHeaderFormat;
  #prefix: Uint8Array;
  #fieldMax: number;

  /**
   * Makes a writer with its own prefix bytes.
   *
   * @param format The checked header options.
   */
  constructor(format: ResolvedJsonHeaderFormat) {
    this.#format = format;
    this.#prefix = new Uint8Array(format.lengthField.size);
    this.#fieldMax = maxLengthOf(format.lengthField);
  }

  /**
   * Writes the prefix and the JSON of a copy of `header` in which
   * `bodySizeField` is `bodySize`.
   *
   * @param header The header; it is not changed.
   * @param bodySize The body size to declare.
   * @param sink Where the bytes go.
   * @throws {TypeError} The header is not an object, or JSON.stringify fails
   * on it (a BigInt, a cycle).
   * @throws {FrameTooLongError} The JSON exceeds `maxHeaderLength` or what
   * the prefix can hold.
   */
  write(header: Record<string, unknown>, bodySize: number, sink: ByteSink): void {
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      throw new TypeError(
        `Cannot encode frame: the header must be an object, got ${describe(header)}`,
      );
    }
    const { bodySizeField, maxHeaderLength, lengthField, headerLengthFormat } = this.#format;
    // A spread keeps the field where the caller put it and leaves their object alone.
    const json = utf8.encode(JSON.stringify({ ...header, [bodySizeField]: bodySize }));
    if (json.length > maxHeaderLength) {
      throw new FrameTooLongError(json.length, maxHeaderLength, "encode", "maxHeaderLength");
    }
    if (json.length > this.#fieldMax) {
      throw new FrameTooLongError(
        json.length,
        this.#fieldMax,
        "encode",
        `the limit of headerLengthFormat ${JSON.stringify(headerLengthFormat)}`,
      );
    }
    writeLength(lengthField, this.#prefix, 0, json.length);
    sink.write(this.#prefix);
    sink.write(json);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
