/**
 * The connection a handler gets behind a PROXY protocol load balancer.
 *
 * @module
 */

import type { ProxyHeader } from "./parse_proxy_header.ts";

/**
 * A `Deno.Conn` whose PROXY protocol header has been read: it carries the
 * parsed header and returns the bytes that arrived after the header (in the
 * same packet) before reading from the socket again. Everything else
 * delegates to the accepted connection, so `remoteAddr` is the proxy's
 * address; the original client's is the handler's `clientAddress` (and
 * `proxyHeader.source`).
 *
 * Stream servers with `proxyProtocol` set hand one to each handler as its
 * `request`: read TLVs with `(this.request as ProxiedConn).proxyHeader`.
 *
 * @example Bytes after the header come first
 * ```ts
 * import { parseProxyHeader, ProxiedConn } from "@socketserver/core/proxy";
 * import { assertEquals } from "@std/assert";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * using accepted = await listener.accept();
 * await client.write(new TextEncoder().encode("PROXY TCP4 192.0.2.1 192.0.2.2 5000 80\r\nhello"));
 * const received = new Uint8Array(1024);
 * let filled = 0;
 * let header = parseProxyHeader(received.subarray(0, filled));
 * while (header === undefined) {
 *   filled += (await accepted.read(received.subarray(filled)))!;
 *   header = parseProxyHeader(received.subarray(0, filled));
 * }
 * const conn = new ProxiedConn(accepted, header, received.subarray(header.length, filled));
 * const data = new Uint8Array(5);
 * let got = 0;
 * while (got < 5) got += (await conn.read(data.subarray(got)))!;
 * assertEquals(new TextDecoder().decode(data), "hello");
 * assertEquals(conn.proxyHeader.source, { hostname: "192.0.2.1", port: 5000 });
 * ```
 */
export class ProxiedConn implements Deno.Conn {
  /** The header the proxy sent. */
  readonly proxyHeader: ProxyHeader;

  readonly #inner: Deno.Conn;
  /** Bytes received after the header and not yet read; `undefined` once all are. */
  #leftover: Uint8Array | undefined;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;

  /**
   * Wraps an accepted connection.
   *
   * @param inner The accepted connection; closing this closes it.
   * @param proxyHeader The parsed header.
   * @param leftover Bytes already read after the header; copied.
   */
  constructor(inner: Deno.Conn, proxyHeader: ProxyHeader, leftover?: Uint8Array) {
    this.#inner = inner;
    this.proxyHeader = proxyHeader;
    this.#leftover = leftover !== undefined && leftover.length > 0 ? leftover.slice() : undefined;
  }

  /**
   * The accepted connection's local address.
   *
   * @returns The address.
   */
  get localAddr(): Deno.Addr {
    return this.#inner.localAddr;
  }

  /**
   * The accepted connection's peer: the proxy, not the original client.
   *
   * @returns The address.
   */
  get remoteAddr(): Deno.Addr {
    return this.#inner.remoteAddr;
  }

  /**
   * A stream of the bytes after the header: the leftover first, then the
   * socket's. As with any `Deno.Conn`, it closes the connection at its end.
   *
   * @returns The same stream on each call.
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (this.#readable !== undefined) return this.#readable;
    const leftover = this.#leftover;
    this.#leftover = undefined;
    if (leftover === undefined) return this.#readable = this.#inner.readable;
    const inner = this.#inner;
    let reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> | undefined;
    return this.#readable = new ReadableStream<Uint8Array<ArrayBuffer>>({
      start(controller) {
        controller.enqueue(leftover.slice());
      },
      async pull(controller) {
        reader ??= inner.readable.getReader();
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader === undefined ? inner.readable.cancel(reason) : reader.cancel(reason);
      },
    });
  }

  /**
   * The accepted connection's writable stream.
   *
   * @returns The stream.
   */
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.#inner.writable;
  }

  /**
   * Reads the bytes left after the header first, then from the socket.
   *
   * @param p Where the bytes go.
   * @returns How many bytes were read, or `null` at end of stream.
   * @throws {Deno.errors.BadResource} The connection is closed.
   */
  read(p: Uint8Array): Promise<number | null> {
    const leftover = this.#leftover;
    // Fast path: once the leftover is consumed, a read is the socket's read.
    if (leftover === undefined) return this.#inner.read(p);
    const count = Math.min(p.length, leftover.length);
    p.set(leftover.subarray(0, count));
    this.#leftover = count === leftover.length ? undefined : leftover.subarray(count);
    return Promise.resolve(count);
  }

  /**
   * Writes to the socket.
   *
   * @param p The bytes.
   * @returns How many bytes were written.
   */
  write(p: Uint8Array): Promise<number> {
    return this.#inner.write(p);
  }

  /** Closes the connection; unread leftover bytes are dropped. */
  close(): void {
    this.#leftover = undefined;
    this.#inner.close();
  }

  /**
   * Half-closes: no more writes; reads go on.
   *
   * @returns Resolves when the write side is shut.
   */
  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }

  /** Makes the connection keep the process alive (the default). */
  ref(): void {
    this.#inner.ref();
  }

  /** Lets the process exit while a read is pending. */
  unref(): void {
    this.#inner.unref();
  }

  /**
   * Sets TCP_NODELAY on a TCP connection.
   *
   * @param noDelay `true` turns Nagle's algorithm off.
   * @throws {TypeError} The connection is not TCP.
   */
  setNoDelay(noDelay?: boolean): void {
    this.#tcp("setNoDelay").setNoDelay(noDelay);
  }

  /**
   * Sets SO_KEEPALIVE on a TCP connection.
   *
   * @param keepAlive `true` turns keep-alive probes on.
   * @throws {TypeError} The connection is not TCP.
   */
  setKeepAlive(keepAlive?: boolean): void {
    this.#tcp("setKeepAlive").setKeepAlive(keepAlive);
  }

  /** `using conn = …` closes the connection; closing twice is harmless. */
  [Symbol.dispose](): void {
    this.#leftover = undefined;
    this.#inner[Symbol.dispose]();
  }

  #tcp(method: string): Deno.TcpConn {
    const inner = this.#inner as Partial<Deno.TcpConn>;
    if (typeof inner.setNoDelay !== "function" || typeof inner.setKeepAlive !== "function") {
      throw new TypeError(`Cannot call ${method}: the connection is not TCP`);
    }
    return inner as Deno.TcpConn;
  }
}
