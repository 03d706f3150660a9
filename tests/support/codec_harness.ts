// Test support: drives a codec the way a connection does, so codec tests can
// prove "bytes split anywhere in, the same frames out".

import { concat } from "@std/bytes/concat";
import { ByteWindow, type Codec, encodeFrame } from "@socketserver/core/framing";

/**
 * Feeds `chunks` to a fresh decoder one at a time, as socket reads would
 * arrive, decoding every complete frame before taking the next chunk; then
 * calls `decodeEof`. The buffer is compacted between chunks, as the reader
 * does, so decoders that keep offsets across calls are caught.
 */
export function decodeChunks<Frame>(codec: Codec<Frame, never>, chunks: Uint8Array[]): Frame[] {
  const decoder = codec.decoder();
  const window = new ByteWindow(new Uint8Array(0));
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    const pending = window.view();
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    window.reset(joined);
    for (;;) {
      const frame = decoder.decode(window);
      if (frame === undefined) break;
      frames.push(frame);
    }
  }
  for (;;) {
    const last = decoder.decodeEof(window);
    if (last === undefined) return frames;
    frames.push(last);
  }
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, in range). */
export function cutAt(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => Math.max(0, Math.min(bytes.length, o))))]
    .sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Encodes each frame and concatenates the bytes. */
export function encodeAll<Input>(codec: Codec<unknown, Input>, frames: Input[]): Uint8Array {
  return concat(frames.map((frame) => encodeFrame(codec, frame)));
}

/** UTF-8 bytes of a string. */
export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
