// Internal: a TlsConn whose read() takes a close without TLS close_notify
// (a "ragged EOF") as the end of the stream, as Python's ssl does by default
// (suppress_ragged_eofs=True). Most clients close that way: Python's
// SSLSocket.close() and many OpenSSL programs send no close_notify, and
// Deno's read() then throws UnexpectedEof, which a handler would report as
// an error on every such connection.

/** Wraps an established TlsConn; everything but `read()` is passed through. */
export class RaggedEofTlsConn implements Deno.TlsConn {
  readonly #conn: Deno.TlsConn;

  constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
  }

  get localAddr(): Deno.NetAddr {
    return this.#conn.localAddr;
  }

  get remoteAddr(): Deno.NetAddr {
    return this.#conn.remoteAddr;
  }

  // The streams are Deno's own: they still fail on a ragged EOF (they are not
  // the default path; rfile reads with read()).
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#conn.readable;
  }

  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.#conn.writable;
  }

  // Hot path: one extra promise per read, next to TLS decryption.
  read(p: Uint8Array): Promise<number | null> {
    return this.#conn.read(p).catch(endOnRaggedEof);
  }

  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  close(): void {
    this.#conn.close();
  }

  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.#conn.handshake();
  }

  ref(): void {
    this.#conn.ref();
  }

  unref(): void {
    this.#conn.unref();
  }

  [Symbol.dispose](): void {
    this.#conn[Symbol.dispose]();
  }
}

function endOnRaggedEof(error: unknown): null {
  if (error instanceof Deno.errors.UnexpectedEof) return null;
  throw error;
}
