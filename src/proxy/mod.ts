/**
 * The PROXY protocol (v1 text and v2 binary), as HAProxy, nginx and cloud
 * load balancers send it: the original client's address, sent by the
 * proxy first on each connection. Stream servers read it when their
 * `proxyProtocol` option is set (and only from `trustedProxies`); this
 * entry point is for reading a header yourself.
 *
 * ```
 * PROXY TCP4 192.0.2.7 10.0.0.1 40000 80\r\n      (v1, at most 107 bytes)
 * 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A 21 11 ...   (v2, 16 bytes + addresses + TLVs)
 * ```
 *
 * @example Parse a v1 header
 * ```ts
 * import { parseProxyHeader } from "@socketserver/core/proxy";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new TextEncoder().encode("PROXY TCP4 192.0.2.7 10.0.0.1 40000 80\r\nhello");
 * const header = parseProxyHeader(bytes)!;
 * assertEquals(header.source, { hostname: "192.0.2.7", port: 40000 });
 * assertEquals(new TextDecoder().decode(bytes.subarray(header.length)), "hello");
 * ```
 *
 * @module
 */

export * from "./parse_proxy_header.ts";
export * from "./proxied_conn.ts";
export * from "./errors.ts";
