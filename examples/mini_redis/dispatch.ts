/**
 * The command table and `execute()`, which runs one command as Redis's
 * `processCommand` does: find it (or its subcommand), check its arity,
 * refuse a write while memory is full, refuse what a subscribed client may
 * not send, then run it. Each refusal is `redis-server`'s text.
 *
 * @module
 */

import { RespError, type RespValue } from "../../mod.ts";
import { type Client, type Command, lower, text, wrongArity } from "./command.ts";
import { CommandTable } from "./command_table.ts";
import { CONNECTION_COMMANDS } from "./connection.ts";
import { KEY_COMMANDS } from "./keys.ts";
import { PUBSUB_COMMANDS } from "./pubsub.ts";
import { STRING_COMMANDS } from "./strings.ts";

const encoder = new TextEncoder();

/** A command's row as `COMMAND` describes it (Redis 7's ten fields, flags and hints left empty). */
function describe(command: Command): RespValue {
  const [first, last, step] = command.keys ?? [0, 0, 0];
  const subcommands = Object.values(command.subcommands ?? {}).map(describe);
  return [
    encoder.encode(command.name),
    command.arity,
    [],
    first,
    last,
    step,
    [],
    [],
    [],
    subcommands,
  ];
}

/** `COMMAND`: the table itself, as client libraries read it. */
const COMMAND: Command = {
  name: "command",
  arity: -1,
  run: (client) => client.reply(COMMANDS.commands.map(describe)),
  subcommands: {
    // No DOCS: redis-cli asks for them on start, and on Redis 6's error it
    // uses the help built into it, which knows every command here.
    count: {
      name: "command|count",
      arity: 2,
      run: (client) => client.reply(COMMANDS.commands.length),
    },
  },
};

/** Every command, found by its name in any case. */
const COMMANDS = new CommandTable(
  [...STRING_COMMANDS, ...KEY_COMMANDS, ...PUBSUB_COMMANDS, ...CONNECTION_COMMANDS, COMMAND],
);

/** Redis's rejection texts say at most 128 bytes of an argument. */
const QUOTED = 128;

/** `-ERR unknown command 'foo', with args beginning with: 'a' 'b' `, clipped as Redis clips it. */
function unknownCommand(args: Uint8Array[]): RespError {
  let quoted = "";
  for (let i = 1; i < args.length && quoted.length < QUOTED; i++) {
    quoted += `'${text(args[i]).slice(0, QUOTED - quoted.length)}' `;
  }
  const name = text(args[0]).slice(0, QUOTED);
  // An error is one line: Redis turns line breaks in what it quotes into spaces.
  const message = `ERR unknown command '${name}', with args beginning with: ${quoted}`;
  return new RespError(message.replace(/[\r\n]/g, " "));
}

const OUT_OF_MEMORY = new RespError("OOM command not allowed when used memory > 'maxmemory'.");

/** Runs one command (`args[0]` its name) for the client; every outcome is a reply. */
export function execute(client: Client, args: Uint8Array[]): void {
  let command = COMMANDS.get(args[0]);
  if (command === undefined) return client.reply(unknownCommand(args));
  if (command.subcommands !== undefined && args.length >= 2) {
    const name = lower(args[1]);
    // Own names only: `constructor` is no subcommand.
    const subcommand = Object.hasOwn(command.subcommands, name)
      ? command.subcommands[name]
      : undefined;
    if (subcommand === undefined) {
      const quoted = text(args[1]).slice(0, QUOTED);
      const help = `${command.name.toUpperCase()} HELP`;
      return client.reply(new RespError(`ERR unknown subcommand '${quoted}'. Try ${help}.`));
    }
    command = subcommand;
  }
  const arity = command.arity;
  if (arity > 0 ? args.length !== arity : args.length < -arity) {
    return client.reply(wrongArity(command.name));
  }
  if (command.grows && client.db.full) return client.reply(OUT_OF_MEMORY);
  if (client.channels.size > 0 && !command.pubsub) {
    return client.reply(
      new RespError(
        `ERR Can't execute '${command.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
      ),
    );
  }
  command.run(client, args);
}
