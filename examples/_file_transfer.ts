// Shared by examples/file_server.ts and examples/file_client.ts: the
// protocol's constants, its header codec, and what a file may be called.

import { JsonHeaderStreamCodec, type StreamRequestHandler } from "../mod.ts";
import { printable } from "./_printable.ts";

/** Python's `struct.pack('i', n)`: 4 bytes, little-endian, signed (explicitly, on any machine). */
export const HEADER_LENGTH_FORMAT = "<i";
/** The largest JSON header accepted, with or without a length prefix. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** The most one read or write of file data moves. */
export const CHUNK_SIZE = 64 * 1024;
/** How long a refused client may go on sending before the connection is closed. */
const LINGER_SECONDS = 2;
/** The longest file name kept, in UTF-8 bytes (file systems allow 255). */
const MAX_NAME_BYTES = 200;

const encoder = new TextEncoder();

/**
 * `struct.pack('i', len(h))`, the JSON header h, then the body, whose size
 * is the header's `bodySizeField`.
 */
export function headerCodec(bodySizeField?: string): JsonHeaderStreamCodec {
  return new JsonHeaderStreamCodec({
    headerLengthFormat: HEADER_LENGTH_FORMAT,
    maxHeaderLength: MAX_HEADER_BYTES,
    ...(bodySizeField === undefined ? {} : { bodySizeField }),
  });
}

/** The last part of a path, after `/` or `\`. */
export function basename(path: string): string {
  return path.split(/[/\\]/).pop() ?? path;
}

/**
 * A name that stays inside the folder and shows as what it is: the last
 * path part, without control characters, bidi overrides and leading dots,
 * valid UTF-8, at most 200 bytes (cut between characters, never inside one).
 *
 * @returns The name, or `undefined` when nothing usable is left.
 */
export function safeName(name: unknown): string | undefined {
  if (typeof name !== "string") return undefined;
  // TAB is printable, but not in a file name.
  const base = printable(basename(name)).replaceAll("\t", "").trim().replace(/^\.+/, "").trim();
  let kept = "";
  let bytes = 0;
  for (const character of base) {
    bytes += encoder.encode(character).length;
    if (bytes > MAX_NAME_BYTES) break;
    kept += character;
  }
  kept = kept.trim();
  return kept === "" ? undefined : kept;
}

/**
 * Sends `answer` and closes. What the client is still sending is read and
 * dropped for a moment first: closing a socket with unread bytes resets the
 * connection, and the client might lose the answer.
 */
export async function answerAndClose(
  handler: StreamRequestHandler<unknown>,
  answer: string,
): Promise<void> {
  await handler.wfile.write(answer);
  await handler.wfile.flush();
  await handler.request.closeWrite();
  const deadline = Date.now() + LINGER_SECONDS * 1000;
  try {
    for (let left = LINGER_SECONDS; left > 0; left = (deadline - Date.now()) / 1000) {
      handler.rfile.timeout = left;
      if (await handler.rfile.read() === null) return;
    }
  } catch {
    // Timed out or reset: either way, done.
  }
}
