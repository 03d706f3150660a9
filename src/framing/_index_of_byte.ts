// Internal: a bounded byte search for decoders that scan for a terminator
// (DelimiterCodec, RespCodec). Not part of the public API.

// A range shorter than this is scanned by a loop.
const SHORT_SCAN = 64;

/**
 * Index of `byte` in `bytes[from, to)`, or -1.
 *
 * @param bytes The buffer.
 * @param byte The byte to find.
 * @param from First index searched.
 * @param to One past the last index searched.
 * @returns Its first index in the range, or -1.
 */
export function indexOfByte(bytes: Uint8Array, byte: number, from: number, to: number): number {
  // Native indexOf does not stop at `to`: it reads on into whatever the
  // transport's buffer holds past the window. Use it as is when that tail is
  // no longer than the range (the extra work is bounded by the useful work).
  if (bytes.length - to <= to - from) {
    const at = bytes.indexOf(byte, from);
    return at < to ? at : -1;
  }
  // Fast path: bytes trickling in, a few new ones per call.
  if (to - from < SHORT_SCAN) {
    for (let i = from; i < to; i++) if (bytes[i] === byte) return i;
    return -1;
  }
  // A long range in a large buffer: a view bounds the native scan.
  const at = bytes.subarray(from, to).indexOf(byte);
  return at < 0 ? -1 : from + at;
}
