/**
 * The framed connection: a reader, a writer and a codec over one transport,
 * as tokio-util's `Framed`. Stream handlers, datagram handlers (one datagram
 * at a time) and the framed client are each one of these.
 *
 * @module
 */

import type { Codec, FrameDecoder } from "../framing/codec.ts";
import { decodeFrames } from "../framing/decode_frames.ts";
import { holdWatchdog, releaseWatchdog } from "./_watchdog.ts";
import { BufferedReader, type BufferedReaderOptions, type ByteSource } from "./buffered_reader.ts";
import {
  BufferedWriter,
  type BufferedWriterOptions,
  type ByteDestination,
} from "./buffered_writer.ts";

/** Options for {@linkcode FramedConnection}: the codec, and the reader's and writer's settings. */
export interface FramedConnectionOptions<Frame, Input>
  extends Omit<BufferedReaderOptions, "beforeWait" | "writer">, BufferedWriterOptions {
  /**
   * The framing both sides speak. Without one, the connection is a buffered
   * byte stream (`reader`, `writer`) and every frame method throws a
   * `TypeError`.
   *
   * @default {undefined}
   */
  codec?: Codec<Frame, Input>;
  /**
   * Who owns the connection, named in the `TypeError` a frame method throws
   * when there is no codec (a handler passes its class name).
   *
   * @default {"FramedConnection"}
   */
  owner?: string;
}

/**
 * Where the frame loop of {@linkcode FramedConnection.serve} is:
 *
 * - `"framing"`: handing over the frames already buffered, one call each,
 *   with no promise and no socket read (the start state);
 * - `"reading"`: every frame buffered is handled and the replies are
 *   flushed; waiting for the peer;
 * - `"paused"`: the writer holds `highWaterMark` bytes or more (the
 *   back-pressure boundary); nothing more is decoded until the peer has
 *   taken them;
 * - `"ended"`: the peer closed on a frame boundary and every frame was
 *   handled (final);
 * - `"errored"`: a read, a frame, or the frame handler failed; the loop
 *   rejected with that error (final).
 *
 * ```
 *            frame buffered: handle it (sync)
 *              ┌──────┐
 *              v      │  writer past highWaterMark
 *   start ─> framing ─┴───────────────────────────> paused
 *            │   ^  ^                                 │
 *  none left │   │  └─────────── writer drained ──────┘
 *            v   │ bytes came
 *           reading ──── end of stream ────> ended
 *
 *   any failure ──> errored
 * ```
 */
export type FramedConnectionState = "framing" | "reading" | "paused" | "ended" | "errored";

/**
 * What {@linkcode FramedConnection.serve} calls for each frame. It returns
 * nothing to go on at once, or a promise: the frames after it then wait
 * until it settles.
 *
 * @typeParam Frame What the codec decodes.
 * @typeParam This What `this` is in the call.
 */
export type FrameHandler<Frame, This = unknown> = (
  this: This,
  frame: Frame,
) => void | Promise<void>;

/**
 * One framed connection: a {@linkcode BufferedReader} and a
 * {@linkcode BufferedWriter} over the same transport, a codec, and the
 * connection's one decoder. The reader flushes the writer each time it is
 * about to wait for the peer, so replies to a pipelined batch leave in one
 * write.
 *
 * Two ways to take frames in:
 *
 * - **Pull**: `readFrame()` or `for await (const frame of frames())`, with
 *   `await writeFrame(reply)`. Frames stay valid for good (unless the reader
 *   reuses its buffer); each costs a promise, and so does each write.
 * - **Push**: `serve(onFrame)` calls `onFrame` for every frame already
 *   buffered, synchronously, and reads again only when none is left.
 *   `sendFrame(reply)` appends to the outbound buffer with no promise; the
 *   batch leaves in one write when the loop is about to wait. A frame is a
 *   view of the read buffer, valid during the call (until the promise the
 *   call returned settles): the buffer is reused, so copy a frame you keep
 *   (`frame.slice()`). No promise per frame, and no allocation for a large
 *   one.
 *
 * Back-pressure: `serve` stops decoding while the writer holds
 * `highWaterMark` bytes or more, until the peer has taken them (see
 * {@linkcode FramedConnectionState}); `writeFrame()` waits at the same
 * threshold.
 *
 * The connection does not own its transport: closing the socket is the
 * owner's (the server, or {@linkcode FramedClient}), except when a deadline
 * (`idleTimeout`, `frameTimeout`, `writeTimeout`), the memory budget or a
 * drain ends the connection: the reader or writer closes it then, which ends
 * the read or write in flight. `close()` releases the reader, the writer and
 * the process-wide watchdog they share.
 *
 * @typeParam Frame What the codec decodes.
 * @typeParam Input What the codec encodes.
 *
 * @example Echo every line of a connection, batch by batch
 * ```ts
 * import { FramedConnection, LinesCodec } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = (async () => {
 *   using conn = await listener.accept();
 *   const connection = new FramedConnection(conn, { codec: new LinesCodec() });
 *   await connection.serve((line) => connection.sendFrame(line.toUpperCase()));
 *   await connection.close();
 * })();
 *
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * await client.write(new TextEncoder().encode("a\nb\n"));
 * await client.closeWrite();
 * const reply = new Uint8Array(4);
 * assertEquals(await client.read(reply), 4);
 * assertEquals(new TextDecoder().decode(reply), "A\nB\n");
 * await serving;
 * ```
 */
export class FramedConnection<Frame, Input = Frame> {
  /** The buffered reader (a stream handler's `rfile`). */
  readonly reader: BufferedReader;
  /** The coalescing writer (a stream handler's `wfile`). */
  readonly writer: BufferedWriter;
  /** The framing; read when the first frame is read or written. */
  codec: Codec<Frame, Input> | undefined;

  readonly #owner: string;
  #decoder: FrameDecoder<Frame> | undefined;
  #state: FramedConnectionState = "framing";
  /** Whether this connection holds the watchdog (it has a deadline or a drain), until `close()`. */
  #holdsWatchdog: boolean;

  /**
   * Wraps a transport; nothing is read or written until asked.
   *
   * @param transport The connection (`Deno.Conn`, or any reader and writer).
   * @param options The codec, and the reader's and writer's settings.
   * @throws {RangeError} A reader or writer setting is out of range.
   */
  constructor(
    transport: ByteSource & ByteDestination,
    options: FramedConnectionOptions<Frame, Input> = {},
  ) {
    this.codec = options.codec;
    this.#owner = options.owner ?? "FramedConnection";
    const writer = new BufferedWriter(transport, {
      highWaterMark: options.highWaterMark,
      writeTimeout: options.writeTimeout,
    });
    this.writer = writer;
    this.reader = new BufferedReader(transport, {
      timeout: options.timeout,
      idleTimeout: options.idleTimeout,
      frameTimeout: options.frameTimeout,
      bufferSize: options.bufferSize,
      reuseBuffer: options.reuseBuffer,
      // The reader flushes the writer before each wait: replies to a batch leave in one write.
      writer,
      draining: options.draining,
      memoryBudget: options.memoryBudget,
    });
    // Its reader and writer stay on the watchdog's list between waits: no push per wait.
    this.#holdsWatchdog = options.timeout != null || options.idleTimeout != null ||
      options.frameTimeout != null || options.writeTimeout != null ||
      options.draining !== undefined;
    if (this.#holdsWatchdog) holdWatchdog();
  }

  /**
   * Where `serve()`'s frame loop is (see {@linkcode FramedConnectionState}).
   *
   * @returns The state.
   */
  get state(): FramedConnectionState {
    return this.#state;
  }

  /**
   * Reads the next frame.
   *
   * @returns The frame, or `undefined` when the peer has closed on a frame
   * boundary (not `null`: a codec may decode `null`, as RESP's nil does).
   * @throws {TypeError} No codec is set.
   * @throws {IncompleteFrameError} The peer closed inside a frame.
   * @throws {FrameTooLongError} A frame exceeds the codec's limit.
   * @throws {FrameTimeoutError} The frame took longer than `frameTimeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   */
  readFrame(): Promise<Frame | undefined> {
    try {
      return this.reader.readFrame(this.#connectionDecoder());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Iterates over frames until the peer closes.
   *
   * @returns An async iterator of frames.
   * @throws {TypeError} No codec is set.
   */
  frames(): AsyncIterableIterator<Frame> {
    return this.reader.frames(this.#connectionDecoder());
  }

  /**
   * Encodes a frame into the writer; it leaves with the batch. Waits only
   * when `highWaterMark` bytes are buffered, until the peer has taken them.
   *
   * @param frame The frame.
   * @throws {TypeError} No codec is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   */
  writeFrame(frame: Input): Promise<void> {
    const codec = this.codec;
    if (codec === undefined) return Promise.reject(this.#noCodec());
    return this.writer.writeFrame(codec, frame);
  }

  /**
   * Encodes a frame into the writer and returns at once, with no promise;
   * it leaves with the batch. The write for `serve()`'s frame handlers,
   * whose loop applies the back-pressure: elsewhere, prefer
   * `await writeFrame()`, which waits when the peer falls behind.
   *
   * @param frame The frame.
   * @throws {TypeError} No codec is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   * @throws {Deno.errors.BrokenPipe} An earlier send failed.
   */
  sendFrame(frame: Input): void {
    const codec = this.codec;
    if (codec === undefined) throw this.#noCodec();
    this.writer.appendFrame(codec, frame);
  }

  /**
   * Decodes every frame of a buffer that ends on a frame boundary, such as
   * one datagram, with the connection's codec (and a decoder of its own).
   *
   * @param bytes The buffer.
   * @returns The frames, in order.
   * @throws {TypeError} No codec is set.
   * @throws {IncompleteFrameError} The buffer ends inside a frame.
   * @throws {FrameTooLongError} A frame exceeds the codec's limit.
   */
  decodeAll(bytes: Uint8Array): Frame[] {
    const codec = this.codec;
    if (codec === undefined) throw this.#noCodec();
    return decodeFrames(codec, bytes);
  }

  /**
   * The frame loop: calls `onFrame` for each frame until the peer closes.
   * Every frame already buffered is handed over synchronously; the socket is
   * read only when none is left, after the replies are flushed. When
   * `onFrame` returns a promise, the frames after it wait until it settles.
   * While the writer holds `highWaterMark` bytes or more, nothing more is
   * decoded until the peer has taken them.
   *
   * The read buffer is reused from the first call on: a frame is valid
   * during its call (until the promise the call returned settles); copy
   * (`frame.slice()`) a frame you keep. Frames read before stay valid.
   *
   * @param onFrame Called with each frame.
   * @param thisArg What `this` is in `onFrame` (as `Array.prototype.forEach`
   * takes it), so that a method can be passed without a closure:
   * `connection.serve(this.handleFrame, this)`.
   * @returns Resolves at end of stream, once every frame was handled.
   * @throws {TypeError} No codec is set.
   * @throws {IncompleteFrameError} The peer closed inside a frame.
   * @throws {FrameTooLongError} A frame exceeds the codec's limit.
   * @throws {FrameTimeoutError} A frame took longer than `frameTimeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   * @throws {FrameMemoryError} The memory budget closed the connection.
   * @throws {Error} What `onFrame` threw: the loop stops there; what it
   * wrote before is still in the writer, for `close()` to send.
   */
  async serve<This>(onFrame: FrameHandler<Frame, This>, thisArg?: This): Promise<void> {
    const reader = this.reader;
    const writer = this.writer;
    try {
      const decoder = this.#connectionDecoder();
      // A frame lives for its call: the read buffer can be reused from here on.
      reader.reuseBuffer = true;
      // The loop flushes before each wait: replies need no safety flush while it runs.
      writer.cork();
      let atEnd = false;
      for (;;) {
        this.#state = "framing";
        // Fast path: a frame already buffered costs no promise and no socket read
        // (at end of stream: the decoder's last frames, if any).
        const frame = reader.decodeBuffered(decoder);
        if (frame === undefined) {
          if (atEnd) {
            this.#state = "ended";
            return;
          }
          this.#state = "reading";
          // Flushes the batch's replies and reads: one write and one read per batch.
          const more = reader.readMore();
          // While the loop waits, writes from elsewhere (a timer, another connection) need it.
          writer.uncork();
          atEnd = !(await more);
          writer.cork();
          continue;
        }
        const pending = onFrame.call(thisArg as This, frame);
        if (pending !== undefined) {
          // The escape hatch: the next frame waits for this one.
          writer.uncork();
          await pending;
          writer.cork();
        }
        // The back-pressure boundary: decode nothing more until the peer catches up.
        if (writer.buffered >= writer.highWaterMark) {
          this.#state = "paused";
          await writer.flush();
        }
      }
    } catch (error) {
      this.#state = "errored";
      throw error;
    } finally {
      writer.uncork();
    }
  }

  /**
   * Sends everything buffered and waits until the transport has taken it.
   *
   * @throws {WriteTimeoutError} The peer did not read within `writeTimeout`.
   */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Flushes and closes the writer (see {@linkcode BufferedWriter.close}),
   * then closes the reader (see {@linkcode BufferedReader.close}); the
   * transport stays open for its owner to close.
   *
   * @throws {WriteTimeoutError} The buffered bytes could not be sent in time.
   */
  async close(): Promise<void> {
    try {
      await this.writer.close();
    } finally {
      this.reader.close();
      if (this.#holdsWatchdog) {
        this.#holdsWatchdog = false;
        releaseWatchdog();
      }
    }
  }

  /** One decoder per connection, so `readFrame()`, `frames()` and `serve()` can be mixed. */
  #connectionDecoder(): FrameDecoder<Frame> {
    if (this.#decoder !== undefined) return this.#decoder;
    const codec = this.codec;
    if (codec === undefined) throw this.#noCodec();
    return this.#decoder = codec.decoder();
  }

  #noCodec(): TypeError {
    return new TypeError(
      `Cannot read or write frames: ${this.#owner} has no codec (set the codec field)`,
    );
  }
}
