/**
 * One-shot encoding: a frame to one byte array.
 *
 * @module
 */

import type { ByteSink, Codec } from "./codec.ts";

/**
 * Encodes one frame into a new byte array, for callers with no connection
 * writer at hand (datagrams, tests, files).
 *
 * @example Encode a length-prefixed frame by hand-made codec
 * ```ts
 * import { encodeFrame, type Codec } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * const withLengthByte: Codec<Uint8Array> = {
 *   decoder: () => ({ decode: () => undefined, decodeEof: () => undefined }),
 *   encode(frame, sink) {
 *     sink.write(new Uint8Array([frame.length]));
 *     sink.write(frame);
 *   },
 * };
 * assertEquals(encodeFrame(withLengthByte, new Uint8Array([7, 8])), new Uint8Array([2, 7, 8]));
 * ```
 *
 * @param codec The codec that encodes.
 * @param frame The frame.
 * @returns The encoded bytes.
 * @throws {FrameTooLongError} The codec refuses the frame.
 */
export function encodeFrame<Input>(codec: Codec<unknown, Input>, frame: Input): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const sink: ByteSink = {
    write(bytes) {
      // Copy: encoders may reuse a scratch header between calls.
      parts.push(bytes.slice());
      total += bytes.length;
    },
  };
  codec.encode(frame, sink);
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
