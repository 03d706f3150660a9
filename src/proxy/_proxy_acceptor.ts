// Internal: what a stream server with `proxyProtocol` does with each accepted
// connection before verifyRequest: refuse an untrusted peer, read the header
// within a deadline, and hand on a ProxiedConn and the original client's
// address. Not part of the public API (the settings are server options).

import { TrustedProxies } from "./_trusted_proxies.ts";
import { ProxiedConn } from "./proxied_conn.ts";
import {
  parseProxyHeader,
  type ProxyHeader,
  type ProxyProtocolVersion,
} from "./parse_proxy_header.ts";
import { ProxyProtocolError } from "./errors.ts";

/** The server settings that shape the acceptor. */
export interface ProxySettings {
  proxyProtocol: ProxyProtocolVersion;
  trustedProxies: readonly string[];
  proxyHeaderTimeout: number;
  maxProxyHeaderLength: number;
}

/** The first read buffer: a v1 line and a usual v2 header fit; it grows as a v2 length needs. */
const FIRST_READ = 512;
/** A v1 header is at most this long, whatever maxProxyHeaderLength says. */
const V1_MAX_LENGTH = 107;

/** Reads PROXY headers for one server. */
export class ProxyAcceptor {
  readonly #settings: ProxySettings;
  readonly #trusted: TrustedProxies;
  readonly #checkPeer: boolean;

  /**
   * Checks the settings once, at construction.
   *
   * @param settings The server's settings.
   * @param listenerTransport `"tcp"` requires `trustedProxies`; Unix peers have no
   * address to check (the socket file's permissions decide who may connect).
   * @throws {TypeError} A bad `proxyProtocol` or `trustedProxies`, or none trusted on TCP.
   * @throws {RangeError} A bad `proxyHeaderTimeout` or `maxProxyHeaderLength`.
   */
  constructor(settings: ProxySettings, listenerTransport: string) {
    const { proxyProtocol, proxyHeaderTimeout, maxProxyHeaderLength } = settings;
    if (proxyProtocol !== "v1" && proxyProtocol !== "v2" && proxyProtocol !== "any") {
      throw new TypeError(
        `Cannot use proxyProtocol: expected "v1", "v2" or "any", got ${
          JSON.stringify(proxyProtocol)
        }`,
      );
    }
    if (typeof proxyHeaderTimeout !== "number" || !(proxyHeaderTimeout > 0)) {
      throw new RangeError(
        `Cannot use proxyHeaderTimeout ${proxyHeaderTimeout}: expected a number of seconds above 0`,
      );
    }
    // The parser checks its own options: an empty input only validates them.
    parseProxyHeader(new Uint8Array(0), { maxHeaderLength: maxProxyHeaderLength });
    this.#trusted = new TrustedProxies(settings.trustedProxies);
    this.#checkPeer = listenerTransport === "tcp";
    if (this.#checkPeer && this.#trusted.size === 0) {
      throw new TypeError(
        `Cannot use proxyProtocol ${JSON.stringify(proxyProtocol)} without trustedProxies: ` +
          `list the proxies' addresses or networks, such as ["127.0.0.1"] or ["10.0.0.0/8"]`,
      );
    }
    this.#settings = { ...settings, trustedProxies: [...settings.trustedProxies] };
  }

  /**
   * Reads the header from `conn`.
   *
   * @returns The connection to serve and the original client's address.
   * @throws {Deno.errors.PermissionDenied} The peer is not a trusted proxy.
   * @throws {ProxyProtocolError} The header is malformed or the stream ended in it.
   * @throws {Deno.errors.TimedOut} No whole header within `proxyHeaderTimeout`.
   */
  async accept(conn: Deno.Conn, peer: Deno.Addr): Promise<[Deno.Conn, Deno.Addr]> {
    if (this.#checkPeer && !("hostname" in peer && this.#trusted.has(peer.hostname))) {
      throw new Deno.errors.PermissionDenied(
        `Cannot read PROXY header: peer ${describe(peer)} is not in trustedProxies`,
      );
    }
    const { proxyProtocol, proxyHeaderTimeout, maxProxyHeaderLength } = this.#settings;
    const options = { accept: proxyProtocol, maxHeaderLength: maxProxyHeaderLength };
    const limit = Math.max(maxProxyHeaderLength, V1_MAX_LENGTH);
    let buffer = new Uint8Array(Math.min(FIRST_READ, limit));
    let filled = 0;
    let timedOut = false;
    // Closing the connection settles the pending read, so no op outlives the deadline.
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }, proxyHeaderTimeout * 1000);
    try {
      for (;;) {
        const header = parseProxyHeader(buffer.subarray(0, filled), options);
        if (header !== undefined) {
          const leftover = buffer.subarray(header.length, filled);
          return [new ProxiedConn(conn, header, leftover), clientAddress(header, peer)];
        }
        if (filled === buffer.length) {
          // The parser refuses a header over the limit, so this never passes it.
          const grown = new Uint8Array(Math.min(buffer.length * 2, limit));
          grown.set(buffer);
          buffer = grown;
        }
        const count = await conn.read(buffer.subarray(filled));
        if (count === null) {
          throw new ProxyProtocolError(
            `stream ended after ${filled} bytes, inside the header`,
            filled,
          );
        }
        filled += count;
      }
    } catch (error) {
      if (!timedOut) throw error;
      throw new Deno.errors.TimedOut(
        `Cannot read PROXY header: ${filled} bytes received in ${proxyHeaderTimeout} s ` +
          `(proxyHeaderTimeout ${proxyHeaderTimeout} s)`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The client the header names; the proxy itself for LOCAL, v1 UNKNOWN and AF_UNSPEC. */
function clientAddress(header: ProxyHeader, peer: Deno.Addr): Deno.Addr {
  const source = header.source;
  if (header.command === "LOCAL" || source === null) return peer;
  const datagram = header.transport === "DGRAM";
  if ("path" in source) return { transport: datagram ? "unixpacket" : "unix", path: source.path };
  return { transport: datagram ? "udp" : "tcp", hostname: source.hostname, port: source.port };
}

function describe(address: Deno.Addr): string {
  if ("hostname" in address) {
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
    return `${host}:${address.port}`;
  }
  return "path" in address ? address.path : String(address.transport);
}
