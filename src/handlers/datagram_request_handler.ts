/**
 * The datagram handler: Python's `DatagramRequestHandler`, with `rfile`
 * over the datagram, `wfile` for the reply, and per-datagram framing.
 *
 * @module
 */

import type { Codec } from "../framing/codec.ts";
import { decodeFrames } from "../framing/decode_frames.ts";
import { BufferedReader } from "../io/buffered_reader.ts";
import { BufferedWriter } from "../io/buffered_writer.ts";
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
 * protocols set `codec`: `frames()` decodes the one datagram into zero or
 * more frames, and `writeFrame()` encodes into `wfile`. A partial frame at
 * the end of a datagram is an error for that datagram only.
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

  #rfile: BufferedReader | undefined;
  #wfile: BufferedWriter | undefined;
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
    const length = this.packet.length;
    // A third spare: the reader then finds room to learn of the end without
    // allocating a second buffer.
    return this.#rfile ??= new BufferedReader(packetSource(this.packet), {
      bufferSize: length + Math.ceil(length / 3) + 1,
    });
  }

  /**
   * A writer that gathers the reply; `finish()` sends what it holds as one
   * datagram (nothing when it is empty). Made on first use.
   *
   * @returns The writer.
   */
  get wfile(): BufferedWriter {
    return this.#wfile ??= new BufferedWriter({
      write: (bytes) => {
        // Copied: the writer reuses its buffer once a write resolves.
        this.#replyParts.push(bytes.slice());
        return Promise.resolve(bytes.length);
      },
    });
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
    return decodeFrames(this.#codec(), this.packet);
  }

  /**
   * Encodes a frame into `wfile`; it is sent with the reply datagram.
   *
   * @param frame The frame.
   * @throws {TypeError} No `codec` is set.
   * @throws {FrameTooLongError} The codec refuses the frame.
   */
  writeFrame(frame: Input): Promise<void> {
    return this.wfile.writeFrame(this.#codec(), frame);
  }

  /**
   * Sends what `wfile` holds as one datagram, if anything was written; runs
   * after `handle()` even when it threw, as in Python. Call
   * `super.finish()` when overriding.
   */
  override async finish(): Promise<void> {
    const wfile = this.#wfile;
    if (wfile === undefined) return;
    await wfile.close();
    const parts = this.#replyParts;
    this.#replyParts = [];
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    if (length === 0) return;
    // Fast path: a reply written in one go is sent without another copy.
    if (parts.length === 1) return await this.reply(parts[0]);
    const datagram = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      datagram.set(part, offset);
      offset += part.length;
    }
    await this.reply(datagram);
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

/** The datagram as a byte source that ends after its last byte. */
function packetSource(packet: Uint8Array): { read(p: Uint8Array): Promise<number | null> } {
  let offset = 0;
  return {
    read(p) {
      if (offset >= packet.length) return Promise.resolve(null);
      const count = Math.min(p.length, packet.length - offset);
      p.set(packet.subarray(offset, offset + count));
      offset += count;
      return Promise.resolve(count);
    },
  };
}
