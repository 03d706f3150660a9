/**
 * A UDP chat server: clients send `name : message` lines; the server prints
 * each with the name in a color of its own, and answers with a line typed at
 * its stdin, or with `ack: <message>` in `--auto-reply` mode.
 *
 *     deno run --allow-net --unstable-net examples/udp_chat.ts [--port 9998] [--auto-reply]
 *     deno run --allow-net --unstable-net examples/udp_chat.ts --client [--name alice]
 *
 * One datagram may hold several lines; each gets one answer line, and the
 * answers go back in one datagram. A line without ` : ` is sent by the
 * client's address. The color is stable per name (a hash into 256-color
 * ANSI); output is plain when stdout is not a terminal or NO_COLOR is set.
 * Messages are handled one at a time (`UDPServer`): while the operator types,
 * new messages wait in the kernel's buffer. When the server's stdin closes
 * (or is not a terminal and empty), it answers automatically from then on.
 * SIGINT or SIGTERM stops the server; it exits 0.
 *
 * What one datagram can make the server do is bounded, since UDP senders
 * can be forged: empty lines get no answer and are not logged, and past
 * `MAX_LINES_PER_DATAGRAM` lines the rest are dropped with one notice. Text
 * loses its control characters and bidi overrides before it is printed.
 *
 * With `--client` it reads lines from stdin, sends each (prefixed with
 * `--name : ` when given), prints every answer, and exits once stdin has
 * ended and every line is answered: 0, or 1 when some got no answer within
 * `--timeout` seconds (default 10).
 *
 * @module
 */

import { bold, rgb8, setColorEnabled } from "@std/fmt/colors";
import { TextLineStream } from "@std/streams/text-line-stream";
import { DatagramRequestHandler, formatAddress, UDPServer } from "../mod.ts";
import { flag, parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import { printable } from "./_printable.ts";
import { openClientSocket, serverAddress } from "./_udp_client.ts";

const cli = parseCommandLine({
  permissions: "--allow-net --unstable-net",
  about: "A UDP chat server (or, with --client, its client): `name : message` lines in, " +
    "answers out.",
  port: 9998,
  flags: {
    autoReply: flag.switch("answer `ack: <message>` instead of asking stdin"),
    client: flag.switch("be the client: send stdin's lines, print the answers"),
    name: flag.text("NAME", "with --client: send lines as `NAME : line`", undefined),
    timeout: flag.seconds("with --client: wait this long for the answers (default 10)", 10),
  },
});

/** The most lines of one datagram that are logged and answered. */
const MAX_LINES_PER_DATAGRAM = 8;
// 256-color ANSI codes that read well on dark and light backgrounds.
const PALETTE = [160, 166, 172, 178, 142, 70, 35, 37, 31, 33, 62, 98, 134, 170, 168, 131];
setColorEnabled(Deno.stdout.isTerminal() && !Deno.noColor);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A color stable per name: FNV-1a over its UTF-16 code units. */
function paint(name: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  return bold(rgb8(name, PALETTE[hash % PALETTE.length]));
}

/**
 * The lines typed on stdin. A local stream of trusted text: std's Web
 * Streams idiom does the job; sockets get the framework's bounded reader.
 */
function stdinLines(): ReadableStream<string> {
  return Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
}

/** Where answers come from: the operator's stdin, until it closes. */
class Operator {
  #auto: boolean;
  /** Resolved when the server shuts down, so a wait for the operator ends. */
  readonly #stopped = Promise.withResolvers<null>();
  /** Opened at the first question: with `--auto-reply`, or as a client, stdin stays free. */
  #lines: AsyncIterator<string> | undefined;

  constructor(auto: boolean) {
    this.#auto = auto;
  }

  async answer(message: string): Promise<string> {
    if (this.#auto) return `ack: ${message}`;
    if (Deno.stdin.isTerminal()) await Deno.stdout.write(encoder.encode("reply> "));
    this.#lines ??= stdinLines().values();
    const next = await Promise.race([this.#lines.next(), this.#stopped.promise]);
    if (next === null) return `ack: ${message}`;
    if (next.done) {
      this.#auto = true;
      console.error("stdin closed: answering automatically from now on");
      return `ack: ${message}`;
    }
    return next.value;
  }

  /** Ends a wait for the operator: the answer is then automatic. */
  stop(): void {
    this.#stopped.resolve(null);
  }
}

const operator = new Operator(cli.autoReply);

/** Prints each `name : message` line and answers it. */
class ChatHandler extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    let answered = 0;
    let dropped = 0;
    for await (const line of this.rfile.lines()) {
      const text = printable(line).trim();
      if (text === "") continue;
      if (answered === MAX_LINES_PER_DATAGRAM) {
        dropped++;
        continue;
      }
      answered++;
      const separator = text.indexOf(":");
      const named = separator > 0 && text.slice(0, separator).trim() !== "";
      const name = named ? text.slice(0, separator).trim() : formatAddress(this.clientAddress);
      const message = named ? text.slice(separator + 1).trim() : text;
      console.log(`${paint(name)}: ${message}`);
      await this.wfile.write(`${await operator.answer(message)}\n`);
    }
    if (dropped > 0) {
      console.log(
        `${formatAddress(this.clientAddress)}: ${dropped} more lines in one datagram dropped`,
      );
    }
  }
}

/** A UDP server whose shutdown also ends a wait for the operator. */
class ChatServer extends UDPServer {
  override shutdown(): Promise<void> {
    operator.stop();
    return super.shutdown();
  }
}

async function runClient(): Promise<number> {
  const socket = openClientSocket(cli.host);
  const server = serverAddress(cli.host, cli.port);
  let unanswered = 0;
  let allAnswered = Promise.withResolvers<void>();
  const receiving = (async () => {
    for await (const [data] of socket) {
      for (const line of decoder.decode(data).replace(/\n$/, "").split("\n")) {
        console.log(printable(line));
      }
      if (--unanswered <= 0) allAnswered.resolve();
    }
  })();
  for await (const line of stdinLines()) {
    if (line.trim() === "") continue;
    if (unanswered === 0) allAnswered = Promise.withResolvers();
    unanswered++;
    const text = cli.name === undefined ? line : `${cli.name} : ${line}`;
    await socket.send(encoder.encode(`${text}\n`), server);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (unanswered > 0) {
    await Promise.race([
      allAnswered.promise,
      new Promise((resolve) => timer = setTimeout(resolve, cli.timeout * 1000)),
    ]);
  }
  clearTimeout(timer);
  socket.close();
  await receiving.catch(() => {});
  if (unanswered > 0) {
    console.error(`${unanswered} message(s) got no answer within ${cli.timeout} s`);
    return 1;
  }
  return 0;
}

if (cli.client) Deno.exit(await runClient());
await serve(cli, () => new ChatServer({ hostname: cli.host, port: cli.port }, ChatHandler));
// A wait for the operator's next line may still hold stdin open: end here.
Deno.exit(0);
