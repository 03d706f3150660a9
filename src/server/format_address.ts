/**
 * Addresses as people write them.
 *
 * @module
 */

/**
 * Formats a socket address for logs and messages: `127.0.0.1:9000`,
 * `[::1]:9000`, or a Unix socket path.
 *
 * @example
 * ```ts
 * import { formatAddress } from "@socketserver/core/server";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(formatAddress({ transport: "tcp", hostname: "::1", port: 80 }), "[::1]:80");
 * assertEquals(formatAddress({ transport: "unix", path: "/tmp/s.sock" }), "/tmp/s.sock");
 * assertEquals(formatAddress({ transport: "unix", path: "" }), "(unnamed socket)");
 * ```
 *
 * @param address A Deno address, or `null` when there is none.
 * @returns The text.
 */
export function formatAddress(address: Deno.Addr | null | undefined): string {
  if (address === null || address === undefined) return "(no address)";
  if ("hostname" in address) {
    const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
    return `${host}:${address.port}`;
  }
  // Deno reports an unbound Unix peer's path as "" or null, whatever the types say.
  if ("path" in address) return address.path ? address.path : "(unnamed socket)";
  return String(address.transport);
}
