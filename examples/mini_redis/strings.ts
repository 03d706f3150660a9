/**
 * The string commands: GET, SET, MGET, MSET and the counters INCR, DECR,
 * INCRBY, DECRBY. A value is bytes; a counter is a value that reads as a
 * 64-bit integer, as in Redis.
 *
 * @module
 */

import { RespError } from "../../mod.ts";
import {
  type Client,
  type Command,
  expiryTime,
  INT64_MIN,
  lower,
  NOT_AN_INTEGER,
  outOfRange,
  parseInteger,
  SYNTAX_ERROR,
  wrongArity,
} from "./command.ts";
import { keyOf } from "./db.ts";

const encoder = new TextEncoder();

/** The options of SET, as Redis parses them: a syntax error for any other or a clash. */
interface SetOptions {
  condition?: "nx" | "xx";
  get: boolean;
  keepTtl: boolean;
  /** EX (1000) or PX (1), with its argument. */
  expiry?: { unitMs: number; amount: Uint8Array };
}

function setOptions(args: Uint8Array[]): SetOptions | undefined {
  const options: SetOptions = { get: false, keepTtl: false };
  for (let i = 3; i < args.length; i++) {
    const option = lower(args[i]);
    if (option === "nx" && options.condition !== "xx") options.condition = "nx";
    else if (option === "xx" && options.condition !== "nx") options.condition = "xx";
    else if (option === "get") options.get = true;
    else if (option === "keepttl" && options.expiry === undefined) options.keepTtl = true;
    else if ((option === "ex" || option === "px") && !options.keepTtl && i + 1 < args.length) {
      // The same option again is allowed (the last wins); EX with PX is not.
      const unitMs = option === "ex" ? 1000 : 1;
      if (options.expiry !== undefined && options.expiry.unitMs !== unitMs) return undefined;
      options.expiry = { unitMs, amount: args[++i] };
    } else return undefined;
  }
  return options;
}

function set(client: Client, args: Uint8Array[]): void {
  const db = client.db;
  // Fast path: a plain SET, what redis-benchmark sends, parses no options.
  if (args.length === 3) {
    db.set(keyOf(args[1]), args[2]);
    return client.reply("OK");
  }
  const options = setOptions(args);
  if (options === undefined) return client.reply(new RespError(SYNTAX_ERROR));
  let expiresAt: number | "keep" = options.keepTtl ? "keep" : 0;
  if (options.expiry !== undefined) {
    const amount = parseInteger(options.expiry.amount);
    if (amount === undefined) return client.reply(new RespError(NOT_AN_INTEGER));
    const at = amount > 0n ? expiryTime(amount, options.expiry.unitMs) : undefined;
    if (at === undefined) {
      return client.reply(new RespError("ERR invalid expire time in 'set' command"));
    }
    expiresAt = at;
  }
  const key = keyOf(args[1]);
  const old = db.get(key);
  const blocked = options.condition === (old === undefined ? "xx" : "nx");
  if (!blocked) db.set(key, args[2], expiresAt);
  client.reply(options.get ? old ?? null : blocked ? null : "OK");
}

/** Adds `by` to the counter at `key` (0 when missing), keeping its time to live. */
function incrementBy(client: Client, key: Uint8Array, by: bigint): void {
  const name = keyOf(key);
  const current = client.db.get(name);
  const value = current === undefined ? 0n : parseInteger(current);
  if (value === undefined) return client.reply(new RespError(NOT_AN_INTEGER));
  const result = value + by;
  if (outOfRange(result)) {
    return client.reply(new RespError("ERR increment or decrement would overflow"));
  }
  client.db.set(name, encoder.encode(result.toString()), "keep");
  client.reply(result);
}

/** INCRBY and DECRBY: the amount is the third argument, a 64-bit integer. */
function incrementByArgument(sign: 1n | -1n): Command["run"] {
  return (client, args) => {
    const amount = parseInteger(args[2]);
    if (amount === undefined) return client.reply(new RespError(NOT_AN_INTEGER));
    // -(-2^63) is not a 64-bit integer: Redis refuses it before adding.
    if (sign < 0n && amount === INT64_MIN) {
      return client.reply(new RespError("ERR decrement would overflow"));
    }
    incrementBy(client, args[1], sign * amount);
  };
}

/** The string commands' rows of the command table. */
export const STRING_COMMANDS: Command[] = [
  {
    name: "get",
    arity: 2,
    keys: [1, 1, 1],
    run: (client, args) => client.reply(client.db.get(keyOf(args[1])) ?? null),
  },
  { name: "set", arity: -3, keys: [1, 1, 1], grows: true, run: set },
  {
    name: "mget",
    arity: -2,
    keys: [1, -1, 1],
    run: (client, args) =>
      client.reply(args.slice(1).map((key) => client.db.get(keyOf(key)) ?? null)),
  },
  {
    name: "mset",
    arity: -3,
    keys: [1, -1, 2],
    grows: true,
    run(client, args) {
      if (args.length % 2 === 0) return client.reply(wrongArity("mset"));
      for (let i = 1; i < args.length; i += 2) client.db.set(keyOf(args[i]), args[i + 1]);
      client.reply("OK");
    },
  },
  {
    name: "incr",
    arity: 2,
    keys: [1, 1, 1],
    grows: true,
    run: (client, args) => incrementBy(client, args[1], 1n),
  },
  {
    name: "decr",
    arity: 2,
    keys: [1, 1, 1],
    grows: true,
    run: (client, args) => incrementBy(client, args[1], -1n),
  },
  { name: "incrby", arity: 3, keys: [1, 1, 1], grows: true, run: incrementByArgument(1n) },
  { name: "decrby", arity: 3, keys: [1, 1, 1], grows: true, run: incrementByArgument(-1n) },
];
