/**
 * The framework's length-prefixed echo server, as a user writes it: the
 * public API, default settings, one handler per style.
 *
 * - `--style sync`: `handleFrame(frame)` with `sendFrame(frame)`, no promise
 *   per frame.
 * - `--style await`: `for await (const frame of this.frames())` with
 *   `await this.writeFrame(frame)`.
 *
 * Frames are a 4-byte big-endian unsigned length followed by that many bytes
 * of payload (`LengthPrefixedCodec`'s default).
 *
 * Usage: `deno run --allow-net bench/servers/framework_echo.ts --style sync|await --port N`.
 * Prints `listening on 127.0.0.1:PORT` once ready; SIGTERM's default action
 * ends it.
 *
 * @module
 */

import { LengthPrefixedCodec } from "@socketserver/core/framing";
import { StreamRequestHandler, ThreadingTCPServer } from "@socketserver/core/server";

const codec = new LengthPrefixedCodec();

/** Echoes each frame from `handleFrame`: frames already received are handled with no promise. */
export class SyncEcho extends StreamRequestHandler<Uint8Array> {
  override codec = codec;
  override handleFrame(frame: Uint8Array): void {
    this.sendFrame(frame);
  }
}

/** Echoes each frame from a `for await` loop, awaiting each write. */
export class AwaitEcho extends StreamRequestHandler<Uint8Array> {
  override codec = codec;
  override async handle(): Promise<void> {
    for await (const frame of this.frames()) await this.writeFrame(frame);
  }
}

/** The handler of each `--style`. */
export const STYLES = { sync: SyncEcho, await: AwaitEcho };

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

if (import.meta.main) {
  const port = Number(flag("--port"));
  const Handler = STYLES[flag("--style") as keyof typeof STYLES];
  if (!Number.isInteger(port) || port < 0 || port > 65535 || Handler === undefined) {
    console.error("usage: framework_echo.ts --style sync|await --port N");
    Deno.exit(2);
  }
  const server = new ThreadingTCPServer({ hostname: "127.0.0.1", port }, Handler, {
    onListen: ({ port }) => console.log(`listening on 127.0.0.1:${port}`),
  });
  await server.serveForever();
}
