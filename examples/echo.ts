/**
 * The classic echo server: every byte a client sends comes back.
 *
 *     deno run --allow-net examples/echo.ts [--host 127.0.0.1] [--port 9000]
 *         [--upper] [--sequential] [--framing none|length|line]
 *
 * `--upper` upper-cases what it echoes (the classic tutorial server),
 * `--sequential` serves one client at a time (`TCPServer`) instead of each
 * in its own task (`ThreadingTCPServer`), and `--framing` echoes frame by
 * frame: `length` is a 4-byte big-endian length prefix, `line` is one line.
 * SIGINT or SIGTERM stops accepting, lets running handlers finish, exits 0.
 *
 * @module
 */

import {
  type Codec,
  LengthPrefixedCodec,
  LinesCodec,
  StreamRequestHandler,
  TCPServer,
  ThreadingTCPServer,
} from "../mod.ts";
import { parseFlags, runUntilSignal } from "./_cli.ts";

const flags = parseFlags({
  upper: { type: "boolean" },
  sequential: { type: "boolean" },
  framing: { type: "string" },
}, { port: 9000 });

const framing = String(flags.values.framing ?? "none");
const upper = flags.values.upper === true;

/** ASCII upper case of bytes, so binary frames pass through unchanged otherwise. */
function upperBytes(bytes: Uint8Array): Uint8Array {
  return bytes.map((byte) => byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte);
}

/** Echoes raw bytes as they arrive. */
class Echo extends StreamRequestHandler {
  // Each chunk is written back before the next read: the read buffer can be reused.
  override reuseReadBuffer = true;
  override async handle(): Promise<void> {
    for await (const chunk of this.rfile) await this.wfile.write(upper ? upperBytes(chunk) : chunk);
  }
}

/** Echoes each 4-byte-length-prefixed frame as one frame. */
class LengthEcho extends StreamRequestHandler<Uint8Array> {
  override codec: Codec<Uint8Array> = new LengthPrefixedCodec();
  override reuseReadBuffer = true;
  override async handle(): Promise<void> {
    for await (const frame of this.frames()) {
      await this.writeFrame(upper ? upperBytes(frame) : frame);
    }
  }
}

/** Echoes each line as one line. */
class LineEcho extends StreamRequestHandler<string> {
  override codec: Codec<string> = new LinesCodec();
  override async handle(): Promise<void> {
    for await (const line of this.frames()) {
      await this.writeFrame(upper ? line.toUpperCase() : line);
    }
  }
}

const handlers = { none: Echo, length: LengthEcho, line: LineEcho };
if (!(framing in handlers)) {
  console.error(`--framing must be none, length or line, got ${framing}`);
  Deno.exit(2);
}
const Handler = handlers[framing as keyof typeof handlers];
const Server = flags.values.sequential ? TCPServer : ThreadingTCPServer;
const server = new Server({ hostname: flags.hostname, port: flags.port }, Handler);
await runUntilSignal(server);
