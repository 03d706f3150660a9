// Test support: an example program as a real subprocess, ready once it has
// printed its `listening on HOST:PORT` line.

import { assertEquals, assertMatch, assertNotEquals, assertNotMatch } from "@std/assert";
import { type PythonResult, runToEnd } from "./python.ts";

/** A running example. */
export interface ExampleProcess {
  /** The port from the `listening on` line. */
  port: number;
  /** The address text from the `listening on` line (`HOST:PORT` or a path). */
  address: string;
  /** Everything printed on stdout so far (after the listening line too). */
  stdout(): string;
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** Sends a signal and waits for exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Sends a signal and returns at once (the process may go on, as while it drains). */
  signal(signal: Deno.Signal): void;
}

const decoder = new TextDecoder();

/**
 * Starts `deno run <permissions> examples/<name> <args>` and resolves once it
 * prints `listening on ...`. Pass `--port 0` in `args` to get a free port.
 * The process is killed if it has not listened within `timeoutSeconds`.
 */
export async function startExample(
  name: string,
  args: string[],
  options: { permissions?: string[]; timeoutSeconds?: number; cwd?: string } = {},
): Promise<ExampleProcess> {
  const root = new URL("../../", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(options.permissions ?? ["--allow-net"]),
      new URL(`examples/${name}`, root).pathname,
      ...args,
    ],
    cwd: options.cwd ?? root.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const drainStderr = (async () => {
    for await (const chunk of child.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  const stdoutReader = child.stdout.getReader();
  const timer = setTimeout(() => child.kill("SIGKILL"), (options.timeoutSeconds ?? 30) * 1000);
  let match: RegExpMatchArray | null = null;
  while (match === null) {
    const { value, done } = await stdoutReader.read();
    if (done) {
      clearTimeout(timer);
      await child.status;
      await drainStderr;
      throw new Error(`examples/${name} exited before listening:\n${out}\n${err}`);
    }
    out += decoder.decode(value, { stream: true });
    match = out.match(/listening on (\S+)/);
  }
  clearTimeout(timer);
  const drainStdout = (async () => {
    for (;;) {
      const { value, done } = await stdoutReader.read();
      if (done) return;
      out += decoder.decode(value, { stream: true });
    }
  })();
  const address = match[1];
  return {
    port: Number(address.match(/:(\d+)$/)?.[1] ?? 0),
    address,
    stdout: () => out,
    stderr: () => err,
    signal(signal: Deno.Signal) {
      child.kill(signal);
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
      const status = await child.status;
      await drainStdout;
      await drainStderr;
      return status.code;
    },
  };
}

/** How {@linkcode withExample} starts and stops the example. */
export interface WithExampleOptions {
  permissions?: string[];
  cwd?: string;
  /** The signal that stops it; it must then exit 0. Default: SIGTERM. */
  signal?: Deno.Signal;
}

/**
 * Starts `examples/<name> <args>` (see {@linkcode startExample}), runs `body`
 * with it, then stops it with a signal, also when `body` throws, and asserts
 * the graceful stop exited 0.
 *
 * @returns The stopped process, for checks of what it printed.
 */
export async function withExample(
  name: string,
  args: string[],
  body: (server: ExampleProcess) => Promise<void>,
  options: WithExampleOptions = {},
): Promise<ExampleProcess> {
  const server = await startExample(name, args, options);
  let code: number;
  try {
    await body(server);
  } finally {
    code = await server.stop(options.signal ?? "SIGTERM");
  }
  assertEquals(code, 0, server.stderr());
  return server;
}

/**
 * Runs `examples/<name> --port 0 <args>` and asserts it refuses to start:
 * a non-zero exit, `message` on stderr, and no `listening on` line. A run
 * that was not refused would serve forever, so the wait is bounded.
 */
export async function assertExampleRefuses(
  name: string,
  args: string[],
  message: RegExp,
  permissions: string[] = ["--allow-net"],
): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      new URL(`../../examples/${name}`, import.meta.url).pathname,
      "--port",
      "0",
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const { code, stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
  assertNotEquals(code, 0);
  assertMatch(decoder.decode(stderr), message);
  assertNotMatch(decoder.decode(stdout), /listening on/);
}

/** Polls `condition` until it holds, for at most `seconds`. */
export async function waitUntil(condition: () => boolean, seconds = 10): Promise<void> {
  for (const end = Date.now() + seconds * 1000; !condition();) {
    if (Date.now() > end) throw new Error(`Condition not met within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What a finished run of an example printed, and how it ended. */
export type ExampleRun = PythonResult;

/**
 * Runs `deno run <permissions> examples/<name> <args>` to its end (a client,
 * or a program that refuses to start) and returns what it printed. It is
 * killed after `timeoutSeconds`, so a test never waits forever.
 */
export async function runExample(
  name: string,
  args: string[],
  options: { permissions?: string[]; stdin?: string; timeoutSeconds?: number; cwd?: string } = {},
): Promise<ExampleRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(options.permissions ?? ["--allow-net"]),
      new URL(`../../examples/${name}`, import.meta.url).pathname,
      ...args,
    ],
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return await runToEnd(child, options);
}
