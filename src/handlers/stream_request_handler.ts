/**
 * The stream handler: Python's `StreamRequestHandler`, with `rfile` and
 * `wfile` over the connection, plus framed reads and writes.
 *
 * @module
 */

import type { Codec, FrameDecoder } from "../framing/codec.ts";
import { BufferedReader } from "../io/buffered_reader.ts";
import { BufferedWriter } from "../io/buffered_writer.ts";
import { WriteTimeoutError } from "../io/errors.ts";
import { isPeerGone } from "../io/is_peer_gone.ts";
import { BaseRequestHandler } from "./base_request_handler.ts";

/**
 * A handler for one stream connection (TCP or Unix), with a buffered
 * reader `rfile` and a coalescing writer `wfile`.
 *
 * Replies written while frames are being handled leave in one `write` when
 * the handler next waits for input, when it returns, or on `wfile.flush()`.
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
 * For framed protocols, set `codec` and use `readFrame()`, `frames()` and
 * `writeFrame()`: every frame already received is decoded before the socket
 * is read again.
 *
 * @typeParam Frame What `codec` decodes.
 * @typeParam Input What `codec` encodes.
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
   * Lets `rfile` reuse its buffer: frames and chunks are then valid only
   * until the next read, and large frames cost no allocation. Set it in
   * handlers that are done with each frame before reading the next (an
   * echo, a proxy); `wfile` copies or sends what it is given before a write
   * resolves, so writing a frame back is safe.
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

  #decoder: FrameDecoder<Frame> | undefined;

  /** Creates `rfile` and `wfile`. Call `super.setup()` when overriding. */
  override setup(): void {
    this.wfile = new BufferedWriter(this.request, {
      highWaterMark: this.writeBufferSize,
      writeTimeout: this.writeTimeout,
    });
    this.rfile = new BufferedReader(this.request, {
      timeout: this.timeout,
      idleTimeout: this.idleTimeout,
      frameTimeout: this.frameTimeout,
      bufferSize: this.readBufferSize,
      reuseBuffer: this.reuseReadBuffer,
      beforeWait: () => this.wfile.flush(),
    });
  }

  /**
   * Sends what `wfile` still holds and closes it. A client that has gone
   * away is not an error here (as in Python). After a `WriteTimeoutError`
   * the connection is closed at once: the timed-out write is still in
   * flight, and the server's half-close would wait behind it for as long as
   * the client does not read.
   */
  override async finish(): Promise<void> {
    try {
      await this.wfile?.close();
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
    return this.rfile.readFrame(this.#connectionDecoder());
  }

  /**
   * Iterates over frames until the client closes.
   *
   * @returns An async iterator of frames.
   * @throws {TypeError} No `codec` is set.
   */
  frames(): AsyncIterableIterator<Frame> {
    return this.rfile.frames(this.#connectionDecoder());
  }

  /**
   * Encodes a frame into `wfile`; it is sent with the batch.
   *
   * @param frame The frame.
   * @throws {TypeError} No `codec` is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   */
  writeFrame(frame: Input): Promise<void> {
    return this.wfile.writeFrame(this.#codec(), frame);
  }

  /** One decoder per connection, so `readFrame()` and `frames()` can be mixed. */
  #connectionDecoder(): FrameDecoder<Frame> {
    return this.#decoder ??= this.#codec().decoder();
  }

  #codec(): Codec<Frame, Input> {
    if (this.codec === undefined) {
      throw new TypeError(
        `Cannot read or write frames: ${this.constructor.name} has no codec (set the codec field)`,
      );
    }
    return this.codec;
  }
}
