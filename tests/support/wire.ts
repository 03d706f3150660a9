// Test support for byte-level codec tests: readable wire bytes, the worst
// chunk split, and a strict decode that proves `decode` never leaves a whole
// frame behind.

import assert from "node:assert/strict";
import { ByteWindow } from "../../src/framing/byte_window.ts";
import type { Codec } from "../../src/framing/codec.ts";
import { bytes } from "./codec_harness.ts";

/** Bytes from hex pairs and quoted text: `wire('00 0B "Hello world"')`. */
export function wire(spec: string): Uint8Array {
  const parts: number[] = [];
  for (const token of spec.match(/"[^"]*"|[0-9A-Fa-f]{2}/g) ?? []) {
    if (token.startsWith('"')) parts.push(...bytes(token.slice(1, -1)));
    else parts.push(parseInt(token, 16));
  }
  return Uint8Array.from(parts);
}

/** The chunks joined into one array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
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
  assert.equal(input.length, 0, "decode returned undefined with bytes left");
  assert.equal(decoder.decodeEof(input), undefined);
  return frames;
}
