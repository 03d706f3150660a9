// Internal: the `trustedProxies` setting, compiled once into byte masks so a
// check per connection is a few comparisons. Not part of the public API.

import { parseIP } from "./_ip.ts";

interface Network {
  bytes: Uint8Array;
  prefix: number;
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`), as a dual-stack listener reports IPv4 peers. */
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** A set of IP addresses and CIDR networks, IPv4 and IPv6. */
export class TrustedProxies {
  readonly #networks: Network[];

  /**
   * Compiles `entries`: `127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
   *
   * @throws {TypeError} An entry is neither an address nor a CIDR network.
   */
  constructor(entries: readonly string[]) {
    if (!Array.isArray(entries)) {
      throw new TypeError(
        `Cannot use trustedProxies: expected an array of addresses, got ${typeof entries}`,
      );
    }
    this.#networks = entries.map((entry) => {
      const [address, prefixText, ...rest] = String(entry).trim().split("/");
      const bytes = parseIP(address);
      const bits = bytes === undefined ? 0 : bytes.length * 8;
      const prefix = prefixText === undefined ? bits : Number(prefixText);
      if (
        bytes === undefined || rest.length > 0 ||
        (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) || prefix > bits
      ) {
        throw new TypeError(
          `Cannot use trustedProxies: ${
            JSON.stringify(entry)
          } is not an IP address or CIDR network`,
        );
      }
      return { bytes, prefix };
    });
  }

  /** How many entries there are. */
  get size(): number {
    return this.#networks.length;
  }

  /** Whether `hostname` (as Deno reports a peer) is in one of the networks. */
  has(hostname: string): boolean {
    const bytes = parseIP(hostname);
    if (bytes === undefined) return false;
    const ipv4 = bytes.length === 16 && MAPPED_PREFIX.every((byte, i) => bytes[i] === byte)
      ? bytes.subarray(12)
      : undefined;
    return this.#networks.some((network) =>
      contains(network, bytes) || (ipv4 !== undefined && contains(network, ipv4))
    );
  }
}

function contains(network: Network, bytes: Uint8Array): boolean {
  if (network.bytes.length !== bytes.length) return false;
  const whole = network.prefix >> 3;
  for (let i = 0; i < whole; i++) if (network.bytes[i] !== bytes[i]) return false;
  const rest = network.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (network.bytes[whole] & mask) === (bytes[whole] & mask);
}
