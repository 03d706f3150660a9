// Internal: the server side of TLS over a connection Deno accepted as plain
// TCP, so the server owns the TCP socket and can close it at any time.
//
// Why not Deno.listenTls: a TlsConn dropped during its handshake hands the
// socket to a background task that waits for the handshake to end, with no
// timeout (rustls-tokio-stream's Drop for a handshaking stream). A client that
// never sends a byte then keeps its socket open after the server gave up on
// it: 100 silent clients held 100 file descriptors long after
// handshakeTimeout (docs/tls.md has the reproduction). Deno offers no
// server-side Deno.startTls, so the TLS engine here is node:tls's TLSSocket
// (rustls underneath) over a Duplex that reads and writes the TcpConn.
//
// The TcpConn's life is this object's: node's streams never close it (their
// destroy order could cut a close_notify still being written), close() does.

import { Duplex } from "node:stream";
import { type SecureContext, TLSSocket } from "node:tls";

/** How the server side of the TLS session is set up. */
export interface ServerTlsOptions {
  /** From `createSecureContext({ cert, key })`. */
  context: SecureContext;
  /** ALPN protocols offered, most preferred first; empty for none. */
  alpnProtocols: readonly string[];
  /** Whether a close without close_notify reads as the end of the stream. */
  suppressRaggedEofs: boolean;
}

/** Bytes read from the TCP socket at most per read. */
const READ_SIZE = 16 * 1024;

/**
 * A TLS session on an accepted TcpConn, as a `Deno.TlsConn`: what handlers
 * get from a TLSServer. The handshake starts when the client's hello
 * arrives; `handshake()` settles when it ends.
 */
export class ServerTlsConn implements Deno.TlsConn {
  readonly #tcp: Deno.TcpConn;
  readonly #transport: TcpDuplex;
  readonly #tls: TLSSocket;
  readonly #handshake: Promise<Deno.TlsHandshakeInfo>;
  readonly #rejectHandshake: (error: Error) => void;
  /** Cleartext received and not yet read. */
  #pending: Uint8Array = new Uint8Array(0);
  /** Why reading failed, once it did. */
  #failure: Error | undefined;
  /** Whether the peer ended the stream, and how. */
  #ended: "close_notify" | "ragged" | undefined;
  /** Whoever waits for cleartext, the end or an error. */
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(tcp: Deno.TcpConn, options: ServerTlsOptions) {
    this.#tcp = tcp;
    // Told directly when the socket fails or is closed under it (a forced
    // close on serverClose() closes the accepted TcpConn): node's TLS layer
    // does not pass that on to a waiting read or handshake.
    this.#transport = new TcpDuplex(tcp, (error) => this.#fail(error));
    this.#tls = new TLSSocket(this.#transport, {
      // allowHalfOpen comes from the Duplex (true): this object decides when
      // the write side ends, not node's stream.
      isServer: true,
      secureContext: options.context,
      ...(options.alpnProtocols.length > 0 ? { ALPNProtocols: [...options.alpnProtocols] } : {}),
    });
    const { promise, resolve, reject } = Promise.withResolvers<Deno.TlsHandshakeInfo>();
    this.#handshake = promise;
    // Unhandled when nobody asks: the failure also reaches read() and write().
    promise.catch(() => {});
    this.#tls.once("secure", () => {
      const alpn = this.#tls.alpnProtocol;
      resolve({ alpnProtocol: typeof alpn === "string" ? alpn : null } as Deno.TlsHandshakeInfo);
    });
    this.#tls.on("readable", () => this.#wakeReader());
    this.#tls.on("end", () => {
      // A close_notify ends the TLS stream before the TCP end is read; a
      // peer that just closes (Python's SSLSocket.close()) is seen the other way round.
      this.#ended = this.#transport.sawEnd ? "ragged" : "close_notify";
      if (this.#ended === "ragged" && !options.suppressRaggedEofs) {
        this.#failure = new Deno.errors.UnexpectedEof(
          "peer closed connection without sending TLS close_notify",
        );
      }
      reject(
        new Deno.errors.UnexpectedEof("the client closed the connection during the handshake"),
      );
      this.#wakeReader();
    });
    this.#rejectHandshake = reject;
    this.#tls.on("error", (error: unknown) => this.#fail(denoError(error)));
    this.#tls.on(
      "close",
      () => this.#fail(new Deno.errors.BadResource("the connection is closed")),
    );
  }

  get localAddr(): Deno.NetAddr {
    return this.#tcp.localAddr;
  }

  get remoteAddr(): Deno.NetAddr {
    return this.#tcp.remoteAddr;
  }

  /** Resolves when the handshake has completed; rejects with why it did not. */
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.#handshake;
  }

  /**
   * Reads cleartext; `null` at the end of the stream.
   *
   * @throws {Deno.errors.UnexpectedEof} With `suppressRaggedEofs: false`, the
   * peer closed without close_notify.
   */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#pending.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
      const chunk: Uint8Array | null = this.#tls.read();
      if (chunk !== null) {
        this.#pending = chunk;
        break;
      }
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended !== undefined) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const count = Math.min(p.length, this.#pending.length);
    p.set(this.#pending.subarray(0, count));
    this.#pending = this.#pending.subarray(count);
    return count;
  }

  /** Encrypts and sends `p` whole; resolves once the TCP socket has taken it. */
  write(p: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("the connection is closed"));
    }
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.#tls.write(p, (error?: Error | null) => {
      if (error) reject(this.#failure ?? denoError(error));
      else resolve(p.length);
    });
    return promise;
  }

  /**
   * Sends close_notify, then half-closes the TCP socket, so the peer reads
   * every byte sent before the end of the stream.
   */
  async closeWrite(): Promise<void> {
    // A destroyed TLS stream never calls end()'s callback: fail as Deno's own conns do.
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    await new Promise<void>((resolve) => this.#tls.end(resolve));
    // The close_notify is written by a task node schedules after `end()`:
    // let it run, and wait for the socket to take it, before the TCP FIN.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await this.#transport.drained();
    await this.#tcp.closeWrite();
  }

  /** Closes the TCP socket at once (its descriptor too, handshake or not). */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    this.#closed = true;
    this.#tls.destroy();
    this.#tcp.close();
    this.#wakeReader();
  }

  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return new ReadableStream({
      type: "bytes",
      pull: async (controller) => {
        const chunk = new Uint8Array(READ_SIZE);
        const count = await this.read(chunk);
        if (count === null) {
          controller.close();
          controller.byobRequest?.respond(0);
        } else {
          controller.enqueue(chunk.subarray(0, count));
        }
      },
    });
  }

  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return new WritableStream({
      write: async (chunk) => void await this.write(chunk),
      close: () => this.closeWrite(),
    });
  }

  ref(): void {
    this.#tcp.ref();
  }

  unref(): void {
    this.#tcp.unref();
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    try {
      this.close();
    } catch (error) {
      // The TcpConn was closed under this object already.
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /** Reading failed (or the socket is gone): the reader and the handshake learn why. */
  #fail(error: Error): void {
    // After the end of the stream, what follows (node closing its socket) is no news.
    if (this.#ended === undefined) this.#failure ??= error;
    this.#rejectHandshake(error);
    this.#wakeReader();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * The TcpConn as the Duplex node's TLSSocket reads and writes: one read in
 * flight at a time, writes written whole; ending and destroying it never
 * close the TcpConn (ServerTlsConn does).
 */
class TcpDuplex extends Duplex {
  readonly #tcp: Deno.TcpConn;
  readonly #onFailure: (error: Error) => void;
  readonly #buffer = new Uint8Array(READ_SIZE);
  /** Writes not yet taken by the socket, and who waits for none. */
  #writing = 0;
  #idle: (() => void) | undefined;
  /** Whether the TCP stream's end was read. */
  sawEnd = false;

  constructor(tcp: Deno.TcpConn, onFailure: (error: Error) => void) {
    super();
    this.#tcp = tcp;
    this.#onFailure = onFailure;
  }

  /** Resolves once every write handed to the Duplex is taken by the socket. */
  drained(): Promise<void> {
    if (this.#writing === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle = resolve);
  }

  override _read(): void {
    this.#tcp.read(this.#buffer).then((count) => {
      if (count === null) {
        this.sawEnd = true;
        this.push(null);
      } else {
        // Copied: the next read reuses the buffer.
        this.push(this.#buffer.slice(0, count));
      }
    }, (error) => {
      this.#onFailure(error);
      this.destroy(error);
    });
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    done: (error?: Error | null) => void,
  ): void {
    this.#writing++;
    writeAll(this.#tcp, chunk).then(() => done(), done).finally(() => {
      if (--this.#writing > 0) return;
      this.#idle?.();
      this.#idle = undefined;
    });
  }

  override _final(done: (error?: Error | null) => void): void {
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    done(error);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/**
 * A Deno error for what node's TLS layer reports: Deno's own errors (from
 * the TcpConn) as they are, so `isPeerGone()` sees them; a TLS protocol
 * error (`ERR_SSL_…`: a bad record, a refused certificate) as
 * `Deno.errors.InvalidData`, as Deno's TLS reports it.
 */
function denoError(error: unknown): Error {
  if (Object.values(Deno.errors).some((ErrorClass) => error instanceof ErrorClass)) {
    return error as Error;
  }
  const { code, message } = error as { code?: unknown; message?: string };
  if (code === "ECONNRESET") return new Deno.errors.ConnectionReset(message);
  if (code === "EPIPE") return new Deno.errors.BrokenPipe(message);
  return new Deno.errors.InvalidData(message ?? String(error), { cause: error });
}
