/**
 * The Unix datagram socket servers: Python's `UnixDatagramServer` and
 * `ThreadingUnixDatagramServer`.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import type { DatagramRequest } from "../handlers/datagram_request_handler.ts";
import { DatagramServer, type DatagramServerOptions, datagramSettings } from "./datagram_server.ts";
import { SerialDatagramConn } from "./_serial_datagram_conn.ts";
import { bindUnixPath, removeSocketFile, socketFileInode } from "./_unix_socket_file.ts";
import type { UnixAddress } from "./unix_stream_server.ts";
import { assertUnstableNet } from "./_unstable_net.ts";

/**
 * A Unix datagram server's bound address. Deno names the transport
 * `"unixpacket"`, but the socket is AF_UNIX SOCK_DGRAM (what Python's
 * `socket.AF_UNIX, socket.SOCK_DGRAM` opens), not SOCK_SEQPACKET.
 */
export type UnixDatagramBoundAddress = Deno.UnixAddr & { transport: "unixpacket" };

/**
 * A server on a Unix datagram socket (AF_UNIX, SOCK_DGRAM, Deno's
 * `"unixpacket"` transport) that handles one datagram at a time; see
 * {@linkcode ThreadingUnixDatagramServer}.
 *
 * A client must bind its own socket to a path to get a reply: an unbound
 * sender's `clientAddress.path` is `""` (Deno reports `null`), and replying
 * to it throws. Unlike UDP, a Unix datagram is never dropped by the kernel:
 * a sender blocks (or gets `EAGAIN`) while the server's queue is full.
 *
 * Deno's Unix datagram socket cannot send while a receive is pending
 * (denoland/deno#6290), yet the server always receives and its handlers
 * reply on the same socket. So `server.socket` (and `request[1]`) wraps it
 * and takes turns: a send that finds a receive pending wakes it with a
 * token datagram from an internal unbound socket, goes out, and the receive
 * resumes. Replies come from the server's path, as clients expect.
 *
 * A socket file left by a crashed process is detected and replaced (a live
 * server's is not: that is `AddrInUse`); the file is removed when the socket
 * closes. Needs `--unstable-net`, and `--allow-read`, `--allow-write` and
 * `--allow-net` (which Deno asks for here too) for the path.
 *
 * @example Echo a datagram from a socket bound to its own path
 * ```ts
 * import { DatagramRequestHandler, UnixDatagramServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends DatagramRequestHandler {
 *   override async handle() {
 *     await this.reply(this.packet);
 *   }
 * }
 *
 * const dir = await Deno.makeTempDir();
 * await using server = new UnixDatagramServer({ path: `${dir}/server.sock` }, Echo);
 * const serving = server.handleRequest();
 * const client = Deno.listenDatagram({ transport: "unixpacket", path: `${dir}/client.sock` });
 * await client.send(new TextEncoder().encode("ping"), server.address);
 * const [reply] = await client.receive();
 * assertEquals(new TextDecoder().decode(reply), "ping");
 * await serving;
 * client.close();
 * await server.serverClose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class UnixDatagramServer extends DatagramServer<UnixDatagramBoundAddress> {
  readonly #path: string;
  readonly #ino: number | null;

  /**
   * Binds the socket file.
   *
   * @param address The socket path.
   * @param RequestHandlerClass The handler class.
   * @param options Settings for this instance.
   * @throws {TypeError} Deno runs without `--unstable-net`.
   * @throws {RangeError} A setting is out of range.
   * @throws {Deno.errors.AddrInUse} A live server holds the path, or it is
   * not a socket.
   */
  constructor(
    address: UnixAddress,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest, Deno.Addr>,
    options: DatagramServerOptions<UnixDatagramBoundAddress> = {},
  ) {
    assertUnstableNet(`${new.target.name} (Deno.listenDatagram)`);
    // Refuse bad options before binding, so no socket file is left behind.
    datagramSettings(new.target, options);
    const socket = bindUnixPath(
      address.path,
      () => Deno.listenDatagram({ transport: "unixpacket", path: address.path }),
    );
    // Deno's Unix datagram socket cannot send while a receive is pending:
    // this wrapper lets replies out (see serial_datagram_conn.ts).
    super(new SerialDatagramConn(socket, address.path), RequestHandlerClass, options);
    this.#path = address.path;
    this.#ino = socketFileInode(address.path);
  }

  /**
   * Always `true`: the kernel vouches for a Unix socket's path, which no
   * sender can forge, so replies are not limited (see `DatagramServer`).
   *
   * @param _peer The peer's address.
   * @returns `true`.
   */
  override verifyPeer(_peer: Deno.Addr): boolean {
    return true;
  }

  /** Closes the socket, then removes the socket file it created. */
  protected override async afterDrain(): Promise<void> {
    await super.afterDrain();
    removeSocketFile(this.#path, this.#ino);
  }
}

/**
 * A Unix datagram server that handles each datagram as its own async task,
 * up to `maxConcurrentHandlers` at once (then it stops receiving until a
 * handler finishes, and senders wait on the full socket queue).
 *
 * @example Two datagrams handled at once
 * ```ts
 * import { DatagramRequestHandler, ThreadingUnixDatagramServer } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * const { promise: released, resolve: release } = Promise.withResolvers<void>();
 *
 * class Echo extends DatagramRequestHandler {
 *   override async handle() {
 *     if (this.packet[0] === 0) await released;
 *     await this.reply(this.packet);
 *   }
 * }
 *
 * const dir = await Deno.makeTempDir();
 * await using server = new ThreadingUnixDatagramServer({ path: `${dir}/server.sock` }, Echo);
 * const serving = server.serveForever();
 * const client = Deno.listenDatagram({ transport: "unixpacket", path: `${dir}/client.sock` });
 * await client.send(new Uint8Array([0]), server.address);
 * await client.send(new Uint8Array([1]), server.address);
 * assertEquals((await client.receive())[0][0], 1);
 * release();
 * assertEquals((await client.receive())[0][0], 0);
 * await server.shutdown();
 * await serving;
 * client.close();
 * await server.serverClose();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ThreadingUnixDatagramServer extends UnixDatagramServer {
  /**
   * `maxConcurrentHandlers`: each datagram runs as its own task.
   *
   * @returns The limit.
   */
  protected override get concurrencyLimit(): number {
    return this.maxConcurrentHandlers;
  }
}
