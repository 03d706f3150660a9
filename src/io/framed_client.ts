/**
 * A framed client: connect, then send and receive whole frames.
 *
 * @module
 */

import type { Codec } from "../framing/codec.ts";
import { IncompleteFrameError } from "../framing/errors.ts";
import type { BufferedReader } from "./buffered_reader.ts";
import type { BufferedWriter } from "./buffered_writer.ts";
import { FramedConnection } from "./framed_connection.ts";
import { isPeerGone } from "./is_peer_gone.ts";

/** Where to connect: TCP host and port, or a Unix socket path. */
export type ClientAddress = { hostname?: string; port: number } | { path: string };

/** Options for {@linkcode connect}. */
export interface ConnectOptions<Frame, Input> {
  /** The framing both sides speak. */
  codec: Codec<Frame, Input>;
  /**
   * Seconds `receive()` waits for the server before it fails with
   * `ReadTimeoutError`; `null` waits forever.
   *
   * @default {null}
   */
  timeout?: number | null;
  /**
   * TCP_NODELAY, so a small request is not held back by Nagle's algorithm.
   *
   * @default {true}
   */
  noDelay?: boolean;
}

/**
 * A connection that speaks in frames. Made by {@linkcode connect}.
 *
 * @typeParam Frame What the codec decodes.
 * @typeParam Input What the codec encodes.
 */
export class FramedClient<Frame, Input = Frame> implements AsyncIterable<Frame>, AsyncDisposable {
  /** The underlying connection. */
  readonly conn: Deno.Conn;
  /** The buffered reader over `conn`. */
  readonly rfile: BufferedReader;
  /** The coalescing writer over `conn`. */
  readonly wfile: BufferedWriter;

  readonly #connection: FramedConnection<Frame, Input>;

  /**
   * Wraps a connected `conn`; prefer {@linkcode connect}.
   *
   * @param conn The connection; the client owns it from here on.
   * @param codec The framing.
   * @param timeout Seconds `receive()` waits; `null` waits forever.
   */
  constructor(conn: Deno.Conn, codec: Codec<Frame, Input>, timeout: number | null = null) {
    this.conn = conn;
    this.#connection = new FramedConnection(conn, { codec, timeout });
    this.rfile = this.#connection.reader;
    this.wfile = this.#connection.writer;
  }

  /**
   * Sends one frame and waits until the socket has taken it.
   *
   * @param frame The frame.
   * @throws {FrameTooLongError} The codec refuses the frame.
   */
  async send(frame: Input): Promise<void> {
    await this.#connection.writeFrame(frame);
    await this.wfile.flush();
  }

  /**
   * Sends several frames in one write: a pipelined batch.
   *
   * @param frames The frames, in order.
   * @throws {FrameTooLongError} The codec refuses a frame.
   */
  async sendAll(frames: Iterable<Input>): Promise<void> {
    for (const frame of frames) await this.#connection.writeFrame(frame);
    await this.wfile.flush();
  }

  /**
   * Receives the next frame.
   *
   * @returns The frame, or `undefined` when the server closed on a frame
   * boundary (not `null`: a codec may decode `null`, as RESP's nil does).
   * @throws {IncompleteFrameError} The server closed inside a frame.
   * @throws {ReadTimeoutError} Nothing arrived within `timeout`.
   */
  receive(): Promise<Frame | undefined> {
    return this.#connection.readFrame();
  }

  /**
   * Sends a frame and receives the reply.
   *
   * @param frame The request.
   * @returns The reply.
   * @throws {IncompleteFrameError} The server closed before replying.
   */
  async request(frame: Input): Promise<Frame> {
    await this.send(frame);
    const reply = await this.receive();
    if (reply === undefined) throw new IncompleteFrameError(0);
    return reply;
  }

  /**
   * Iterates over received frames until the server closes.
   *
   * @returns An async iterator of frames.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Frame> {
    return this.#connection.frames();
  }

  /**
   * Half-closes: the server sees end of stream, replies can still arrive.
   */
  async closeWrite(): Promise<void> {
    await this.wfile.flush();
    await this.conn.closeWrite();
  }

  /**
   * Sends what is buffered and closes the connection. A server that has
   * already gone is not an error here.
   *
   * @throws {WriteTimeoutError} The buffered bytes could not be sent in time.
   */
  async close(): Promise<void> {
    let failure: unknown;
    try {
      await this.#connection.close();
    } catch (error) {
      failure = error;
    }
    try {
      this.conn.close();
    } catch (error) {
      failure ??= error;
    }
    if (failure !== undefined && !isPeerGone(failure)) throw failure;
  }

  /** `await using client = await connect(…)` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Connects to a TCP or Unix socket server and speaks `codec`.
 *
 * @example Request and reply with a length-prefixed server
 * ```ts
 * import {
 *   connect,
 *   LengthPrefixedCodec,
 *   StreamRequestHandler,
 *   ThreadingTCPServer,
 * } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * const codec = new LengthPrefixedCodec();
 * class Reverse extends StreamRequestHandler<Uint8Array> {
 *   override codec = codec;
 *   override async handle() {
 *     for await (const frame of this.frames()) await this.writeFrame(frame.toReversed());
 *   }
 * }
 *
 * await using server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, Reverse);
 * const serving = server.serveForever();
 * {
 *   await using client = await connect(server.address, { codec });
 *   assertEquals(await client.request(new Uint8Array([1, 2, 3])), new Uint8Array([3, 2, 1]));
 * }
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @param address `{ hostname, port }` (hostname defaults to 127.0.0.1) or `{ path }`.
 * @param options The codec, and the receive timeout.
 * @returns The connected client.
 * @throws {Deno.errors.ConnectionRefused} Nothing listens there.
 */
export async function connect<Frame, Input = Frame>(
  address: ClientAddress,
  options: ConnectOptions<Frame, Input>,
): Promise<FramedClient<Frame, Input>> {
  let conn: Deno.Conn;
  if ("path" in address) {
    conn = await Deno.connect({ transport: "unix", path: address.path });
  } else {
    const tcp = await Deno.connect({
      hostname: address.hostname ?? "127.0.0.1",
      port: address.port,
    });
    tcp.setNoDelay(options.noDelay ?? true);
    conn = tcp;
  }
  return new FramedClient(conn, options.codec, options.timeout ?? null);
}
