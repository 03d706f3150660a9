/**
 * One-shot encoding: a frame to one byte array.
 *
 * @module
 */

import { concat } from "@std/bytes/concat";
import type { ByteSink, Codec } from "./codec.ts";

/**
 * Encodes one frame into a new byte array, for callers with no connection
 * writer at hand (datagrams, tests, files).
 *
 * @example Encode a length-prefixed frame by hand-made codec
 * ```ts
 * import { encodeFrame, type Codec } from "@socketserver/core/framing";
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
  // Copy: encoders may reuse a scratch header between calls.
  const sink: ByteSink = { write: (bytes) => parts.push(bytes.slice()) };
  codec.encode(frame, sink);
  // Fast path: one part is already a copy of its own.
  return parts.length === 1 ? parts[0] : concat(parts);
}
