/**
 * The stream handler: Python's `StreamRequestHandler`, with `rfile` and
 * `wfile` over the connection, plus framed reads and writes.
 *
 * @module
 */

import type { Codec, FrameDecoder } from "../framing/codec.ts";
import { BufferedReader } from "../io/buffered_reader.ts";
import { BufferedWriter } from "../io/buffered_writer.ts";
import { isPeerGone } from "../io/peer_gone.ts";
import { BaseRequestHandler } from "./base_request_handler.ts";

/**
 * A handler for one stream connection (TCP or Unix), with a buffered
 * reader `rfile` and a coalescing writer `wfile`.
 *
 * Replies written while frames are being handled leave in one `write` when
 * the handler next waits for input, when it returns, or on `wfile.flush()`.
 *
 * Settings are class fields (override them in a subclass):
 * `timeout`, `writeTimeout`, `readBufferSize`, `reuseReadBuffer`, `writeBufferSize`,
 * `codec`.
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
 * import assert from "node:assert/strict";
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
 * assert.equal(await conn.read(reply), 6);
 * assert.equal(new TextDecoder().decode(reply), "HELLO\n");
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
   * Seconds a write may wait for a client that does not read before it
   * fails with `WriteTimeoutError`; `null` waits forever.
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
      bufferSize: this.readBufferSize,
      reuseBuffer: this.reuseReadBuffer,
      beforeWait: () => this.wfile.flush(),
    });
  }

  /**
   * Sends what `wfile` still holds and closes it. A client that has gone
   * away is not an error here (as in Python).
   */
  override async finish(): Promise<void> {
    try {
      await this.wfile?.close();
    } catch (error) {
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
