/**
 * The best a hand-written Deno echo server does, with no library: the bar the
 * framework's hot path is measured against.
 *
 * Frames are a 4-byte big-endian unsigned length followed by that many bytes
 * of payload. Per connection, it reads with `conn.read()` into a buffer it
 * reuses (grown only when a frame needs more room), decodes every complete
 * frame already buffered, re-encodes each reply (header + payload) into one
 * output buffer, and sends the whole batch with one `conn.write` per read.
 *
 * Usage: `deno run --allow-net bench/servers/raw_deno.ts --port N [--buffer BYTES]`.
 * `--buffer` is the first size of each connection's input buffer and the
 * step its buffers grow by (default 4096; the idle workload uses 256, the
 * least an idle read loop keeps). Prints `listening on 127.0.0.1:PORT` once
 * ready; SIGTERM's default action ends it.
 *
 * @module
 */

const HEADER_LENGTH = 4;
/** Larger frames close the connection, as the framework's default does. */
const MAX_FRAME_LENGTH = 8 * 1024 * 1024;
/**
 * Room for a pipelined batch of small frames (16 × 68 bytes), and small, so an
 * idle connection pins little memory: buffers grow only when a frame needs it.
 */
const DEFAULT_BUFFER_LENGTH = 4 * 1024;

function flag(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
}

/** A buffer of at least `length` bytes (a power of two times `step`) holding a copy of `bytes` at its start. */
function grow(bytes: Uint8Array, length: number, step: number): Uint8Array<ArrayBuffer> {
  let capacity = step;
  while (capacity < length) capacity *= 2;
  const bigger = new Uint8Array(capacity);
  bigger.set(bytes);
  return bigger;
}

/** The big-endian unsigned 32-bit length at `at`. */
function lengthAt(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/**
 * Serves one connection until it closes; never rejects.
 *
 * @param conn The connection.
 * @param bufferLength The first size of its input buffer, and the step its buffers grow by.
 */
export async function serveConnection(
  conn: Deno.TcpConn,
  bufferLength: number = DEFAULT_BUFFER_LENGTH,
): Promise<void> {
  conn.setNoDelay(true);
  let input = new Uint8Array(bufferLength);
  let output = new Uint8Array(0); // allocated by the first reply
  let start = 0; // first byte of the next frame in `input`
  let end = 0; // end of the buffered bytes
  let needed = HEADER_LENGTH; // bytes the next frame needs, counted from `start`
  try {
    while (true) {
      // Make room for the whole next frame after `start`: slide it to the
      // front, or grow when the frame is larger than the buffer.
      if (input.length - start < needed) {
        const pending = input.subarray(start, end);
        if (needed > input.length) input = grow(pending, needed, bufferLength);
        else input.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const n = await conn.read(input.subarray(end));
      if (n === null) return;
      end += n;

      // Fast path: decode every complete frame already buffered before
      // reading again, so a pipelined batch costs one read and one write.
      let out = 0;
      while (end - start >= HEADER_LENGTH) {
        const length = lengthAt(input, start);
        if (length > MAX_FRAME_LENGTH) return;
        const frameEnd = start + HEADER_LENGTH + length;
        if (frameEnd > end) break;
        if (output.length < out + HEADER_LENGTH + length) {
          output = grow(output.subarray(0, out), out + HEADER_LENGTH + length, bufferLength);
        }
        output[out] = length >>> 24;
        output[out + 1] = length >>> 16;
        output[out + 2] = length >>> 8;
        output[out + 3] = length;
        output.set(input.subarray(start + HEADER_LENGTH, frameEnd), out + HEADER_LENGTH);
        out += HEADER_LENGTH + length;
        start = frameEnd;
      }
      if (start === end) start = end = 0;
      needed = end - start >= HEADER_LENGTH
        ? HEADER_LENGTH + lengthAt(input, start)
        : HEADER_LENGTH;
      if (out > 0) await writeAll(conn, output.subarray(0, out));
    }
  } catch {
    // A reset or broken pipe costs this connection only.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

if (import.meta.main) {
  const port = flag(Deno.args, "--port", Number.NaN);
  const bufferLength = flag(Deno.args, "--buffer", DEFAULT_BUFFER_LENGTH);
  if (
    !Number.isInteger(port) || port < 0 || port > 65535 ||
    !Number.isInteger(bufferLength) || bufferLength < HEADER_LENGTH
  ) {
    console.error("usage: raw_deno.ts --port N [--buffer BYTES]");
    Deno.exit(2);
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  console.log(`listening on 127.0.0.1:${listener.addr.port}`);
  for await (const conn of listener) {
    // Each connection is its own task; serveConnection never rejects.
    serveConnection(conn, bufferLength);
  }
}
