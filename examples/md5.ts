/**
 * An incremental MD5 (RFC 1321), so an example can digest a file while it
 * streams past: Web Crypto's `crypto.subtle.digest` has no MD5 and takes the
 * whole input at once.
 *
 * MD5 is broken as a defence against an attacker; the file examples use it
 * only because the classic Python clients send `hashlib.md5(...).hexdigest()`
 * to catch a transfer that went wrong.
 *
 *     const md5 = new Md5();
 *     md5.update(new TextEncoder().encode("hello "));
 *     md5.update(new TextEncoder().encode("world"));
 *     md5.hexdigest(); // "5eb63bbbe01eeed093cb22bb8f5acdc3", as hashlib.md5(b"hello world")
 *
 * @module
 */

// The constants of RFC 1321: per step a left-rotation (four a round, repeated
// four times in each of the four rounds) and a sine-derived addend.
const SHIFTS = Int32Array.from(
  [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]]
    .flatMap((round) => [...round, ...round, ...round, ...round]),
);
const K = Int32Array.from(
  { length: 64 },
  (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32),
);
// Which message word each of the 64 steps reads.
const WORD_INDEX = Int32Array.from({ length: 64 }, (_, i) => {
  if (i < 16) return i;
  if (i < 32) return (5 * i + 1) % 16;
  if (i < 48) return (3 * i + 5) % 16;
  return (7 * i) % 16;
});

/**
 * An MD5 digest computed piece by piece, as Python's `hashlib.md5()`:
 * `update()` as often as needed, then `digest()` or `hexdigest()`.
 */
export class Md5 {
  #state = Int32Array.of(0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476);
  /** A partial 64-byte block carried between updates. */
  #block = new Uint8Array(64);
  #blockLength = 0;
  /** Total bytes hashed so far. */
  #length = 0;
  #words = new Int32Array(16);
  #finished = false;

  /**
   * Adds bytes to the digest.
   *
   * @param data The next bytes.
   * @returns This hasher, so calls chain.
   * @throws {TypeError} The digest was already taken.
   */
  update(data: Uint8Array): this {
    if (this.#finished) throw new TypeError("Cannot update MD5: the digest was already taken");
    this.#length += data.length;
    let offset = 0;
    if (this.#blockLength > 0) {
      const count = Math.min(64 - this.#blockLength, data.length);
      this.#block.set(data.subarray(0, count), this.#blockLength);
      this.#blockLength += count;
      offset = count;
      if (this.#blockLength < 64) return this;
      this.#compress(this.#block, 0);
      this.#blockLength = 0;
    }
    // Fast path: whole blocks are hashed straight from the input, no copy.
    for (; offset + 64 <= data.length; offset += 64) this.#compress(data, offset);
    if (offset < data.length) {
      this.#block.set(data.subarray(offset));
      this.#blockLength = data.length - offset;
    }
    return this;
  }

  /**
   * Finishes the digest. The hasher cannot be updated afterwards.
   *
   * @returns The 16 digest bytes.
   */
  digest(): Uint8Array {
    if (!this.#finished) this.#finish();
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) view.setInt32(i * 4, this.#state[i], true);
    return out;
  }

  /**
   * Finishes the digest, as `hashlib.md5().hexdigest()`.
   *
   * @returns 32 lower-case hex digits.
   */
  hexdigest(): string {
    return Array.from(this.digest(), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  #finish(): void {
    const bitLength = this.#length * 8;
    const padding = new Uint8Array(this.#blockLength < 56 ? 64 : 128);
    padding.set(this.#block.subarray(0, this.#blockLength));
    padding[this.#blockLength] = 0x80;
    const view = new DataView(padding.buffer);
    // The length in bits, 64-bit little-endian (split: a number holds 53 bits).
    view.setUint32(padding.length - 8, bitLength >>> 0, true);
    view.setUint32(padding.length - 4, Math.floor(bitLength / 2 ** 32) >>> 0, true);
    for (let offset = 0; offset < padding.length; offset += 64) this.#compress(padding, offset);
    this.#finished = true;
  }

  /** Mixes one 64-byte block at `offset` into the state. */
  #compress(bytes: Uint8Array, offset: number): void {
    const words = this.#words;
    for (let i = 0, at = offset; i < 16; i++, at += 4) {
      words[i] = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
    }
    const state = this.#state;
    let a = state[0], b = state[1], c = state[2], d = state[3];
    for (let i = 0; i < 64; i++) {
      let f: number;
      if (i < 16) f = (b & c) | (~b & d);
      else if (i < 32) f = (d & b) | (~d & c);
      else if (i < 48) f = b ^ c ^ d;
      else f = c ^ (b | ~d);
      const sum = (a + f + K[i] + words[WORD_INDEX[i]]) | 0;
      const shift = SHIFTS[i];
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    state[0] = (state[0] + a) | 0;
    state[1] = (state[1] + b) | 0;
    state[2] = (state[2] + c) | 0;
    state[3] = (state[3] + d) | 0;
  }
}

/**
 * The MD5 of `data` in one call, as `hashlib.md5(data).hexdigest()`.
 *
 * @param data The bytes.
 * @returns 32 lower-case hex digits.
 */
export function md5Hex(data: Uint8Array): string {
  return new Md5().update(data).hexdigest();
}
