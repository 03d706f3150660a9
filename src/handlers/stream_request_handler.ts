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
import { isPeerGone } from "../io/is_peer_gone.ts";
import { BaseRequestHandler, type HandlerServer } from "./base_request_handler.ts";
import { lingeringClose } from "./_lingering_close.ts";

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
 * **For subclasses**: `rfile`, `wfile`, `connection`, `readFrame()`,
 * `frames()`, `writeFrame()`, `sendFrame()`, and the settings below.
 *
 * Settings are class fields (override them in a subclass):
 * `timeout`, `idleTimeout`, `frameTimeout`, `writeTimeout`, `readBufferSize`,
 * `reuseReadBuffer`, `writeBufferSize`, `codec`.
 *
 * Types: `clientAddress` is a `Deno.NetAddr` by default, as a TCP or TLS
 * server gives it (`this.clientAddress.port` needs no annotation). A Unix
 * server gives a `Deno.UnixAddr` (a `Deno.NetAddr` behind a PROXY header):
 * declare it as the third type argument, `StreamRequestHandler<Uint8Array,
 * Uint8Array, Deno.UnixAddr>`, or `Deno.Addr` for a handler that reads it
 * on both (a TCP server refuses, at compile time, a handler whose address
 * type cannot hold a `Deno.NetAddr`). `this.server` is typed by one line:
 * `declare readonly server: MyServer;`.
 *
 * Limits: a misbehaving client costs the server its own connection only,
 * and every limit is on by default. In size: a frame is bounded by the
 * codec's `maxFrameLength` (8 MiB by default), and all connections'
 * frames together by the server's `maxFrameMemory` (256 MiB), past which
 * the largest holders are closed with `FrameMemoryError`. In time: no byte
 * for `idleTimeout` (60 s), between frames or in the middle of one, closes
 * the connection; a frame not whole within `frameTimeout` (300 s) too (a
 * slowloris client); a client that does not read makes `wfile` writes wait
 * once `writeBufferSize` bytes are buffered, and is closed after
 * `writeTimeout` (60 s). On a graceful stop (`server.draining`) a
 * connection waiting for its next frame is closed at once; one in the
 * middle of a frame finishes it. How many handlers run at once is the
 * server's `maxConnections` (10,000 by default): a threading stream server
 * runs one handler per connection, and clients past the limit wait in the
 * listen backlog. Each limit's error ends `handle()`, goes to the server's
 * `handleError()`, and the connection is closed.
 *
 * Python → here: `rfile.read()` returns one chunk, as `socket.recv()`
 * (`rfile.readAll()` reads to end of stream, bounded); `rfile.readline()`
 * returns a `string` without its newline (`rfile.readlineBytes()` is
 * Python's bytes line); `wfile` is buffered (flushed when the handler
 * waits or returns); `timeout` applies to reads only (`writeTimeout` is
 * its write side); `connection` is `request`, as in Python.
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
export class StreamRequestHandler<
  Frame = Uint8Array,
  Input = Frame,
  ClientAddress extends Deno.Addr = Deno.NetAddr,
> extends BaseRequestHandler<Deno.Conn, ClientAddress> {
  /**
   * Python's socket timeout, for reads: seconds one read may wait before it
   * fails with `ReadTimeoutError`. The connection stays open (the late
   * bytes go to the next read), so a handler may catch it and go on; one
   * that does not is ended, as in Python. `null`: no such limit (Python's
   * default); `idleTimeout` still bounds every wait. It cannot outlast
   * `idleTimeout`, which closes.
   *
   * @default {null}
   */
  declare timeout: number | null;
  /**
   * Seconds a wait for the client may go without a byte, between frames or
   * in the middle of one: then the connection is closed with
   * `IdleTimeoutError`. 60 s as nginx's `client_body_timeout`: a silent or
   * vanished client gives its connection back within a minute. Set it
   * longer (or `null`, never) for quiet interactive sessions (a chat, a
   * console, a pooled Redis client).
   *
   * @default {60}
   */
  declare idleTimeout: number | null;
  /**
   * Seconds a frame may take to arrive whole once its first byte is here:
   * then `readFrame()`, `frames()`, `handleFrame()`'s loop,
   * `rfile.readline()`, `rfile.lines()` or `rfile.readExactly()` fails with
   * `FrameTimeoutError` and the connection is closed. It closes a
   * slowloris client (a byte now and then, never a whole frame), which
   * `idleTimeout` does not. 300 s (as Node's `requestTimeout`) lets an
   * 8 MiB frame arrive at 28 KB/s. `null` sets no limit.
   *
   * @default {300}
   */
  declare frameTimeout: number | null;
  /**
   * Seconds one write may wait for a client that does not read: then it
   * fails with `WriteTimeoutError` and the connection is closed. It counts
   * from each `write` syscall, so a client that reads slowly but steadily
   * is never cut off. 60 s as nginx's `send_timeout`. It arms no timer:
   * one watchdog for the process keeps every deadline. `null` waits forever
   * (memory stays bounded: writes wait once `writeBufferSize` bytes are
   * buffered).
   *
   * @default {60}
   */
  declare writeTimeout: number | null;
  /**
   * The first size of `rfile`'s buffer, so also the most one `rfile.read()`
   * returns at first; it doubles while reads fill it (so an idle connection pins little).
   *
   * @default {256}
   */
  declare readBufferSize: number;
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
  declare reuseReadBuffer: boolean;
  /**
   * Bytes `wfile` buffers before a write waits for the socket.
   *
   * @default {65536}
   */
  declare writeBufferSize: number;
  /**
   * The framing used by `readFrame()`, `frames()` and `writeFrame()`.
   *
   * @default {undefined}
   */
  declare codec: Codec<Frame, Input> | undefined;

  /** `rfile`, `wfile` and `codec` over the connection; made by `setup()`. */
  #connection: FramedConnection<Frame, Input> | undefined;

  /**
   * Called by the server; a subclass rarely needs its own constructor
   * (use `setup()`). A handler with the default address type takes any
   * address, so that one handler runs on TCP and Unix servers alike; one
   * that declares `Deno.UnixAddr` takes only that, so handing it to a TCP
   * server is a type error ("Type 'NetAddr' is not assignable to type
   * 'UnixAddr'": declare `Deno.Addr` to serve both).
   *
   * @param request The connection.
   * @param clientAddress The peer's address.
   * @param server The server running this handler.
   */
  constructor(
    request: Deno.Conn,
    clientAddress: ClientAddress extends Deno.NetAddr ? Deno.Addr : ClientAddress,
    server: HandlerServer,
  ) {
    super(request, clientAddress as ClientAddress, server);
  }

  /**
   * The buffered reader over the connection (Python's `rfile`).
   *
   * @returns The reader.
   * @throws {TypeError} `setup()` was overridden without calling `super.setup()`.
   */
  get rfile(): BufferedReader {
    return this.#framed("rfile").reader;
  }

  /**
   * The coalescing writer over the connection (Python's `wfile`).
   *
   * @returns The writer.
   * @throws {TypeError} `setup()` was overridden without calling `super.setup()`.
   */
  get wfile(): BufferedWriter {
    return this.#framed("wfile").writer;
  }

  /**
   * The connection: `request` under Python's other name for it.
   *
   * @returns `request`.
   */
  get connection(): Deno.Conn {
    return this.request;
  }

  /**
   * Creates `rfile` and `wfile` (one framed connection over `request`, with
   * `codec`). Call `super.setup()` when overriding: without it, the first
   * use of `rfile` or `wfile` throws a `TypeError` that says so.
   */
  override setup(): void {
    const server = this.server;
    this.#connection = new FramedConnection<Frame, Input>(this.request, {
      codec: this.codec,
      owner: this.constructor.name,
      timeout: this.timeout,
      idleTimeout: this.idleTimeout,
      frameTimeout: this.frameTimeout,
      bufferSize: this.readBufferSize,
      reuseBuffer: this.reuseReadBuffer,
      highWaterMark: this.writeBufferSize,
      writeTimeout: this.writeTimeout,
      // On a graceful stop, a wait for a new frame ends: idle connections close at once.
      draining: server.draining,
      memoryBudget: server.frameMemory,
    });
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
    return this.#framed("rfile").serve(this.handleFrame, this);
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
   * Sends what `wfile` still holds and closes `rfile` and `wfile`. A client
   * that has gone away is not an error here (as in Python). When the client
   * may still be sending (the connection ends in the middle of a frame: a
   * bad frame in a pipelined batch, say), the connection is half-closed and
   * what the client still sends is read and dropped until it closes (at
   * most 5 s and 1 MiB), as nginx's `lingering_close` does: closing with
   * unread bytes would reset the connection, and a reset makes the client
   * lose the replies it has not read yet. A client that closed first costs
   * nothing more.
   */
  override async finish(): Promise<void> {
    const connection = this.#connection;
    if (connection === undefined) return;
    let failure: unknown;
    try {
      await connection.flush();
      if (connection.reader.unreadInput) await lingeringClose(this.request);
    } catch (error) {
      failure = error;
    }
    try {
      await connection.close();
    } catch (error) {
      failure ??= error;
    }
    if (failure !== undefined && !isPeerGone(failure)) throw failure;
  }

  /**
   * Reads the next frame of `codec`.
   *
   * @returns The frame, or `undefined` when the client has closed on a frame
   * boundary (not `null`: a codec may decode `null`, as RESP's nil does).
   * @throws {TypeError} No `codec` is set.
   * @throws {IncompleteFrameError} The client closed inside a frame.
   * @throws {FrameTooLongError} A frame exceeds the codec's limit.
   * @throws {FrameTimeoutError} The frame took longer than `frameTimeout`.
   * @throws {IdleTimeoutError} No byte came within `idleTimeout`.
   */
  readFrame(): Promise<Frame | undefined> {
    return this.#framed("rfile").readFrame();
  }

  /**
   * Iterates over frames until the client closes.
   *
   * @returns An async iterator of frames.
   * @throws {TypeError} No `codec` is set.
   */
  frames(): AsyncIterableIterator<Frame> {
    return this.#framed("rfile").frames();
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
    return this.#framed("wfile").writeFrame(frame);
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
    this.#framed("wfile").sendFrame(frame);
  }

  /** The framed connection; a `TypeError` naming the override when `setup()` skipped `super`'s. */
  #framed(what: "rfile" | "wfile"): FramedConnection<Frame, Input> {
    const connection = this.#connection;
    if (connection !== undefined) return connection;
    throw new TypeError(
      `${what} is not set: ${this.constructor.name}.setup() did not call super.setup()`,
    );
  }
}

// The settings' defaults live on the prototype, not on each handler: a
// connection pays only for the settings its class or its setup() changes.
Object.assign(StreamRequestHandler.prototype, {
  timeout: null,
  idleTimeout: 60,
  frameTimeout: 300,
  writeTimeout: 60,
  readBufferSize: 256,
  reuseReadBuffer: false,
  writeBufferSize: 65536,
  codec: undefined,
});
