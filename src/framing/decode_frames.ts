/**
 * One-shot decoding: every frame in a complete buffer.
 *
 * @module
 */

import { ByteWindow } from "./byte_window.ts";
import type { Codec } from "./codec.ts";

/**
 * Decodes every frame in `bytes`, which must end on a frame boundary: one UDP
 * datagram, a file, a test vector. A partial frame at the end is an error for
 * this buffer only.
 *
 * @example Two one-byte-length frames in one buffer
 * ```ts
 * import { decodeFrames, type Codec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const withLengthByte: Codec<Uint8Array> = {
 *   decoder: () => ({
 *     decode(input) {
 *       if (input.length < 1) return undefined;
 *       const length = input.bytes[input.start];
 *       if (input.length < 1 + length) return undefined;
 *       input.advance(1);
 *       return input.take(length);
 *     },
 *     decodeEof(input) {
 *       if (input.length > 0) throw new Error("partial frame");
 *       return undefined;
 *     },
 *   }),
 *   encode() {},
 * };
 * const frames = decodeFrames(withLengthByte, new Uint8Array([1, 9, 2, 7, 8]));
 * assertEquals(frames, [new Uint8Array([9]), new Uint8Array([7, 8])]);
 * ```
 *
 * @param codec The codec that decodes.
 * @param bytes A buffer holding whole frames.
 * @returns The frames, in order.
 * @throws {IncompleteFrameError} The buffer ends inside a frame.
 * @throws {FrameTooLongError} A frame exceeds the codec's limit.
 */
export function decodeFrames<Frame>(codec: Codec<Frame, never>, bytes: Uint8Array): Frame[] {
  const decoder = codec.decoder();
  const input = new ByteWindow(bytes);
  const frames: Frame[] = [];
  for (;;) {
    const frame = decoder.decode(input);
    if (frame === undefined) break;
    frames.push(frame);
  }
  for (;;) {
    const last = decoder.decodeEof(input);
    if (last === undefined) return frames;
    frames.push(last);
  }
}
