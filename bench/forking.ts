/**
 * Measures ForkingTCPServer: 1 worker against 2, Deno Workers against
 * subprocesses, and the start-up time and memory of each pool.
 *
 * Every server echoes length-prefixed frames with examples/echo_handlers.ts's
 * `LengthEcho` and is driven by the team's load generator (tcpbench:
 * `--frame len32be --size 64 --conns 50`, depth 1 and 16), which is built
 * from /work/shared/tools/tcpbench.c into /tmp/tcpbench when missing. Rounds
 * are interleaved (each round runs every configuration once, each on a fresh
 * server process); each cell is the median of the rounds with min–max.
 *
 * Pools:
 * - `thread`: ThreadingTCPServer in one thread (the baseline);
 * - `worker`: ForkingTCPServer, N Deno Workers in one process;
 * - `process`: N `deno run` subprocesses, each a ThreadingTCPServer with
 *   `allowReusePort`, the port held by the parent until they listen.
 *
 * Placement: `pinned` runs the server (every thread) on CPU 1 and tcpbench on
 * CPU 0, as the team's benchmarks do; `shared` pins nothing, so on a 2-core
 * machine 2 workers compete with tcpbench for the 2 cores. Server CPU time
 * (utime + stime of the whole process tree) gives ops per CPU-second.
 *
 * Usage: deno run -A bench/forking.ts [--rounds N] [--duration S] [--only startup|throughput]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ForkingTCPServer, isPeerGone, ThreadingTCPServer } from "../mod.ts";
import { LengthEcho } from "../examples/echo_handlers.ts";

const SELF = new URL(import.meta.url).pathname;
const TCPBENCH = "/tmp/tcpbench";
const TCPBENCH_SOURCE = "/work/shared/tools/tcpbench.c";
const DENO_FLAGS = ["run", "--allow-net", "--allow-read", "--allow-run", "--unstable-net"];
const CLOCK_TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s
const WARMUP_SECONDS = 1;
const decoder = new TextDecoder();

type Pool = "thread" | "worker" | "process";

// ---------------------------------------------------------------------------
// Server side: `serve` and `child` modes of this same file

// tcpbench resets its connections when it stops: not worth a line each.
class QuietForkingServer extends ForkingTCPServer {
  override handleError(error: unknown, request: Deno.Conn | null, address: Deno.Addr | null) {
    if (!isPeerGone(error)) return super.handleError(error, request, address);
  }
}
class QuietThreadingServer extends ThreadingTCPServer {
  override handleError(error: unknown, request: Deno.Conn | null, address: Deno.Addr | null) {
    if (!isPeerGone(error)) return super.handleError(error, request, address);
  }
}

/** Prints `listening on 127.0.0.1:PORT ready_ms=T` once every listener serves; stops on SIGTERM. */
async function serve(pool: Pool, workers: number, port: number): Promise<void> {
  const address = { hostname: "127.0.0.1", port };
  const ready = (port: number) =>
    console.log(`listening on 127.0.0.1:${port} ready_ms=${performance.now().toFixed(1)}`);
  if (pool === "process") return await serveProcesses(workers, port, ready);
  const server = pool === "worker"
    ? new QuietForkingServer(
      address,
      { module: new URL("../examples/echo_handlers.ts", import.meta.url), export: "LengthEcho" },
      { workers, onListen: (bound) => ready(bound.port) },
    )
    : new QuietThreadingServer(address, LengthEcho);
  if (pool === "thread") ready(server.address.port);
  Deno.addSignalListener("SIGTERM", () => void server.shutdown());
  await server.serveForever();
  await server.serverClose();
  Deno.exit(0);
}

/** The subprocess pool: the parent holds the port until every child listens, then closes it. */
async function serveProcesses(
  workers: number,
  port: number,
  ready: (port: number) => void,
): Promise<void> {
  const holder = Deno.listen({ hostname: "127.0.0.1", port, reusePort: true });
  const bound = (holder.addr as Deno.NetAddr).port;
  const children = Array.from({ length: workers }, () =>
    new Deno.Command(Deno.execPath(), {
      args: [...DENO_FLAGS, SELF, "child", "--port", String(bound)],
      stdout: "piped",
      stderr: "inherit",
    }).spawn());
  await Promise.all(children.map((child) => firstLine(child.stdout, /child listening/)));
  // Nothing connects before `listening on` is printed, so no connection waits on the holder.
  holder.close();
  ready(bound);
  Deno.addSignalListener("SIGTERM", () => {
    for (const child of children) child.kill("SIGTERM");
  });
  await Promise.all(children.map((child) => child.status));
  Deno.exit(0);
}

async function child(port: number): Promise<void> {
  const server = new QuietThreadingServer({ hostname: "127.0.0.1", port }, LengthEcho, {
    allowReusePort: true,
  });
  console.log("child listening");
  Deno.addSignalListener("SIGTERM", () => void server.shutdown());
  await server.serveForever();
  await server.serverClose();
  Deno.exit(0);
}

/** Reads `stream` until a line matches; returns it (the rest of the stream keeps draining). */
async function firstLine(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  const reader = stream.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Stream ended before ${pattern}: ${text}`);
    text += decoder.decode(value, { stream: true });
    const line = text.split("\n").find((candidate) => pattern.test(candidate));
    if (line !== undefined) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return line;
    }
  }
}

// ---------------------------------------------------------------------------
// Driver

interface Running {
  process: Deno.ChildProcess;
  port: number;
  readyMs: number;
  stop(): Promise<void>;
}

async function startServer(pool: Pool, workers: number, pinned: boolean): Promise<Running> {
  const command = pinned ? "taskset" : Deno.execPath();
  const args = [
    ...(pinned ? ["-c", "1", Deno.execPath()] : []),
    ...DENO_FLAGS,
    SELF,
    "serve",
    "--pool",
    pool,
    "--workers",
    String(workers),
    "--port",
    "0",
  ];
  const process = new Deno.Command(command, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const line = await firstLine(process.stdout, /listening on/);
  const [, port, readyMs] = line.match(/:(\d+) ready_ms=([\d.]+)/)!;
  return {
    process,
    port: Number(port),
    readyMs: Number(readyMs),
    async stop() {
      process.kill("SIGTERM");
      await process.status;
    },
  };
}

/** Every process in the tree rooted at `pid` (Workers are threads of their process). */
function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      for (const task of Deno.readDirSync(`/proc/${tree[i]}/task`)) {
        const children = Deno.readTextFileSync(`/proc/${tree[i]}/task/${task.name}/children`);
        tree.push(...children.trim().split(/\s+/).filter(Boolean).map(Number));
      }
    } catch {
      // A thread or process that ended meanwhile has no children left to count.
    }
  }
  return tree;
}

/** CPU seconds (user + system) used so far by the tree rooted at `pid`. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${member}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // Exited meanwhile.
    }
  }
  return ticks / CLOCK_TICKS;
}

/** CPU seconds of this process's children that have ended (cutime + cstime): tcpbench's. */
function endedChildrenCpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** Resident and proportional memory of the tree, in MiB (PSS splits shared pages fairly). */
function memory(pid: number): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const member of processTree(pid)) {
    const rollup = Deno.readTextFileSync(`/proc/${member}/smaps_rollup`);
    rss += Number(rollup.match(/^Rss:\s+(\d+)/m)![1]);
    pss += Number(rollup.match(/^Pss:\s+(\d+)/m)![1]);
  }
  return { rss: rss / 1024, pss: pss / 1024 };
}

/** Busy share of the busiest CPU over `ms`, from /proc/stat. */
async function busiestCpu(ms: number): Promise<number> {
  const read = () =>
    Deno.readTextFileSync("/proc/stat").split("\n").filter((line) => /^cpu\d/.test(line)).map(
      (line) => {
        const fields = line.trim().split(/\s+/).slice(1).map(Number);
        return { idle: fields[3] + fields[4], total: fields.reduce((a, b) => a + b, 0) };
      },
    );
  const before = read();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = read();
  return Math.max(
    ...after.map((cpu, i) => 1 - (cpu.idle - before[i].idle) / (cpu.total - before[i].total || 1)),
  );
}

let noisyStarts = 0;

/** Waits (up to 5 s) until no other process keeps a CPU over 10% busy. */
async function waitForQuiet(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (await busiestCpu(250) > 0.1) {
    if (Date.now() > deadline) {
      noisyStarts++;
      return;
    }
  }
}

interface LoadResult {
  ops_per_s: number;
  p50_us: number;
  p99_us: number;
  errors: number;
  mismatches: number;
}

async function tcpbench(
  port: number,
  depth: number,
  seconds: number,
  pinned: boolean,
): Promise<LoadResult> {
  const args = [
    "--port",
    String(port),
    "--conns",
    "50",
    "--size",
    "64",
    "--frame",
    "len32be",
    "--depth",
    String(depth),
    "--duration",
    String(seconds),
  ];
  const { stdout, code } = await new Deno.Command(pinned ? "taskset" : TCPBENCH, {
    args: pinned ? ["-c", "0", TCPBENCH, ...args] : args,
    stdout: "piped",
  }).output();
  if (code !== 0) throw new Error(`tcpbench exited ${code}`);
  return JSON.parse(decoder.decode(stdout));
}

interface Config {
  pool: Pool;
  workers: number;
  pinned: boolean;
}

const THROUGHPUT_CONFIGS: Config[] = [
  { pool: "thread", workers: 1, pinned: true },
  { pool: "worker", workers: 1, pinned: true },
  { pool: "worker", workers: 2, pinned: true },
  { pool: "thread", workers: 1, pinned: false },
  { pool: "worker", workers: 1, pinned: false },
  { pool: "worker", workers: 2, pinned: false },
  { pool: "process", workers: 1, pinned: false },
  { pool: "process", workers: 2, pinned: false },
];
const STARTUP_CONFIGS: Config[] = [
  { pool: "thread", workers: 1, pinned: false },
  { pool: "worker", workers: 1, pinned: false },
  { pool: "worker", workers: 2, pinned: false },
  { pool: "worker", workers: 4, pinned: false },
  { pool: "process", workers: 1, pinned: false },
  { pool: "process", workers: 2, pinned: false },
  { pool: "process", workers: 4, pinned: false },
];

function label(config: Config): string {
  const pool = config.pool === "thread" ? "thread" : `${config.pool} x${config.workers}`;
  return `${pool}, ${config.pinned ? "pinned" : "shared"}`;
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function cell(values: number[], digits = 0): string {
  const { median, min, max } = stats(values);
  return `${fmt(median, digits)} (${fmt(min, digits)}–${fmt(max, digits)})`;
}

async function drive(rounds: number, seconds: number, only: string | undefined): Promise<void> {
  try {
    Deno.statSync(TCPBENCH);
  } catch {
    const built = await new Deno.Command("gcc", { args: ["-O2", "-o", TCPBENCH, TCPBENCH_SOURCE] })
      .output();
    if (!built.success) throw new Error("Cannot build tcpbench");
  }
  console.log(
    `deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ${rounds} rounds, ${seconds} s each after ${WARMUP_SECONDS} s warm-up`,
  );

  if (only !== "throughput") await measureStartup(rounds);
  if (only !== "startup") await measureThroughput(rounds, seconds);
}

async function measureStartup(rounds: number): Promise<void> {
  const startup = new Map<string, { ready: number[]; rss: number[]; pss: number[] }>();
  for (let round = 0; round < rounds; round++) {
    for (const config of STARTUP_CONFIGS) {
      const server = await startServer(config.pool, config.workers, config.pinned);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const { rss, pss } = memory(server.process.pid);
      await server.stop();
      const row = startup.get(label(config)) ?? { ready: [], rss: [], pss: [] };
      row.ready.push(server.readyMs);
      row.rss.push(rss);
      row.pss.push(pss);
      startup.set(label(config), row);
    }
  }
  console.log("\n| pool | ready after start, ms | RSS idle, MiB | PSS idle, MiB |");
  console.log("| --- | --: | --: | --: |");
  for (const [name, row] of startup) {
    console.log(`| ${name} | ${cell(row.ready)} | ${cell(row.rss, 1)} | ${cell(row.pss, 1)} |`);
  }
}

async function measureThroughput(rounds: number, seconds: number): Promise<void> {
  type Row = {
    ops: number[];
    cpu: number[];
    load: number[];
    perCpu: number[];
    p50: number[];
    p99: number[];
  };
  const results = new Map<string, Row>();
  for (let round = 0; round < rounds; round++) {
    for (const depth of [1, 16]) {
      for (const config of THROUGHPUT_CONFIGS) {
        await waitForQuiet();
        const server = await startServer(config.pool, config.workers, config.pinned);
        try {
          await tcpbench(server.port, depth, WARMUP_SECONDS, config.pinned);
          const cpuBefore = cpuSeconds(server.process.pid);
          const loadBefore = endedChildrenCpuSeconds();
          const result = await tcpbench(server.port, depth, seconds, config.pinned);
          const cores = (cpuSeconds(server.process.pid) - cpuBefore) / seconds;
          const loadCores = (endedChildrenCpuSeconds() - loadBefore) / seconds;
          if (result.errors || result.mismatches) {
            throw new Error(`${label(config)}: ${JSON.stringify(result)}`);
          }
          const key = `depth ${depth} | ${label(config)}`;
          const row = results.get(key) ??
            { ops: [], cpu: [], load: [], perCpu: [], p50: [], p99: [] };
          row.ops.push(result.ops_per_s);
          row.cpu.push(cores);
          row.load.push(loadCores);
          row.perCpu.push(result.ops_per_s / cores);
          row.p50.push(result.p50_us);
          row.p99.push(result.p99_us);
          results.set(key, row);
          console.error(
            `round ${round + 1} ${key}: ${fmt(result.ops_per_s)} ops/s, server ${
              fmt(cores, 2)
            } cores, tcpbench ${fmt(loadCores, 2)} cores`,
          );
        } finally {
          await server.stop();
        }
      }
    }
  }
  console.log(`\n${noisyStarts} measurements started while a CPU was over 10% busy for 5 s`);
  console.log(
    "\n| depth | pool, placement | ops/s median (min–max) | server CPU, cores | tcpbench CPU, cores | ops per server CPU-second | p50 µs | p99 µs |",
  );
  console.log("| --: | --- | --: | --: | --: | --: | --: | --: |");
  for (const [key, row] of results) {
    console.log(
      `| ${key} | ${cell(row.ops)} | ${cell(row.cpu, 2)} | ${cell(row.load, 2)} | ${
        cell(row.perCpu)
      } | ${fmt(stats(row.p50).median)} | ${fmt(stats(row.p99).median)} |`,
    );
  }
}

// ---------------------------------------------------------------------------

const { positionals, values } = parseArgs({
  args: Deno.args,
  options: {
    pool: { type: "string", default: "worker" },
    workers: { type: "string", default: "2" },
    port: { type: "string", default: "0" },
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "3" },
    only: { type: "string" },
  },
  allowPositionals: true,
});
const mode = positionals[0] ?? "drive";
if (mode === "serve") {
  await serve(values.pool as Pool, Number(values.workers), Number(values.port));
} else if (mode === "child") {
  await child(Number(values.port));
} else {
  await drive(Number(values.rounds), Number(values.duration), values.only);
}
