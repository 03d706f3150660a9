/**
 * The connection commands: PING, ECHO, QUIT, and what clients send when
 * they connect. `redis-benchmark` asks `CONFIG GET save` and `CONFIG GET
 * appendonly`; client libraries send `HELLO` (answered as a RESP2 server:
 * the map as a flat array, and `-NOPROTO` for RESP3) and `CLIENT SETNAME`.
 *
 * @module
 */

import { RespError, type RespValue } from "../../mod.ts";
import { type Client, type Command, lower, parseInteger, text, wrongArity } from "./command.ts";

/** The Redis version whose commands and replies these follow; clients gate features on it. */
export const REDIS_VERSION = "7.0.0";

const encoder = new TextEncoder();
const bulk = (value: string) => encoder.encode(value);
const PONG = bulk("pong");
const EMPTY = new Uint8Array(0);

/** What `CONFIG GET` reports: a server that never writes to disk. */
const CONFIG: Record<string, string> = { save: "", appendonly: "no" };

/** Sets the client's name; an error when it holds a space or a special character. */
function setName(client: Client, name: Uint8Array): RespError | undefined {
  if (name.some((byte) => byte < 0x21 || byte > 0x7e)) {
    return new RespError(
      "ERR Client names cannot contain spaces, newlines or special characters.",
    );
  }
  // An empty name removes the name.
  client.name = name.length === 0 ? null : text(name);
}

/** `HELLO [protover [SETNAME name]]`: the server's description, as RESP2 sends a map. */
function hello(client: Client, args: Uint8Array[]): void {
  if (args.length >= 2) {
    const version = parseInteger(args[1]);
    if (version === undefined) {
      return client.reply(new RespError("ERR Protocol version is not an integer or out of range"));
    }
    // RESP3 is not spoken here: its replies have types RESP2 lacks.
    if (version !== 2n) return client.reply(new RespError("NOPROTO unsupported protocol version"));
  }
  let name: Uint8Array | undefined;
  for (let i = 2; i < args.length; i++) {
    if (lower(args[i]) === "setname" && i + 1 < args.length) {
      name = args[++i];
    } else {
      return client.reply(new RespError(`ERR Syntax error in HELLO option '${text(args[i])}'`));
    }
  }
  const error = name === undefined ? undefined : setName(client, name);
  if (error !== undefined) return client.reply(error);
  const fields: [string, RespValue][] = [
    ["server", bulk("redis")],
    ["version", bulk(REDIS_VERSION)],
    ["proto", 2],
    ["id", client.id],
    ["mode", bulk("standalone")],
    ["role", bulk("master")],
    ["modules", []],
  ];
  client.reply(fields.flatMap(([field, value]) => [bulk(field), value]));
}

/** A container's own run: never called, as its arity -2 means a subcommand follows, which runs instead. */
function subcommandsOnly(): void {}

/** The connection commands' rows of the command table. */
export const CONNECTION_COMMANDS: Command[] = [
  {
    name: "ping",
    arity: -1,
    pubsub: true,
    run(client, args) {
      if (args.length > 2) return client.reply(wrongArity("ping"));
      // A subscribed client gets a push-shaped pong, as in Redis.
      if (client.channels.size > 0) return client.reply([PONG, args[1] ?? EMPTY]);
      client.reply(args.length === 2 ? args[1] : "PONG");
    },
  },
  { name: "echo", arity: 2, run: (client, args) => client.reply(args[1]) },
  {
    name: "quit",
    arity: -1,
    pubsub: true,
    run(client) {
      client.reply("OK");
      client.quit();
    },
  },
  { name: "hello", arity: -1, run: hello },
  {
    name: "client",
    arity: -2,
    run: subcommandsOnly,
    subcommands: {
      setname: {
        name: "client|setname",
        arity: 3,
        run: (client, args) => client.reply(setName(client, args[2]) ?? "OK"),
      },
      getname: {
        name: "client|getname",
        arity: 2,
        run: (client) => client.reply(client.name === null ? null : bulk(client.name)),
      },
    },
  },
  {
    name: "config",
    arity: -2,
    run: subcommandsOnly,
    subcommands: {
      get: {
        name: "config|get",
        arity: -3,
        run(client, args) {
          // Each name once, as it was asked (Redis orders several by its hash table).
          const found = new Map<string, Uint8Array>();
          for (const asked of args.slice(2)) {
            const name = lower(asked);
            if (Object.hasOwn(CONFIG, name) && !found.has(name)) found.set(name, asked);
          }
          client.reply([...found].flatMap(([name, asked]) => [asked, bulk(CONFIG[name])]));
        },
      },
    },
  },
];
