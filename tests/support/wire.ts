// Test support for byte-level codec tests: readable wire bytes, the worst
// chunk split, and a strict decode that proves `decode` never leaves a whole
// frame behind.

import { assert, assertEquals, assertInstanceOf, assertMatch, assertThrows } from "@std/assert";
import { concat } from "@std/bytes/concat";
import { ByteWindow, type Codec } from "@socketserver/core/framing";
import { bytes, cutAt, decodeChunks, encodeAll } from "./codec_harness.ts";

/** Bytes from hex pairs and quoted text: `wire('00 0B "Hello world"')`. */
export function wire(spec: string): Uint8Array {
  const parts: number[] = [];
  for (const token of spec.match(/"[^"]*"|[0-9A-Fa-f]{2}/g) ?? []) {
    if (token.startsWith('"')) parts.push(...bytes(token.slice(1, -1)));
    else parts.push(parseInt(token, 16));
  }
  return Uint8Array.from(parts);
}

/**
 * A 4-byte big-endian length, then `payload` as UTF-8: written by hand, so
 * that a test of the reader does not lean on the codec it also drives.
 */
export function lengthFrame(payload: string): Uint8Array {
  const body = new TextEncoder().encode(payload);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** The chunks joined into one array (std's `concat`, re-exported for the tests). */
export { concat };

/**
 * What an error must be: an error class it is an instance of, or properties
 * it must have (a RegExp matches a string property, any other value equals
 * it), as node's `assert.throws(fn, object)` checked them.
 */
export type ErrorMatcher = ErrorClass | Record<string, unknown>;

/** An error class, whatever its constructor takes: what `assertThrows` accepts. */
// deno-lint-ignore no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * Asserts that `error` is what `expected` says.
 *
 * @param error The thrown value.
 * @param expected A class, or the properties it must have.
 * @param message Said when it is not.
 */
export function assertErrorMatches(error: unknown, expected: ErrorMatcher, message?: string): void {
  if (typeof expected === "function") {
    assertInstanceOf(error, expected, message);
    return;
  }
  assert(typeof error === "object" && error !== null, message ?? `${error} is not an object`);
  for (const [key, value] of Object.entries(expected)) {
    const actual = (error as Record<string, unknown>)[key];
    if (value instanceof RegExp) {
      assert(typeof actual === "string", `${message ?? ""} ${key} is not a string: ${actual}`);
      assertMatch(actual, value, message);
    } else {
      assertEquals(actual, value, message ?? `${key} of ${error}`);
    }
  }
}

/**
 * Asserts that `fn` throws what `expected` says, and returns the error.
 *
 * @param fn What must throw.
 * @param expected A class, or the properties the error must have.
 * @param message Said when it does not.
 */
export function assertThrowsMatching(
  fn: () => unknown,
  expected: ErrorMatcher,
  message?: string,
): unknown {
  const error = assertThrows(fn, message);
  assertErrorMatches(error, expected, message);
  return error;
}

/** One byte a chunk: the worst split a socket can deliver. */
export function byteByByte(chunks: Uint8Array[]): Uint8Array[] {
  return [...concat(chunks)].map((byte) => Uint8Array.of(byte));
}

/**
 * Decodes one buffer of whole frames the strict way: every frame must come
 * out of `decode` before it returns undefined, so nothing is left for
 * `decodeEof` (which would hide a decoder that stops early).
 */
export function decodeStrict<Frame>(codec: Codec<Frame, never>, buffer: Uint8Array): Frame[] {
  const decoder = codec.decoder();
  const input = new ByteWindow(buffer);
  const frames: Frame[] = [];
  for (let frame = decoder.decode(input); frame !== undefined; frame = decoder.decode(input)) {
    frames.push(frame);
  }
  assertEquals(input.length, 0, "decode returned undefined with bytes left");
  assertEquals(decoder.decodeEof(input), undefined);
  return frames;
}

/** One row of a decode table: chunks in, frames (or a typed error) out. */
export interface DecodeCase<Options> {
  name: string;
  options: Options;
  /** Each string is one chunk, as the table's `parse` reads it (`wire()` by default). */
  chunks: string[];
  /** The frames, as `parse` reads them. */
  frames?: string[];
  /** Properties the thrown error must have (`name`, numbers, `message` regex). */
  error?: ErrorMatcher;
}

/**
 * Registers one test per row, `"<label> decode: <name>"`: the chunks decode
 * to the frames (or throw the error) as given, and again one byte at a time.
 */
export function testDecodeCases<Options>(
  label: string,
  makeCodec: (options: Options) => Codec<Uint8Array, never>,
  cases: DecodeCase<Options>[],
  parse: (chunk: string) => Uint8Array = wire,
): void {
  for (const { name, options, chunks, frames, error } of cases) {
    Deno.test(`${label} decode: ${name}`, () => {
      const codec = makeCodec(options);
      const input = chunks.map(parse);
      for (const split of [input, byteByByte(input)]) {
        if (error !== undefined) {
          assertThrowsMatching(() => decodeChunks(codec, split), error);
        } else {
          assertEquals(decodeChunks(codec, split), (frames ?? []).map(parse));
        }
      }
    });
  }
}

/** One row of a constructor table: options the codec must refuse, and how. */
export interface ConstructorCase {
  name: string;
  options: Record<string, unknown>;
  error: ErrorMatcher;
}

/** Registers one test per row, `"<label> constructor refuses <name>"`. */
export function testConstructorRefuses(
  label: string,
  construct: (options: Record<string, unknown>) => unknown,
  cases: ConstructorCase[],
): void {
  for (const { name, options, error } of cases) {
    Deno.test(`${label} constructor refuses ${name}`, () => {
      assertThrowsMatching(() => construct(options), error);
    });
  }
}

/**
 * The round-trip property's body: `frames`, encoded, concatenated and cut at
 * `cuts`, decode to themselves, and strictly from one buffer as well.
 */
export function assertRoundTrip(
  codec: Codec<Uint8Array, Uint8Array>,
  frames: Uint8Array[],
  cuts: number[],
): void {
  const encoded = encodeAll(codec, frames);
  assertEquals(decodeChunks(codec, cutAt(encoded, cuts)), frames);
  assertEquals(decodeStrict(codec, encoded), frames);
}
