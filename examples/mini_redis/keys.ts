/**
 * The key commands: DEL, EXISTS, DBSIZE, and a key's time to live: EXPIRE,
 * TTL and PTTL.
 *
 * @module
 */

import { RespError } from "../../mod.ts";
import {
  type Client,
  type Command,
  expiryTime,
  lower,
  NOT_AN_INTEGER,
  parseInteger,
  text,
} from "./command.ts";
import { keyOf } from "./db.ts";

/** EXPIRE's conditions (Redis 7): NX no time to live yet, XX one already, GT later, LT sooner. */
type Conditions = Partial<Record<"nx" | "xx" | "gt" | "lt", true>>;

function expireConditions(args: Uint8Array[]): Conditions | RespError {
  const conditions: Conditions = {};
  for (const argument of args.slice(3)) {
    const option = lower(argument);
    if (option !== "nx" && option !== "xx" && option !== "gt" && option !== "lt") {
      return new RespError(`ERR Unsupported option ${text(argument)}`);
    }
    conditions[option] = true;
  }
  if (conditions.nx && (conditions.xx || conditions.gt || conditions.lt)) {
    return new RespError("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (conditions.gt && conditions.lt) {
    return new RespError("ERR GT and LT options at the same time are not compatible");
  }
  return conditions;
}

/** Whether the conditions hold for a key expiring at `current` (0: never) to expire at `at`. */
function allowed(conditions: Conditions, current: number, at: number): boolean {
  // No time to live counts as infinite: GT never beats it, LT always does.
  if (conditions.nx && current !== 0) return false;
  if (conditions.xx && current === 0) return false;
  if (conditions.gt && (current === 0 || at <= current)) return false;
  return !(conditions.lt && current !== 0 && at >= current);
}

function expire(client: Client, args: Uint8Array[]): void {
  const conditions = expireConditions(args);
  if (conditions instanceof RespError) return client.reply(conditions);
  const seconds = parseInteger(args[2]);
  if (seconds === undefined) return client.reply(new RespError(NOT_AN_INTEGER));
  const at = expiryTime(seconds, 1000);
  if (at === undefined) {
    return client.reply(new RespError("ERR invalid expire time in 'expire' command"));
  }
  const key = keyOf(args[1]);
  const current = client.db.expiresAt(key);
  if (current === undefined || !allowed(conditions, current, at)) return client.reply(0);
  // A time already past deletes the key, as Redis does.
  if (at <= Date.now()) client.db.delete(key);
  else client.db.expire(key, at);
  client.reply(1);
}

/** TTL and PTTL: -2 for a missing key, -1 for one that never expires. */
function timeToLive(unitMs: number): Command["run"] {
  return (client, args) => {
    const at = client.db.expiresAt(keyOf(args[1]));
    if (at === undefined || at === 0) return client.reply(at === undefined ? -2 : -1);
    const left = Math.max(at - Date.now(), 0);
    // Redis rounds seconds to the nearest: (ms + 500) / 1000.
    client.reply(unitMs === 1 ? left : Math.floor((left + 500) / 1000));
  };
}

/** The key commands' rows of the command table. */
export const KEY_COMMANDS: Command[] = [
  {
    name: "del",
    arity: -2,
    keys: [1, -1, 1],
    run(client, args) {
      let deleted = 0;
      for (let i = 1; i < args.length; i++) if (client.db.delete(keyOf(args[i]))) deleted++;
      client.reply(deleted);
    },
  },
  {
    name: "exists",
    arity: -2,
    keys: [1, -1, 1],
    run(client, args) {
      let found = 0;
      for (let i = 1; i < args.length; i++) {
        if (client.db.get(keyOf(args[i])) !== undefined) found++;
      }
      client.reply(found);
    },
  },
  { name: "dbsize", arity: 1, run: (client) => client.reply(client.db.size) },
  { name: "expire", arity: -3, keys: [1, 1, 1], run: expire },
  { name: "ttl", arity: 2, keys: [1, 1, 1], run: timeToLive(1000) },
  { name: "pttl", arity: 2, keys: [1, 1, 1], run: timeToLive(1) },
];
