/**
 * mini-redis's shared state, one `Db` for every connection (as in tokio's
 * mini-redis): keys, values and expiry times, and the pub/sub channels.
 *
 * Keys and channel names are binary strings: one character per byte
 * (`keyOf()`), so any bytes are a key and two keys are equal exactly when
 * their bytes are. Values are `Uint8Array`s: `set()` stores a copy, and
 * nothing changes a value once stored, so a reply may send it as it is.
 *
 * Expiry is Redis's: lazy (a read of an expired key deletes it) plus a
 * periodic cycle (`expireCycle()`, ten times a second) that walks the keys
 * with a time to live, a few at a time, so keys nobody reads again are freed
 * too, with bounded work per tick.
 *
 * @module
 */

/** Who receives what is published on a channel: a subscribed connection. */
export interface Subscriber {
  /** Queues a `message` push for the client; never waits. */
  push(channel: Uint8Array, message: Uint8Array): void;
}

/** A channel someone listens to: its name as bytes, for the pushes, and who listens. */
interface Channel {
  name: Uint8Array;
  subscribers: Set<Subscriber>;
}

interface Entry {
  value: Uint8Array;
  /** When the key expires, in ms since the epoch; 0 for never. */
  expiresAt: number;
}

/** Keys the periodic cycle checks per round, and rounds per tick at most (Redis: 20, 16). */
const KEYS_PER_ROUND = 20;
const MAX_ROUNDS = 16;
/** Another round runs while more than this share of a round's keys had expired (Redis: 10%). */
const STALE_SHARE = 0.1;
/** Values up to this long are packed into shared pages of PAGE_SIZE bytes (see `#copy()`). */
const PACKED_VALUE = 64;
const PAGE_SIZE = 1024;
/** The most arguments one `apply` passes safely (they go on the call stack). */
const APPLY_LIMIT = 8192;
/** What one key costs besides its bytes, for the memory limit: a rough figure for a Map entry. */
const ENTRY_OVERHEAD = 64;

/**
 * The key of a binary-safe name: one UTF-16 unit per byte, so every byte
 * sequence has its own string.
 */
export function keyOf(bytes: Uint8Array): string {
  // Fast path: one call makes a flat string, which the Map hashes as it is;
  // a string built with += is a chain the Map must first copy flat.
  if (bytes.length <= APPLY_LIMIT) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let key = "";
  for (let at = 0; at < bytes.length; at += APPLY_LIMIT) {
    key += keyOf(bytes.subarray(at, at + APPLY_LIMIT));
  }
  return key;
}

/** The bytes of a key: `keyOf()` undone. */
export function bytesOfKey(key: string): Uint8Array {
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
  return bytes;
}

/** The keyspace and the channels. */
export class Db {
  /** The bytes keys and values may use, roughly, before writes are refused. */
  readonly maxMemory: number;
  readonly #entries = new Map<string, Entry>();
  /** The keys with a time to live: the periodic cycle walks only these. */
  readonly #volatile = new Set<string>();
  /** Where the periodic cycle goes on from (a live iterator sees keys added since). */
  #cursor: Iterator<string> = this.#volatile.values();
  readonly #channels = new Map<string, Channel>();
  #used = 0;
  #page = new Uint8Array(PAGE_SIZE);
  #pageUsed = 0;

  /** @param maxMemory The bytes keys and values may use before writes are refused. */
  constructor(maxMemory: number) {
    this.maxMemory = maxMemory;
  }

  /** How many keys there are, expired ones not yet deleted included (as Redis's DBSIZE). */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether writes that grow the data are refused (Redis's `maxmemory`). */
  get full(): boolean {
    return this.#used > this.maxMemory;
  }

  /** The value of a live key, or undefined; an expired key is deleted on the way. */
  get(key: string): Uint8Array | undefined {
    return this.#live(key)?.value;
  }

  /** When a live key expires (ms since the epoch, 0 for never), or undefined when it does not exist. */
  expiresAt(key: string): number | undefined {
    return this.#live(key)?.expiresAt;
  }

  /**
   * Stores a copy of `bytes` (a view of a read buffer is fine); `expiresAt`
   * 0 clears a time to live, `"keep"` keeps the key's.
   */
  set(key: string, bytes: Uint8Array, expiresAt: number | "keep" = 0): void {
    const value = this.#copy(bytes);
    const old = this.#live(key);
    const hadTimeToLive = old !== undefined && old.expiresAt !== 0;
    if (old !== undefined) this.#used -= old.value.length;
    else this.#used += key.length + ENTRY_OVERHEAD;
    this.#used += value.length;
    const at = expiresAt === "keep" ? old?.expiresAt ?? 0 : expiresAt;
    if (old !== undefined) {
      // In place: the Map keeps its entry, no rehash.
      old.value = value;
      old.expiresAt = at;
    } else {
      this.#entries.set(key, { value, expiresAt: at });
    }
    // Only a key that had a time to live is in #volatile: a plain SET skips the lookup.
    if (at !== 0) this.#volatile.add(key);
    else if (hadTimeToLive) this.#volatile.delete(key);
  }

  /** Sets or clears (0) a live key's expiry; false when the key does not exist. */
  expire(key: string, expiresAt: number): boolean {
    const entry = this.#live(key);
    if (entry === undefined) return false;
    entry.expiresAt = expiresAt;
    if (expiresAt === 0) this.#volatile.delete(key);
    else this.#volatile.add(key);
    return true;
  }

  /** Deletes a key; true when it existed (and had not expired). */
  delete(key: string): boolean {
    return this.#live(key) !== undefined && this.#remove(key);
  }

  /**
   * One tick of active expiry: checks up to 20 keys with a time to live,
   * going on from where the last tick stopped, and again while more than a
   * tenth of them had expired, 16 rounds at most.
   *
   * @returns How many keys it deleted.
   */
  expireCycle(now: number = Date.now()): number {
    let deleted = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let checked = 0;
      let expired = 0;
      while (checked < KEYS_PER_ROUND) {
        const next = this.#cursor.next();
        if (next.done) {
          // A full pass: start the next one on the next tick.
          this.#cursor = this.#volatile.values();
          break;
        }
        checked++;
        const entry = this.#entries.get(next.value)!;
        if (now > entry.expiresAt && this.#remove(next.value)) expired++;
      }
      deleted += expired;
      if (checked < KEYS_PER_ROUND || expired <= checked * STALE_SHARE) break;
    }
    return deleted;
  }

  /** Adds a subscriber to a channel. */
  subscribe(channel: string, subscriber: Subscriber): void {
    let listened = this.#channels.get(channel);
    if (listened === undefined) {
      listened = { name: bytesOfKey(channel), subscribers: new Set() };
      this.#channels.set(channel, listened);
    }
    listened.subscribers.add(subscriber);
  }

  /** Removes a subscriber from a channel; a channel nobody listens to is forgotten. */
  unsubscribe(channel: string, subscriber: Subscriber): void {
    const subscribers = this.#channels.get(channel)?.subscribers;
    if (subscribers?.delete(subscriber) && subscribers.size === 0) this.#channels.delete(channel);
  }

  /**
   * Pushes a message to the channel's subscribers.
   *
   * @returns How many received it.
   */
  publish(channel: string, message: Uint8Array): number {
    const listened = this.#channels.get(channel);
    if (listened === undefined) return 0;
    // The message may be a view of a connection's read buffer: one copy for all.
    const copy = message.slice();
    const receivers = listened.subscribers.size;
    for (const subscriber of listened.subscribers) subscriber.push(listened.name, copy);
    return receivers;
  }

  /**
   * A copy the `Db` owns. Fast path: small values are packed into shared
   * 1 KiB pages. In Deno a `Uint8Array` of its own is an ArrayBuffer that
   * the garbage collector tracks: copying each SET's value so cost 2.0 µs of
   * CPU per SET under `redis-benchmark -P 16`, 1.3 µs with pages. The price:
   * a page lives while one of its values does, so a live small value may
   * keep up to 1 KiB, which `maxMemory` does not count.
   */
  #copy(bytes: Uint8Array): Uint8Array {
    if (bytes.length > PACKED_VALUE) return bytes.slice();
    if (this.#pageUsed + bytes.length > PAGE_SIZE) {
      this.#page = new Uint8Array(PAGE_SIZE);
      this.#pageUsed = 0;
    }
    const start = this.#pageUsed;
    this.#page.set(bytes, start);
    this.#pageUsed += bytes.length;
    return this.#page.subarray(start, this.#pageUsed);
  }

  /** The entry of a live key; an expired one is deleted (lazy expiry). */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    // Redis's rule: a key expires once the clock has passed its time.
    if (entry.expiresAt !== 0 && Date.now() > entry.expiresAt) {
      this.#remove(key);
      return undefined;
    }
    return entry;
  }

  #remove(key: string): true {
    const entry = this.#entries.get(key)!;
    this.#used -= key.length + ENTRY_OVERHEAD + entry.value.length;
    this.#entries.delete(key);
    this.#volatile.delete(key);
    return true;
  }
}
