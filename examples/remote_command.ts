/**
 * The classic "remote command" server, made safe: the client sends a command
 * line, the server runs it and sends back its output, framed so the client
 * knows where it ends.
 *
 *     deno run --allow-net=127.0.0.1 --allow-run=ls,pwd,whoami,date,echo,uname \
 *         examples/remote_command.ts [--host 127.0.0.1] [--port 9002] [--handshake]
 *         [--allow-commands ls,pwd,whoami,date,echo,uname] [--timeout 5]
 *         [--max-output 65536] [--allow-remote]
 *
 * The reply to each command is `struct.pack('i', n)` (4 bytes, little-endian,
 * signed) then the n bytes of its stdout and stderr, as they came. With
 * `--handshake` it is the other classic protocol: the server sends
 * `Ready|<n>`, waits for the client's `Start`, then sends the n bytes.
 * `exit` or the end of the stream ends the session.
 *
 * Unlike the tutorials' `subprocess.Popen(cmd, shell=True)`, no shell runs:
 *
 * - the line is split into an argv array (spaces separate words, `'…'` and
 *   `"…"` group them; there are no escapes);
 * - a line with a shell metacharacter (`; | & $ \` > < ( ) { } [ ] * ? ~ ! #`,
 *   a backslash or a newline) is refused, never run: nothing here would
 *   interpret it, and a client that sends one expects a shell;
 * - the program must be on the allowlist (`--allow-commands`), by bare name;
 *   it may take any arguments, so allow only programs whose every argument
 *   is harmless to you (`date -s` sets the clock when run as root);
 * - each run is killed after `--timeout` seconds, and output past
 *   `--max-output` bytes is cut off (the child is killed too);
 * - anything refused is answered in the same framing with a line starting
 *   `error:`.
 *
 * Give `--allow-run` the same names as `--allow-commands`: then Deno itself
 * refuses anything else, whatever this code does. Binding an address other
 * than loopback needs `--allow-remote`, and prints a warning.
 *
 * A TCP stream has no message boundaries, and this protocol has no framing
 * for commands: each read of up to 1024 bytes is taken as one command, as
 * the classic server's `recv(1024)` does. That works because the client
 * waits for each reply before it sends the next command, and a command line
 * is short. A client that sends two commands without waiting may see them
 * arrive as one (refused, for the newline between them); a command longer
 * than 1024 bytes, or one the network splits, arrives in pieces, each
 * checked and answered as a command of its own. A protocol you design
 * should frame its messages (see examples/sticky_packets.ts).
 *
 * @module
 */

import { formatAddress, pack, StreamRequestHandler, ThreadingTCPServer } from "../mod.ts";
import { parseFlags, runUntilSignal } from "./_cli.ts";

const flags = parseFlags({
  handshake: { type: "boolean" },
  "allow-commands": { type: "string" },
  timeout: { type: "string" },
  "max-output": { type: "string" },
  "allow-remote": { type: "boolean" },
}, { port: 9002 });

const allowed = new Set(
  String(flags.values["allow-commands"] ?? "ls,pwd,whoami,date,echo,uname")
    .split(",").map((name) => name.trim()).filter((name) => name !== ""),
);
const timeoutSeconds = positiveNumber("timeout", flags.values.timeout ?? "5");
const maxOutput = positiveNumber("max-output", flags.values["max-output"] ?? "65536");
const handshake = flags.values.handshake === true;
/** One read takes at most this much, as the classic server's recv(1024). */
const MAX_COMMAND_BYTES = 1024;
const METACHARACTER = /[;|&$`<>(){}[\]*?~!#\\\n\r]/;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function positiveNumber(name: string, text: string | boolean): number {
  const value = Number(text);
  if (!(value > 0)) {
    console.error(`--${name} must be a positive number, got ${text}`);
    Deno.exit(2);
  }
  return value;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * Splits a command line into argv, or says why it is refused. Quotes group
 * words; nothing else is special, and metacharacters are refused outright.
 */
function parseCommand(line: string): { argv: string[] } | { refused: string } {
  const bad = line.match(METACHARACTER);
  if (bad) {
    return { refused: `shell metacharacter ${JSON.stringify(bad[0])} refused (no shell here)` };
  }
  const argv: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  for (const char of line) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) argv.push(word);
      word = "";
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote !== undefined) return { refused: `unclosed ${quote} quote` };
  if (inWord) argv.push(word);
  if (argv.length === 0) return { refused: "empty command" };
  if (!allowed.has(argv[0])) {
    return {
      refused: `${JSON.stringify(argv[0])} is not allowed (allowed: ${[...allowed].join(", ")})`,
    };
  }
  return { argv };
}

/** The command line a read holds, or `undefined` when it is not UTF-8. */
function textOf(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes).trim();
  } catch {
    return undefined;
  }
}

/** Runs argv without a shell; returns stdout and stderr in arrival order, bounded. */
async function run(argv: string[]): Promise<{ output: Uint8Array; summary: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { output: encoder.encode(`error: cannot run ${argv[0]}: ${why}\n`), summary: why };
  }
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutSeconds * 1000);
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    // Read to the end even past the cap, so the pipe never blocks the child before it dies.
    for await (const chunk of stream) {
      const room = maxOutput - size;
      if (room <= 0) continue;
      chunks.push(chunk.subarray(0, room));
      size += Math.min(room, chunk.length);
      if (chunk.length > room) {
        truncated = true;
        kill();
      }
    }
  };
  await Promise.all([collect(child.stdout), collect(child.stderr)]);
  const status = await child.status;
  clearTimeout(timer);
  if (truncated) chunks.push(encoder.encode(`\nerror: output cut off at ${maxOutput} bytes\n`));
  if (timedOut) chunks.push(encoder.encode(`\nerror: killed after ${timeoutSeconds} s\n`));
  const output = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    output.set(chunk, offset);
    offset += chunk.length;
  }
  const how = timedOut ? "timed out" : truncated ? "output cut off" : `exit ${status.code}`;
  return { output, summary: `${how}, ${size} bytes` };
}

class RemoteCommand extends StreamRequestHandler {
  // One read is one command, up to MAX_COMMAND_BYTES: the buffer must hold that much.
  override readBufferSize = MAX_COMMAND_BYTES;
  override async handle(): Promise<void> {
    const peer = formatAddress(this.clientAddress);
    for (;;) {
      // No framing for commands: one read is one command (see the module doc).
      const bytes = await this.rfile.read(MAX_COMMAND_BYTES);
      if (bytes === null) return;
      const line = textOf(bytes);
      if (line === "exit") return;
      const parsed = line === undefined
        ? { refused: "the command is not UTF-8" }
        : parseCommand(line);
      let output: Uint8Array;
      if ("refused" in parsed) {
        console.log(
          `${peer} refused ${
            line === undefined ? "(not UTF-8)" : JSON.stringify(line)
          }: ${parsed.refused}`,
        );
        output = encoder.encode(`error: ${parsed.refused}\n`);
      } else {
        const result = await run(parsed.argv);
        console.log(`${peer} ran ${JSON.stringify(parsed.argv)}: ${result.summary}`);
        output = result.output;
      }
      if (!(await this.reply(output))) return;
    }
  }

  /** Sends one reply; `false` when the client left during a handshake. */
  async reply(output: Uint8Array): Promise<boolean> {
    if (!handshake) {
      await this.wfile.write(pack("<i", output.length));
      await this.wfile.write(output);
      return true;
    }
    await this.wfile.write(`Ready|${output.length}`);
    const answer = await this.rfile.read();
    if (answer === null || new TextDecoder().decode(answer).trim() !== "Start") return false;
    await this.wfile.write(output);
    return true;
  }
}

if (!isLoopback(flags.hostname)) {
  if (flags.values["allow-remote"] !== true) {
    console.error(
      `refusing to bind ${flags.hostname}: anyone who reaches it can run the allowed commands; ` +
        `pass --allow-remote to do it anyway`,
    );
    Deno.exit(2);
  }
  console.error(
    `warning: serving commands on ${flags.hostname}, reachable from other machines, ` +
      `without authentication or encryption`,
  );
}

const server = new ThreadingTCPServer(
  { hostname: flags.hostname, port: flags.port },
  RemoteCommand,
);
await runUntilSignal(server);
