/**
 * A UDP chat server: clients send `name : message` lines; the server prints
 * each with the name in a color of its own, and answers with a line typed at
 * its stdin, or with `ack: <message>` in `--auto-reply` mode.
 *
 *     deno run --allow-net --unstable-net examples/udp_chat.ts [--host 127.0.0.1] [--port 9998] [--auto-reply]
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
 * With `--client` it reads lines from stdin, sends each (prefixed with
 * `--name : ` when given), prints every answer, and exits once stdin has
 * ended and every line is answered: 0, or 1 when some got no answer within
 * `--timeout` seconds (default 10).
 *
 * @module
 */

import { BufferedReader, DatagramRequestHandler, formatAddress, UDPServer } from "../mod.ts";
import { parseFlags, runUntilSignal } from "./_cli.ts";
import { openClientSocket, serverAddress } from "./_udp_client.ts";

const flags = parseFlags({
  client: { type: "boolean" },
  name: { type: "string" },
  timeout: { type: "string" },
  "auto-reply": { type: "boolean" },
}, { port: 9998 });

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// 256-color ANSI codes that read well on dark and light backgrounds.
const PALETTE = [160, 166, 172, 178, 142, 70, 35, 37, 31, 33, 62, 98, 134, 170, 168, 131];
const colors = Deno.stdout.isTerminal() && !Deno.noColor;

/** A color index stable per name: FNV-1a over its UTF-16 code units. */
function colorOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  }
  return PALETTE[hash % PALETTE.length];
}

/** Drops control characters: text from the network must not drive the terminal. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, "");
}

function paint(name: string): string {
  return colors ? `\x1b[1;38;5;${colorOf(name)}m${name}\x1b[0m` : name;
}

/** Where answers come from: the operator's stdin, until it closes. */
class Operator {
  #auto: boolean;
  /** Resolved when the server shuts down, so a wait for the operator ends. */
  readonly #stopped = Promise.withResolvers<null>();
  readonly #lines: AsyncIterator<string>;

  constructor(auto: boolean) {
    this.#auto = auto;
    this.#lines = new BufferedReader(Deno.stdin).lines();
  }

  async answer(message: string): Promise<string> {
    if (this.#auto) return `ack: ${message}`;
    if (Deno.stdin.isTerminal()) await Deno.stdout.write(encoder.encode("reply> "));
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

const operator = new Operator(flags.values["auto-reply"] === true);

/** Prints each `name : message` line and answers it. */
class ChatHandler extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    for await (const line of this.rfile.lines()) {
      const separator = line.indexOf(":");
      const named = separator > 0 && line.slice(0, separator).trim() !== "";
      const name = printable(
        named ? line.slice(0, separator).trim() : formatAddress(this.clientAddress),
      );
      const message = printable(named ? line.slice(separator + 1).trim() : line.trim());
      console.log(`${paint(name)}: ${message}`);
      await this.wfile.write(`${await operator.answer(message)}\n`);
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
  const timeoutSeconds = Number(flags.values.timeout ?? 10);
  const name = flags.values.name === undefined ? undefined : String(flags.values.name);
  const socket = openClientSocket(flags.hostname);
  const server = serverAddress(flags.hostname, flags.port);
  let unanswered = 0;
  let allAnswered = Promise.withResolvers<void>();
  const receiving = (async () => {
    for await (const [data] of socket) {
      console.log(decoder.decode(data).replace(/\n$/, ""));
      if (--unanswered <= 0) allAnswered.resolve();
    }
  })();
  for await (const line of new BufferedReader(Deno.stdin).lines()) {
    if (line.trim() === "") continue;
    if (unanswered === 0) allAnswered = Promise.withResolvers();
    unanswered++;
    await socket.send(
      encoder.encode(`${name === undefined ? line : `${name} : ${line}`}\n`),
      server,
    );
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (unanswered > 0) {
    await Promise.race([
      allAnswered.promise,
      new Promise((resolve) => timer = setTimeout(resolve, timeoutSeconds * 1000)),
    ]);
  }
  clearTimeout(timer);
  socket.close();
  await receiving.catch(() => {});
  if (unanswered > 0) {
    console.error(`${unanswered} message(s) got no answer within ${timeoutSeconds} s`);
    return 1;
  }
  return 0;
}

if (flags.values.client) {
  Deno.exit(await runClient());
}
const server = new ChatServer({ hostname: flags.hostname, port: flags.port }, ChatHandler);
await runUntilSignal(server);
// A wait for the operator's next line may still hold stdin open: end here.
Deno.exit(0);
