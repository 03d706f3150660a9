// Used by examples/remote_command.ts: run a program, bounded in time and output.

import { concat } from "@std/bytes/concat";

const encoder = new TextEncoder();

/** What one run may take. */
export interface RunLimits {
  /** Seconds before the program is killed. */
  timeoutSeconds: number;
  /** Bytes of output (stdout and stderr together) kept; past them the program is stopped. */
  maxOutput: number;
  /** The directory it runs in. */
  cwd: string;
}

/**
 * Stdout and stderr in arrival order, up to `max` bytes. The first byte
 * past them marks the output truncated and calls `onFull` once (which stops
 * the program): a cap that lands exactly on a chunk's end must still see
 * the next chunk as too much.
 */
export class BoundedOutput {
  readonly #max: number;
  readonly #onFull: () => void;
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  #truncated = false;

  constructor(max: number, onFull: () => void) {
    this.#max = max;
    this.#onFull = onFull;
  }

  /** Whether output past the cap arrived (and was dropped). */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Keeps what fits of `chunk`. */
  add(chunk: Uint8Array): void {
    if (this.#truncated || chunk.length === 0) return;
    const room = this.#max - this.#size;
    if (chunk.length <= room) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      return;
    }
    this.#chunks.push(chunk.subarray(0, room));
    this.#size = this.#max;
    this.#truncated = true;
    this.#onFull();
  }

  /** The bytes kept. */
  bytes(): Uint8Array {
    return concat(this.#chunks);
  }
}

/**
 * Runs `argv` without a shell. Its output is cut at `maxOutput` bytes, and
 * the program stopped there (SIGKILL), as it is after `timeoutSeconds`;
 * either is said at the end of the output, so the client always knows.
 */
export async function runBounded(
  argv: string[],
  limits: RunLimits,
): Promise<{ output: Uint8Array; summary: string }> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: limits.cwd,
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
  const output = new BoundedOutput(limits.maxOutput, kill);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, limits.timeoutSeconds * 1000);
  // Both pipes are read to their end, even past the cap, so the program never blocks on one.
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output.add(chunk);
  };
  await Promise.all([collect(child.stdout), collect(child.stderr)]);
  const status = await child.status;
  clearTimeout(timer);
  const notes = [
    output.truncated ? `output cut off at ${limits.maxOutput} bytes, command stopped` : "",
    timedOut ? `killed after ${limits.timeoutSeconds} s` : "",
  ].filter((note) => note !== "");
  const how = notes.length > 0 ? notes.join(", ") : `exit ${status.code}`;
  const text = notes.map((note) => `\nerror: ${note}\n`).join("");
  const kept = output.bytes();
  return { output: concat([kept, encoder.encode(text)]), summary: `${how}, ${kept.length} bytes` };
}
