// Test support: small clients for server tests.

import { deadline } from "@std/async";

/** `promise`, or an error naming `what` when it has not settled within `seconds`. */
export async function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  try {
    return await deadline(promise, seconds * 1000);
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "TimeoutError")) throw error;
    throw new Error(`Gave up waiting for ${what} after ${seconds} s`);
  }
}

/** Reads until the peer closes; returns everything received. */
export async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const count = await conn.read(buffer);
    if (count === null) break;
    chunks.push(buffer.slice(0, count));
  }
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Connects, sends `text`, half-closes, and returns the whole reply as text. */
export async function exchange(
  address: Deno.ConnectOptions | Deno.UnixConnectOptions,
  text: string,
): Promise<string> {
  using conn = await Deno.connect(address as Deno.ConnectOptions);
  await conn.write(new TextEncoder().encode(text));
  await conn.closeWrite();
  return new TextDecoder().decode(await readToEnd(conn));
}

/** Reads exactly `n` bytes (or fewer at end of stream) as text. */
export async function readText(conn: Deno.Conn, n: number): Promise<string> {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const count = await conn.read(out.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return new TextDecoder().decode(out.subarray(0, filled));
}

/** Wraps `conn.write` so the size of each write is pushed to `sizes`: how many writes a batch took. */
export function recordWrites(conn: Deno.Conn, sizes: number[]): void {
  const write = conn.write.bind(conn);
  conn.write = (bytes) => {
    sizes.push(bytes.length);
    return write(bytes);
  };
}
