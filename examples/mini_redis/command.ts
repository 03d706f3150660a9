/**
 * What every mini-redis command is: a row of the command table (its name,
 * arity and keys, as Redis's `COMMAND` describes it) and a `run` function
 * that takes the client and the arguments and writes its reply. Commands
 * know nothing of sockets: `client.reply()` is the whole transport.
 *
 * Also here: the argument helpers and error texts the commands share,
 * copied from what `redis-server` answers.
 *
 * @module
 */

import { RespError, type RespValue } from "../../mod.ts";
import { type Db, keyOf, type Subscriber } from "./db.ts";

/** A connection as the commands see it. */
export interface Client extends Subscriber {
  /** The keyspace and channels every client shares. */
  readonly db: Db;
  /** The server-wide connection number (`HELLO` shows it). */
  readonly id: number;
  /** Set by `CLIENT SETNAME` or `HELLO ... SETNAME`. */
  name: string | null;
  /** The channels it is subscribed to; while any, only pub/sub commands are allowed. */
  readonly channels: Set<string>;
  /** Writes one reply; it leaves with the batch. */
  reply(value: RespValue): void;
  /** Closes the connection once the replies so far are sent (`QUIT`). */
  quit(): void;
}

/** One command: its row in the table and what it does. */
export interface Command {
  /** Redis's name, lower case; `client|setname` for a subcommand. */
  readonly name: string;
  /** Redis's arity, the name counted: N is exactly N, -N is at least N. */
  readonly arity: number;
  /** Where its keys are, as `COMMAND` says: first, last (-1 the last argument), step. */
  readonly keys?: readonly [number, number, number];
  /** It can grow the data, so it is refused while the `Db` is full. */
  readonly grows?: boolean;
  /** A subscribed client may send it. */
  readonly pubsub?: boolean;
  /** Its subcommands by lower-case name; without one, `run` gets the call. */
  readonly subcommands?: Readonly<Record<string, Command>>;
  /** Runs the command; `args[0]` is its name as sent. */
  run(client: Client, args: Uint8Array[]): void;
}

/** Redis's error texts that more than one command uses. */
export const NOT_AN_INTEGER = "ERR value is not an integer or out of range";
export const SYNTAX_ERROR = "ERR syntax error";

/** `-ERR wrong number of arguments for 'get' command`. */
export function wrongArity(name: string): RespError {
  return new RespError(`ERR wrong number of arguments for '${name}' command`);
}

const utf8 = new TextDecoder();

/** An argument as text for messages and options (UTF-8; bad bytes become U+FFFD). */
export function text(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** An argument in lower case, for names and options (Redis compares them so). */
export function lower(bytes: Uint8Array): string {
  return keyOf(bytes).toLowerCase();
}

/** The range of Redis's integers: 64-bit signed. */
export const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const ZERO = 0x30;
const NINE = 0x39;
const MINUS = 0x2d;

/**
 * A 64-bit integer written as Redis's `string2ll` accepts it: digits with
 * an optional `-`, no `+`, no spaces, no leading zero; undefined otherwise.
 */
export function parseInteger(bytes: Uint8Array): bigint | undefined {
  const negative = bytes[0] === MINUS;
  const first = negative ? 1 : 0;
  // 20 characters: "-9223372036854775808".
  if (bytes.length === first || bytes.length > 20) return undefined;
  if (bytes[first] === ZERO && bytes.length > 1) return undefined;
  for (let i = first; i < bytes.length; i++) {
    if (bytes[i] < ZERO || bytes[i] > NINE) return undefined;
  }
  const value = BigInt(text(bytes));
  return outOfRange(value) ? undefined : value;
}

/** Whether a 64-bit result would overflow, as Redis checks before adding. */
export function outOfRange(value: bigint): boolean {
  return value < INT64_MIN || value > INT64_MAX;
}

/**
 * The time `amount` units from now, in ms since the epoch, or undefined
 * past what a timestamp here can hold (285,000 years; Redis allows 2^63 ms).
 */
export function expiryTime(amount: bigint, unitMs: number): number | undefined {
  const at = BigInt(Date.now()) + amount * BigInt(unitMs);
  return at > BigInt(Number.MAX_SAFE_INTEGER) || at < -BigInt(Number.MAX_SAFE_INTEGER)
    ? undefined
    : Number(at);
}
