/**
 * The stream handler: Python's `StreamRequestHandler`, with `rfile` and
 * `wfile` over the connection, plus framed reads and writes.
 *
 * @module
 */

import type { Codec } from "../framing/codec.ts";
import type { BufferedReader } from "../io/buffered_reader.ts";
import type { BufferedWriter } from "../io/buffered_writer.ts";
import { FramedConnection } from "../io/framed_connection.ts";
import { WriteTimeoutError } from "../io/errors.ts";
import { isPeerGone } from "../io/is_peer_gone.ts";
import { BaseRequestHandler } from "./base_request_handler.ts";

/**
 * A handler for one stream connection (TCP or Unix), with a buffered
 * reader `rfile` and a coalescing writer `wfile`.
 *
 * Replies written while frames are being handled leave in one `write` when
 * the handler next waits for input, when it returns, or on `wfile.flush()`;
 * a reply followed by no read is sent on the next turn of the event loop.
 *
 * **May be overridden**: `handle()` (Python's), or `handleFrame()` for the
 * frame loop; `setup()` and `finish()` (call `super`'s).
 * **For subclasses**: `rfile`, `wfile`, `readFrame()`, `frames()`,
 * `writeFrame()`, `sendFrame()`, and the settings below.
 *
 * Settings are class fields (override them in a subclass):
 * `timeout`, `idleTimeout`, `frameTimeout`, `writeTimeout`, `readBufferSize`,
 * `reuseReadBuffer`, `writeBufferSize`, `codec`.
 *
 * Limits: a misbehaving client costs the server its own connection only.
 * A frame is bounded in size by the codec's `maxFrameLength` (8 MiB by
 * default) and in time by `frameTimeout` (300 s), so a slowloris client is
 * closed; a silent one is closed after `idleTimeout` (off by default, as in
 * Python); a client that stops reading makes `wfile` writes wait once
 * `writeBufferSize` bytes are buffered, so server memory stays bounded,
 * and fail after `writeTimeout` when it is set (off by default). How many
 * handlers run at once is the server's `maxConnections` (10,000 by
 * default): a threading stream server runs one handler per connection, and
 * clients past the limit wait in the listen backlog. Each limit's error
 * ends `handle()`, goes to the server's `handleError()`, and the connection
 * is closed.
 *
 * For framed protocols, set `codec`. Every frame already received is
 * decoded before the socket is read again, and the replies to a batch leave
 * in one write. Two styles, side by side:
 *
 * | | `handleFrame(frame)` + `sendFrame(reply)` | `handle()`: `for await (… of this.frames())` + `await this.writeFrame(reply)` |
 * | --- | --- | --- |
 * | per frame | a plain call, no promise | a promise for the frame, one for the write |
 * | a frame is valid | during the call (copy a frame you keep: `frame.slice()`); the read buffer is reused | for good (unless `reuseReadBuffer`) |
 * | waiting | return a promise: the frames after it wait | `await` anything, anywhere |
 * | back-pressure | decoding pauses while `writeBufferSize` bytes wait | `writeFrame()` waits |
 * | pick it for | request/reply protocols, proxies, anything fast | a conversation read step by step |
 *
 * Measured in process (`bench/handler_bench.ts`, an echo of 64-byte length-prefixed
 * frames, default settings): a pipelined batch of 16 costs about 110 ns a frame with
 * `handleFrame` and 370 ns with `for await`, against 52 ns for a hand-written
 * loop that decodes inline (`bench/servers/raw_deno.ts`); one frame per read
 * (ping-pong) 360 ns and 860 ns against 200 ns; 256 KiB frames 20 µs and 45 µs
 * against 25 µs. Over sockets the difference shrinks to the table in
 * `bench/RESULTS.md`: the system calls dominate.
 *
 * `readFrame()` reads one frame at a time, for a protocol whose first
 * frames are special: read them in `handle()`, then `await super.handle()`
 * to run the frame loop.
 *
 * @typeParam Frame What `codec` decodes.
 * @typeParam Input What `codec` encodes.
 *
 * @example A frame handler: no promise per frame, one write per batch
 * ```ts
 * import { connect, LengthPrefixedCodec, StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new LengthPrefixedCodec();
 * class Reverse extends StreamRequestHandler<Uint8Array> {
 *   override codec = codec;
 *   override handleFrame(frame: Uint8Array) {
 *     this.sendFrame(frame.toReversed());
 *   }
 * }
 *
 * await using server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, Reverse);
 * const serving = server.serveForever();
 * {
 *   await using client = await connect(server.address, { codec });
 *   await client.sendAll([new Uint8Array([1, 2]), new Uint8Array([3, 4, 5])]);
 *   assertEquals(await client.receive(), new Uint8Array([2, 1]));
 *   assertEquals(await client.receive(), new Uint8Array([5, 4, 3]));
 * }
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @example Upper-case every line
 * ```ts
 * import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * class Upper extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const line of this.rfile.lines()) {
 *       await this.wfile.write(line.toUpperCase() + "\n");
 *     }
 *   }
 * }
 *
 * await using server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, Upper);
 * const serving = server.serveForever();
 * using conn = await Deno.connect(server.address);
 * await conn.write(new TextEncoder().encode("hello\n"));
 * const reply = new Uint8Array(6);
 * assertEquals(await conn.read(reply), 6);
 * assertEquals(new TextDecoder().decode(reply), "HELLO\n");
 * await server.shutdown();
 * await serving;
 * ```
 */
export class StreamRequestHandler<Frame = Uint8Array, Input = Frame>
  extends BaseRequestHandler<Deno.Conn, Deno.Addr> {
  /**
   * Seconds a read may wait for the client before it fails with
   * `ReadTimeoutError`; `null` waits forever (Python's default).
   *
   * @default {null}
   */
  timeout: number | null = null;
  /**
   * Seconds `rfile` may wait while nothing of the next frame (or chunk) has
   * arrived before it fails with `IdleTimeoutError`; `null` waits forever.
   * Off by default, as in Python: an idle connection pins little memory,
   * `maxConnections` bounds how many there are, and long-lived quiet
   * sessions (a chat, a console) are normal. Set it when idle clients
   * should make room for others.
   *
   * @default {null}
   */
  idleTimeout: number | null = null;
  /**
   * Seconds a frame may take to arrive once it has started (from the first
   * wait for the rest of it) before `readFrame()`, `frames()`,
   * `rfile.readline()`, `rfile.lines()` or `rfile.readExactly()` fails with
   * `FrameTimeoutError`; `null` sets no limit. This closes a slowloris
   * client (a byte now and then, never a whole frame), which the per-read
   * `timeout` does not. 300 s (as Node's `requestTimeout`) lets an 8 MiB
   * frame arrive at 28 KB/s; a frame that arrives in one read costs no timer.
   *
   * @default {300}
   */
  frameTimeout: number | null = 300;
  /**
   * Seconds a write may wait for a client that does not read before it
   * fails with `WriteTimeoutError`; `null` waits forever. It counts from
   * each `write` syscall, so a client that reads slowly but steadily is
   * never cut off. Off by default: memory is bounded without it (writes wait
   * once `writeBufferSize` bytes are buffered), and the timer it arms per
   * syscall costs about a fifth of small-request throughput. Set it (60 is
   * nginx's `send_timeout`) so that a client that stops reading gives its
   * connection back.
   *
   * @default {null}
   */
  writeTimeout: number | null = null;
  /**
   * The first size of `rfile`'s buffer, so also the most one `rfile.read()`
   * returns at first; it doubles while reads fill it (so an idle connection pins little).
   *
   * @default {256}
   */
  readBufferSize: number = 256;
  /**
   * Lets `rfile` reuse its buffer in `handle()`: frames and chunks are then
   * valid only until the next read, and large frames cost no allocation.
   * Set it in handlers that are done with each frame before reading the
   * next (an echo, a proxy); `wfile` copies or sends what it is given before
   * a write resolves, so writing a frame back is safe. The `handleFrame()`
   * loop always reuses the buffer (a frame lives for its call).
   *
   * @default {false}
   */
  reuseReadBuffer: boolean = false;
  /**
   * Bytes `wfile` buffers before a write waits for the socket.
   *
   * @default {65536}
   */
  writeBufferSize: number = 65536;
  /**
   * The framing used by `readFrame()`, `frames()` and `writeFrame()`.
   *
   * @default {undefined}
   */
  codec: Codec<Frame, Input> | undefined = undefined;
  /** The buffered reader; created by `setup()`. */
  rfile!: BufferedReader;
  /** The coalescing writer; created by `setup()`. */
  wfile!: BufferedWriter;

  #connection!: FramedConnection<Frame, Input>;

  /**
   * Creates `rfile` and `wfile` (one framed connection over `request`, with
   * `codec`). Call `super.setup()` when overriding.
   */
  override setup(): void {
    const connection = new FramedConnection<Frame, Input>(this.request, {
      codec: this.codec,
      owner: this.constructor.name,
      timeout: this.timeout,
      idleTimeout: this.idleTimeout,
      frameTimeout: this.frameTimeout,
      bufferSize: this.readBufferSize,
      reuseBuffer: this.reuseReadBuffer,
      highWaterMark: this.writeBufferSize,
      writeTimeout: this.writeTimeout,
    });
    this.#connection = connection;
    this.rfile = connection.reader;
    this.wfile = connection.writer;
  }

  /**
   * Serves the connection. By default: when `handleFrame()` is overridden,
   * calls it for every frame until the client closes; otherwise nothing
   * (as Python's). Override it to read and write at your own pace; call
   * `super.handle()` from an override to run the frame loop after a
   * greeting.
   *
   * @returns Resolves when the client has closed and every frame was handled.
   */
  override handle(): void | Promise<void> {
    if (this.handleFrame === StreamRequestHandler.prototype.handleFrame) return;
    return this.#connection.serve(this.handleFrame, this);
  }

  /**
   * Handles one frame; override it to serve a framed protocol with no
   * promise per frame. Called synchronously for every frame already
   * received, before the socket is read again; what `sendFrame()` writes
   * leaves in one write per batch. Return a promise only to wait (for a
   * database, say): the frames after it wait too. The frame is valid during
   * the call (until that promise settles): copy (`frame.slice()`) a frame
   * you keep. A throw ends the connection as a throw from `handle()` does;
   * replies already written are still sent. Default: nothing.
   *
   * @param _frame The frame.
   * @returns Nothing, or a promise the next frame waits for.
   */
  handleFrame(_frame: Frame): void | Promise<void> {}

  /**
   * Sends what `wfile` still holds and closes it. A client that has gone
   * away is not an error here (as in Python). After a `WriteTimeoutError`
   * the connection is closed at once: the timed-out write is still in
   * flight, and the server's half-close would wait behind it for as long as
   * the client does not read.
   */
  override async finish(): Promise<void> {
    try {
      await this.#connection?.close();
    } catch (error) {
      if (error instanceof WriteTimeoutError) {
        try {
          this.request.close();
        } catch (closeError) {
          if (!(closeError instanceof Deno.errors.BadResource)) throw closeError;
        }
      }
      if (!isPeerGone(error)) throw error;
    }
  }

  /**
   * Reads the next frame of `codec`.
   *
   * @returns The frame, or `null` when the client has closed on a frame boundary.
   * @throws {TypeError} No `codec` is set.
   * @throws {IncompleteFrameError} The client closed inside a frame.
   * @throws {FrameTooLongError} A frame exceeds the codec's limit.
   * @throws {FrameTimeoutError} The frame took longer than `frameTimeout`.
   * @throws {IdleTimeoutError} No frame started within `idleTimeout`.
   */
  readFrame(): Promise<Frame | null> {
    return this.#connection.readFrame();
  }

  /**
   * Iterates over frames until the client closes.
   *
   * @returns An async iterator of frames.
   * @throws {TypeError} No `codec` is set.
   */
  frames(): AsyncIterableIterator<Frame> {
    return this.#connection.frames();
  }

  /**
   * Encodes a frame into `wfile`; it is sent with the batch. Await it: past
   * `writeBufferSize` bytes buffered it waits for the client to read.
   *
   * @param frame The frame.
   * @throws {TypeError} No `codec` is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   */
  writeFrame(frame: Input): Promise<void> {
    return this.#connection.writeFrame(frame);
  }

  /**
   * Encodes a frame into `wfile` and returns at once, with no promise: the
   * write of `handleFrame()`, whose loop waits for a client that falls
   * behind. In `handle()`, prefer `await writeFrame()`.
   *
   * @param frame The frame.
   * @throws {TypeError} No `codec` is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   * @throws {Deno.errors.BrokenPipe} An earlier send failed: the client is gone.
   */
  sendFrame(frame: Input): void {
    this.#connection.sendFrame(frame);
  }
}
