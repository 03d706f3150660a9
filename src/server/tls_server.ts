/**
 * The TLS servers: `TCPServer` and `ThreadingTCPServer` with TLS on each
 * connection.
 *
 * @module
 */

import { createSecureContext, type SecureContext } from "node:tls";
import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import { withDeadline } from "../io/_deadline.ts";
import { ServerTlsConn } from "./_server_tls_conn.ts";
import { resolveSettings } from "./_settings.ts";
import { type TCPAddress, TCPServer, type TCPServerOptions } from "./tcp_server.ts";
import { TLSHandshakeError } from "./errors.ts";

/**
 * Options for TLS servers: the certificate and key, plus everything
 * `TCPServer` takes. Each optional setting overrides the static default of
 * the same name.
 */
export interface TLSServerOptions extends TCPServerOptions {
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
   * connection (and its socket) is closed and a `TLSHandshakeError`
   * reported; `null` waits forever (a client that never speaks then holds
   * a connection slot).
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

/** The settings of TLS servers beyond a TCP server's; see {@linkcode TLSServerOptions}. */
const TLS_SETTINGS = ["alpnProtocols", "handshakeTimeout", "suppressRaggedEofs"] as const;

/**
 * A TLS server that serves one connection at a time: a `TCPServer` whose
 * connections speak TLS. Handlers are the same as over TCP:
 * `StreamRequestHandler` reads and writes plaintext. Use
 * {@linkcode ThreadingTLSServer} to serve clients concurrently.
 *
 * Connections are accepted as TCP and the TLS session starts in
 * `prepareRequest()`, in that connection's own task, so a slow client
 * never blocks the accept loop (a sequential server does wait for it, up
 * to `handshakeTimeout`, as it waits for any client it serves). A
 * handshake that fails or times out (a plain-TCP client, a bad client
 * hello, a client that never speaks) is reported to `handleError()` as a
 * {@linkcode TLSHandshakeError}, the connection and its socket are closed
 * at once, and no handler runs. Since the server owns the TCP socket, the
 * TCP settings work too (`noDelay`, `keepAlive`, `allowReusePort`), and a
 * PROXY protocol header (`proxyProtocol`) is read before the handshake, as
 * a load balancer passing TLS through sends it. Handlers thus start on an established session: the
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
 * The TLS engine is `node:tls` (rustls, as Deno's own) over the accepted
 * `Deno.TcpConn`, not `Deno.listenTls`: Deno keeps a `TlsConn`'s socket
 * open after it is closed mid-handshake until the client sends or closes,
 * so silent clients would hold a file descriptor each after
 * `handshakeTimeout` (see `docs/tls.md`). Deno has no server-side
 * `startTls`; the cost is throughput, about half of `Deno.listenTls`'s for
 * bulk transfers (measured in `docs/tls.md`).
 *
 * Overriding `prepareRequest()` or `shutdownRequest()`: call `super`.
 *
 * @example Serve one TLS client
 * ```ts
 * import { StreamRequestHandler, TLSServer } from "@socketserver/core/server";
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
export class TLSServer extends TCPServer {
  /** Default for {@linkcode TLSServerOptions.alpnProtocols}. */
  static alpnProtocols: readonly string[] = [];
  /** Default for {@linkcode TLSServerOptions.handshakeTimeout}. */
  static handshakeTimeout: number | null = 10;
  /** Default for {@linkcode TLSServerOptions.suppressRaggedEofs}. */
  static suppressRaggedEofs: boolean = true;

  /** The ALPN protocols offered. */
  declare readonly alpnProtocols: readonly string[];
  /** Seconds a client has to complete the handshake; `null` waits forever. */
  declare handshakeTimeout: number | null;
  /** Whether a close without close_notify reads as a normal end of stream. */
  declare suppressRaggedEofs: boolean;

  readonly #context: SecureContext;
  /** Connections whose handshake completed: only they get a close_notify. */
  readonly #established = new WeakSet<Deno.Conn>();

  /**
   * Checks the certificate and key, binds and listens.
   *
   * @param address Where to listen.
   * @param RequestHandlerClass The handler class.
   * @param options The certificate and key, and settings for this instance.
   * @throws {Deno.errors.InvalidData} `cert` or `key` holds no PEM certificate or key.
   * @throws {Deno.errors.AddrInUse} The port is taken.
   * @throws {TypeError} `allowReusePort` without `--unstable-net`, or
   * `allowReuseAddress: false`.
   */
  constructor(
    address: TCPAddress,
    RequestHandlerClass: RequestHandlerClass<Deno.Conn, Deno.NetAddr>,
    options: TLSServerOptions,
  ) {
    // node:tls takes any text as a certificate and fails each handshake
    // later; Deno's own TLS client setup parses them now, binding nothing.
    Deno.createHttpClient({ cert: options.cert, key: options.key }).close();
    const settings = resolveSettings(new.target, options, TLS_SETTINGS);
    super(address, RequestHandlerClass, options);
    Object.assign(this, settings);
    this.#context = createSecureContext({ cert: options.cert, key: options.key });
  }

  /**
   * Reads the PROXY header when `proxyProtocol` is set (as a TCP server
   * does), then completes the TLS handshake within `handshakeTimeout`,
   * before the connection is verified and served.
   *
   * @param conn The accepted TCP connection.
   * @param clientAddress The client's address.
   * @returns The TLS connection, with an established session, and the address.
   * @throws {TLSHandshakeError} The handshake failed or timed out; the
   * server reports it and closes the connection.
   */
  override async prepareRequest(
    conn: Deno.Conn,
    clientAddress: Deno.Addr,
  ): Promise<[Deno.Conn, Deno.Addr]> {
    const [tcp, address] = await super.prepareRequest(conn, clientAddress);
    const tls = new ServerTlsConn(tcp as Deno.TcpConn, {
      context: this.#context,
      alpnProtocols: this.alpnProtocols,
      suppressRaggedEofs: this.suppressRaggedEofs,
    });
    const timeout = this.handshakeTimeout;
    try {
      await (timeout === null
        ? tls.handshake()
        : withDeadline(tls.handshake(), timeout, () =>
          new Deno.errors.TimedOut(
            `not complete after ${timeout} s (handshakeTimeout ${timeout} s)`,
          )));
    } catch (error) {
      // The TLS connection owns the socket now: closing it frees the descriptor at once.
      tls[Symbol.dispose]();
      // Closed by the server itself (a forced close on serverClose): not the client's fault.
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        throw error;
      }
      throw new TLSHandshakeError(address, error);
    }
    this.#established.add(tls);
    return [tls, address];
  }

  /**
   * Sends TLS close_notify (when the handshake completed), then closes the
   * connection. The close_notify waits at most a second for a client that
   * does not read.
   *
   * @param conn The connection.
   */
  override async shutdownRequest(conn: Deno.Conn): Promise<void> {
    if (!this.#established.has(conn)) return super.shutdownRequest(conn);
    try {
      await withDeadline(
        conn.closeWrite(),
        CLOSE_NOTIFY_SECONDS,
        () => new Deno.errors.TimedOut("close_notify not sent"),
      );
    } catch {
      // Reset, already closed, or not reading: closing is all that is left.
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
 * import { StreamRequestHandler, ThreadingTLSServer } from "@socketserver/core/server";
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
