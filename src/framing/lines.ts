/**
 * Lines of UTF-8 text, the framing of line protocols (SMTP, Redis inline
 * commands, JSON Lines) and of Python's `for line in rfile`.
 * {@linkcode LinesCodec} ends a line at `"\n"` and drops a `"\r"` just before
 * it, so `"\r\n"` and `"\n"` both end a line; the line is a `string` without
 * its line ending.
 *
 * ```
 * +-- line --+ CR LF +-- line --+ LF +- line -+      +- line -+  +- line -+  +- line -+
 * |  H E L O | 0D 0A |  Q U I T | 0A |  b y e |  ->  | "HELO" |, | "QUIT" |, | "bye"  |
 * +----------+-------+----------+----+--------+      +--------+  +--------+  +--------+
 * ```
 *
 * The last line needs no line ending: at the end of the stream the bytes
 * after the last `"\n"` are a last line, as Python yields the last line of a
 * file without a final newline (`emitUnterminated: false` makes them an
 * {@linkcode IncompleteFrameError} instead).
 *
 * Bytes that are not UTF-8 throw {@linkcode FrameSyntaxError}, as Python's
 * strict decoding and tokio's `LinesCodec` do, after the line has been
 * consumed, so a caller that catches it can read on from the next line;
 * `fatal: false` decodes them to U+FFFD instead.
 *
 * Lines are found by {@linkcode DelimiterCodec}, so the limits are the same:
 * `maxFrameLength` counts a line's bytes before the `"\n"` (a `"\r"` among
 * them), and `onTooLong: "discard"` skips a line that is too long.
 *
 * @module
 */

import type { ByteWindow } from "./byte_window.ts";
import type { ByteSink, Codec, FrameDecoder, FrameLimits, TooLongPolicy } from "./codec.ts";
import { DelimiterCodec } from "./delimiter.ts";
import { FrameSyntaxError } from "./errors.ts";
import { checkBoolean, resolveFrameLimits } from "./_frame_limits.ts";

/** Options for {@linkcode LinesCodec}. */
export interface LinesCodecOptions extends FrameLimits {
  /**
   * Whether bytes after the last `"\n"` at the end of the stream are a last
   * line (`true`) or an {@linkcode IncompleteFrameError} (`false`).
   *
   * @default {true}
   */
  emitUnterminated?: boolean;
  /**
   * Whether bytes that are not UTF-8 throw {@linkcode FrameSyntaxError}
   * (`true`) or decode to U+FFFD (`false`), as `TextDecoder`'s option of the
   * same name.
   *
   * @default {true}
   */
  fatal?: boolean;
}

const CODEC_NAME = "LinesCodec";
const CR = 0x0d;
// Up to this many bytes, a line is converted without TextDecoder when ASCII.
const SHORT_LINE = 64;

const utf8 = new TextEncoder();

/**
 * Lines of UTF-8 text ending with `"\n"` or `"\r\n"`; `encode` ends each line
 * with `"\n"`. See the module doc for the last line and invalid UTF-8.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(line,
 * sink)` writes a line. The settings are readable as fields.
 *
 * @example Read lines however they end
 * ```ts
 * import { decodeFrames, LinesCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new LinesCodec();
 * const wire = new TextEncoder().encode("HELO höst\r\nQUIT\nbye");
 * assertEquals(decodeFrames(codec, wire), ["HELO höst", "QUIT", "bye"]);
 * ```
 *
 * @example Write a line
 * ```ts
 * import { encodeFrame, LinesCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = encodeFrame(new LinesCodec(), "250 OK");
 * assertEquals(new TextDecoder().decode(bytes), "250 OK\n");
 * ```
 */
export class LinesCodec implements Codec<string> {
  /** The largest line, in bytes before the `"\n"`, decoded or encoded. */
  readonly maxFrameLength: number;
  /** What the decoder does with a line over `maxFrameLength`. */
  readonly onTooLong: TooLongPolicy;
  /** Whether bytes after the last `"\n"` are a last line at end of stream. */
  readonly emitUnterminated: boolean;
  /** Whether invalid UTF-8 throws rather than decoding to U+FFFD. */
  readonly fatal: boolean;

  // The line framing; this class adds the text.
  #delimited: DelimiterCodec;
  // Without `stream: true` a TextDecoder keeps no state between calls, so
  // every decoder of this codec shares it. `ignoreBOM` keeps a line that
  // starts with U+FEFF whole.
  #text: TextDecoder;

  /**
   * Makes a codec; every option is checked here, not on first use.
   *
   * @param options What to do with the last line and invalid UTF-8, and the limits.
   * @throws {TypeError} An option has the wrong type.
   * @throws {RangeError} An option is out of range.
   */
  constructor(options: LinesCodecOptions = {}) {
    // Checked here so that a message names this class.
    const { maxFrameLength, onTooLong } = resolveFrameLimits(CODEC_NAME, options);
    this.maxFrameLength = maxFrameLength;
    this.onTooLong = onTooLong;
    this.emitUnterminated = checkBoolean(
      CODEC_NAME,
      "emitUnterminated",
      options.emitUnterminated ?? true,
    );
    this.fatal = checkBoolean(CODEC_NAME, "fatal", options.fatal ?? true);
    this.#delimited = new DelimiterCodec({
      delimiters: "\n",
      maxFrameLength,
      onTooLong,
      emitUnterminated: this.emitUnterminated,
    });
    this.#text = new TextDecoder("utf-8", { fatal: this.fatal, ignoreBOM: true });
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example A line that arrives in two reads
   * ```ts
   * import { ByteWindow, LinesCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const decoder = new LinesCodec().decoder();
   * const input = new ByteWindow(new TextEncoder().encode("hi\r"));
   * assertEquals(decoder.decode(input), undefined);
   * input.reset(new TextEncoder().encode("hi\r\nthere"));
   * assertEquals(decoder.decode(input), "hi");
   * assertEquals(decoder.decode(input), undefined);
   * assertEquals(decoder.decodeEof(input), "there");
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws {@linkcode FrameTooLongError}
   * for a line over `maxFrameLength` (unless `onTooLong` is `"discard"`) and
   * {@linkcode FrameSyntaxError} for a line that is not UTF-8 (unless `fatal`
   * is false); its `decodeEof` throws {@linkcode IncompleteFrameError} for an
   * unterminated last line when `emitUnterminated` is false.
   */
  decoder(): FrameDecoder<string> {
    return new LinesDecoder(this.#delimited.decoder(), this.#text);
  }

  /**
   * Writes one line, UTF-8 encoded, then `"\n"`.
   *
   * @example Encode a line
   * ```ts
   * import { encodeFrame, LinesCodec } from "@socketserver/core/framing";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const codec = new LinesCodec();
   * assertEquals(encodeFrame(codec, "é"), new Uint8Array([0xc3, 0xa9, 0x0a]));
   * assertThrows(() => encodeFrame(codec, "two\nlines"), TypeError);
   * ```
   *
   * @param line The line, without a line ending.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} The line's UTF-8 bytes exceed `maxFrameLength`.
   * @throws {TypeError} The line contains `"\n"` or ends with `"\r"`: the
   * decoder would not read it back as one line, the same.
   */
  encode(line: string, sink: ByteSink): void {
    if (line.endsWith("\r")) {
      throw new TypeError(
        `Cannot encode frame: the line ends with "\\r", which the decoder would strip`,
      );
    }
    // The delimiter codec refuses a "\n" inside the line.
    this.#delimited.encode(utf8.encode(line), sink);
  }
}

// Composition: the delimiter decoder finds the line, this one decodes text.
class LinesDecoder implements FrameDecoder<string> {
  #lines: FrameDecoder<Uint8Array>;
  #text: TextDecoder;

  constructor(lines: FrameDecoder<Uint8Array>, text: TextDecoder) {
    this.#lines = lines;
    this.#text = text;
  }

  decode(input: ByteWindow): string | undefined {
    const line = this.#lines.decode(input);
    return line === undefined ? undefined : this.#toText(line);
  }

  decodeEof(input: ByteWindow): string | undefined {
    const line = this.#lines.decodeEof(input);
    return line === undefined ? undefined : this.#toText(line);
  }

  // A "\r" before the "\n" is part of the line ending; one at the very end of
  // the stream too, as Python's universal newlines and tokio read it.
  #toText(line: Uint8Array): string {
    const length = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    const bytes = length === line.length ? line : line.subarray(0, length);
    // Fast path: a short ASCII line (most protocol lines) is built from its
    // char codes, twice as fast as a TextDecoder call at this size.
    if (length <= SHORT_LINE && isAscii(bytes)) {
      return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    try {
      return this.#text.decode(bytes);
    } catch {
      throw new FrameSyntaxError(`line of ${length} bytes is not valid UTF-8`);
    }
  }
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}
