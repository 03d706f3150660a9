/**
 * RESP2, the Redis serialization protocol: what `redis-cli`, every Redis
 * client library and `redis-benchmark` speak. {@linkcode RespCodec} decodes
 * commands and replies into {@linkcode RespValue}s and writes them back, so
 * a Redis-compatible server is a stream handler with this codec.
 *
 * A command is an array of bulk strings; each bulk string says its length,
 * so its bytes may hold anything, `\r\n` included:
 *
 * ```
 * +- array -+- bulk -+- bytes -+- bulk -+- bytes -+      +-- RespValue --------+
 * | *2 \r\n | $3 \r\n | GET \r\n| $3 \r\n | key \r\n|  ->  | [ GET, key ]        |
 * +---------+--------+---------+--------+---------+      +---------------------+
 *   2 elements  3 bytes            3 bytes              two Uint8Array views
 *
 * +OK\r\n  ->  "OK"      -ERR no\r\n  ->  RespError     :42\r\n  ->  42
 * $-1\r\n  ->  null      *-1\r\n     ->  null           *0\r\n  ->  []
 * ```
 *
 * A frame whose first byte is none of `* $ + - :` is an **inline command**,
 * one line as `telnet` or `redis-cli` in a pipe sends it, ended by `\n` or
 * `\r\n` and split on spaces with Redis's quoting rules (`"a b"`, `'it''s'`
 * and `"\x00"` escapes). It decodes to the same array of bulk strings as
 * the RESP form, and an empty line is skipped, as Redis does:
 *
 * ```
 * | SET a "b c" \r\n |  ->  [ SET, a, b c ]
 * ```
 *
 * ## Fast and bounded
 *
 * Bulk strings are views of the received bytes (no copy; the transport
 * never overwrites bytes a decoder consumed). Numbers are read from the
 * bytes. A frame stays in the transport's window until all of it has
 * arrived, and parsing resumes where it stopped, so a huge pipelined array
 * is read once, not again on every read. Every declared size is checked
 * before the decoder waits for the bytes it announces:
 *
 * | limit            | default   | bounds                                        |
 * | ---------------- | --------- | --------------------------------------------- |
 * | `maxFrameLength` | 8 MiB     | one bulk string (Redis allows 512 MB)         |
 * | `maxArrayLength` | 1,048,576 | one array's elements                          |
 * | `maxDepth`       | 32        | arrays inside arrays                          |
 * | `maxLineLength`  | 64 KiB    | an inline command, simple string or error     |
 *
 * A limit passed is a {@linkcode FrameTooLongError} naming it; a bad type
 * byte, number or line end a {@linkcode FrameSyntaxError}; a negative
 * length other than -1 an {@linkcode InvalidLengthError}. After any of them
 * the stream cannot be trusted: close the connection, as Redis does.
 *
 * ## Replies
 *
 * `encode` writes any value. A server's replies are a hot path too, so the
 * common ones have helpers that write straight into the sink, building no
 * value first: {@linkcode RespCodec.writeSimple}, `writeError`,
 * `writeInteger`, `writeBulk`, `writeNull` and `writeArrayHeader`.
 *
 * @module
 */

import type { ByteSink, Codec, FrameDecoder } from "./codec.ts";
import { DEFAULT_MAX_FRAME_LENGTH } from "./codec.ts";
import { FrameTooLongError } from "./errors.ts";
import { checkInteger } from "./_frame_limits.ts";
import { describeValue } from "./_describe.ts";
import { RespDecoder } from "./_resp_decoder.ts";
import {
  COLON,
  CR,
  DOLLAR,
  INT64_MAX,
  INT64_MIN,
  LF,
  MINUS,
  PLUS,
  STAR,
  ZERO,
} from "./_resp_bytes.ts";
import { RespError, type RespValue } from "./resp_value.ts";

/** Options for {@linkcode RespCodec}: its limits. */
export interface RespCodecOptions {
  /**
   * The longest bulk string, in bytes, decoded or encoded; checked on the
   * declared length, before its bytes are waited for.
   *
   * @default {8388608} (8 MiB; Redis's `proto-max-bulk-len` is 512 MB)
   */
  maxFrameLength?: number;
  /**
   * The most elements in one array. An array costs what arrives, not what
   * it declares (no slot is allocated ahead), so this bounds the work of one
   * frame: 1,048,576 elements is 8 MiB of slots, the scale of
   * `maxFrameLength`, and far beyond any real command.
   *
   * @default {1048576}
   */
  maxArrayLength?: number;
  /**
   * The most arrays inside one another (a command is 1 deep).
   *
   * @default {32}
   */
  maxDepth?: number;
  /**
   * The longest line: an inline command, a simple string or an error, in
   * bytes without its `\r\n`.
   *
   * @default {65536} (64 KiB, Redis's limit for inline commands)
   */
  maxLineLength?: number;
}

const CODEC_NAME = "RespCodec";
// Room for a header, a short reply or a short bulk string with its header.
const SCRATCH = 64;

const utf8 = new TextEncoder();
const CRLF = Uint8Array.of(CR, LF);
const NULL_BULK = utf8.encode("$-1\r\n");

/**
 * RESP2 frames: Redis commands and replies as {@linkcode RespValue}s. See
 * the module doc for the wire format, the inline commands and the limits.
 *
 * For callers: `decoder()` makes one decoder per connection; `encode(value,
 * sink)` writes any value; the `write*` helpers write the common replies
 * without building a value. The limits are readable as fields.
 *
 * @example Pipelined commands, as `redis-benchmark -P 16` sends them
 * ```ts
 * import { decodeFrames, RespCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const text = new TextEncoder();
 * const wire = text.encode("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n");
 * const commands = decodeFrames(new RespCodec(), wire);
 * assertEquals(commands, [[text.encode("PING")], [text.encode("GET"), text.encode("k")], [text.encode("PING")]]);
 * ```
 *
 * @example Replies written straight into a connection's writer
 * ```ts
 * import { type ByteSink, RespCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * let wire = "";
 * const sink: ByteSink = { write: (bytes) => wire += new TextDecoder().decode(bytes) };
 * const codec = new RespCodec();
 * codec.writeSimple(sink, "OK");
 * codec.writeInteger(sink, 42);
 * codec.writeBulk(sink, "hello");
 * codec.writeNull(sink);
 * codec.writeError(sink, "ERR unknown command");
 * assertEquals(wire, "+OK\r\n:42\r\n$5\r\nhello\r\n$-1\r\n-ERR unknown command\r\n");
 * ```
 */
export class RespCodec implements Codec<RespValue> {
  /** The longest bulk string decoded or encoded. */
  readonly maxFrameLength: number;
  /** The most elements in one array. */
  readonly maxArrayLength: number;
  /** The most arrays inside one another. */
  readonly maxDepth: number;
  /** The longest inline command, simple string or error. */
  readonly maxLineLength: number;

  // Headers and short replies are written through one scratch array, with
  // a view per length made up front: the sink copies what it is given, so
  // a reply costs no allocation.
  #scratch = new Uint8Array(SCRATCH);
  #views: Uint8Array[] = [];

  /**
   * Makes a codec; every option is checked here, not on first use.
   *
   * @param options The limits.
   * @throws {TypeError} An option is not a number.
   * @throws {RangeError} An option is not a safe integer of at least 0
   * (`maxFrameLength`) or 1 (the others).
   */
  constructor(options: RespCodecOptions = {}) {
    this.maxFrameLength = checkInteger(
      CODEC_NAME,
      "maxFrameLength",
      options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
      0,
    );
    this.maxArrayLength = checkInteger(
      CODEC_NAME,
      "maxArrayLength",
      options.maxArrayLength ?? 1024 * 1024,
      1,
    );
    this.maxDepth = checkInteger(CODEC_NAME, "maxDepth", options.maxDepth ?? 32, 1);
    this.maxLineLength = checkInteger(
      CODEC_NAME,
      "maxLineLength",
      options.maxLineLength ?? 64 * 1024,
      1,
    );
    for (let length = 0; length <= SCRATCH; length++) {
      this.#views.push(this.#scratch.subarray(0, length));
    }
  }

  /**
   * Makes a decoder for one connection.
   *
   * @example A command that arrives in two reads
   * ```ts
   * import { ByteWindow, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const wire = new TextEncoder().encode("*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n");
   * const decoder = new RespCodec().decoder();
   * const input = new ByteWindow(wire, 0, 12); // the first read ends inside the array
   * assertEquals(decoder.decode(input), undefined);
   * input.end = wire.length; // the rest arrives
   * assertEquals(decoder.decode(input), [wire.subarray(8, 12), wire.subarray(18, 20)]);
   * ```
   *
   * @returns A fresh decoder. Its `decode` throws {@linkcode FrameTooLongError}
   * for a limit passed, {@linkcode FrameSyntaxError} for bytes that break
   * the format and {@linkcode InvalidLengthError} for a negative length other
   * than -1; its `decodeEof` throws {@linkcode IncompleteFrameError} when
   * the stream ends inside a frame.
   */
  decoder(): FrameDecoder<RespValue> {
    return new RespDecoder(this);
  }

  /**
   * Writes one value. It is checked whole before a byte is written, so a
   * refused value leaves nothing half-written in the sink.
   *
   * @example A command, as a client sends it
   * ```ts
   * import { encodeFrame, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const set = ["SET", "key", "value"].map((word) => new TextEncoder().encode(word));
   * const wire = encodeFrame(new RespCodec(), set);
   * assertEquals(new TextDecoder().decode(wire), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
   * ```
   *
   * @param value The value: `null` is written as the null bulk string `$-1`.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} A bulk string, array, nesting or line passes its limit.
   * @throws {TypeError} A value is not a {@linkcode RespValue}, or a simple
   * string or error holds `\r` or `\n`.
   * @throws {RangeError} A number is not a safe integer, or a bigint not a
   * 64-bit integer.
   */
  encode(value: RespValue, sink: ByteSink): void {
    this.#check(value, 0);
    this.#write(value, sink);
  }

  /**
   * Writes a simple string reply: `+OK\r\n`.
   *
   * @example The reply to SET
   * ```ts
   * import { encodeFrame, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(encodeFrame(new RespCodec(), "OK"), new TextEncoder().encode("+OK\r\n"));
   * ```
   *
   * @param sink Where the bytes go.
   * @param text The text, without `\r` or `\n`.
   * @throws {TypeError} The text holds `\r` or `\n`.
   * @throws {FrameTooLongError} The text passes `maxLineLength`.
   */
  writeSimple(sink: ByteSink, text: string): void {
    this.#checkLine(text, "simple string");
    this.#writeLine(sink, PLUS, text);
  }

  /**
   * Writes an error reply: `-ERR unknown command\r\n`. By Redis convention
   * its first word is the error's kind.
   *
   * @example An unknown command
   * ```ts
   * import { type ByteSink, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const parts: string[] = [];
   * const sink: ByteSink = { write: (bytes) => parts.push(new TextDecoder().decode(bytes)) };
   * new RespCodec().writeError(sink, "ERR unknown command 'FOO'");
   * assertEquals(parts.join(""), "-ERR unknown command 'FOO'\r\n");
   * ```
   *
   * @param sink Where the bytes go.
   * @param message The text after `-`, without `\r` or `\n`.
   * @throws {TypeError} The message holds `\r` or `\n`.
   * @throws {FrameTooLongError} The message passes `maxLineLength`.
   */
  writeError(sink: ByteSink, message: string): void {
    this.#checkLine(message, "error");
    this.#writeLine(sink, MINUS, message);
  }

  /**
   * Writes an integer reply: `:42\r\n`.
   *
   * @example A counter
   * ```ts
   * import { encodeFrame, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(encodeFrame(new RespCodec(), -7), new TextEncoder().encode(":-7\r\n"));
   * assertEquals(encodeFrame(new RespCodec(), 2n ** 62n), new TextEncoder().encode(`:${2n ** 62n}\r\n`));
   * ```
   *
   * @param sink Where the bytes go.
   * @param value A safe integer, or a bigint within 64 bits.
   * @throws {RangeError} The number is not a safe integer, or the bigint
   * not a 64-bit integer.
   */
  writeInteger(sink: ByteSink, value: number | bigint): void {
    checkIntegerValue(value);
    this.#writeInteger(sink, value);
  }

  /**
   * Writes a bulk string reply: `$5\r\nhello\r\n`. A short one leaves in
   * one write, its header with it.
   *
   * @example A GET reply, from bytes or text
   * ```ts
   * import { encodeFrame, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const codec = new RespCodec();
   * assertEquals(encodeFrame(codec, new Uint8Array([1, 13, 10])), new Uint8Array([36, 51, 13, 10, 1, 13, 10, 13, 10]));
   * const parts: Uint8Array[] = [];
   * codec.writeBulk({ write: (bytes) => parts.push(bytes.slice()) }, "é");
   * assertEquals(new TextDecoder().decode(parts[0]), "$2\r\né\r\n");
   * ```
   *
   * @param sink Where the bytes go.
   * @param value The bytes (binary-safe), or text sent as UTF-8.
   * @throws {FrameTooLongError} The value passes `maxFrameLength`.
   */
  writeBulk(sink: ByteSink, value: Uint8Array | string): void {
    const bytes = typeof value === "string" ? utf8.encode(value) : value;
    this.#checkBulk(bytes);
    this.#writeBulk(sink, bytes);
  }

  /**
   * Writes the null bulk string, `$-1\r\n`: a GET of a missing key.
   *
   * @example A missing key
   * ```ts
   * import { encodeFrame, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(encodeFrame(new RespCodec(), null), new TextEncoder().encode("$-1\r\n"));
   * ```
   *
   * @param sink Where the bytes go.
   */
  writeNull(sink: ByteSink): void {
    sink.write(NULL_BULK);
  }

  /**
   * Writes an array's header, `*3\r\n`; its elements follow, each by its
   * own write (an LRANGE reply streamed from a list).
   *
   * @example Two bulk strings
   * ```ts
   * import { type ByteSink, decodeFrames, RespCodec } from "@socketserver/core/framing";
   * import { assertEquals } from "@std/assert";
   *
   * const parts: number[] = [];
   * const sink: ByteSink = { write: (bytes) => parts.push(...bytes) };
   * const codec = new RespCodec();
   * codec.writeArrayHeader(sink, 2);
   * codec.writeBulk(sink, "a");
   * codec.writeBulk(sink, "b");
   * assertEquals(decodeFrames(codec, new Uint8Array(parts)), [[new Uint8Array([97]), new Uint8Array([98])]]);
   * ```
   *
   * @param sink Where the bytes go.
   * @param length How many elements follow.
   * @throws {FrameTooLongError} `length` passes `maxArrayLength`.
   * @throws {RangeError} `length` is not a non-negative integer.
   */
  writeArrayHeader(sink: ByteSink, length: number): void {
    this.#checkArrayLength(length);
    sink.write(this.#views[this.#numberLine(STAR, length)]);
  }

  // Everything `#write` would refuse, found before a byte is written.
  #check(value: RespValue, depth: number): void {
    if (value === null) {
      return;
    } else if (value instanceof Uint8Array) {
      this.#checkBulk(value);
    } else if (typeof value === "string") {
      this.#checkLine(value, "simple string");
    } else if (typeof value === "number" || typeof value === "bigint") {
      checkIntegerValue(value);
    } else if (value instanceof RespError) {
      this.#checkLine(value.message, "error");
    } else if (Array.isArray(value)) {
      if (depth === this.maxDepth) {
        throw new FrameTooLongError(
          depth + 1,
          this.maxDepth,
          "encode",
          "maxDepth",
          "nesting depth",
        );
      }
      this.#checkArrayLength(value.length);
      for (const element of value) this.#check(element, depth + 1);
    } else {
      throw new TypeError(`Cannot encode RESP value: got ${describeValue(value)}`);
    }
  }

  #write(value: RespValue, sink: ByteSink): void {
    if (value === null) {
      sink.write(NULL_BULK);
    } else if (value instanceof Uint8Array) {
      this.#writeBulk(sink, value);
    } else if (typeof value === "string") {
      this.#writeLine(sink, PLUS, value);
    } else if (typeof value === "number" || typeof value === "bigint") {
      this.#writeInteger(sink, value);
    } else if (value instanceof RespError) {
      this.#writeLine(sink, MINUS, value.message);
    } else {
      sink.write(this.#views[this.#numberLine(STAR, value.length)]);
      for (const element of value) this.#write(element, sink);
    }
  }

  #checkLine(text: string, what: string): void {
    if (text.includes("\r") || text.includes("\n")) {
      throw new TypeError(`Cannot encode ${what}: it holds "\\r" or "\\n"; send a bulk string`);
    }
    // A UTF-16 unit is at most 3 bytes of UTF-8: count exactly only when it matters.
    if (text.length * 3 > this.maxLineLength) {
      const length = utf8.encode(text).length;
      if (length > this.maxLineLength) {
        throw new FrameTooLongError(
          length,
          this.maxLineLength,
          "encode",
          "maxLineLength",
          "line length",
        );
      }
    }
  }

  #checkBulk(bytes: Uint8Array): void {
    if (bytes.length > this.maxFrameLength) {
      throw new FrameTooLongError(bytes.length, this.maxFrameLength, "encode");
    }
  }

  #checkArrayLength(length: number): void {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(
        `Cannot encode array: length must be a non-negative integer, got ${length}`,
      );
    }
    if (length > this.maxArrayLength) {
      throw new FrameTooLongError(
        length,
        this.maxArrayLength,
        "encode",
        "maxArrayLength",
        "array length",
      );
    }
  }

  // `<type><text>\r\n`, the text checked.
  #writeLine(sink: ByteSink, type: number, text: string): void {
    const scratch = this.#scratch;
    // Fast path: short ASCII (`OK`, `PONG`, `ERR ...`) through the scratch
    // bytes, without an encoder call or an allocation.
    if (text.length <= SCRATCH - 3) {
      scratch[0] = type;
      let at = 1;
      for (; at <= text.length; at++) {
        const code = text.charCodeAt(at - 1);
        if (code >= 0x80) break;
        scratch[at] = code;
      }
      if (at === text.length + 1) {
        scratch[at] = CR;
        scratch[at + 1] = LF;
        sink.write(this.#views[at + 2]);
        return;
      }
    }
    const bytes = utf8.encode(text);
    const line = new Uint8Array(bytes.length + 3);
    line[0] = type;
    line.set(bytes, 1);
    line[bytes.length + 1] = CR;
    line[bytes.length + 2] = LF;
    sink.write(line);
  }

  #writeInteger(sink: ByteSink, value: number | bigint): void {
    if (typeof value === "number") {
      sink.write(this.#views[this.#numberLine(COLON, value)]);
    } else {
      // A bigint: rare, by its text.
      this.#writeLine(sink, COLON, value.toString());
    }
  }

  #writeBulk(sink: ByteSink, bytes: Uint8Array): void {
    const length = bytes.length;
    const header = this.#numberLine(DOLLAR, length);
    // Fast path: a short value leaves with its header in one write.
    if (header + length + 2 <= SCRATCH) {
      const scratch = this.#scratch;
      scratch.set(bytes, header);
      scratch[header + length] = CR;
      scratch[header + length + 1] = LF;
      sink.write(this.#views[header + length + 2]);
      return;
    }
    sink.write(this.#views[header]);
    sink.write(bytes);
    sink.write(CRLF);
  }

  // Writes `<type><integer>\r\n` at the scratch's start; returns its length.
  // `%` and division, not bit operators: integers pass 2 ** 31.
  #numberLine(type: number, value: number): number {
    const scratch = this.#scratch;
    scratch[0] = type;
    let at = 1;
    if (value < 0) {
      scratch[at++] = MINUS;
      value = -value;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    for (let index = at + digits - 1; index >= at; index--) {
      scratch[index] = ZERO + (value % 10);
      value = Math.floor(value / 10);
    }
    at += digits;
    scratch[at] = CR;
    scratch[at + 1] = LF;
    return at + 2;
  }
}

function checkIntegerValue(value: number | bigint): void {
  if (
    typeof value === "number"
      ? !Number.isSafeInteger(value)
      : value < INT64_MIN || value > INT64_MAX
  ) {
    throw new RangeError(
      `Cannot encode integer: ${value} is not ${
        typeof value === "number" ? "a safe integer (pass a bigint)" : "a 64-bit integer"
      }`,
    );
  }
}
