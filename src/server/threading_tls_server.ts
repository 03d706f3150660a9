/**
 * The concurrent TLS server: `ThreadingTCPServer` over `Deno.listenTls`.
 *
 * @module
 */

import { TLSServer } from "./tls_server.ts";

/**
 * A TLS server that serves each connection as its own async task, up to
 * `maxConnections` at once (then new clients wait in the backlog).
 * Handshakes run in those tasks too, so clients that stall in the
 * handshake never keep others waiting; each gets up to `handshakeTimeout`.
 *
 * @example A handler reports the negotiated ALPN protocol
 * ```ts
 * import { StreamRequestHandler, ThreadingTLSServer } from "@socketserver/core";
 * import assert from "node:assert/strict";
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
 * assert.equal(await conn.read(reply), 7);
 * assert.equal(new TextDecoder().decode(reply), "echo/1\n");
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
