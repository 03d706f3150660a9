/**
 * The classic "remote command" server, made safe: the client sends a command
 * line, the server runs it and sends back its output, framed so the client
 * knows where it ends.
 *
 *     deno run --allow-net=127.0.0.1 --allow-run=ls,pwd,whoami,date,echo,uname --allow-read=. \
 *         examples/remote_command.ts [--port 9002] [--handshake] [--root .]
 *
 * The reply to each command is `struct.pack('i', n)` (4 bytes, little-endian,
 * signed) then the n bytes of its stdout and stderr, as they came. With
 * `--handshake` it is the other classic protocol: the server sends
 * `Ready|<n>`, waits for the client's `Start`, then sends the n bytes.
 * `exit` or the end of the stream ends the session.
 *
 * A command ends at a newline or, for the classic client that sends it with
 * one `send()` and no newline, when the client pauses (`CommandReader`):
 * never at a TCP read's edge, so it never runs in pieces. A command over
 * 1024 bytes is refused whole.
 *
 * Unlike the tutorials' `subprocess.Popen(cmd, shell=True)`, no shell runs:
 *
 * - the line is split into an argv array (`'…'` and `"…"` group words); a
 *   line with a shell metacharacter is refused, never run;
 * - the program must be allowed (`--allow-commands`), and each argument
 *   must be a form its rule lists (examples/_command_rules.ts, as sudoers
 *   does): `date -s` (sets the clock) and `date -f FILE` (reads a file) are
 *   refused, and `ls` reads only inside `--root`;
 * - each run is killed after `--timeout` seconds, and stopped once its
 *   output passes `--max-output` bytes, which the reply says;
 * - at most `--max-running` commands run at once; a client waits up to
 *   `--queue-wait` seconds for its turn, then is told the server is busy;
 * - anything refused is answered in the same framing with a line starting
 *   `error:`.
 *
 * Give `--allow-run` the same names as `--allow-commands`: then Deno itself
 * refuses anything else, whatever this code does. `--allow-read` lets the
 * server check `ls`'s paths. Binding an address other than loopback needs
 * `--allow-remote`, and prints a warning.
 *
 * @module
 */

import { deadline } from "@std/async/deadline";
import { Semaphore } from "@std/async/unstable-semaphore";
import { formatAddress, pack, StreamRequestHandler, ThreadingTCPServer } from "../mod.ts";
import { runBounded } from "./_bounded_run.ts";
import { fail, flag, parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import { checkCommand, COMMAND_RULES, DEFAULT_COMMANDS } from "./_command_rules.ts";
import { CommandReader } from "./_command_reader.ts";

const cli = parseCommandLine({
  permissions: "--allow-net=127.0.0.1 --allow-run=ls,pwd,whoami,date,echo,uname --allow-read=.",
  about: "Runs allowlisted commands (no shell) for its clients and sends back their output.",
  port: 9002,
  flags: {
    handshake: flag.switch("speak Ready|<n>, Start, then the output"),
    allowCommands: flag.list(
      "NAME,...",
      `what may run (default ${DEFAULT_COMMANDS})`,
      DEFAULT_COMMANDS,
    ),
    root: flag.text("DIR", "ls sees only this directory (default .)", "."),
    timeout: flag.seconds("kill a command after this long (default 5)", 5),
    maxOutput: flag.bytes("stop a command past this much output (default 64K)", 65536),
    maxRunning: flag.integer("N", "commands running at once (default 4)", 4),
    queueWait: flag.seconds("how long a command waits for its turn (default 10)", 10),
    allowRemote: flag.switch("allow binding an address other than loopback"),
  },
});

/** The longest command line, as the classic server's recv(1024). */
const MAX_COMMAND_BYTES = 1024;
/** The classic client sends no newline: a command also ends when it pauses this long. */
const COMMAND_PAUSE_SECONDS = 0.2;

const loopback = cli.host === "localhost" || cli.host === "::1" ||
  /^127\.\d+\.\d+\.\d+$/.test(cli.host);
if (!loopback) {
  if (!cli.allowRemote) {
    fail(
      `refusing to bind ${cli.host}: anyone who reaches it can run the allowed commands; ` +
        `pass --allow-remote to do it anyway`,
      2,
    );
  }
  console.error(
    `warning: serving commands on ${cli.host}, reachable from other machines, ` +
      `without authentication or encryption`,
  );
}
const unknown = cli.allowCommands.filter((name) => !(name in COMMAND_RULES));
if (unknown.length > 0) {
  fail(`--allow-commands: no rule for ${unknown.join(", ")} (see examples/_command_rules.ts)`, 2);
}
const allowed: ReadonlySet<string> = new Set(cli.allowCommands);
const root = await Deno.realPath(cli.root).catch((error) =>
  fail(
    `--root ${cli.root}: ${error.message} (ls's paths are checked: add --allow-read=${cli.root})`,
  )
);
const running = new Semaphore(cli.maxRunning);
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** A turn to run, or `undefined` when none came within `--queue-wait`. */
async function turn(): Promise<Disposable | undefined> {
  const waiting = running.acquire();
  try {
    return await deadline(waiting, cli.queueWait * 1000);
  } catch {
    // The wait stays queued: give its turn back the moment it comes.
    waiting.then((slot) => slot[Symbol.dispose]());
    return undefined;
  }
}

class RemoteCommand extends StreamRequestHandler {
  // A person types at this prompt: ten minutes to think, not the default minute.
  override idleTimeout = 600;
  peer = "";

  override async handle(): Promise<void> {
    this.peer = formatAddress(this.clientAddress);
    const commands = new CommandReader(this.rfile, {
      maxBytes: MAX_COMMAND_BYTES,
      pauseSeconds: COMMAND_PAUSE_SECONDS,
    });
    for (;;) {
      const command = await commands.next();
      if (command === null) return;
      const output = await this.answer(command);
      if (output === null) return;
      if (!(await this.reply(output, commands))) return;
    }
  }

  /** The output to send for one command; `null` for `exit`. */
  async answer(command: Uint8Array | { tooLong: number }): Promise<Uint8Array | null> {
    if ("tooLong" in command) {
      return this.refuse(`${command.tooLong} bytes`, `longer than ${MAX_COMMAND_BYTES} bytes`);
    }
    let line: string;
    try {
      line = decoder.decode(command).trim();
    } catch {
      return this.refuse("(not UTF-8)", "the command is not UTF-8");
    }
    if (line === "exit") return null;
    const checked = await checkCommand(line, allowed, root);
    if ("refused" in checked) return this.refuse(JSON.stringify(line), checked.refused);
    using slot = await turn();
    if (slot === undefined) {
      const busy = `--max-running ${cli.maxRunning} commands already running; try again later`;
      return this.refuse(JSON.stringify(line), `busy: ${busy}`);
    }
    console.log(`${this.peer} running ${JSON.stringify(checked.argv)}`);
    const result = await runBounded(checked.argv, {
      timeoutSeconds: cli.timeout,
      maxOutput: cli.maxOutput,
      cwd: root,
    });
    console.log(`${this.peer} ran ${JSON.stringify(checked.argv)}: ${result.summary}`);
    return result.output;
  }

  refuse(what: string, why: string): Uint8Array {
    console.log(`${this.peer} refused ${what}: ${why}`);
    return encoder.encode(`error: ${why}\n`);
  }

  /** Sends one reply; `false` when the client left during a handshake. */
  async reply(output: Uint8Array, commands: CommandReader): Promise<boolean> {
    if (!cli.handshake) {
      await this.wfile.write(pack("<i", output.length));
      await this.wfile.write(output);
      return true;
    }
    await this.wfile.write(`Ready|${output.length}`);
    await this.wfile.flush();
    const answer = await commands.next("Start");
    if (answer === null || "tooLong" in answer) return false;
    if (new TextDecoder().decode(answer).trim() !== "Start") return false;
    await this.wfile.write(output);
    return true;
  }
}

await serve(
  cli,
  () => new ThreadingTCPServer({ hostname: cli.host, port: cli.port }, RemoteCommand),
);
