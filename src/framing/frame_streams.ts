/**
 * Web Streams adapters: any codec as a `TransformStream`, for code that
 * already speaks streams.
 *
 * ```
 * conn.readable ──> FrameDecoderStream(codec) ──> frame, frame, …
 * frame, frame, … ──> FrameEncoderStream(codec) ──> conn.writable
 * ```
 *
 * They are an adapter, not the fast path: a server's handlers read through
 * the connection's reader, which decodes from the buffer it reads into.
 * {@linkcode FrameDecoderStream} does what that reader does over chunks: it
 * decodes every complete frame of a chunk, keeps an unfinished tail in a
 * buffer, and at the end of the stream asks the codec for a last frame. A
 * codec error errors the stream.
 *
 * @module
 */

import { concat } from "@std/bytes/concat";
import { ByteWindow } from "./byte_window.ts";
import type { ByteSink, Codec, FrameDecoder } from "./codec.ts";

// A tail buffer larger than this is let go once it is empty, so an idle
// stream does not keep the memory of its largest frame.
const RETAINED_BUFFER = 64 * 1024;
const MIN_BUFFER = 4096;
const EMPTY = new Uint8Array(0);

/**
 * Decodes a byte stream into frames with any codec: one decoder per stream.
 *
 * A chunk's complete frames are decoded straight from the chunk; only an
 * unfinished tail is copied, with the chunks after it, into a buffer the
 * stream fills and replaces by a larger one as a frame needs. Frames may be
 * views of a chunk or of that buffer; the stream never writes over bytes it
 * has decoded, so they stay valid (a chunk is the stream's once written, as
 * Web Streams have it: its producer must not change it). At the end of the
 * input, the codec's `decodeEof` gives a last frame, or errors the stream
 * when a frame is cut short.
 *
 * @example Lines from a byte stream
 * ```ts
 * import { FrameDecoderStream, LinesCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks = ["HELO\r\nQU", "IT\nbye"].map((text) => new TextEncoder().encode(text));
 * const lines = ReadableStream.from(chunks).pipeThrough(new FrameDecoderStream(new LinesCodec()));
 * assertEquals(await Array.fromAsync(lines), ["HELO", "QUIT", "bye"]);
 * ```
 *
 * @example A frame cut short errors the stream
 * ```ts
 * import { DelimiterCodec, FrameDecoderStream, IncompleteFrameError } from "@socketserver/core/framing";
 * import { assertRejects } from "@std/assert";
 *
 * const frames = ReadableStream.from([new Uint8Array([1, 10, 2])])
 *   .pipeThrough(new FrameDecoderStream(new DelimiterCodec()));
 * await assertRejects(() => Array.fromAsync(frames), IncompleteFrameError);
 * ```
 *
 * @typeParam Frame What the codec decodes.
 */
export class FrameDecoderStream<Frame> extends TransformStream<Uint8Array, Frame> {
  /**
   * Makes a stream that decodes with a fresh decoder of `codec`.
   *
   * @param codec The codec; its `decoder()` is called once.
   * @throws {FrameTooLongError} Into the stream, not from here: a frame
   * exceeds the codec's limit.
   * @throws {SyntaxError} Into the stream: the bytes do not follow the format.
   * @throws {IncompleteFrameError} Into the stream: the input ends inside a frame.
   */
  constructor(codec: Codec<Frame, never>) {
    super(new DecoderTransformer(codec.decoder()));
  }
}

/**
 * Encodes frames into a byte stream with any codec: one chunk per frame, so
 * a header and its payload leave in one write.
 *
 * All frames go to one sink, so codecs that follow a frame across several
 * inputs (the events of {@linkcode JsonHeaderStreamCodec}) check them as
 * over a connection.
 *
 * @example Length-prefixed JSON headers to bytes and back
 * ```ts
 * import { FrameDecoderStream, FrameEncoderStream, JsonHeaderCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new JsonHeaderCodec();
 * const frames = [{ header: { name: "a", file_size: 1 }, body: new Uint8Array([1]) }];
 * const back = ReadableStream.from(frames)
 *   .pipeThrough(new FrameEncoderStream(codec))
 *   .pipeThrough(new FrameDecoderStream(codec));
 * assertEquals(await Array.fromAsync(back), frames);
 * ```
 *
 * @typeParam Input What the codec encodes.
 */
export class FrameEncoderStream<Input> extends TransformStream<Input, Uint8Array> {
  /**
   * Makes a stream that encodes with `codec`.
   *
   * @param codec The codec.
   * @throws {FrameTooLongError} Into the stream, not from here: a frame
   * exceeds the codec's limit.
   * @throws {TypeError} Into the stream: the codec refuses a frame.
   */
  constructor(codec: Codec<unknown, Input>) {
    super(new EncoderTransformer(codec));
  }
}

// The decoder stream's state. A transformer object of its own, since
// TransformStream takes its callbacks before the subclass can set fields.
//
// Frames may be views of the bytes they were decoded from (`take()`), so the
// stream keeps the transport's rule: bytes once consumed are never written
// over. New bytes go after the last ones used, and when the buffer is full
// the pending bytes move to a new one; the old one lives on while frames do.
class DecoderTransformer<Frame> implements Transformer<Uint8Array, Frame> {
  #decoder: FrameDecoder<Frame>;
  // The unconsumed bytes: in a chunk, or in `#buffer`.
  #window = new ByteWindow(EMPTY);
  #buffer = EMPTY;
  // `#buffer[#used, length)` has never been handed to the decoder.
  #used = 0;

  constructor(decoder: FrameDecoder<Frame>) {
    this.#decoder = decoder;
  }

  transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Frame>): void {
    const window = this.#window;
    if (window.start === window.end) {
      // Fast path: nothing pending, so decode from the chunk itself, which is
      // ours once enqueued: no copy, and frames are views of it.
      window.reset(chunk);
    } else {
      this.#append(chunk);
    }
    this.#drain(controller);
    if (window.start === window.end) this.#release();
  }

  flush(controller: TransformStreamDefaultController<Frame>): void {
    const window = this.#window;
    // One frame per call, as tokio's decode_eof: ask again while bytes are
    // left and the decoder takes some.
    for (;;) {
      const start = window.start;
      const frame = this.#decoder.decodeEof(window);
      if (frame === undefined) break;
      controller.enqueue(frame);
      if (window.start === window.end || window.start === start) break;
    }
    this.#release();
  }

  #drain(controller: TransformStreamDefaultController<Frame>): void {
    const decoder = this.#decoder;
    const window = this.#window;
    for (;;) {
      const frame = decoder.decode(window);
      if (frame === undefined) return;
      controller.enqueue(frame);
    }
  }

  // Joins the pending bytes and `chunk` in the buffer: in place when they
  // are its last bytes and the chunk fits behind them, else copied to the
  // buffer's unused end, or to a new buffer twice the size they need.
  #append(chunk: Uint8Array): void {
    const window = this.#window;
    let buffer = this.#buffer;
    if (
      window.bytes === buffer && window.end === this.#used &&
      buffer.length - this.#used >= chunk.length
    ) {
      buffer.set(chunk, window.end);
      window.end += chunk.length;
      this.#used = window.end;
      return;
    }
    const pending = window.end - window.start;
    const needed = pending + chunk.length;
    let at = this.#used;
    if (buffer.length - at < needed) {
      buffer = this.#buffer = new Uint8Array(Math.max(MIN_BUFFER, 2 * needed));
      at = 0;
    }
    buffer.set(window.bytes.subarray(window.start, window.end), at);
    buffer.set(chunk, at + pending);
    window.reset(buffer, at, at + needed);
    this.#used = at + needed;
  }

  // Nothing pending: let go of the chunk, and of a large buffer, so an idle
  // stream keeps no more than a small buffer (frames keep what they view).
  #release(): void {
    if (this.#buffer.length > RETAINED_BUFFER) {
      this.#buffer = EMPTY;
      this.#used = 0;
    }
    this.#window.reset(EMPTY);
  }
}

// The encoder stream's state: one sink for the life of the stream.
class EncoderTransformer<Input> implements Transformer<Input, Uint8Array> {
  #codec: Codec<unknown, Input>;
  #parts: Uint8Array[] = [];
  #total = 0;
  #sink: ByteSink = {
    // A copy: encoders may reuse a scratch header between writes.
    write: (bytes) => {
      this.#parts.push(bytes.slice());
      this.#total += bytes.length;
    },
  };

  constructor(codec: Codec<unknown, Input>) {
    this.#codec = codec;
  }

  transform(frame: Input, controller: TransformStreamDefaultController<Uint8Array>): void {
    const parts = this.#parts;
    try {
      this.#codec.encode(frame, this.#sink);
      // Nothing written (an end event): no empty chunk. Fast path: one part
      // is already a copy of its own.
      if (this.#total > 0) controller.enqueue(parts.length === 1 ? parts[0] : concat(parts));
    } finally {
      parts.length = 0;
      this.#total = 0;
    }
  }
}
