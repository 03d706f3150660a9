/**
 * A UDP time server: each datagram is a strftime format, and the reply is the
 * current time in it.
 *
 *     deno run --allow-net --unstable-net examples/udp_time.ts [--host 127.0.0.1] [--port 9999] [--utc]
 *     deno run --allow-net --unstable-net examples/udp_time.ts --client [--format "%Y/%m/%d %H:%M:%S"]
 *
 * `--utc` answers in UTC instead of the server's local time. A format longer
 * than 1024 bytes is refused (`maxPacketSize`: the server reports it and does
 * not answer). SIGINT or SIGTERM stops the server; it exits 0.
 *
 * With `--client` it sends `--format` to the server at `--host`/`--port`,
 * prints the reply, and exits 0 (1 when no reply came within 2 seconds: UDP
 * may drop a datagram, and nothing resends it).
 *
 * @module
 */

import { DatagramRequestHandler, UDPServer } from "../mod.ts";
import { parseFlags, runUntilSignal } from "./_cli.ts";
import { openClientSocket, receiveWithin, serverAddress } from "./_udp_client.ts";
import { strftime } from "./_strftime.ts";

const REPLY_TIMEOUT_SECONDS = 2;

const flags = parseFlags({
  client: { type: "boolean" },
  format: { type: "string" },
  utc: { type: "boolean" },
}, { port: 9999 });

const utc = flags.values.utc === true;

/** Answers a format with the current time. */
class TimeHandler extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    // A format typed with a newline (nc, echo) gets no newline in the time.
    const format = new TextDecoder().decode(this.packet).replace(/\r?\n$/, "");
    await this.reply(strftime(format, new Date(), { utc }));
  }
}

async function runClient(): Promise<number> {
  const format = String(flags.values.format ?? "%Y/%m/%d %H:%M:%S");
  const socket = openClientSocket(flags.hostname);
  try {
    await socket.send(new TextEncoder().encode(format), serverAddress(flags.hostname, flags.port));
    const reply = await receiveWithin(socket, REPLY_TIMEOUT_SECONDS);
    if (reply === null) {
      console.error(
        `no reply from ${flags.hostname}:${flags.port} within ${REPLY_TIMEOUT_SECONDS} s`,
      );
      return 1;
    }
    console.log(new TextDecoder().decode(reply));
    return 0;
  } finally {
    try {
      socket.close();
    } catch {
      // Already closed by the timeout.
    }
  }
}

if (flags.values.client) {
  Deno.exit(await runClient());
}
const server = new UDPServer({ hostname: flags.hostname, port: flags.port }, TimeHandler, {
  maxPacketSize: 1024,
});
await runUntilSignal(server);
