/**
 * Shared by the examples: their command lines (`@std/cli` parseArgs).
 *
 * Each program declares its flags as a table (`flag.seconds(...)`,
 * `flag.choice(...)`, ...) and gets back typed values. `--help` prints the
 * usage and exits 0; a wrong flag or value prints one line on stderr that
 * names it and exits 2. Never a stack trace: these are a newcomer's first
 * minutes. Running a server is examples/_serve.ts.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";

/** One flag: how `--help` shows it, and how its text becomes a value. */
export interface Flag<T> {
  /** The value's name in `--help` (`SECONDS`); absent for a switch. */
  readonly value?: string;
  /** What the flag does, default included, for `--help`. */
  readonly help: string;
  /** The value when the flag is not given. */
  readonly fallback: T;
  /** The value of the flag's text; throws a RangeError (`must be ..., got X`). */
  readonly parse: (text: string) => T;
}

type Flags = Record<string, Flag<unknown>>;
type Values<F extends Flags> = { [K in keyof F]: F[K] extends Flag<infer T> ? T : never };

/** What a program tells `parseCommandLine`. */
export interface Program<F extends Flags> {
  /** The permissions its usage line shows: `--allow-net`. */
  permissions: string;
  /** What it does, for `--help`. */
  about: string;
  /** The port it serves on (or, for a client, connects to) by default. */
  port: number;
  /** Its own flags, by camelCase name: `idleTimeout` is `--idle-timeout`. */
  flags: F;
  /** Positional arguments as `--help` names them (`FILE...`); refused when absent. */
  positionals?: string;
}

/** The parsed command line: `host`, `port`, the program's flags, and positionals. */
export type CommandLine<F extends Flags> = Values<F> & {
  host: string;
  port: number;
  positionals: string[];
};

/** Rejects `text` as a value: `must be ${what}, got ${text}`. */
function invalid(what: string, text: string): never {
  throw new RangeError(`must be ${what}, got ${text}`);
}

/** The flag kinds the examples use. */
export const flag = {
  /** A switch: present or not. */
  switch: (help: string): Flag<boolean> => ({ help, fallback: false, parse: () => true }),
  /** Any text. */
  text: <T extends string | undefined>(value: string, help: string, fallback: T) =>
    ({ value, help, fallback, parse: (text: string) => text }) as Flag<string | T>,
  /** A whole number of at least `min`. */
  integer: (value: string, help: string, fallback: number, min = 1): Flag<number> => ({
    value,
    help,
    fallback,
    parse: (text) => {
      const number = Number(text);
      return Number.isSafeInteger(number) && number >= min
        ? number
        : invalid(`an integer of at least ${min}`, text);
    },
  }),
  /** Seconds above 0 (fractions allowed), at most what a timer can wait. */
  seconds: <T extends number | null | undefined>(help: string, fallback: T) =>
    ({
      value: "SECONDS",
      help,
      fallback,
      parse: (text: string) => {
        const seconds = Number(text);
        return seconds > 0 && seconds <= 2_147_483
          ? seconds
          : invalid("a number of seconds above 0", text);
      },
    }) as Flag<number | T>,
  /** A size: `1048576`, `512K`, `100M`, `1G` (powers of 1024). */
  bytes: (help: string, fallback: number): Flag<number> => ({
    value: "SIZE",
    help,
    fallback,
    parse: (text) => {
      const match = text.match(/^(\d+)([KMGT]?)i?B?$/i);
      if (!match) invalid("bytes, or a number with K, M, G or T", text);
      return Number(match[1]) * 1024 ** " KMGT".indexOf(match[2].toUpperCase() || " ");
    },
  }),
  /** One of `choices`. */
  choice: <const C extends string, D extends C | undefined>(
    choices: readonly C[],
    help: string,
    fallback: D,
  ) =>
    ({
      value: choices.join("|"),
      help,
      fallback,
      parse: (text: string) =>
        choices.includes(text as C) ? text as C : invalid(listed(choices), text),
    }) as Flag<C | D>,
  /** A comma-separated list. */
  list: (value: string, help: string, fallback: string[]): Flag<string[]> => ({
    value,
    help,
    fallback,
    parse: (text) => text.split(",").map((item) => item.trim()).filter((item) => item !== ""),
  }),
};

/** `a, b or c`. */
function listed(choices: readonly string[]): string {
  return `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}

const COMMON = {
  host: flag.text("HOST", "the address (default 127.0.0.1)", "127.0.0.1"),
  port: {
    value: "PORT",
    help: "the port, 0 for any free one",
    fallback: 0,
    parse: (text: string) => {
      const port = Number(text);
      return Number.isInteger(port) && port >= 0 && port <= 65535
        ? port
        : invalid("0 to 65535", text);
    },
  },
};

/** `idleTimeout` to `idle-timeout`. */
function flagName(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** This program's file name, for messages: `echo.ts`. */
function programName(): string {
  return new URL(Deno.mainModule).pathname.split("/").pop()!;
}

/** Prints `NAME: message` on stderr, one line, and exits with `code`. */
export function fail(message: string, code = 1): never {
  console.error(`${programName()}: ${message}`);
  Deno.exit(code);
}

/**
 * `--port -1` as `--port=-1`: parseArgs would take `-1` for a flag of its
 * own, and the message would not be about the value.
 */
function joinNegativeValues(args: string[], valued: ReadonlySet<string>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (args[i].startsWith("--") && valued.has(args[i].slice(2)) && /^-\d/.test(next ?? "")) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  return joined;
}

/** The `--help` text. */
function usage<F extends Flags>(program: Program<F>, flags: Flags): string {
  const rows = Object.entries(flags).map(([name, { value, help }]) => {
    const left = `--${flagName(name)}${value === undefined ? "" : ` ${value}`}`;
    return `  ${left.padEnd(30)} ${help}`;
  });
  const positionals = program.positionals === undefined ? "" : ` ${program.positionals}`;
  return [
    `Usage: deno run ${program.permissions} examples/${programName()} [OPTIONS]${positionals}`,
    "",
    program.about,
    "",
    "Options:",
    ...rows,
    `  ${"-h, --help".padEnd(30)} show this help and exit`,
  ].join("\n");
}

/**
 * Parses `args` with `@std/cli` parseArgs: `--host`, `--port` and the
 * program's flags. `--help` prints the usage and exits 0; an unknown flag,
 * a bad value or an unexpected argument exits 2 with one line naming it.
 */
export function parseCommandLine<F extends Flags>(
  program: Program<F>,
  args: string[] = Deno.args,
): CommandLine<F> {
  const port = { ...COMMON.port, help: `${COMMON.port.help} (default ${program.port})` };
  const flags: Flags = { ...COMMON, port: { ...port, fallback: program.port }, ...program.flags };
  const names = Object.keys(flags);
  const unknown: string[] = [];
  const valued = new Set(names.filter((name) => flags[name].value !== undefined).map(flagName));
  const parsed = parseArgs(joinNegativeValues(args, valued), {
    boolean: ["help", ...names.filter((name) => flags[name].value === undefined).map(flagName)],
    // "_" keeps positionals as text: a file named 123 stays "123".
    string: ["_", ...valued],
    alias: { h: "help" },
    unknown: (arg, key) => {
      if (key === undefined) return true; // a positional argument
      unknown.push(arg.split("=")[0]);
      return false;
    },
  });
  if (parsed.help) {
    console.log(usage(program, flags));
    Deno.exit(0);
  }
  if (unknown.length > 0) fail(`unknown flag ${unknown[0]} (see --help)`, 2);
  const positionals = parsed._.map(String);
  if (program.positionals === undefined && positionals.length > 0) {
    fail(`unexpected argument ${positionals[0]} (see --help)`, 2);
  }
  const values: Record<string, unknown> = { positionals };
  for (const name of names) {
    const text = parsed[flagName(name)];
    if (typeof text === "boolean" || text === undefined) {
      values[name] = text === true ? true : flags[name].fallback;
    } else if (text === "") {
      fail(`--${flagName(name)} needs a value (see --help)`, 2);
    } else {
      try {
        values[name] = flags[name].parse(text);
      } catch (error) {
        fail(`--${flagName(name)} ${(error as Error).message}`, 2);
      }
    }
  }
  return values as CommandLine<F>;
}
