/**
 * A UDP time server: each datagram is a strftime format, and the reply is the
 * current time in it.
 *
 *     deno run --allow-net --unstable-net examples/udp_time.ts [--port 9999] [--utc]
 *     deno run --allow-net --unstable-net examples/udp_time.ts --client [--format "%Y/%m/%d %H:%M:%S"]
 *
 * `--utc` answers in UTC instead of the server's local time. A format longer
 * than 1024 bytes is refused (`maxPacketSize`: the server reports it and does
 * not answer). SIGINT or SIGTERM stops the server; it exits 0.
 *
 * A datagram whose answer would be the datagram itself (text with no
 * directive, an empty one) gets no answer: UDP senders can be forged, and
 * a server that echoes could be set talking to another one forever.
 *
 * With `--client` it sends `--format` to the server at `--host`/`--port`,
 * prints the reply, and exits 0 (1 when no reply came within 2 seconds: UDP
 * may drop a datagram, and nothing resends it).
 *
 * @module
 */

import { DatagramRequestHandler, UDPServer } from "../mod.ts";
import { fail, flag, parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import { printable } from "./_printable.ts";
import { strftime } from "./_strftime.ts";
import { openClientSocket, receiveWithin, serverAddress } from "./_udp_client.ts";

const cli = parseCommandLine({
  permissions: "--allow-net --unstable-net",
  about: "A UDP time server (or, with --client, its client): a strftime format in, the time out.",
  port: 9999,
  flags: {
    utc: flag.switch("answer in UTC instead of local time"),
    client: flag.switch("be the client: send --format, print the reply"),
    format: flag.text(
      "FORMAT",
      "with --client: the format (default %Y/%m/%d %H:%M:%S)",
      "%Y/%m/%d %H:%M:%S",
    ),
  },
});

const REPLY_TIMEOUT_SECONDS = 2;

/** Answers a format with the current time. */
class TimeHandler extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    // A format typed with a newline (nc, echo) gets no newline in the time.
    const format = new TextDecoder().decode(this.packet).replace(/\r?\n$/, "");
    const time = strftime(format, new Date(), { utc: cli.utc });
    // Never an echo: no directive, no answer.
    if (time === format) return;
    await this.reply(time);
  }
}

async function runClient(): Promise<void> {
  const socket = openClientSocket(cli.host);
  try {
    await socket.send(new TextEncoder().encode(cli.format), serverAddress(cli.host, cli.port));
    const reply = await receiveWithin(socket, REPLY_TIMEOUT_SECONDS);
    if (reply === null) {
      fail(`no reply from ${cli.host}:${cli.port} within ${REPLY_TIMEOUT_SECONDS} s`);
    }
    console.log(new TextDecoder().decode(reply).split("\n").map(printable).join("\n"));
  } finally {
    try {
      socket.close();
    } catch {
      // Already closed by the timeout.
    }
  }
}

if (cli.client) {
  await runClient();
  Deno.exit(0);
}
await serve(
  cli,
  () => new UDPServer({ hostname: cli.host, port: cli.port }, TimeHandler, { maxPacketSize: 1024 }),
);
