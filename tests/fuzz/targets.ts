// Fuzz targets: every decoder, in several configurations, and the struct
// unpacker, fed corrupted and randomly split input by fast-check.
//
// What each case proves, whatever the bytes:
//
// - Only the typed errors come out: FrameTooLongError, InvalidLengthError,
//   IncompleteFrameError, FrameSyntaxError (and, for struct, StructError and
//   the TypeError / SyntaxError its module doc lists, recognised by their
//   "Cannot pack|unpack|parse struct format" messages). Anything else is a bug.
// - No hang: every `decode` that returns a frame consumes bytes, except that
//   an event stream may give one event per consumed run that consumes none
//   (a body's `end`); `decodeEof` is called until `undefined` and must then
//   have consumed everything; a cap on calls turns a loop into a failure.
//   A decoder stuck inside one call is caught by the runner's watchdog.
// - Bounded state: after `decode` returns `undefined`, the bytes left in the
//   window and the size the decoder reserves (`ByteWindow.wanted`) are
//   within the frame limits; no frame is larger than its limit.
// - No decoder reads past the window's `end`: the backing buffer has
//   delimiter-like bytes after it.
// - Valid input (no corruption), split anywhere, decodes to exactly the
//   frames that were encoded (minus those a "discard" codec must skip).
//
// Each target is a fast-check property; `runTarget` runs it for a number of
// cases with a seed, so a failure can be replayed.

import { concat } from "@std/bytes/concat";
import fc from "fast-check";
import {
  type ByteSink,
  ByteWindow,
  type Codec,
  DelimiterCodec,
  encodeFrame,
  FixedLengthCodec,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
  JsonHeaderCodec,
  type JsonHeaderFrame,
  JsonHeaderStreamCodec,
  type JsonHeaderStreamFrame,
  LengthPrefixedCodec,
  type LengthPrefixedCodecOptions,
  LinesCodec,
  NetstringCodec,
  RespCodec,
  type RespCodecOptions,
  RespError,
  type RespValue,
  VarintLengthCodec,
} from "@socketserver/core/framing";
import { calcsize, iterUnpack, pack, StructError, unpack } from "@socketserver/core/struct";

/** One fuzz target: a name, its share of the cases, and its property. */
export interface FuzzTarget {
  /** Unique, for reports and `--target`. */
  readonly name: string;
  /** Relative share of the total cases. */
  readonly weight: number;
  /** The property; `onCase` is called once per case (the runner's heartbeat). */
  property(onCase: () => void): fc.IProperty<[unknown]>;
}

/**
 * Runs `target` for `numRuns` cases from `seed`.
 *
 * @throws {Error} fast-check's report (counterexample, seed and path) on failure.
 */
export function runTarget(
  target: FuzzTarget,
  numRuns: number,
  seed: number,
  onCase: () => void = () => {},
): void {
  fc.assert(target.property(onCase), { numRuns, seed });
}

// --- the codec driver ------------------------------------------------------------

/** The errors a decoder may throw on bad input. */
function isTypedFramingError(error: unknown): boolean {
  return error instanceof FrameTooLongError || error instanceof InvalidLengthError ||
    error instanceof IncompleteFrameError || error instanceof FrameSyntaxError;
}

/** Bytes a transport's buffer may hold after `end`: they must never be read as input. */
const STALE_TAIL = Uint8Array.from([0x0a, 0x2c, 0x3a, 0x0d, 0x00, 0xff, 0x0a, 0x30, 0x7d, 0x0a]);

interface Decoded<Frame> {
  frames: Frame[];
  /** The typed error that ended the stream, if one did. */
  error?: unknown;
}

/**
 * Feeds `chunks` to a fresh decoder as a connection's reader would, checking
 * progress and bounds after every call; then `decodeEof` until `undefined`.
 * A typed error ends the stream (the connection would be closed); any other
 * error is thrown.
 */
function drive<Frame>(
  spec: CodecSpec<Frame, unknown>,
  chunks: Uint8Array[],
  inPlace: boolean,
): Decoded<Frame> {
  const decoder = spec.codec.decoder();
  const window = new ByteWindow(new Uint8Array(0));
  const frames: Frame[] = [];
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  // Every frame consumes a byte, but an event stream may add one event that
  // consumes none: twice the bytes plus a few is more than any decoder needs.
  let budget = 2 * total + 8;
  const take = (frame: Frame, before: number): void => {
    if (--budget < 0) {
      throw new Error(`Hang: more than ${2 * total + 8} frames from ${total} bytes`);
    }
    if (window.start < before || window.start > window.end) {
      throw new Error(`Window moved from ${before} to ${window.start} (end ${window.end})`);
    }
    spec.checkFrame(frame);
    // In place, the buffer is overwritten later: keep a copy.
    frames.push(inPlace ? snapshot(frame) : frame);
  };
  try {
    let stalled = 0;
    for (const chunk of chunks) {
      append(window, chunk, inPlace);
      for (;;) {
        const before = window.start;
        const frame = decoder.decode(window);
        if (frame === undefined) break;
        stalled = window.start === before ? stalled + 1 : 0;
        if (stalled > 1) throw new Error("Hang: two frames in a row consumed no byte");
        take(frame, before);
      }
      if (window.length > spec.maxBuffered) {
        throw new Error(
          `Buffered ${window.length} bytes after decode returned undefined; the limit allows ${spec.maxBuffered}`,
        );
      }
      if (window.wanted > spec.maxBuffered) {
        throw new Error(`Reserved ${window.wanted} bytes; the limit allows ${spec.maxBuffered}`);
      }
    }
    for (;;) {
      const before = window.start;
      const frame = decoder.decodeEof(window);
      if (frame === undefined) break;
      take(frame, before);
    }
    if (window.length !== 0) {
      throw new Error(`decodeEof returned undefined with ${window.length} bytes left`);
    }
  } catch (error) {
    if (!isTypedFramingError(error)) throw error;
    return { frames, error };
  }
  return { frames };
}

/**
 * Appends `chunk` as the reader does, with stale bytes after `end`. By
 * default unconsumed bytes move to a new buffer (frames already taken stay
 * valid); `inPlace`, as the reader's `reuseBuffer` mode, the same buffer is
 * reused: back to the front once all is consumed, unconsumed bytes moved to
 * the front when the tail is short, else appended where they are.
 */
function append(window: ByteWindow, chunk: Uint8Array, inPlace: boolean): void {
  const length = window.length;
  const needed = length + chunk.length + STALE_TAIL.length;
  if (!inPlace || window.bytes.length < needed) {
    const bytes = new Uint8Array(inPlace ? Math.max(needed, 2 * window.bytes.length) : needed);
    bytes.set(window.view());
    window.reset(bytes, 0, length);
  } else if (length === 0) {
    window.start = window.end = 0;
  } else if (window.bytes.length - window.end < chunk.length + STALE_TAIL.length) {
    window.bytes.copyWithin(0, window.start, window.end);
    window.reset(window.bytes, 0, length);
  }
  window.bytes.set(chunk, window.end);
  window.bytes.set(STALE_TAIL, window.end + chunk.length);
  window.end += chunk.length;
  window.wanted = 0;
}

/** A copy of a frame's bytes, however deep, for frames taken from a buffer that is reused. */
function snapshot<Frame>(frame: Frame): Frame {
  if (frame instanceof Uint8Array) return frame.slice() as Frame;
  if (Array.isArray(frame)) return frame.map(snapshot) as Frame;
  if (typeof frame === "object" && frame !== null) {
    const copy: Record<string, unknown> = { ...(frame as Record<string, unknown>) };
    for (const [key, value] of Object.entries(copy)) copy[key] = snapshot(value);
    return copy as Frame;
  }
  return frame;
}

/** `bytes` cut at `offsets` (taken modulo its length + 1); or one byte a chunk. */
function split(bytes: Uint8Array, offsets: number[], byteByByte: boolean): Uint8Array[] {
  if (byteByByte) return Array.from(bytes, (byte) => Uint8Array.of(byte));
  const cuts = [...new Set(offsets.map((offset) => offset % (bytes.length + 1)))]
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  return chunks;
}

/** One corruption of the wire bytes. */
interface Mutation {
  kind: number;
  at: number;
  byte: number;
  length: number;
}

/** Bytes that mean something to some codec, more often than chance gives them. */
const interestingByte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x00, 0x0a, 0x0d, 0x2c, 0x3a, 0x30, 0x31, 0x39, 0x7b, 0x7d, 0x22, 0x5b, 0x2d),
  // RESP's type bytes, and what inline commands quote and escape with.
  fc.constantFrom(0x2a, 0x24, 0x2b, 0x20, 0x09, 0x27, 0x5c, 0x78),
  fc.constantFrom(0x7f, 0x80, 0x81, 0xfe, 0xff, 0xc3, 0xe2, 0xf0, 0xed),
);

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.integer({ min: 0, max: 6 }),
  at: fc.nat(),
  byte: interestingByte,
  length: fc.integer({ min: 1, max: 9 }),
});

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes = [...input];
  for (const { kind, at, byte, length } of mutations) {
    const index = bytes.length === 0 ? 0 : at % bytes.length;
    switch (kind) {
      case 0: // Flip bits.
        if (bytes.length > 0) bytes[index] ^= byte | 1;
        break;
      case 1: // Overwrite a byte.
        if (bytes.length > 0) bytes[index] = byte;
        break;
      case 2: // Insert bytes.
        bytes.splice(index, 0, ...Array(length).fill(byte));
        break;
      case 3: // Delete bytes.
        bytes.splice(index, length);
        break;
      case 4: // Cut the stream short.
        bytes = bytes.slice(0, at % (bytes.length + 1));
        break;
      case 5: // Repeat a run of bytes.
        bytes.splice(index, 0, ...bytes.slice(index, index + length));
        break;
      case 6: // A length-like field of all ones or all zeros.
        for (let i = 0; i < length && index + i < bytes.length; i++) {
          bytes[index + i] = byte & 1 ? 0xff : 0x00;
        }
        break;
    }
  }
  return Uint8Array.from(bytes);
}

/** How one codec configuration is fuzzed. */
export interface CodecSpec<Frame, Input> {
  name: string;
  weight: number;
  /** The codec under test. */
  codec: Codec<Frame, never>;
  /** What goes on the wire for valid input: often `codec` itself, a twin with larger limits for "discard". */
  encode(inputs: Input[]): { wire: Uint8Array; encoded: Input[] };
  /** Valid inputs. */
  inputs: fc.Arbitrary<Input[]>;
  /** What `collect(frames)` must equal for valid input. */
  expected(encoded: Input[]): unknown[];
  /** The decoded frames in a comparable form. */
  collect(frames: Frame[]): unknown[];
  /** The most bytes the window may hold, or the decoder reserve, after `decode` returns `undefined`. */
  maxBuffered: number;
  /** Throws when a frame is larger than its limit. */
  checkFrame(frame: Frame): void;
}

/** Encodes each input it accepts with `codec`, one sink for all (as a connection's writer). */
export function encodeWith<Input>(
  codec: Codec<unknown, Input>,
  inputs: Input[],
  write: (codec: Codec<unknown, Input>, input: Input, sink: ByteSink) => void = (c, input, sink) =>
    c.encode(input, sink),
): { wire: Uint8Array; encoded: Input[] } {
  const parts: Uint8Array[] = [];
  const encoded: Input[] = [];
  for (const input of inputs) {
    const frameParts: Uint8Array[] = [];
    const sink: ByteSink = { write: (bytes) => frameParts.push(bytes.slice()) };
    try {
      write(codec, input, sink);
    } catch {
      continue; // A frame the encoder refuses is not valid input.
    }
    parts.push(...frameParts);
    encoded.push(input);
  }
  return { wire: concat(parts), encoded };
}

function assertAtMost(what: string, size: number, limit: number): void {
  if (size > limit) throw new Error(`${what} of ${size} bytes exceeds its limit ${limit}`);
}

function sameJson(actual: unknown, expected: unknown): boolean {
  return JSON.stringify(actual) === JSON.stringify(expected);
}

/** The property shared by every codec target. */
export function codecTarget<Frame, Input>(spec: CodecSpec<Frame, Input>): FuzzTarget {
  const corrupted = fc.record({
    inputs: spec.inputs,
    mutations: fc.array(mutation, { maxLength: 4 }),
    // Now and then raw bytes instead of corrupted frames.
    garbage: fc.oneof(
      { weight: 5, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 160, size: "max" }) },
    ),
    offsets: fc.array(fc.nat(), { maxLength: 10 }),
    byteByByte: fc.boolean(),
    inPlace: fc.boolean(),
  });
  return {
    name: spec.name,
    weight: spec.weight,
    property: (onCase) =>
      fc.property(corrupted, ({ inputs, mutations, garbage, offsets, byteByByte, inPlace }) => {
        onCase();
        const { wire, encoded } = spec.encode(inputs);
        const bytes = garbage ?? mutate(wire, mutations);
        const chunks = split(bytes, offsets, byteByByte);
        const decoded = drive(spec as CodecSpec<Frame, unknown>, chunks, inPlace);
        if (garbage !== null || mutations.length > 0) return;
        // Valid input, split anywhere: exactly the frames that were encoded.
        if (decoded.error !== undefined) {
          throw new Error(`Valid input failed to decode: ${decoded.error}`);
        }
        const actual = spec.collect(decoded.frames);
        const expected = spec.expected(encoded);
        if (!equalFrames(actual, expected)) {
          throw new Error(
            `Valid input decoded to ${show(actual)}, expected ${show(expected)}`,
          );
        }
      }),
  };
}

function equalFrames(actual: unknown[], expected: unknown[]): boolean {
  if (actual.length !== expected.length) return false;
  return actual.every((frame, i) => equalValue(frame, expected[i]));
}

function equalValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = Object.keys(a as object);
    if (keys.length !== Object.keys(b as object).length) return false;
    return keys.every((key) =>
      Object.hasOwn(b as object, key) &&
      equalValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    );
  }
  return Object.is(a, b);
}

function show(value: unknown): string {
  return JSON.stringify(value, (_, v) => v instanceof Uint8Array ? `bytes(${[...v]})` : v);
}

// --- byte-frame codecs -------------------------------------------------------------------

const identity = <T>(items: T[]): T[] => items;
// Sizes spread up to the maximum (fast-check keeps them small by default), so
// frames over a codec's limit are common.
const bytesUpTo = (max: number) =>
  fc.array(fc.uint8Array({ maxLength: max, size: "max" }), { maxLength: 6 });

function lengthPrefixed(
  name: string,
  options: LengthPrefixedCodecOptions & { maxFrameLength: number },
): FuzzTarget {
  const codec = new LengthPrefixedCodec(options);
  const discard = options.onTooLong === "discard";
  // Discarding is proven on frames that are too long but valid: encode them with no limit.
  const wireCodec = discard
    ? new LengthPrefixedCodec({ ...options, onTooLong: "error", maxFrameLength: 1 << 20 })
    : codec;
  const payloadOf = (frame: Uint8Array) =>
    codec.stripHeader ? frame.length : frame.length - codec.headerLength;
  return codecTarget<Uint8Array, Uint8Array>({
    name,
    weight: 1,
    codec,
    encode: (inputs) => encodeWith(wireCodec, inputs),
    inputs: bytesUpTo(options.maxFrameLength + codec.headerLength + 12),
    expected: (encoded) =>
      encoded
        .filter((frame) => !discard || payloadOf(frame) <= codec.maxFrameLength)
        // A kept header comes back as sent: with the length field encode wrote into it.
        .map((frame) => codec.stripHeader ? frame : encodeFrame(wireCodec, frame)),
    collect: identity,
    maxBuffered: codec.headerLength + codec.maxFrameLength,
    checkFrame: (frame) => assertAtMost("A payload", payloadOf(frame), codec.maxFrameLength),
  });
}

function varint(name: string, maxFrameLength: number, discard: boolean): FuzzTarget {
  const codec = new VarintLengthCodec({ maxFrameLength, onTooLong: discard ? "discard" : "error" });
  const wireCodec = discard ? new VarintLengthCodec({ maxFrameLength: 1 << 20 }) : codec;
  return codecTarget<Uint8Array, Uint8Array>({
    name,
    weight: 1,
    codec,
    encode: (inputs) => encodeWith(wireCodec, inputs),
    inputs: bytesUpTo(maxFrameLength + 150),
    expected: (encoded) =>
      discard ? encoded.filter((frame) => frame.length <= maxFrameLength) : encoded,
    collect: identity,
    // A varint is at most 10 bytes.
    maxBuffered: 10 + maxFrameLength,
    checkFrame: (frame) => assertAtMost("A frame", frame.length, maxFrameLength),
  });
}

function netstring(name: string, maxFrameLength: number, discard: boolean): FuzzTarget {
  const codec = new NetstringCodec({ maxFrameLength, onTooLong: discard ? "discard" : "error" });
  const wireCodec = discard ? new NetstringCodec({ maxFrameLength: 1 << 20 }) : codec;
  return codecTarget<Uint8Array, Uint8Array>({
    name,
    weight: 1,
    codec,
    encode: (inputs) => encodeWith(wireCodec, inputs),
    inputs: bytesUpTo(maxFrameLength + 12),
    expected: (encoded) =>
      discard ? encoded.filter((frame) => frame.length <= maxFrameLength) : encoded,
    collect: identity,
    // Up to 17 digits (discarding reads lengths up to Number.MAX_SAFE_INTEGER), ":" and ",".
    maxBuffered: 19 + maxFrameLength,
    checkFrame: (frame) => assertAtMost("A frame", frame.length, maxFrameLength),
  });
}

function delimited(
  name: string,
  options: {
    delimiters: (string | Uint8Array)[];
    maxFrameLength: number;
    keepDelimiter?: boolean;
    emitUnterminated?: boolean;
    onTooLong?: "error" | "discard";
  },
): FuzzTarget {
  const codec = new DelimiterCodec(options);
  const discard = options.onTooLong === "discard";
  const wireCodec = discard
    ? new DelimiterCodec({ ...options, onTooLong: "error", maxFrameLength: 1 << 20 })
    : codec;
  const longest = Math.max(...codec.delimiters.map((delimiter) => delimiter.length));
  const ending = codec.delimiters[0];
  // Frames drawn mostly from bytes the delimiters use, so they meet often.
  const delimiterBytes = [...new Set(codec.delimiters.flatMap((delimiter) => [...delimiter]))];
  const frameByte = fc.oneof(fc.constantFrom(...delimiterBytes), interestingByte);
  return codecTarget<Uint8Array, Uint8Array>({
    name,
    weight: 1,
    codec,
    encode: (inputs) => encodeWith(wireCodec, inputs),
    inputs: fc.array(
      fc.array(frameByte, { maxLength: options.maxFrameLength + 8, size: "max" })
        .map((b) => Uint8Array.from(b)),
      { maxLength: 6 },
    ),
    expected: (encoded) =>
      encoded
        .filter((frame) => !discard || frame.length <= options.maxFrameLength)
        .map((frame) => codec.keepDelimiter ? Uint8Array.from([...frame, ...ending]) : frame),
    collect: identity,
    // A scan stops at maxFrameLength; a delimiter cut by the window's end may follow.
    maxBuffered: options.maxFrameLength + longest,
    checkFrame: (frame) =>
      assertAtMost(
        "A frame",
        frame.length,
        options.maxFrameLength + (codec.keepDelimiter ? longest : 0),
      ),
  });
}

function lines(
  name: string,
  options: {
    maxFrameLength: number;
    fatal?: boolean;
    emitUnterminated?: boolean;
    onTooLong?: "error" | "discard";
  },
): FuzzTarget {
  const codec = new LinesCodec(options);
  const discard = options.onTooLong === "discard";
  const wireCodec = discard
    ? new LinesCodec({ ...options, onTooLong: "error", maxFrameLength: 1 << 20 })
    : codec;
  const utf8 = new TextEncoder();
  return codecTarget<string, string>({
    name,
    weight: 1,
    codec,
    encode: (inputs) => encodeWith(wireCodec, inputs),
    inputs: fc.array(
      fc.oneof(
        fc.string({ unit: "binary", maxLength: options.maxFrameLength / 2 + 4, size: "max" }),
        fc.string({ unit: "binary-ascii", maxLength: options.maxFrameLength + 4, size: "max" }),
      ),
      { maxLength: 6 },
    ),
    expected: (encoded) =>
      encoded.filter((line) => !discard || utf8.encode(line).length <= options.maxFrameLength),
    collect: identity,
    maxBuffered: options.maxFrameLength + 1,
    // Each byte gives at most one UTF-16 unit, even as U+FFFD.
    checkFrame: (line) => assertAtMost("A line", line.length, options.maxFrameLength),
  });
}

// --- JSON-header codecs ----------------------------------------------------------------

const jsonHeader = fc.dictionary(
  fc.string({ maxLength: 6 }),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 3 },
);

const jsonFrames = (maxBody: number) =>
  fc.array(
    fc.record({ header: jsonHeader, body: fc.uint8Array({ maxLength: maxBody, size: "max" }) }),
    { maxLength: 4 },
  );

function jsonHeaderTarget(
  name: string,
  options: {
    headerLengthFormat?: string;
    maxHeaderLength: number;
    maxFrameLength: number;
    onTooLong?: "error" | "discard";
  },
): FuzzTarget {
  const codec = new JsonHeaderCodec(options);
  const discard = options.onTooLong === "discard";
  const wireCodec = discard
    ? new JsonHeaderCodec({ ...options, onTooLong: "error", maxFrameLength: 1 << 20 })
    : codec;
  return codecTarget<JsonHeaderFrame, JsonHeaderFrame>({
    name,
    weight: 1,
    codec,
    encode: (inputs) => encodeWith(wireCodec, inputs),
    inputs: jsonFrames(options.maxFrameLength + 8),
    expected: (encoded) =>
      encoded
        .filter(({ body }) => !discard || body.length <= options.maxFrameLength)
        .map(({ header, body }) => ({
          header: JSON.parse(JSON.stringify({ ...header, [codec.bodySizeField]: body.length })),
          body,
        })),
    collect: identity,
    maxBuffered: codec.lengthField.size + Math.max(options.maxHeaderLength, options.maxFrameLength),
    checkFrame: ({ header, body }) => {
      assertAtMost("A body", body.length, options.maxFrameLength);
      if (
        header[codec.bodySizeField] !== undefined && header[codec.bodySizeField] !== body.length
      ) {
        throw new Error(`Body of ${body.length} bytes for a header that says ${show(header)}`);
      }
    },
  });
}

function jsonHeaderStreamTarget(
  name: string,
  options: {
    headerLengthFormat?: string;
    maxHeaderLength: number;
    maxBodyLength: number;
    onTooLong?: "error" | "discard";
  },
): FuzzTarget {
  const codec = new JsonHeaderStreamCodec(options);
  const discard = options.onTooLong === "discard";
  const wireCodec = discard
    ? new JsonHeaderStreamCodec({ ...options, onTooLong: "error", maxBodyLength: 1 << 20 })
    : codec;
  // Per decoder, the events must come in order and add up; checked as they come.
  let open: { bodySize: number; received: number } | undefined;
  return codecTarget<JsonHeaderStreamFrame, JsonHeaderFrame>({
    name,
    weight: 1,
    codec: {
      decoder: () => {
        open = undefined;
        return codec.decoder();
      },
      encode: () => {},
    },
    encode: (inputs) =>
      encodeWith(
        wireCodec as unknown as Codec<unknown, JsonHeaderFrame>,
        inputs,
        (_, input, sink) => {
          wireCodec.encode(
            { type: "header", header: input.header, bodySize: input.body.length },
            sink,
          );
          wireCodec.encode({ type: "body", chunk: input.body }, sink);
          wireCodec.encode({ type: "end" }, sink);
        },
      ),
    inputs: jsonFrames(options.maxBodyLength + 8),
    expected: (encoded) =>
      encoded
        .filter(({ body }) => !discard || body.length <= options.maxBodyLength)
        .map(({ header, body }) => ({
          header: JSON.parse(JSON.stringify({ ...header, [codec.bodySizeField]: body.length })),
          body,
        })),
    collect: (events) => {
      const frames: { header: Record<string, unknown>; body: Uint8Array }[] = [];
      let chunks: number[] = [];
      for (const event of events) {
        if (event.type === "header") {
          frames.push({ header: event.header, body: new Uint8Array(0) });
          chunks = [];
        } else if (event.type === "body") {
          chunks.push(...event.chunk);
        } else {
          frames[frames.length - 1].body = Uint8Array.from(chunks);
        }
      }
      return frames;
    },
    // The body is passed on as it comes, never buffered.
    maxBuffered: codec.lengthField.size + options.maxHeaderLength,
    checkFrame: (event) => {
      switch (event.type) {
        case "header":
          if (open !== undefined) throw new Error("A header event inside a frame");
          assertAtMost("A body", event.bodySize, options.maxBodyLength);
          if (!sameJson(event.header[codec.bodySizeField] ?? 0, event.bodySize)) {
            throw new Error(
              `bodySize ${event.bodySize} for a header that says ${show(event.header)}`,
            );
          }
          open = { bodySize: event.bodySize, received: 0 };
          break;
        case "body":
          if (open === undefined) throw new Error("A body event outside a frame");
          if (event.chunk.length === 0) throw new Error("An empty body event");
          open.received += event.chunk.length;
          assertAtMost("The body so far", open.received, open.bodySize);
          break;
        case "end":
          if (open === undefined) throw new Error("An end event outside a frame");
          if (open.received !== open.bodySize) {
            throw new Error(`End after ${open.received} of ${open.bodySize} body bytes`);
          }
          open = undefined;
          break;
        default:
          throw new Error(`An unknown event ${show(event)}`);
      }
    },
  });
}

// --- RESP ---------------------------------------------------------------------------------

/** Values within the limits, and some just past them (which the encoder refuses). */
function respValues(limits: Required<RespCodecOptions>): fc.Arbitrary<RespValue[]> {
  const line = fc.string({ unit: "binary-ascii", maxLength: limits.maxLineLength + 2 })
    .map((text) => text.replace(/[\r\n]/g, " "));
  const value = fc.letrec<{ value: RespValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", maxDepth: limits.maxDepth + 1 },
      fc.uint8Array({ maxLength: limits.maxFrameLength + 2, size: "max" }),
      line,
      line.map((text) => new RespError(text)),
      fc.maxSafeInteger(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((big) =>
        big < -Number.MAX_SAFE_INTEGER || big > Number.MAX_SAFE_INTEGER
      ),
      fc.constant(null),
      fc.array(tie("value"), { maxLength: limits.maxArrayLength + 1 }),
    ),
  })).value;
  return fc.array(value, { maxLength: 4 });
}

/** The most bytes one frame can take within `limits`: the decoder holds no more. */
function respFrameBound(limits: Required<RespCodecOptions>): number {
  const digits = (n: number) => String(n).length;
  const scalar = Math.max(
    1 + digits(limits.maxFrameLength) + 2 + limits.maxFrameLength + 2,
    1 + limits.maxLineLength + 2,
    1 + 20 + 2,
  );
  let element = scalar;
  for (let depth = limits.maxDepth; depth >= 1; depth--) {
    element = Math.max(
      scalar,
      1 + digits(limits.maxArrayLength) + 2 + limits.maxArrayLength * element,
    );
  }
  return element;
}

function checkResp(value: RespValue, limits: Required<RespCodecOptions>, depth: number): void {
  if (value instanceof Uint8Array) {
    assertAtMost("A bulk string", value.length, limits.maxFrameLength);
  } else if (typeof value === "string") {
    assertAtMost("A simple string", value.length, limits.maxLineLength);
  } else if (Array.isArray(value)) {
    if (depth === limits.maxDepth) {
      throw new Error(`Arrays nested past maxDepth ${limits.maxDepth}`);
    }
    assertAtMost("An array", value.length, limits.maxArrayLength);
    for (const element of value) checkResp(element, limits, depth + 1);
  }
}

function resp(name: string, limits: Required<RespCodecOptions>): FuzzTarget {
  const codec = new RespCodec(limits);
  return codecTarget<RespValue, RespValue>({
    name,
    weight: 2,
    codec,
    encode: (inputs) => encodeWith(codec, inputs),
    inputs: respValues(limits),
    expected: identity,
    collect: identity,
    maxBuffered: respFrameBound(limits),
    checkFrame: (value) => checkResp(value, limits, 0),
  });
}

// --- struct -------------------------------------------------------------------------------

const STRUCT_CODES = "xcbB?hHiIlLqQnNPefdsp";

/** Formats that mostly parse: a byte order, then codes with counts and spaces. */
const structFormat = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(
      fc.constantFrom("", "@", "=", "<", ">", "!"),
      fc.array(
        fc.tuple(
          fc.oneof(
            { weight: 4, arbitrary: fc.constant("") },
            { weight: 3, arbitrary: fc.integer({ min: 0, max: 12 }).map(String) },
            { weight: 1, arbitrary: fc.constantFrom("99999999999999999999", "4294967296", "00") },
          ),
          fc.constantFrom(...STRUCT_CODES),
          fc.constantFrom("", "", "", " ", "\t"),
        ),
        { maxLength: 6 },
      ),
    ).map(([order, items]) => order + items.map((item) => item.join("")).join("")),
  },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.constantFrom(..."@=<>!0123456789 \tZ#\u00e9", ...STRUCT_CODES),
      maxLength: 12,
    }),
  },
);

/** The struct module's documented errors; its TypeError and SyntaxError say what failed. */
function isStructError(error: unknown): boolean {
  if (error instanceof StructError) return true;
  return (error instanceof TypeError || error instanceof SyntaxError) &&
    /^Cannot (pack|unpack|parse struct format)[ :]/.test(error.message);
}

function allowStructErrors<T>(run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    if (isStructError(error)) return undefined;
    throw error;
  }
}

const structTarget: FuzzTarget = {
  name: "struct unpack",
  weight: 2,
  property: (onCase) =>
    fc.property(
      fc.record({
        format: structFormat,
        seedBytes: fc.uint8Array({ minLength: 1, maxLength: 48 }),
        exactSize: fc.boolean(),
        length: fc.nat({ max: 80 }),
        offset: fc.option(
          fc.oneof(fc.integer({ min: -90, max: 90 }), fc.constantFrom(0.5, -0.5, Number.NaN)),
          { freq: 2 },
        ),
      }),
      ({ format, seedBytes, exactSize, length, offset }) => {
        onCase();
        const size = allowStructErrors(() => calcsize(format));
        // Bytes of the struct's own size (when small), or of any length.
        const n = exactSize && size !== undefined && size <= 512 ? size : length;
        const bytes = Uint8Array.from({ length: n }, (_, i) => seedBytes[i % seedBytes.length]);
        const values = allowStructErrors(() =>
          offset === null ? unpack(format, bytes) : unpack(format, bytes, offset)
        );
        allowStructErrors(() => [...iterUnpack(format, bytes)]);
        if (values === undefined) return;
        // What unpack returns packs again, to bytes that unpack to the same values.
        const again = unpack(format, pack(format, ...values));
        if (!equalValue(again, values)) {
          throw new Error(`unpack(pack(values)) gave ${show(again)} for ${show(values)}`);
        }
      },
    ),
};

// --- the targets --------------------------------------------------------------------------

/** Every target, in the order reports list them. */
export const TARGETS: readonly FuzzTarget[] = [
  lengthPrefixed("length-prefixed: 4-byte big-endian", { maxFrameLength: 64 }),
  lengthPrefixed('length-prefixed: struct "i" (signed little-endian)', {
    format: "i",
    maxFrameLength: 64,
  }),
  lengthPrefixed("length-prefixed: offset 1, 1-byte length counting the header, header kept", {
    lengthFieldOffset: 1,
    lengthFieldLength: 1,
    lengthIncludesHeader: true,
    stripHeader: false,
    maxFrameLength: 40,
  }),
  lengthPrefixed("length-prefixed: 2-byte little-endian, adjustment -2, discard", {
    lengthFieldLength: 2,
    littleEndian: true,
    lengthAdjustment: -2,
    onTooLong: "discard",
    maxFrameLength: 32,
  }),
  lengthPrefixed("length-prefixed: 8-byte signed, adjustment +3", {
    lengthFieldLength: 8,
    signed: true,
    lengthAdjustment: 3,
    maxFrameLength: 48,
  }),
  codecTarget<Uint8Array, Uint8Array>({
    name: "fixed-length: 5",
    weight: 1,
    codec: new FixedLengthCodec({ frameLength: 5 }),
    encode: (inputs) => encodeWith(new FixedLengthCodec({ frameLength: 5 }), inputs),
    inputs: fc.array(fc.uint8Array({ minLength: 4, maxLength: 6 }), { maxLength: 6 }),
    expected: identity,
    collect: identity,
    maxBuffered: 5,
    checkFrame: (frame) => {
      if (frame.length !== 5) throw new Error(`A frame of ${frame.length} bytes`);
    },
  }),
  varint("varint: max 100", 100, false),
  varint("varint: max 20, discard", 20, true),
  netstring("netstring: max 100", 100, false),
  netstring("netstring: max 10, discard", 10, true),
  delimited('delimiter: "\\n"', { delimiters: ["\n"], maxFrameLength: 32 }),
  delimited('delimiter: "\\r\\n" or "\\n", kept, unterminated last frame', {
    delimiters: ["\r\n", "\n"],
    keepDelimiter: true,
    emitUnterminated: true,
    maxFrameLength: 32,
  }),
  delimited("delimiter: binary 00 00 or FF, discard", {
    delimiters: [Uint8Array.of(0, 0), Uint8Array.of(0xff)],
    onTooLong: "discard",
    maxFrameLength: 16,
  }),
  lines("lines: strict UTF-8", { maxFrameLength: 64 }),
  lines("lines: lenient UTF-8, discard, no unterminated last line", {
    maxFrameLength: 16,
    fatal: false,
    onTooLong: "discard",
    emitUnterminated: false,
  }),
  jsonHeaderTarget('json header: "i"', { maxHeaderLength: 64, maxFrameLength: 64 }),
  jsonHeaderTarget('json header: "!H", discard', {
    headerLengthFormat: "!H",
    maxHeaderLength: 48,
    maxFrameLength: 16,
    onTooLong: "discard",
  }),
  jsonHeaderStreamTarget('json header stream: "i"', { maxHeaderLength: 64, maxBodyLength: 64 }),
  jsonHeaderStreamTarget('json header stream: "Q", discard', {
    headerLengthFormat: "Q",
    maxHeaderLength: 48,
    maxBodyLength: 8,
    onTooLong: "discard",
  }),
  resp("resp: small limits", {
    maxFrameLength: 16,
    maxArrayLength: 4,
    maxDepth: 3,
    maxLineLength: 24,
  }),
  structTarget,
];

/**
 * Splits `total` cases over `targets` by weight; the rounding remainder goes
 * to the first targets, so the counts add up to `total` exactly.
 */
export function shareCases(targets: readonly FuzzTarget[], total: number): number[] {
  const weights = targets.reduce((sum, target) => sum + target.weight, 0);
  const counts = targets.map((target) => Math.floor(total * target.weight / weights));
  let left = total - counts.reduce((sum, count) => sum + count, 0);
  for (let i = 0; left > 0; i = (i + 1) % counts.length, left--) counts[i]++;
  return counts;
}
