/**
 * The datagram handler: Python's `DatagramRequestHandler`, with `rfile`
 * over the datagram, `wfile` for the reply, and per-datagram framing.
 *
 * @module
 */

import { concat } from "@std/bytes/concat";
import type { Codec } from "../framing/codec.ts";
import type { BufferedReader } from "../io/buffered_reader.ts";
import type { BufferedWriter } from "../io/buffered_writer.ts";
import { FramedConnection } from "../io/framed_connection.ts";
import { BaseRequestHandler } from "./base_request_handler.ts";

/**
 * One datagram request, as in Python: the bytes received and the server's
 * socket, which the reply is sent on.
 */
export type DatagramRequest = [data: Uint8Array, socket: Deno.DatagramConn];

const encoder = new TextEncoder();

/**
 * A handler for one datagram (UDP or Unix). `request` is
 * `[data, socket]` as in Python, `packet` and `socket` name its parts, and
 * `clientAddress` is the sender.
 *
 * Two ways to answer:
 *
 * - `reply(bytes | string)` sends one datagram at once; call it as often as
 *   needed (each call is one datagram, even an empty one).
 * - `wfile` gathers a reply that `finish()` sends as ONE datagram when the
 *   handler is done, after any `reply()` datagrams.
 *
 * Unlike Python, an empty `wfile` sends nothing: Python's handler always
 * sends `wfile.getvalue()`, so a handler that only logs, or answers with
 * `socket.sendto()` itself, also sends the client an unexpected empty
 * datagram. To send an empty datagram on purpose, call `reply("")`.
 *
 * `rfile` reads the datagram's bytes (`read()`, `readline()`,
 * `readExactly()`, `lines()`); it ends where the datagram ends. For framed
 * protocols set `codec`: override `handleFrame(frame)` to be called for each
 * frame of the datagram and answer with `sendFrame()` (as a stream
 * handler's frame loop, so one handler class reads the same over TCP and
 * UDP), or call `frames()` for the datagram's frames and `writeFrame()`.
 * Either way the reply frames go out as one datagram. A partial frame at the
 * end of a datagram is an error for that datagram only.
 *
 * A Unix client that did not bind its socket to a path cannot be answered:
 * `reply()` (and a non-empty `wfile`) throw a `TypeError` that says so.
 *
 * @typeParam Frame What `codec` decodes.
 * @typeParam Input What `codec` encodes.
 *
 * @example Answer each line of a datagram in one reply datagram
 * ```ts
 * import { DatagramRequestHandler, UDPServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * class Upper extends DatagramRequestHandler {
 *   override async handle() {
 *     for await (const line of this.rfile.lines()) {
 *       await this.wfile.write(line.toUpperCase() + "\n");
 *     }
 *   }
 * }
 *
 * await using server = new UDPServer({ hostname: "127.0.0.1", port: 0 }, Upper);
 * const serving = server.handleRequest();
 * const client = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * await client.send(new TextEncoder().encode("a\nb\n"), server.address);
 * const [reply] = await client.receive();
 * assertEquals(new TextDecoder().decode(reply), "A\nB\n");
 * await serving;
 * client.close();
 * ```
 */
export class DatagramRequestHandler<Frame = Uint8Array, Input = Frame>
  extends BaseRequestHandler<DatagramRequest, Deno.Addr> {
  /**
   * The framing used by `frames()` and `writeFrame()`.
   *
   * @default {undefined}
   */
  codec: Codec<Frame, Input> | undefined = undefined;

  /** `rfile`, `wfile` and the codec over this one datagram; made on first use. */
  #connection: FramedConnection<Frame, Input> | undefined;
  /** What `wfile` has handed over so far, sent as one datagram by `finish()`. */
  #replyParts: Uint8Array[] = [];

  /**
   * The datagram's bytes (Python's `self.packet`).
   *
   * @returns `request[0]`.
   */
  get packet(): Uint8Array {
    return this.request[0];
  }

  /**
   * The server's socket, which replies are sent on (Python's `self.socket`).
   *
   * @returns `request[1]`.
   */
  get socket(): Deno.DatagramConn {
    return this.request[1];
  }

  /**
   * A reader over the datagram; it reaches its end where the datagram ends.
   * Made on first use, so a handler that reads `packet` pays nothing for it.
   *
   * @returns The reader.
   */
  get rfile(): BufferedReader {
    return this.#framed().reader;
  }

  /**
   * A writer that gathers the reply; `finish()` sends what it holds as one
   * datagram (nothing when it is empty). Made on first use.
   *
   * @returns The writer.
   */
  get wfile(): BufferedWriter {
    return this.#framed().writer;
  }

  /**
   * Sends one datagram to the sender at once (an empty one too).
   *
   * @param data The bytes, or text sent as UTF-8.
   * @throws {TypeError} The sender is an unbound Unix socket, which cannot
   * receive.
   * @throws {Error} The datagram is larger than the socket can send
   * ("Message too long").
   */
  async reply(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const address = this.clientAddress;
    if ("path" in address && address.path === "") {
      throw new TypeError(
        "Cannot reply: the sender's Unix datagram socket is not bound to a path (bind the client socket to receive replies)",
      );
    }
    await this.socket.send(bytes, address);
  }

  /**
   * Decodes the datagram with `codec` into every frame it holds.
   *
   * @returns The frames, in order (none for an empty datagram).
   * @throws {TypeError} No `codec` is set.
   * @throws {IncompleteFrameError} The datagram ends inside a frame.
   * @throws {FrameTooLongError} A frame exceeds the codec's limit.
   */
  frames(): Frame[] {
    return this.#framed().decodeAll(this.packet);
  }

  /**
   * Encodes a frame into `wfile`; it is sent with the reply datagram.
   *
   * @param frame The frame.
   * @throws {TypeError} No `codec` is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   */
  writeFrame(frame: Input): Promise<void> {
    return this.#framed().writeFrame(frame);
  }

  /**
   * Encodes a frame into `wfile` and returns at once, with no promise; it is
   * sent with the reply datagram. The write of `handleFrame()`.
   *
   * @param frame The frame.
   * @throws {TypeError} No `codec` is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   */
  sendFrame(frame: Input): void {
    this.#framed().sendFrame(frame);
  }

  /**
   * Serves the datagram. By default: when `handleFrame()` is overridden,
   * calls it for each frame of the datagram; otherwise nothing (as Python's).
   *
   * @returns Resolves when every frame was handled.
   */
  override handle(): void | Promise<void> {
    if (this.handleFrame === DatagramRequestHandler.prototype.handleFrame) return;
    return this.#framed().serve(this.handleFrame, this);
  }

  /**
   * Handles one frame of the datagram, as `StreamRequestHandler.handleFrame`
   * does for a connection: called synchronously for each frame; what
   * `sendFrame()` writes goes out as one reply datagram when all are
   * handled. Return a promise only to wait: the frames after it wait too.
   * The frame is valid during the call: copy (`frame.slice()`) a frame you
   * keep. Default: nothing.
   *
   * @param _frame The frame.
   * @returns Nothing, or a promise the next frame waits for.
   */
  handleFrame(_frame: Frame): void | Promise<void> {}

  /**
   * Sends what `wfile` holds as one datagram, if anything was written; runs
   * after `handle()` even when it threw, as in Python. Call
   * `super.finish()` when overriding.
   */
  override async finish(): Promise<void> {
    const connection = this.#connection;
    if (connection === undefined) return;
    await connection.close();
    const parts = this.#replyParts;
    this.#replyParts = [];
    if (parts.length === 0) return;
    // Fast path: a reply written in one go is sent without another copy.
    const datagram = parts.length === 1 ? parts[0] : concat(parts);
    if (datagram.length > 0) await this.reply(datagram);
  }

  /**
   * The framed connection over this datagram: reads end where it ends, and
   * what is written is gathered for the one reply datagram.
   */
  #framed(): FramedConnection<Frame, Input> {
    if (this.#connection !== undefined) return this.#connection;
    const packet = this.packet;
    const transport = {
      read: packetReader(packet),
      write: (bytes: Uint8Array): Promise<number> => {
        // Copied: the writer reuses its buffer once a write resolves.
        this.#replyParts.push(bytes.slice());
        return Promise.resolve(bytes.length);
      },
    };
    return this.#connection = new FramedConnection(transport, {
      codec: this.codec,
      owner: this.constructor.name,
      // A third spare: the reader then finds room to learn of the end without
      // allocating a second buffer.
      bufferSize: packet.length + Math.ceil(packet.length / 3) + 1,
    });
  }
}

/** A `read` over the datagram that ends after its last byte. */
function packetReader(packet: Uint8Array): (p: Uint8Array) => Promise<number | null> {
  let offset = 0;
  return (p) => {
    if (offset >= packet.length) return Promise.resolve(null);
    const count = Math.min(p.length, packet.length - offset);
    p.set(packet.subarray(offset, offset + count));
    offset += count;
    return Promise.resolve(count);
  };
}
