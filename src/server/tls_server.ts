/**
 * The TLS servers: `TCPServer` and `ThreadingTCPServer` over `Deno.listenTls`.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import { withDeadline } from "../io/_deadline.ts";
import { RaggedEofTlsConn } from "./_ragged_eof_tls_conn.ts";
import { TCP_LISTEN_SETTINGS, tcpListenOptions } from "./_tcp_listen.ts";
import { resolveSettings } from "./_settings.ts";
import { StreamServer, type StreamServerOptions } from "./stream_server.ts";
import type { TCPAddress, TCPBoundAddress, TCPServerOptions } from "./tcp_server.ts";
import { TLSHandshakeError } from "./errors.ts";

/**
 * Options for TLS servers: the certificate and key, plus what `TCPServer`
 * takes except `noDelay` and `keepAlive` (Deno's `TlsConn` cannot set them)
 * and the PROXY protocol settings (`Deno.listenTls` starts the handshake on
 * accept, so a plaintext PROXY header before it cannot be read).
 * Each optional setting overrides the static default of the same name.
 */
export interface TLSServerOptions extends
  Omit<
    TCPServerOptions,
    | "noDelay"
    | "keepAlive"
    | "proxyProtocol"
    | "trustedProxies"
    | "proxyHeaderTimeout"
    | "maxProxyHeaderLength"
  > {
  /**
   * The certificate chain in PEM, the server's own certificate first
   * (`Deno.readTextFileSync("cert.pem")`, which needs `--allow-read`).
   */
  cert: string;
  /** The private key in PEM (PKCS#8, RSA or EC). */
  key: string;
  /**
   * ALPN protocols to offer, most preferred first. A client offering none
   * of them is refused in the handshake; a client offering no ALPN at all
   * is served with `alpnProtocol` `null`. Empty: no ALPN extension.
   *
   * @default {[]}
   */
  alpnProtocols?: readonly string[];
  /**
   * Seconds a client has to complete the TLS handshake before its
   * connection is closed and a `TLSHandshakeError` reported; `null` waits
   * forever (a client that never speaks then holds a connection slot).
   *
   * @default {10}
   */
  handshakeTimeout?: number | null;
  /**
   * Whether a client that closes without sending TLS close_notify (Python's
   * `SSLSocket.close()`, many OpenSSL clients) ends the stream as a normal
   * close does: `read()` returns `null` instead of throwing
   * `Deno.errors.UnexpectedEof`. Python's `suppress_ragged_eofs`, `true`
   * there too. Set `false` when the protocol ends a message at the close
   * and a truncated message must not pass for a whole one.
   *
   * @default {true}
   */
  suppressRaggedEofs?: boolean;
}

// Bounds the close_notify write in shutdownRequest(): unlike a TCP
// half-close, it waits for a client that does not read.
const CLOSE_NOTIFY_SECONDS = 1;

/** The settings of TLS servers beyond a stream server's; see {@linkcode TLSServerOptions}. */
const TLS_SETTINGS = [
  ...TCP_LISTEN_SETTINGS,
  "alpnProtocols",
  "handshakeTimeout",
  "suppressRaggedEofs",
] as const;

/**
 * A TLS server that serves one connection at a time, as `TCPServer` does,
 * on a socket from `Deno.listenTls`. Handlers are the same as over TCP:
 * `StreamRequestHandler` reads and writes plaintext. Use
 * {@linkcode ThreadingTLSServer} to serve clients concurrently.
 *
 * Each connection's handshake runs in `prepareRequest()`, in that
 * connection's own task, so a slow client never blocks the accept loop
 * (a sequential server does wait for it, up to `handshakeTimeout`, as it
 * waits for any client it serves). A handshake that fails or times out
 * (a plain-TCP client, a bad client hello) is reported to `handleError()`
 * as a {@linkcode TLSHandshakeError}, the connection is closed, and no
 * handler runs. Handlers thus start on an established session: the
 * negotiated ALPN protocol is
 * `(await (this.request as Deno.TlsConn).handshake()).alpnProtocol`
 * (the handshake is already done, so this resolves at once).
 *
 * A client that closes without TLS close_notify, as Python's
 * `SSLSocket.close()` does, ends the stream like a normal close
 * (`suppressRaggedEofs`, Python's default too), rather than failing the
 * handler's read with `Deno.errors.UnexpectedEof`.
 *
 * The socket is bound in the constructor: `server.address` is ready at
 * once, and a bind failure or a bad certificate throws and leaves nothing
 * open. Needs `--allow-net`; reading the PEM files needs `--allow-read`.
 *
 * Deno 2.9 limits, which no option here can lift: `TlsConn` has no
 * `setNoDelay` or `setKeepAlive`, so Nagle's algorithm stays on (`wfile`
 * coalesces replies, so this costs little); and after a handshake timeout
 * Deno keeps the TCP socket of a client that never sends a byte open until
 * that client sends or closes, though the server has forgotten it (put a
 * proxy or a firewall connection limit in front of a public server).
 *
 * Overriding `prepareRequest()` or `shutdownRequest()`: call `super`.
 *
 * @example Serve one TLS client
 * ```ts
 * import { StreamRequestHandler, TLSServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * // A throwaway certificate for 127.0.0.1 (needs the openssl CLI). Deno's
 * // TLS client refuses a CA certificate as a server's, hence CA:FALSE.
 * const dir = await Deno.makeTempDir();
 * await new Deno.Command("openssl", {
 *   args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
 *     "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
 *     "-addext", "basicConstraints=critical,CA:FALSE", "-days", "1",
 *     "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
 *   stderr: "null",
 * }).output();
 * const cert = await Deno.readTextFile(`${dir}/cert.pem`);
 * const key = await Deno.readTextFile(`${dir}/key.pem`);
 * await Deno.remove(dir, { recursive: true });
 *
 * class Echo extends StreamRequestHandler {
 *   override async handle() {
 *     for await (const chunk of this.rfile) await this.wfile.write(chunk);
 *   }
 * }
 *
 * await using server = new TLSServer({ hostname: "127.0.0.1", port: 0 }, Echo, { cert, key });
 * const serving = server.handleRequest();
 * using conn = await Deno.connectTls({ ...server.address, caCerts: [cert] });
 * await conn.write(new TextEncoder().encode("ping"));
 * await conn.closeWrite();
 * const reply = new Uint8Array(4);
 * assertEquals(await conn.read(reply), 4);
 * assertEquals(new TextDecoder().decode(reply), "ping");
 * await serving;
 * ```
 */
export class TLSServer extends StreamServer<TCPBoundAddress> {
  /** Default for {@linkcode TLSServerOptions.requestQueueSize}. */
  static requestQueueSize: number = 511;
  /** Default for {@linkcode TLSServerOptions.allowReuseAddress}. */
  static allowReuseAddress: boolean = true;
  /** Default for {@linkcode TLSServerOptions.allowReusePort}. */
  static allowReusePort: boolean = false;
  /** Default for {@linkcode TLSServerOptions.alpnProtocols}. */
  static alpnProtocols: readonly string[] = [];
  /** Default for {@linkcode TLSServerOptions.handshakeTimeout}. */
  static handshakeTimeout: number | null = 10;
  /** Default for {@linkcode TLSServerOptions.suppressRaggedEofs}. */
  static suppressRaggedEofs: boolean = true;

  /** The listen backlog in force. */
  declare readonly requestQueueSize: number;
  /** Whether SO_REUSEADDR is set (always, on Deno). */
  declare readonly allowReuseAddress: boolean;
  /** Whether SO_REUSEPORT is set. */
  declare readonly allowReusePort: boolean;
  /** The ALPN protocols offered. */
  declare readonly alpnProtocols: readonly string[];
  /** Seconds a client has to complete the handshake; `null` waits forever. */
  declare handshakeTimeout: number | null;
  /** Whether a close without close_notify reads as a normal end of stream. */
  declare suppressRaggedEofs: boolean;

  /** Connections whose handshake completed: only they get a close_notify. */
  readonly #established = new WeakSet<Deno.Conn>();

  /**
   * Binds and listens.
   *
   * @param address Where to listen.
   * @param RequestHandlerClass The handler class.
   * @param options The certificate and key, and settings for this instance.
   * @throws {Deno.errors.InvalidData} `cert` or `key` holds no PEM certificate or key.
   * @throws {Deno.errors.AddrInUse} The port is taken.
   * @throws {TypeError} `allowReusePort` without `--unstable-net`,
   * `allowReuseAddress: false`, or a `proxyProtocol` (set on a subclass).
   */
  constructor(
    address: TCPAddress,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.Addr>,
    options: TLSServerOptions,
  ) {
    const { proxyProtocol } = options as StreamServerOptions<TCPBoundAddress>;
    if (resolveSettings(new.target, { proxyProtocol }, ["proxyProtocol"]).proxyProtocol) {
      throw new TypeError(
        "Cannot read a PROXY protocol header on a TLS server: Deno.listenTls starts the TLS handshake on accept",
      );
    }
    const settings = resolveSettings(new.target, options, TLS_SETTINGS);
    const { alpnProtocols } = settings;
    const listener = Deno.listenTls({
      ...tcpListenOptions(address, settings),
      cert: options.cert,
      key: options.key,
      ...(alpnProtocols.length > 0 ? { alpnProtocols: [...alpnProtocols] } : {}),
    });
    super(listener, RequestHandlerClass, options);
    Object.assign(this, settings);
  }

  /**
   * Completes the TLS handshake, within `handshakeTimeout`, before the
   * connection is verified and served.
   *
   * @param conn The accepted connection.
   * @param clientAddress The client's address.
   * @returns The connection, now with an established session (wrapped so
   * that a close without close_notify reads as the end of the stream, with
   * `suppressRaggedEofs`), and the address.
   * @throws {TLSHandshakeError} The handshake failed or timed out; the
   * server reports it and closes the connection.
   */
  override async prepareRequest(
    conn: Deno.Conn,
    clientAddress: Deno.Addr,
  ): Promise<[Deno.Conn, Deno.Addr]> {
    const handshake = (conn as Deno.TlsConn).handshake();
    const timeout = this.handshakeTimeout;
    try {
      await (timeout === null
        ? handshake
        : withDeadline(handshake, timeout, () =>
          new Deno.errors.TimedOut(
            `not complete after ${timeout} s (handshakeTimeout ${timeout} s)`,
          )));
    } catch (error) {
      // Closed by the server itself (a forced close on serverClose): not the client's fault.
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        throw error;
      }
      throw new TLSHandshakeError(clientAddress, error);
    }
    const established = this.suppressRaggedEofs ? new RaggedEofTlsConn(conn as Deno.TlsConn) : conn;
    this.#established.add(established);
    return [established, clientAddress];
  }

  /**
   * Sends TLS close_notify (when the handshake completed), then closes the
   * connection. The close_notify waits at most a second for a client that
   * does not read.
   *
   * @param conn The connection.
   */
  override async shutdownRequest(conn: Deno.Conn): Promise<void> {
    // Deno's closeWrite() on a TlsConn waits for the handshake: never call it before.
    if (this.#established.has(conn)) {
      try {
        await withDeadline(
          conn.closeWrite(),
          CLOSE_NOTIFY_SECONDS,
          () => new Deno.errors.TimedOut("close_notify not sent"),
        );
      } catch {
        // Reset, already closed, or not reading: closing is all that is left.
      }
    }
    this.closeRequest(conn);
  }
}

/**
 * A TLS server that serves each connection as its own async task, up to
 * `maxConnections` at once (then new clients wait in the backlog).
 * Handshakes run in those tasks too, so clients that stall in the
 * handshake never keep others waiting; each gets up to `handshakeTimeout`.
 *
 * @example A handler reports the negotiated ALPN protocol
 * ```ts
 * import { StreamRequestHandler, ThreadingTLSServer } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * // A throwaway certificate for 127.0.0.1 (needs the openssl CLI).
 * const dir = await Deno.makeTempDir();
 * await new Deno.Command("openssl", {
 *   args: ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
 *     "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
 *     "-addext", "basicConstraints=critical,CA:FALSE", "-days", "1",
 *     "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
 *   stderr: "null",
 * }).output();
 * const cert = await Deno.readTextFile(`${dir}/cert.pem`);
 * const key = await Deno.readTextFile(`${dir}/key.pem`);
 * await Deno.remove(dir, { recursive: true });
 *
 * class Protocol extends StreamRequestHandler {
 *   override async handle() {
 *     const { alpnProtocol } = await (this.request as Deno.TlsConn).handshake();
 *     await this.wfile.write(`${alpnProtocol}\n`);
 *   }
 * }
 *
 * await using server = new ThreadingTLSServer(
 *   { hostname: "127.0.0.1", port: 0 },
 *   Protocol,
 *   { cert, key, alpnProtocols: ["echo/1"] },
 * );
 * const serving = server.serveForever();
 * using conn = await Deno.connectTls({
 *   ...server.address,
 *   caCerts: [cert],
 *   alpnProtocols: ["h2", "echo/1"],
 * });
 * const reply = new Uint8Array(7);
 * assertEquals(await conn.read(reply), 7);
 * assertEquals(new TextDecoder().decode(reply), "echo/1\n");
 * await server.shutdown();
 * await serving;
 * ```
 */
export class ThreadingTLSServer extends TLSServer {
  /**
   * `maxConnections`: each connection runs as its own task.
   *
   * @returns The limit.
   */
  protected override get concurrencyLimit(): number {
    return this.maxConnections;
  }
}
