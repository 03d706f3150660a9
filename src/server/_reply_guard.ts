// Internal: the reply guard of datagram servers. UDP source addresses can be
// forged, so a server that answers small datagrams with larger ones is an
// amplifier for attacks on the forged address, and two echo-like services can
// bounce one forged datagram between them forever. Per peer, the guard
// remembers the bytes received and sent and a hash of the last datagram, in
// a table that a flood of forged sources cannot grow: the least recently seen
// peer is forgotten first (which only makes the server stricter with it: its
// credit starts again).

/** Peers remembered at most (each entry is a few dozen bytes). */
export const MAX_TRACKED_PEERS = 4096;
/** The first drop after this long is reported; those in between are counted in it. */
const REPORT_INTERVAL_MS = 10_000;

/** What the guard knows of one peer. */
interface Tally {
  received: number;
  sent: number;
  /** The length and hash of the last datagram received: a reply equal to it reflects it. */
  lastLength: number;
  lastHash: number;
  /** Whether the peer was already answered with its own datagram. */
  reflected: boolean;
}

/** Why a reply may not go out. */
export type Refusal =
  | { reason: "amplification"; sent: number; received: number }
  | { reason: "reflection" };

/** Byte counts per unverified peer, bounded, and the rate of drop reports. */
export class ReplyGuard {
  readonly #peers = new Map<string, Tally>();
  readonly #maxPeers: number;
  /** Drops since the last report. */
  #dropped = 0;
  #lastReport = -Infinity;

  /** @param maxPeers Peers remembered at most. */
  constructor(maxPeers: number = MAX_TRACKED_PEERS) {
    this.#maxPeers = maxPeers;
  }

  /** Peers remembered now. */
  get size(): number {
    return this.#peers.size;
  }

  /** Counts a datagram received from `peer` (a key naming its address). */
  received(peer: string, datagram: Uint8Array): void {
    const tally = this.#tally(peer);
    tally.received += datagram.length;
    tally.lastLength = datagram.length;
    tally.lastHash = hash(datagram);
  }

  /**
   * Decides on a reply to `peer`, counting it when it may go out.
   *
   * @param factor The most bytes sent per byte received.
   * @returns `undefined` when it may go out, else why not.
   */
  admit(peer: string, reply: Uint8Array, factor: number): Refusal | undefined {
    const tally = this.#tally(peer);
    // Hashed only when the lengths match: most replies differ in length.
    const reflects = reply.length === tally.lastLength && hash(reply) === tally.lastHash;
    if (reflects && tally.reflected) return { reason: "reflection" };
    if (tally.sent + reply.length > factor * tally.received) {
      return { reason: "amplification", sent: tally.sent, received: tally.received };
    }
    tally.sent += reply.length;
    if (reflects) tally.reflected = true;
    return undefined;
  }

  /**
   * Counts a dropped reply.
   *
   * @returns The drops since the last report when one is due now, else `undefined`.
   */
  dropped(): number | undefined {
    this.#dropped++;
    const now = performance.now();
    if (now - this.#lastReport < REPORT_INTERVAL_MS) return undefined;
    this.#lastReport = now;
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }

  /** The peer's tally, made the most recently seen; a new one evicts the least recent. */
  #tally(peer: string): Tally {
    let tally = this.#peers.get(peer);
    if (tally === undefined) {
      tally = { received: 0, sent: 0, lastLength: -1, lastHash: 0, reflected: false };
      if (this.#peers.size >= this.#maxPeers) {
        this.#peers.delete(this.#peers.keys().next().value!);
      }
    } else {
      // A Map iterates in insertion order: re-inserting moves the peer to the end.
      this.#peers.delete(peer);
    }
    this.#peers.set(peer, tally);
    return tally;
  }
}

/**
 * Whether `peer` has a loopback address (127.0.0.0/8, ::1, or the IPv4 one
 * mapped into IPv6). Such a source cannot be forged from the network: the
 * kernel drops a packet arriving on another interface with a loopback
 * source (a "martian"), so only a program on this host can send it.
 */
export function isLoopback(peer: Deno.Addr): boolean {
  if (!("hostname" in peer)) return false;
  const host = peer.hostname;
  return host === "::1" || host.startsWith("127.") || host.startsWith("::ffff:127.");
}

/**
 * FNV-1a, 32 bits: a datagram's fingerprint, so the table keeps 8 bytes per
 * peer rather than its last datagram. Two different datagrams of one length
 * collide once in 4 billion, and then only a second reflection is refused.
 */
function hash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}
