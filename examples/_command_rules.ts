// Used by examples/remote_command.ts: which commands may run, and with what.

/**
 * What one program may be given, as sudoers lists it: anything not listed is
 * refused. A word starting with `-` is an option, wherever it stands (GNU
 * programs read it as one anywhere), and must be listed; single-letter
 * options may be combined (`-la`). The other words are operands, of one kind.
 */
export interface CommandRule {
  /** The options accepted, as written: `-l`, `--utc`. */
  readonly options: readonly string[];
  /**
   * What operands may be: none; any text; `+FORMAT` (date's output format);
   * a number of seconds; or paths inside the served directory.
   */
  readonly operands: "none" | "text" | "format" | "seconds" | "paths";
  /** The most operands. */
  readonly maxOperands: number;
}

/**
 * The programs a client may run and their argument forms. `date` lists no
 * `-s`/`--set` (they set the clock), no `-f FILE`/`-r FILE` (they read a
 * file, whose lines come back in the error text), and takes only a
 * `+FORMAT` operand (a bare `MMDDhhmm` sets the clock too). `ls` reads
 * only inside the served directory. `sleep` is for trying `--timeout`; it is
 * not allowed unless named in `--allow-commands`.
 */
export const COMMAND_RULES: Readonly<Record<string, CommandRule>> = {
  pwd: { options: [], operands: "none", maxOperands: 0 },
  whoami: { options: [], operands: "none", maxOperands: 0 },
  uname: { options: ["-a", "-s", "-n", "-r", "-v", "-m", "-o"], operands: "none", maxOperands: 0 },
  date: { options: ["-u", "--utc", "-R", "-I"], operands: "format", maxOperands: 1 },
  echo: { options: ["-n"], operands: "text", maxOperands: 64 },
  ls: {
    options: ["-l", "-a", "-A", "-h", "-1", "-R", "-t", "-S", "-r", "-F"],
    operands: "paths",
    maxOperands: 16,
  },
  sleep: { options: [], operands: "seconds", maxOperands: 1 },
};

/** The commands allowed unless `--allow-commands` says otherwise. */
export const DEFAULT_COMMANDS = ["ls", "pwd", "whoami", "date", "echo", "uname"];

/** What the shell would treat specially; nothing here would, so a line with one is refused. */
const METACHARACTER = /[;|&$`<>(){}[\]*?~!#\\\n\r]/;

/**
 * Splits a command line into argv: spaces separate words, `'…'` and `"…"`
 * group them, nothing else is special.
 */
function split(line: string): string[] | string {
  const bad = line.match(METACHARACTER);
  if (bad) return `shell metacharacter ${JSON.stringify(bad[0])} refused (no shell here)`;
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
  if (quote !== undefined) return `unclosed ${quote} quote`;
  if (inWord) argv.push(word);
  return argv.length === 0 ? "empty command" : argv;
}

/** Whether `word` is a listed option, or listed single-letter options combined. */
function optionAllowed(word: string, options: readonly string[]): boolean {
  if (options.includes(word)) return true;
  return /^-[a-zA-Z0-9]{2,}$/.test(word) &&
    [...word.slice(1)].every((letter) => options.includes(`-${letter}`));
}

/** Why an operand is refused, if it is. */
async function operandProblem(rule: CommandRule, operand: string, root: string) {
  switch (rule.operands) {
    case "none":
      return "takes no operands";
    case "text":
      return undefined;
    case "format":
      return operand.startsWith("+") ? undefined : "takes only a +FORMAT operand";
    case "seconds":
      return /^\d+(\.\d+)?$/.test(operand) ? undefined : "takes a number of seconds";
    case "paths":
      return await pathProblem(operand, root);
  }
}

/**
 * Why a path is refused, if it is: it must name something inside `root`
 * once symbolic links are resolved (`..`, an absolute path, or a link out
 * of `root` would reach the rest of the machine).
 */
async function pathProblem(path: string, root: string): Promise<string | undefined> {
  // A path that does not resolve (missing, or outside --allow-read) is refused too.
  const real = path.startsWith("/") ? "/" : await Deno.realPath(`${root}/${path}`).catch(() => "/");
  if (real === root || real.startsWith(`${root}/`)) return undefined;
  return "takes only existing paths inside the served directory";
}

/**
 * Turns a command line into argv, or says why it is refused: a shell
 * metacharacter, a program not in `allowed`, or an argument its rule does
 * not list.
 *
 * @param root The served directory, as `Deno.realPath` gives it.
 */
export async function checkCommand(
  line: string,
  allowed: ReadonlySet<string>,
  root: string,
): Promise<{ argv: string[] } | { refused: string }> {
  const argv = split(line);
  if (typeof argv === "string") return { refused: argv };
  const [program, ...args] = argv;
  const rule = COMMAND_RULES[program];
  if (!allowed.has(program) || rule === undefined) {
    return {
      refused: `${JSON.stringify(program)} is not allowed (allowed: ${[...allowed].join(", ")})`,
    };
  }
  const operands = args.filter((arg) => !arg.startsWith("-") || arg === "-");
  for (const arg of args) {
    const problem = arg.startsWith("-") && arg !== "-"
      ? optionAllowed(arg, rule.options) ? undefined : "option not allowed"
      : await operandProblem(rule, arg, root);
    if (problem !== undefined) return { refused: `${program} ${JSON.stringify(arg)}: ${problem}` };
  }
  if (operands.length > rule.maxOperands) {
    return { refused: `${program} takes at most ${rule.maxOperands} operands` };
  }
  return { argv };
}
