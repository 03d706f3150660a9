/**
 * Delimited frames: each frame ends with a delimiter (a newline, a NUL, a
 * `"\r\n"`), as in Netty's `DelimiterBasedFrameDecoder` and tokio's
 * `AnyDelimiterCodec`. {@linkcode DelimiterCodec} finds the frames, however
 * the bytes were split by the network, and strips the delimiter.
 *
 * ```
 * { delimiters: ["\r\n", "\n"] }
 *
 * +- frame -+ dlm -+- frame -+dlm-+      +- frame -+  +- frame -+
 * |  G E T  | 0D 0A|  a b c  | 0A |  ->  |  G E T  |, |  a b c  |
 * +---------+------+---------+----+      +---------+  +---------+
 * ```
 *
 * ## Several delimiters
 *
 * The delimiter that **starts earliest** in the stream ends the frame; when
 * two start at the same byte, the **longest** wins. So with `["\r\n",
 * "\n"]`, `a\r\n` is the frame `a` (`"\r\n"` starts one byte before
 * `"\n"`), and with `["\r", "\r\n"]` it is `a` too (both start at the `\r`,
 * `"\r\n"` is longer). The decoder waits for more bytes while a longer
 * delimiter could still complete at or before the match it has, so the frames
 * never depend on how the stream was split. `encode` writes the **first**
 * delimiter of the list, which therefore must not be the start of another
 * one (`["\r", "\r\n"]` is refused: list `"\r\n"` first).
 *
 * ## Frames that are too long
 *
 * A frame is too long when no delimiter starts within `maxFrameLength`
 * bytes: the decoder stops scanning there, so it never buffers much more than
 * `maxFrameLength` bytes.
 *
 * ```
 * { maxFrameLength: 4, onTooLong: "discard" }
 *
 * +------ too long ------+dlm-+- frame -+dlm-+      +- frame -+
 * |  a b c d e f g h i j | 0A |  o k    | 0A |  ->  |  o k    |
 * +----------------------+----+---------+----+      +---------+
 * ```
 *
 * With `onTooLong: "error"` (the default) `decode` throws
 * {@linkcode FrameTooLongError}; a caller that goes on decoding anyway finds
 * the same recovery as `"discard"`: the rest of that frame is skipped, up to
 * and including its delimiter, as it arrives, without being buffered.
 *
 * ## End of stream
 *
 * Bytes after the last delimiter are an {@linkcode IncompleteFrameError}, or,
 * with `emitUnterminated: true`, a last frame (as the last line of a file
 * without a final newline).
 *
 * @module
 */

import type { ByteWindow } from "./byte_window.ts";
import type { ByteSink, Codec, FrameDecoder, FrameLimits, TooLongPolicy } from "./codec.ts";
import { FrameTooLongError, IncompleteFrameError } from "./errors.ts";
import { checkBoolean, resolveFrameLimits } from "./_frame_limits.ts";
import { indexOfByte } from "./_index_of_byte.ts";

/** Options for {@linkcode DelimiterCodec}. */
export interface DelimiterCodecOptions extends FrameLimits {
  /**
   * The delimiter, or several: strings are UTF-8 encoded. A frame ends at the
   * delimiter that starts earliest, the longest one at equal starts; `encode`
   * writes the first one.
   *
   * @default {["\n"]}
   */
  delimiters?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /**
   * Whether a decoded frame ends with its delimiter (`maxFrameLength` still
   * counts the bytes before the delimiter only). `encode` takes frames
   * without a delimiter either way.
   *
   * @default {false}
   */
  keepDelimiter?: boolean;
  /**
   * Whether bytes left after the last delimiter at the end of the stream are a
   * last frame (`true`) or an {@linkcode IncompleteFrameError} (`false`).
   *
   * @default {false}
   */
  emitUnterminated?: boolean;
}

const CODEC_NAME = "DelimiterCodec";
const DEFAULT_DELIMITERS: readonly string[] = ["\n"];

const utf8 = new TextEncoder();

/**
 * Frames that end with a delimiter: one, or several (`"\r\n"` or `"\n"`).
 * Frames are `Uint8Array` views of the bytes read, as `ByteWindow.take`
 * gives them. See the module doc for how several delimiters and too-long
 * frames are handled.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(frame,
 * sink)` writes a frame and the first delimiter. The settings are readable as
 * fields.
 *
 * @example Split NUL-terminated messages
 * ```ts
 * import { DelimiterCodec, decodeFrames, encodeFrame } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new DelimiterCodec({ delimiters: "\0" });
 * const wire = new Uint8Array([104, 105, 0, 0, 111, 107, 0]);
 * const frames = decodeFrames(codec, wire);
 * assertEquals(frames, [new Uint8Array([104, 105]), new Uint8Array(0), new Uint8Array([111, 107])]);
 * assertEquals(encodeFrame(codec, frames[0]), wire.subarray(0, 3));
 * ```
 *
 * @example Accept "\r\n" and "\n", keep the last unterminated frame
 * ```ts
 * import { DelimiterCodec, decodeFrames } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new DelimiterCodec({ delimiters: ["\r\n", "\n"], emitUnterminated: true });
 * const text = (frame: Uint8Array) => new TextDecoder().decode(frame);
 * const frames = decodeFrames(codec, new TextEncoder().encode("GET /\r\nHost: x\nbye"));
 * assertEquals(frames.map(text), ["GET /", "Host: x", "bye"]);
 * ```
 */
export class DelimiterCodec implements Codec<Uint8Array> {
  /** The delimiters, as bytes; `encode` writes the first. */
  readonly delimiters: readonly Uint8Array[];
  /** Whether decoded frames end with their delimiter. */
  readonly keepDelimiter: boolean;
  /** Whether bytes after the last delimiter are a last frame at end of stream. */
  readonly emitUnterminated: boolean;
  /** The largest frame, delimiter not counted, decoded or encoded. */
  readonly maxFrameLength: number;
  /** What the decoder does with a frame over `maxFrameLength`. */
  readonly onTooLong: TooLongPolicy;

  /**
   * Makes a codec; every option is checked here, not on first use.
   *
   * @param options The delimiters, what to do with them, and the limits.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range: no delimiter, an empty
   * one, a first delimiter that is the start of another, a negative
   * `maxFrameLength`.
   */
  constructor(options: DelimiterCodecOptions = {}) {
    const { maxFrameLength, onTooLong } = resolveFrameLimits(CODEC_NAME, options);
    this.maxFrameLength = maxFrameLength;
    this.onTooLong = onTooLong;
    this.keepDelimiter = checkBoolean(CODEC_NAME, "keepDelimiter", options.keepDelimiter ?? false);
    this.emitUnterminated = checkBoolean(
      CODEC_NAME,
      "emitUnterminated",
      options.emitUnterminated ?? false,
    );
    this.delimiters = toDelimiters(options.delimiters ?? DEFAULT_DELIMITERS);
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example A frame that arrives in two reads
   * ```ts
   * import { ByteWindow, DelimiterCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const decoder = new DelimiterCodec().decoder();
   * const input = new ByteWindow(new Uint8Array([104, 105]));
   * assertEquals(decoder.decode(input), undefined); // no "\n" yet
   * input.reset(new Uint8Array([104, 105, 10]));
   * assertEquals(decoder.decode(input), new Uint8Array([104, 105]));
   * assertEquals(decoder.decodeEof(input), undefined);
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws {@linkcode FrameTooLongError}
   * when no delimiter starts within `maxFrameLength` bytes (unless `onTooLong`
   * is `"discard"`); its `decodeEof` throws {@linkcode IncompleteFrameError}
   * for bytes after the last delimiter unless `emitUnterminated` is set. It
   * returns one frame per call: call `decodeEof` until it returns
   * `undefined` (only delimiters that overlap one another can leave two).
   */
  decoder(): FrameDecoder<Uint8Array> {
    return new DelimiterDecoder(this);
  }

  /**
   * Writes one frame, then the first delimiter.
   *
   * @example Encode a frame
   * ```ts
   * import { DelimiterCodec, encodeFrame } from "@socketserver/core/framing";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const codec = new DelimiterCodec({ delimiters: ["\r\n", "\n"] });
   * assertEquals(encodeFrame(codec, new Uint8Array([111, 107])), new Uint8Array([111, 107, 13, 10]));
   * assertThrows(() => encodeFrame(codec, new Uint8Array([10])), TypeError);
   * ```
   *
   * @param frame The frame, without a delimiter.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} The frame exceeds `maxFrameLength`.
   * @throws {TypeError} A delimiter would be found inside the frame (or
   * across its end), so the decoder would split it.
   */
  encode(frame: Uint8Array, sink: ByteSink): void {
    if (frame.length > this.maxFrameLength) {
      throw new FrameTooLongError(frame.length, this.maxFrameLength, "encode");
    }
    const at = this.#delimiterInside(frame);
    if (at >= 0) {
      throw new TypeError(
        `Cannot encode frame: a delimiter starts at index ${at} of the ${frame.length}-byte frame, so the decoder would end the frame there`,
      );
    }
    sink.write(frame);
    sink.write(this.delimiters[0]);
  }

  // Where the decoder would see a delimiter in `frame` followed by the first
  // delimiter, before the end of the frame; -1 when it reads the frame whole.
  // This refuses frames that would be split or would lose their last bytes
  // (`a\r` then `"\n"`, when `"\r\n"` is a delimiter too).
  #delimiterInside(frame: Uint8Array): number {
    const delimiters = this.delimiters;
    const ending = delimiters[0];
    // Fast path: one single-byte delimiter, the usual "\n" or "\0".
    if (delimiters.length === 1 && ending.length === 1) return frame.indexOf(ending[0]);
    let earliest = -1;
    for (const delimiter of delimiters) {
      for (
        let at = frame.indexOf(delimiter[0]);
        at >= 0;
        at = frame.indexOf(delimiter[0], at + 1)
      ) {
        if (earliest >= 0 && at >= earliest) break;
        if (matchesAcross(frame, ending, at, delimiter)) {
          earliest = at;
          break;
        }
      }
    }
    return earliest;
  }
}

// Whether `delimiter` matches `frame` followed by `ending`, from `at`, as far
// as those bytes go: a delimiter that runs past them could still match once
// the next frame follows, so it counts as a match.
function matchesAcross(
  frame: Uint8Array,
  ending: Uint8Array,
  at: number,
  delimiter: Uint8Array,
): boolean {
  const available = Math.min(delimiter.length, frame.length + ending.length - at);
  for (let i = 0; i < available; i++) {
    const index = at + i;
    const byte = index < frame.length ? frame[index] : ending[index - frame.length];
    if (byte !== delimiter[i]) return false;
  }
  return true;
}

function toDelimiters(
  value: string | Uint8Array | ReadonlyArray<string | Uint8Array>,
): readonly Uint8Array[] {
  const list = typeof value === "string" || value instanceof Uint8Array ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new RangeError(
      `Cannot create ${CODEC_NAME}: delimiters must be a string, a Uint8Array or a non-empty array of them`,
    );
  }
  const delimiters = list.map((item: unknown, index) => {
    if (typeof item === "string") return utf8.encode(item);
    // A copy: the caller may reuse its array, the codec keeps this one.
    if (item instanceof Uint8Array) return item.slice();
    throw new TypeError(
      `Cannot create ${CODEC_NAME}: delimiters[${index}] must be a string or a Uint8Array, got ${typeof item}`,
    );
  });
  delimiters.forEach((delimiter, index) => {
    if (delimiter.length === 0) {
      throw new RangeError(`Cannot create ${CODEC_NAME}: delimiters[${index}] is empty`);
    }
  });
  // The encoder writes the first delimiter; were it the start of a longer
  // one, the decoder would read it with the next frame's first bytes as that
  // longer delimiter.
  const ending = delimiters[0];
  for (const [index, delimiter] of delimiters.entries()) {
    if (delimiter.length > ending.length && ending.every((byte, i) => delimiter[i] === byte)) {
      throw new RangeError(
        `Cannot create ${CODEC_NAME}: the first delimiter ${
          show(ending)
        } (the one encode writes) starts delimiters[${index}] ${
          show(delimiter)
        }; list the longer one first`,
      );
    }
  }
  return delimiters;
}

function show(delimiter: Uint8Array): string {
  return JSON.stringify(new TextDecoder().decode(delimiter));
}

// One per connection: a scan that resumes where it stopped, and the discard
// state of a frame that was too long.
class DelimiterDecoder implements FrameDecoder<Uint8Array> {
  #delimiters: readonly Uint8Array[];
  #keepDelimiter: boolean;
  #emitUnterminated: boolean;
  #maxFrameLength: number;
  #discardTooLong: boolean;

  // No delimiter starts in the first `#scanned` bytes from `#scanStart`: a
  // frame arriving a byte at a time is scanned once, O(n) and not O(n²). Reset
  // whenever `input.start` moves (a frame taken, the buffer compacted).
  #scanStart = 0;
  #scanned = 0;
  // Set by `#find`: the length of the delimiter it found.
  #matchLength = 0;
  // Skipping the rest of a too-long frame; `#discarded` bytes of it so far.
  #discarding = false;
  #discarded = 0;

  constructor(codec: DelimiterCodec) {
    this.#delimiters = codec.delimiters;
    this.#keepDelimiter = codec.keepDelimiter;
    this.#emitUnterminated = codec.emitUnterminated;
    this.#maxFrameLength = codec.maxFrameLength;
    this.#discardTooLong = codec.onTooLong === "discard";
  }

  decode(input: ByteWindow): Uint8Array | undefined {
    return this.#next(input, false);
  }

  decodeEof(input: ByteWindow): Uint8Array | undefined {
    const frame = this.#next(input, true);
    if (frame !== undefined) return frame;
    // `#next` at end of stream leaves only an unterminated frame within
    // `maxFrameLength`, or nothing.
    const left = input.end - input.start;
    if (left === 0) return undefined;
    if (!this.#emitUnterminated) throw new IncompleteFrameError(left);
    return input.take(left);
  }

  // Returns the next frame, or undefined when none can be completed. At end
  // of stream (`eof`) no more bytes can come: a delimiter is final even if a
  // longer one could have followed, and a frame being discarded ends here.
  #next(input: ByteWindow, eof: boolean): Uint8Array | undefined {
    // Loops only after discarding, so a whole frame behind a discarded one is
    // never left waiting for more bytes.
    for (;;) {
      const at = this.#find(input, eof);
      if (this.#discarding) {
        if (at >= 0) {
          this.#skip(input, at + this.#matchLength);
          this.#discarding = false;
          continue;
        }
        // Drop what is scanned; keep the tail that may start a delimiter.
        this.#skip(input, eof ? input.end - input.start : this.#scanned);
        if (!eof) return undefined;
        this.#discarding = false;
        if (this.#emitUnterminated) return undefined;
        throw new IncompleteFrameError(this.#discarded);
      }
      if (at >= 0) {
        const delimiterLength = this.#matchLength;
        if (this.#keepDelimiter) return input.take(at + delimiterLength);
        const frame = input.take(at);
        input.start += delimiterLength;
        return frame;
      }
      const seen = eof ? input.end - input.start : this.#scanned;
      if (seen <= this.#maxFrameLength) return undefined;
      // Too long: no delimiter starts within maxFrameLength bytes.
      this.#discarding = true;
      this.#discarded = 0;
      this.#skip(input, seen);
      if (!this.#discardTooLong) throw new FrameTooLongError(seen, this.#maxFrameLength);
    }
  }

  #skip(input: ByteWindow, count: number): void {
    input.start += count;
    this.#discarded += count;
    this.#scanStart = input.start;
    this.#scanned = 0;
  }

  // Finds where the frame at `input.start` ends: the offset of the delimiter
  // that starts earliest (the longest at equal starts), or -1, after
  // recording in `#scanned` how far the window is free of delimiters.
  #find(input: ByteWindow, eof: boolean): number {
    const start = input.start;
    const length = input.end - start;
    if (start !== this.#scanStart || this.#scanned > length) {
      this.#scanStart = start;
      this.#scanned = 0;
    }
    const bytes = input.bytes;
    // A delimiter starting past maxFrameLength makes the frame too long, so
    // the scan stops there; a frame being discarded is searched to the end.
    const lastStart = this.#discarding ? length - 1 : Math.min(length - 1, this.#maxFrameLength);
    let best = -1;
    let bestLength = 0;
    // The earliest start of a delimiter whose bytes so far match but that
    // runs past the window: it may still win once more bytes arrive.
    let partial = length;
    for (const delimiter of this.#delimiters) {
      const first = delimiter[0];
      const delimiterLength = delimiter.length;
      let from = this.#scanned;
      for (;;) {
        // A start after the best match so far cannot win.
        const last = best >= 0 ? best : lastStart;
        if (from > last) break;
        const hit = indexOfByte(bytes, first, start + from, start + last + 1);
        if (hit < 0) break;
        const at = hit - start;
        const available = Math.min(delimiterLength, length - at);
        let matched = 1;
        while (matched < available && bytes[hit + matched] === delimiter[matched]) matched++;
        if (matched === available) {
          if (available < delimiterLength) {
            // Runs past the window; every later start would too.
            if (at < partial) partial = at;
          } else if (best < 0 || at < best || delimiterLength > bestLength) {
            best = at;
            bestLength = delimiterLength;
          }
          break;
        }
        from = at + 1;
      }
    }
    if (best >= 0 && (eof || partial > best)) {
      this.#matchLength = bestLength;
      return best;
    }
    // Every start before here is checked against every delimiter.
    this.#scanned = Math.min(partial, best >= 0 ? best : lastStart + 1);
    return -1;
  }
}
