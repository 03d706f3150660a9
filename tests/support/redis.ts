// Test support: the real Redis tools, and a RESP client that keeps each
// reply's exact bytes. `redisToolsMissing()` installs Debian's redis-tools
// (redis-cli, redis-benchmark) when they are missing and we may (root,
// apt-get), so the tests run on a fresh machine; otherwise it says why not.
// `startRedisServer()` runs the real redis-server, the oracle of the
// differential test, which is skipped where it is not installed.

import { delay } from "@std/async";
import { connect, type FramedClient } from "@socketserver/core/io";
import {
  type ByteWindow,
  type Codec,
  encodeFrame,
  type FrameDecoder,
  RespCodec,
  type RespValue,
} from "@socketserver/core/framing";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** apt-get update + install, bounded: a stuck mirror must not hang the suite. */
const INSTALL_TIMEOUT_MS = 300_000;

/** What a finished command printed, and how it ended. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end, with `stdin` fed to it, killed after
 * `timeoutMs`; `null` when it cannot start (not installed).
 */
export async function runTool(
  program: string,
  args: string[],
  options: { stdin?: Uint8Array | string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CommandResult | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      env: options.env,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch {
    return null;
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  try {
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      const input = typeof options.stdin === "string"
        ? encoder.encode(options.stdin)
        : options.stdin;
      // A program that exits early closes its stdin: that is its answer, not our failure.
      await writer.write(input).catch(() => {});
      await writer.close().catch(() => {});
    }
    const { code, stdout, stderr } = await child.output();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `program --version` runs. */
async function installed(program: string): Promise<boolean> {
  return (await runTool(program, ["--version"], { timeoutMs: 10_000 }))?.code === 0;
}

/**
 * Why redis-cli and redis-benchmark cannot run here, or undefined when they
 * can. When they are missing and we run as root with apt-get, installs
 * Debian's `redis-tools` first (once, at most 5 minutes).
 */
export async function redisToolsMissing(): Promise<string | undefined> {
  if (await installed("redis-cli") && await installed("redis-benchmark")) return undefined;
  let root = false;
  try {
    root = Deno.uid() === 0;
  } catch {
    // No --allow-sys: do not guess.
  }
  if (!root) return "redis-cli is not installed and we are not root to apt-get redis-tools";
  const apt = await runTool(
    "sh",
    [
      "-c",
      "command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq redis-tools",
    ],
    { timeoutMs: INSTALL_TIMEOUT_MS, env: { DEBIAN_FRONTEND: "noninteractive" } },
  );
  if (apt?.code !== 0) {
    return `redis-cli is not installed and apt-get could not install redis-tools:\n${
      apt?.stdout ?? ""
    }${apt?.stderr ?? ""}`;
  }
  return await installed("redis-cli") ? undefined : "apt-get installed redis-tools, no redis-cli";
}

/** Whether the real redis-server is installed (the differential test's oracle). */
export function redisServerInstalled(): Promise<boolean> {
  return installed("redis-server");
}

/** A running redis-server. */
export interface RedisServerProcess {
  port: number;
  /** SIGTERM, waits for exit, removes its folder. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server --save "" --appendonly no` in a scratch folder on a
 * free port (Redis's port 0 means "no TCP", so a free one is picked and
 * retried if taken meanwhile); resolves once it answers PING.
 */
export async function startRedisServer(): Promise<RedisServerProcess> {
  const dir = await Deno.makeTempDir({ prefix: "redis_server_" });
  let output = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    const child = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collected = child.output().then(({ stdout, stderr }) => {
      output = decoder.decode(stdout) + decoder.decode(stderr);
    });
    let exited = false;
    child.status.then(() => exited = true);
    const stop = async () => {
      if (!exited) child.kill("SIGTERM");
      await collected;
      await Deno.remove(dir, { recursive: true });
    };
    for (let wait = 0; wait < 100 && !exited; wait++) {
      try {
        await using client = await connectRedis(port);
        if ((await client.request(command("PING"))).value === "PONG") return { port, stop };
      } catch {
        await delay(50);
      }
    }
    if (!exited) child.kill("SIGKILL");
    await collected;
  }
  await Deno.remove(dir, { recursive: true });
  throw new Error(`redis-server did not start:\n${output}`);
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

/** One reply: its value, and the exact bytes it came in. */
export interface Reply {
  value: RespValue;
  raw: Uint8Array;
}

/** RESP replies with their bytes; what is sent is written as it is (already RESP). */
class RawReplyCodec implements Codec<Reply, Uint8Array> {
  // Room for the tests' largest value and more.
  readonly #resp = new RespCodec({ maxFrameLength: 64 * 1024 * 1024 });

  decoder(): FrameDecoder<Reply> {
    const replies = this.#resp.decoder();
    // A reply leaves the window only when whole: its bytes run from the start before to the start after.
    const withBytes = (input: ByteWindow, decode: (input: ByteWindow) => RespValue | undefined) => {
      const start = input.start;
      const value = decode(input);
      return value === undefined
        ? undefined
        : { value, raw: input.bytes.slice(start, input.start) };
    };
    return {
      decode: (input) => withBytes(input, (window) => replies.decode(window)),
      decodeEof: (input) => withBytes(input, (window) => replies.decodeEof(window)),
    };
  }

  encode(bytes: Uint8Array, sink: { write(bytes: Uint8Array): void }): void {
    sink.write(bytes);
  }
}

/** A client to a Redis server on 127.0.0.1 whose replies keep their bytes; send `command(...)`. */
export function connectRedis(port: number): Promise<FramedClient<Reply, Uint8Array>> {
  return connect({ port }, { codec: new RawReplyCodec(), timeout: 30 });
}

/** A command as redis-cli sends it: a RESP array of bulk strings. */
export function command(...args: (string | Uint8Array)[]): Uint8Array {
  const bulk = args.map((arg) => typeof arg === "string" ? encoder.encode(arg) : arg);
  return encodeFrame(new RespCodec({ maxFrameLength: 64 * 1024 * 1024 }), bulk);
}

/** Bytes as text for messages and comparisons: one character per byte. */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}
