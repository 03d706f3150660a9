// Internal: the head of a JSON-header frame (length prefix, then the JSON
// header), read for the one headed-decoder machine by the decoders of
// JsonHeaderCodec and JsonHeaderStreamCodec, and written by their encoders. Not part of the public API.

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
import { type FrameHead, NEED_MORE } from "./_headed_decoder.ts";
import { describeValue } from "./_describe.ts";
import type { JsonHeaderFormat } from "./json_header_format.ts";

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
 * The head of a JSON-header frame, for the headed-decoder machine (with
 * `consumesHead: true`): a length prefix and a JSON header, then the body as
 * the payload. The head is consumed as it is read: the prefix as soon as it
 * is buffered, the header once all of it is, parsed into `header`.
 * Subclasses make the frames (or events) of the body. One per decoder.
 */
export abstract class JsonHead<Frame> implements FrameHead<Frame> {
  headLength = 0;
  /** The header read last. */
  header: Record<string, unknown> = {};

  #format: ResolvedJsonHeaderFormat;
  // The JSON length from a prefix already consumed, or -1 before the prefix.
  #jsonLength = -1;

  /**
   * Makes a head reader with no head read yet.
   *
   * @param format The checked header options.
   */
  constructor(format: ResolvedJsonHeaderFormat) {
    this.#format = format;
  }

  abstract frame(
    bytes: Uint8Array,
    frameStart: number,
    payloadStart: number,
    payloadEnd: number,
  ): Frame;

  // Throws InvalidLengthError for a negative prefix, or a body size that is
  // a negative or unsafe number; FrameTooLongError for a prefix over
  // maxHeaderLength (before a byte of the header is waited for);
  // FrameSyntaxError for a header that is not UTF-8 JSON of an object, or a
  // body size that is not a number.
  read(input: ByteWindow): number {
    const { lengthField, maxHeaderLength } = this.#format;
    if (this.#jsonLength < 0) {
      if (input.end - input.start < lengthField.size) return NEED_MORE;
      const jsonLength = readLength(lengthField, input.bytes, input.start);
      if (jsonLength > maxHeaderLength) {
        throw new FrameTooLongError(jsonLength, maxHeaderLength, "decode", "maxHeaderLength");
      }
      input.start += lengthField.size;
      this.#jsonLength = jsonLength;
      this.headLength = lengthField.size + jsonLength;
    }
    const jsonLength = this.#jsonLength;
    if (input.end - input.start < jsonLength) return NEED_MORE;
    const json = input.bytes.subarray(input.start, input.start + jsonLength);
    input.start += jsonLength;
    this.#jsonLength = -1;
    this.header = this.#parse(json);
    return this.#bodySize(this.header);
  }

  // A consumed prefix counts: the stream ended inside a head of known length.
  incomplete(input: ByteWindow): IncompleteFrameError | undefined {
    if (this.#jsonLength < 0) return undefined;
    return new IncompleteFrameError(
      this.#format.lengthField.size + input.end - input.start,
      this.headLength,
    );
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
        `JSON header of ${json.length} bytes is not an object, got ${describeValue(value)}`,
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
        `JSON header field ${JSON.stringify(field)} must be a number, got ${describeValue(size)}`,
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
        `Cannot encode frame: the header must be an object, got ${describeValue(header)}`,
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
