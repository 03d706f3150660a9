/**
 * The benchmark runner behind `deno task bench`.
 *
 * Starts each echo server (the framework in both handler styles,
 * `bench/servers/framework_echo.ts`; a hand-written raw Deno server, Node
 * `net`, Python `socketserver`, and a C epoll ceiling) on its own free port
 * pinned to one core, drives it with the native load generator
 * (`bench/loadgen.c`) pinned to the other core, and prints one table per
 * workload: the median of N rounds with min and max, and each server's ratio
 * to the raw Deno row and to the Node row.
 *
 * Rounds are interleaved (round 1 runs every server, then round 2 runs every
 * server, …) and every measurement gets a fresh server process, because a
 * single run drifts by ±15% on this machine: drift then spreads over all rows
 * instead of landing on one.
 *
 * A full default run (5 workloads × 6 servers × 3 rounds × (3 s + 0.5 s
 * warm-up), plus start-up and the 10,000 connections of `idle`) takes about
 * 7 minutes on the 2-core development machine, plus up to 5 s per round when
 * other processes keep it busy (11 minutes measured so); `--quick` (1 round
 * of 1 s, 2,000 idle connections, at most 1 s of waiting per round) about
 * 1.5 minutes.
 *
 * Usage: deno run -A bench/run.ts [--workload a,b] [--servers a,b] [--rounds N]
 *        [--duration S] [--quick] [--write] [--json]
 *
 * @module
 */

import { runRedisBenchmark } from "./redis.ts";
import { markdownTable, median } from "./_stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BUILD_DIR = `${ROOT}bench/.build`;
const LOADGEN = `${BUILD_DIR}/loadgen`;
const CECHO = `${BUILD_DIR}/cecho`;
const HEADER_LENGTH = 4; // every frame: 4-byte big-endian length, then the payload
/** Load before counting, so JIT warm-up is not measured. */
const WARMUP_SECONDS = 0.5;
/** A server that has not printed its ready line by then has failed to start. */
const READY_TIMEOUT_MS = 30_000;
/** A benchmark CPU busier than this before a round means another process is using it. */
const QUIET_SHARE = 0.1;
/** How long to wait for the CPUs to become quiet before measuring anyway (`--quick`: 1 s). */
const QUIET_WAIT_MS = 5_000;
const QUICK_QUIET_WAIT_MS = 1_000;
/** File descriptors kept free besides the connections (pipes, listener, runtime). */
const FD_RESERVE = 512;

const USAGE = `Usage: deno run -A bench/run.ts [options]

  --workload a,b   workloads to run (default: all): {workloads}
  --servers a,b    servers to run (default: all available): {servers}
  --rounds N       rounds per workload, median reported with min and max (default 3)
  --duration S     seconds per measurement (default 3)
  --quick          1 round of 1 s, 2,000 idle connections (a smoke test: numbers are not comparable)
  --write          also write bench/RESULTS.md (machine, command, date, tables)
  --json           print machine-readable JSON lines instead of tables
  --help           this text`;

// ---------------------------------------------------------------------------
// Options

interface Options {
  workloads: Workload[];
  /** Server names to run; undefined runs every available one. */
  servers?: string[];
  rounds: number;
  duration: number;
  /** Connections the idle workload holds. */
  idleConnections: number;
  /** How long each round may wait for the CPUs to become quiet. */
  quietWaitMs: number;
  write: boolean;
  json: boolean;
}

function usage(): string {
  return USAGE.replace("{workloads}", WORKLOADS.map((w) => w.name).join(","))
    .replace("{servers}", serverNames().join(","));
}

function fail(message: string): never {
  console.error(`bench: ${message}\n\n${usage()}`);
  Deno.exit(2);
}

/** Every server name any workload uses. */
function serverNames(): string[] {
  const tables = WORKLOADS.map((workload) => workload.servers ?? ECHO_SERVERS);
  return [...new Set(tables.flat().map((server) => server.name))];
}

/** Picks entries of `table` by a comma-separated list of names. */
function pick<T extends { name: string }>(table: T[], list: string, what: string): T[] {
  const names = list.split(",").map((name) => name.trim()).filter((name) => name !== "");
  for (const name of names) {
    if (!table.some((entry) => entry.name === name)) fail(`unknown ${what} "${name}"`);
  }
  return table.filter((entry) => names.includes(entry.name));
}

function positive(value: string | undefined, flag: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) fail(`${flag} needs a positive number`);
  return number;
}

function parseOptions(args: string[]): Options {
  const flags = new Map<string, string | undefined>();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const takesValue = ["--workload", "--servers", "--rounds", "--duration"].includes(flag);
    if (!["--quick", "--write", "--json", "--help"].includes(flag) && !takesValue) {
      fail(`unknown option ${args[i]}`);
    }
    flags.set(flag, takesValue ? inline ?? args[++i] : undefined);
  }
  if (flags.has("--help")) {
    console.log(usage());
    Deno.exit(0);
  }
  const quick = flags.has("--quick");
  const rounds = flags.has("--rounds") ? positive(flags.get("--rounds"), "--rounds") : 0;
  if (!Number.isInteger(rounds)) fail("--rounds needs a whole number");
  return {
    workloads: flags.has("--workload")
      ? pick(WORKLOADS, flags.get("--workload") ?? "", "workload")
      : WORKLOADS,
    servers: flags.has("--servers")
      ? pick(serverNames().map((name) => ({ name })), flags.get("--servers") ?? "", "server")
        .map(({ name }) => name)
      : undefined,
    rounds: rounds || (quick ? 1 : 3),
    duration: flags.has("--duration")
      ? positive(flags.get("--duration"), "--duration")
      : (quick ? 1 : 3),
    idleConnections: quick ? 2_000 : 10_000,
    quietWaitMs: quick ? QUICK_QUIET_WAIT_MS : QUIET_WAIT_MS,
    write: flags.has("--write"),
    json: flags.has("--json"),
  };
}

// ---------------------------------------------------------------------------
// Child processes: every one is tracked, so none outlives the runner.

const running = new Set<Deno.ChildProcess>();

function spawn(argv: string[]): Deno.ChildProcess {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running.add(child);
  child.status.finally(() => running.delete(child));
  return child;
}

/** Resolves to `promise`'s value, or to `undefined` after `ms` milliseconds. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** SIGTERM, then SIGKILL if the process is still there after 3 s. */
async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  if (await within(child.status, 3_000) === undefined) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited in between.
    }
    await child.status;
  }
}

/** Calls `onLine` for every line of `stream`, until it ends. */
async function followLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  }
  if (pending !== "") onLine(pending);
}

/** Keeps the last lines a process printed, to explain a failure. */
class Tail {
  #lines: string[] = [];
  add = (line: string): void => {
    this.#lines.push(line);
    if (this.#lines.length > 8) this.#lines.shift();
  };
  toString(): string {
    return this.#lines.join(" | ") || "(no output)";
  }
}

async function commandOutput(argv: string[]): Promise<string | undefined> {
  try {
    const { success, stdout, stderr } = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(stdout).trim() ||
      new TextDecoder().decode(stderr).trim();
    return success ? text : undefined;
  } catch {
    return undefined; // not installed
  }
}

// ---------------------------------------------------------------------------
// The machine: tools, cores, limits.

interface Machine {
  deno: string;
  /** Node's real executable: not Deno's `node` stand-in. */
  node?: string;
  /** The real interpreter, not a pyenv shim, so its PID is the server's. */
  python?: string;
  compiler?: string;
  versions: Record<string, string>;
  cpuModel: string;
  cpus: number;
  /** Prefixes that pin the server and the load generator to their cores. */
  serverPin: string[];
  clientPin: string[];
  /** The CPUs servers and load generator run on. */
  benchCpus: number[];
  /** Prefix that raises the children's open-files soft limit. */
  fdRaise: string[];
  /** The children's open-files limit, and the connections one child can hold within it. */
  fdLimit: number;
  maxConnections: number;
  notes: string[];
  /** /proc/loadavg's first three fields when the run started. */
  loadAverage: string;
}

async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?");
  return text.split(" ").slice(0, 3).join(", ");
}

function parseCpuList(list: string): number[] {
  return list.split(",").flatMap((range) => {
    const [from, to = from] = range.split("-").map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** Idle and total time of each CPU so far, from /proc/stat. */
async function cpuTimes(): Promise<Map<number, { idle: number; total: number }>> {
  const times = new Map<number, { idle: number; total: number }>();
  for (const line of (await Deno.readTextFile("/proc/stat")).split("\n")) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const fields = match[2].trim().split(/\s+/).map(Number);
    times.set(Number(match[1]), {
      idle: fields[3] + (fields[4] ?? 0), // idle + iowait
      total: fields.reduce((a, b) => a + b, 0),
    });
  }
  return times;
}

/** The share of time the busiest of `cpus` was not idle over `ms` milliseconds. */
async function busiest(cpus: number[], ms: number): Promise<number> {
  const before = await cpuTimes();
  await delay(ms);
  const after = await cpuTimes();
  return Math.max(
    0,
    ...cpus.map((cpu) => {
      const [a, b] = [before.get(cpu), after.get(cpu)];
      const total = a && b ? b.total - a.total : 0;
      return total > 0 ? 1 - (b!.idle - a!.idle) / total : 0;
    }),
  );
}

/**
 * Waits, up to `waitMs`, until no other process keeps the benchmark's
 * CPUs busy (the development machine is shared, and a neighbour on the
 * server's core skews a round far more than drift does). Returns the last
 * busy share seen, so a round that could not wait it out is flagged.
 */
async function awaitQuiet(machine: Machine, waitMs: number): Promise<number> {
  const deadline = Date.now() + waitMs;
  let busy = await busiest(machine.benchCpus, 200);
  while (busy > QUIET_SHARE && Date.now() < deadline) busy = await busiest(machine.benchCpus, 200);
  return busy;
}

async function inspectMachine(): Promise<Machine> {
  const notes: string[] = [];
  // Deno.Command runs Deno itself in Node mode when `node` is not installed:
  // that is not Node, so it counts as missing.
  const node =
    await commandOutput(["node", "-p", "process.versions.deno ? '' : process.execPath"]) ||
    undefined;
  const python = await commandOutput(["python3", "-c", "import sys; print(sys.executable)"]);
  let compiler: string | undefined;
  for (const candidate of ["cc", "gcc", "clang"]) {
    if (await commandOutput([candidate, "--version"]) !== undefined) {
      compiler = candidate;
      break;
    }
  }
  // Each as the tool prints it ("Python 3.11.7", "cc (Debian 12.2.0-14) 12.2.0").
  const versions: Record<string, string> = { deno: `deno ${Deno.version.deno}` };
  if (node) versions.node = `node ${(await commandOutput([node, "--version"])) ?? "?"}`;
  if (python) versions.python = (await commandOutput([python, "--version"])) ?? "Python ?";
  if (compiler) {
    versions.cc = (await commandOutput([compiler, "--version"]))?.split("\n")[0] ?? "?";
  }

  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown CPU";
  const status = await Deno.readTextFile("/proc/self/status").catch(() => "");
  const allowed = parseCpuList(/^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? "0");

  // The server gets a core of its own; the load generator and this runner
  // share the other, so the runner's wake-ups never land on the server's core.
  let serverPin: string[] = [];
  let clientPin: string[] = [];
  let benchCpus = allowed;
  const taskset = await commandOutput(["taskset", "--version"]) !== undefined;
  if (taskset && allowed.length >= 2) {
    const [client, server] = allowed;
    serverPin = ["taskset", "-c", String(server)];
    clientPin = ["taskset", "-c", String(client)];
    benchCpus = [client, server];
    await commandOutput(["taskset", "-a", "-p", "-c", String(client), String(Deno.pid)]);
    notes.push(`servers pinned to CPU ${server}, load generator and runner to CPU ${client}`);
  } else {
    notes.push(
      taskset
        ? `only ${allowed.length} CPU available: nothing pinned, client and server share it`
        : "taskset not found: nothing pinned, figures are noisier",
    );
  }

  // 10,000 held connections need 10,000 descriptors in the server and in the
  // load generator: raise the children's soft limit to the hard limit.
  // Children inherit this process's limits.
  const limits = await Deno.readTextFile("/proc/self/limits").catch(() => "");
  const [soft, hard] =
    (/^Max open files\s+(\S+)\s+(\S+)/m.exec(limits)?.slice(1) ?? ["1024", "1024"])
      .map((limit) => limit === "unlimited" ? 1 << 20 : Number(limit));
  let fdRaise: string[] = [];
  if (soft < hard) {
    fdRaise = await commandOutput(["prlimit", "--version"]) !== undefined
      ? ["prlimit", `--nofile=${hard}:${hard}`]
      : ["sh", "-c", `ulimit -n ${hard} && exec "$@"`, "sh"];
    notes.push(`open-files soft limit raised from ${soft} to ${hard} for the children`);
  }
  return {
    deno: Deno.execPath(),
    node,
    python,
    compiler,
    versions,
    cpuModel,
    cpus: navigator.hardwareConcurrency,
    serverPin,
    clientPin,
    benchCpus,
    fdRaise,
    fdLimit: hard,
    maxConnections: Math.max(hard - FD_RESERVE, 1),
    notes,
    loadAverage: await loadAverage(),
  };
}

const NO_COMPILER = "no C compiler found (tried cc, gcc, clang); install one " +
  "(e.g. `apt-get install gcc`) to build";

/** Compiles `source` to `output` when the output is missing or older than the source. */
async function compile(machine: Machine, source: string, output: string): Promise<void> {
  const [src, out] = await Promise.all([
    Deno.stat(`${ROOT}${source}`),
    Deno.stat(output).catch(() => undefined),
  ]);
  if (out?.mtime && src.mtime && out.mtime >= src.mtime) return;
  if (!machine.compiler) throw new Error(`${NO_COMPILER} ${source}`);
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const { success, stderr } = await new Deno.Command(machine.compiler, {
    args: ["-O2", "-Wall", "-o", output, source],
    cwd: ROOT,
  }).output();
  if (!success) {
    throw new Error(
      `${machine.compiler} failed on ${source}:\n${new TextDecoder().decode(stderr)}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Servers: each takes --port N, binds 127.0.0.1, prints
// `listening on 127.0.0.1:PORT` when ready and echoes length-prefixed frames.

interface ServerSpec {
  /** The row name, also the `--servers` key; `raw` and `node` are the ratio references. */
  name: string;
  summary: string;
  /** Why this server cannot run here, or undefined when it can. */
  unavailable(machine: Machine): string | undefined | Promise<string | undefined>;
  build?(machine: Machine): Promise<void>;
  /** The argv; `workload` lets a server take that workload's settings (raw's idle buffer). */
  command(machine: Machine, port: number, workload: Workload): string[];
}

/** The rows the ratio columns divide by: the bar is raw Deno, the field's usual peer Node. */
const REFERENCES = ["raw", "node"];

const words = (text: string) => text.split(" ");

/** The peers of the echo workloads. */
const ECHO_SERVERS: ServerSpec[] = [
  ...(["sync", "await"] as const).map((style): ServerSpec => ({
    name: `fw-${style}`,
    summary: `bench/servers/framework_echo.ts --style ${style}: the framework, ` +
      (style === "sync"
        ? "handleFrame() + sendFrame()"
        : "for await frames() + await writeFrame()"),
    unavailable: () => undefined,
    command: (machine, port) => [
      machine.deno,
      ...words(`run --allow-net bench/servers/framework_echo.ts --style ${style} --port`),
      String(port),
    ],
  })),
  {
    name: "raw",
    summary: "bench/servers/raw_deno.ts: hand-written Deno.listen loop, one write per read",
    unavailable: () => undefined,
    command: (machine, port, workload) => [
      machine.deno,
      ...words("run --allow-net bench/servers/raw_deno.ts --port"),
      String(port),
      ...(workload.rawBuffer ? ["--buffer", String(workload.rawBuffer)] : []),
    ],
  },
  {
    name: "node",
    summary: "bench/servers/node_net.mjs: Node net, idiomatic chunk decoder",
    unavailable: (machine) => machine.node ? undefined : "node not found",
    command: (
      machine,
      port,
    ) => [machine.node!, "bench/servers/node_net.mjs", "--port", String(port)],
  },
  {
    name: "python",
    summary: "bench/servers/python_socketserver.py: ThreadingTCPServer + StreamRequestHandler",
    unavailable: (machine) => machine.python ? undefined : "python3 not found",
    command: (machine, port) => [
      machine.python!,
      ...words("bench/servers/python_socketserver.py --port"),
      String(port),
    ],
  },
  {
    name: "c",
    summary: "bench/servers/cecho.c: epoll byte echo in C, the one-core ceiling",
    unavailable: (machine) => machine.compiler ? undefined : `${NO_COMPILER} bench/servers/cecho.c`,
    build: (machine) => compile(machine, "bench/servers/cecho.c", CECHO),
    command: (_machine, port) => [CECHO, "--port", String(port)],
  },
];

interface RunningServer {
  child: Deno.ChildProcess;
  output: Tail;
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  // Let the close settle before a server binds the same port.
  await delay(10);
  return port;
}

async function startServer(
  server: ServerSpec,
  machine: Machine,
  port: number,
  workload: Workload,
): Promise<RunningServer> {
  const argv = server.command(machine, port, workload);
  const child = spawn([...machine.fdRaise, ...machine.serverPin, ...argv]);
  const output = new Tail();
  const readyLine = `listening on 127.0.0.1:${port}`;
  const ready = Promise.withResolvers<"ready">();
  // Keep draining both pipes for the server's whole life: a full pipe would
  // block a server that logs (Python prints a traceback per reset connection).
  followLines(child.stdout, (line) => {
    output.add(line);
    if (line.trim() === readyLine) ready.resolve("ready");
  }).catch(() => {});
  followLines(child.stderr, output.add).catch(() => {});
  const outcome = await within(
    Promise.race([ready.promise, child.status.then(() => "exited" as const)]),
    READY_TIMEOUT_MS,
  );
  if (outcome !== "ready") {
    await stop(child);
    throw new Error(
      `${outcome === "exited" ? "exited" : "timed out"} before "${readyLine}": ${output}`,
    );
  }
  return { child, output };
}

// ---------------------------------------------------------------------------
// The load generator.

/** The JSON line bench/loadgen.c prints (and its "held" event in hold mode). */
interface LoadgenResult {
  conns: number;
  alive: number;
  ops_per_s: number;
  bytes_per_s: number;
  p50_us: number;
  p99_us: number;
  errors: number;
  mismatches: number;
}

interface HeldEvent {
  event: "held";
  conns: number;
  held: number;
}

async function runLoadgen(
  machine: Machine,
  args: string[],
  timeoutMs: number,
  onHeld?: (event: HeldEvent) => void,
): Promise<LoadgenResult> {
  const child = spawn([...machine.fdRaise, ...machine.clientPin, LOADGEN, ...args]);
  const output = new Tail();
  let result: LoadgenResult | undefined;
  const stdout = followLines(child.stdout, (line) => {
    output.add(line);
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      return; // not a result line; kept in `output` for the error message
    }
    if (record.event === "held") onHeld?.(record);
    else result = record;
  });
  const stderr = followLines(child.stderr, output.add);
  const status = await within(child.status, timeoutMs);
  if (status === undefined) {
    await stop(child);
    throw new Error(`load generator timed out after ${timeoutMs / 1000} s: ${output}`);
  }
  await Promise.all([stdout, stderr]);
  if (!status.success || result === undefined) {
    throw new Error(`load generator failed (exit ${status.code}): ${output}`);
  }
  return result;
}

// ---------------------------------------------------------------------------
// Workloads: each is a small object whose `measure` drives one running server
// once and returns one sample.

interface Sample {
  opsPerS: number;
  bytesPerS: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  mismatches: number;
  conns: number;
  alive: number;
  /** Memory workloads: VmRSS before the connections and while they are held. */
  rssBefore?: number;
  rssHeld?: number;
  bytesPerConn?: number;
  /** Why the workload ran smaller than it says, if it did. */
  note?: string;
  /** How busy other processes kept the busiest benchmark CPU just before this round. */
  busyBefore?: number;
}

interface MeasureContext {
  machine: Machine;
  port: number;
  pid: number;
  duration: number;
  idleConnections: number;
}

interface Workload {
  name: string;
  summary: string;
  /** `throughput`: ops/s, higher is better. `memory`: bytes per connection, lower is better. */
  kind: "throughput" | "memory";
  measure(context: MeasureContext): Promise<Sample>;
  /** The raw server's first buffer size for this workload (default: its own, 4 KiB). */
  rawBuffer?: number;
  /**
   * The programs this workload runs against; default: the echo servers. A
   * workload that needs other programs (a file upload needs a file server)
   * brings its own table, using the same row names so `--servers` and the
   * ratio column keep their meaning.
   */
  servers?: ServerSpec[];
  /**
   * A workload with a runner and table of its own (bench/redis.ts): it
   * replaces the server loop, prints its table, and returns it as a
   * Markdown section for `--write`.
   */
  run?(options: Options): Promise<string>;
}

function sampleOf(result: LoadgenResult): Sample {
  return {
    opsPerS: result.ops_per_s,
    bytesPerS: result.bytes_per_s,
    p50Us: result.p50_us,
    p99Us: result.p99_us,
    errors: result.errors,
    mismatches: result.mismatches,
    conns: result.conns,
    alive: result.alive,
  };
}

interface Load {
  mode: "pingpong" | "churn";
  conns: number;
  payload: number;
  depth?: number;
  /** Source addresses 127.0.0.1..N, to get past the ephemeral-port limit when churning. */
  sources?: number;
}

/** Drives the server with `load` for the duration and reports ops/s. */
function throughput(load: Load): Workload["measure"] {
  return async ({ machine, port, duration }) => {
    const args = words(
      `--port ${port} --frame len32be --mode ${load.mode} --conns ${load.conns} ` +
        `--size ${HEADER_LENGTH + load.payload} --depth ${load.depth ?? 1} ` +
        `--sources ${load.sources ?? 1} --duration ${duration} --warmup ${WARMUP_SECONDS}`,
    );
    const timeoutMs = (duration + WARMUP_SECONDS) * 1000 + 30_000;
    return sampleOf(await runLoadgen(machine, args, timeoutMs));
  };
}

async function vmRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/**
 * Opens the idle connections (fewer if the open-files limit is lower), echoes
 * one frame on each, then holds them idle for the duration and reports the
 * server's resident memory per held connection.
 */
function heldMemory(): Workload["measure"] {
  return async ({ machine, port, pid, duration, idleConnections: wanted }) => {
    const conns = Math.min(wanted, machine.maxConnections);
    const note = conns < wanted
      ? `held ${integer(conns)} connections, not ${
        integer(wanted)
      }: the open-files limit is ${machine.fdLimit}`
      : undefined;
    const rssBefore = await vmRss(pid);
    const held = Promise.withResolvers<HeldEvent>();
    const args = words(
      `--port ${port} --frame len32be --mode hold --conns ${conns} ` +
        `--size ${HEADER_LENGTH + 64} --duration ${duration}`,
    );
    // Opening may take up to 60 s, the final pings up to 10 s.
    const finished = runLoadgen(machine, args, (duration + 100) * 1000, held.resolve);
    finished.catch(() => {}); // awaited below; this only marks the rejection handled
    const event = await Promise.race([held.promise, finished.then(() => undefined)]);
    if (event === undefined) throw new Error("load generator ended without holding connections");
    // Read late in the hold, once connection set-up garbage has had time to go.
    await delay(duration * 800);
    const rssHeld = await vmRss(pid);
    const sample = sampleOf(await finished);
    return {
      ...sample,
      conns,
      rssBefore,
      rssHeld,
      bytesPerConn: event.held > 0 ? (rssHeld - rssBefore) / event.held : Number.NaN,
      note,
    };
  };
}

const WORKLOADS: Workload[] = [
  {
    name: "pingpong",
    summary: "50 connections, 64-byte payload, 1 frame in flight per connection",
    kind: "throughput",
    measure: throughput({ mode: "pingpong", conns: 50, payload: 64 }),
  },
  {
    name: "pipelined",
    summary: "50 connections, 64-byte payload, batches of 16 frames per connection",
    kind: "throughput",
    measure: throughput({ mode: "pingpong", conns: 50, payload: 64, depth: 16 }),
  },
  {
    name: "large",
    summary: "8 connections, 256 KiB payload, 1 frame in flight, every byte verified",
    kind: "throughput",
    measure: throughput({ mode: "pingpong", conns: 8, payload: 256 * 1024 }),
  },
  {
    name: "churn",
    summary: "50 clients: connect, one 64-byte frame, close, repeat (ops = connections)",
    kind: "throughput",
    measure: throughput({ mode: "churn", conns: 50, payload: 64, sources: 16 }),
  },
  {
    name: "idle",
    summary:
      "idle connections held, one 64-byte frame echoed on each first; raw reads into 256 bytes",
    kind: "memory",
    measure: heldMemory(),
    rawBuffer: 256,
  },
  {
    name: "redis",
    summary: "examples/mini_redis.ts beside redis-server, redis-benchmark -P 1 and -P 16",
    kind: "throughput",
    servers: [],
    measure: () => Promise.reject(new Error("the redis workload runs itself")),
    run: async ({ rounds, duration, json }) =>
      (await runRedisBenchmark({ rounds, duration, json })).markdown,
  },
];

// ---------------------------------------------------------------------------
// Running and reporting.

interface Row {
  server: string;
  samples: Sample[];
  /** Why there is no figure: server unavailable, or each failed round's error. */
  problems: string[];
}

interface Table {
  workload: Workload;
  rows: Row[];
}

function metric(workload: Workload, sample: Sample): number {
  return workload.kind === "memory" ? sample.bytesPerConn ?? Number.NaN : sample.opsPerS;
}

/** The median of the `reference` row, or NaN when it has none. */
function referenceValue(table: Table, reference: string): number {
  const row = table.rows.find((row) => row.server === reference);
  const value = row?.samples.length
    ? median(row.samples.map((s) => metric(table.workload, s)))
    : Number.NaN;
  return value === 0 ? Number.NaN : value;
}

/** Each server's order shifts by one per round, so no server always goes first. */
function rotate<T>(items: T[], by: number): T[] {
  const shift = items.length ? by % items.length : 0;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

async function measureOnce(
  workload: Workload,
  server: ServerSpec,
  machine: Machine,
  options: Options,
): Promise<Sample> {
  const port = await freePort();
  const started = await startServer(server, machine, port, workload);
  try {
    const { duration, idleConnections } = options;
    return await workload.measure({
      machine,
      port,
      pid: started.child.pid,
      duration,
      idleConnections,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}; server said: ${started.output}`);
  } finally {
    await stop(started.child);
  }
}

const integer = (n: number) => Math.round(n).toLocaleString("en-US");
const micros = (n: number) => n >= 100 ? integer(n) : n.toFixed(1);
const mib = (bytes: number) => (bytes / 1048576).toFixed(bytes >= 100 * 1048576 ? 0 : 1);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);

function tableRows(
  table: Table,
  options: Options,
): { header: string[]; rows: string[][]; notes: string[] } {
  const { workload } = table;
  const memory = workload.kind === "memory";
  const ratioColumns = REFERENCES.map((reference) => `÷${reference}`);
  const header = memory
    ? ["server", "KiB/conn", "min–max", "held", "alive", "RSS before MiB", "RSS held MiB"]
    : ["server", "ops/s", "min–max", "MiB/s", "p50 µs", "p99 µs", "err", "bad bytes"];
  header.push(...ratioColumns);
  const references = REFERENCES.map((reference) => referenceValue(table, reference));
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const note of new Set(table.rows.flatMap((row) => row.samples.map((s) => s.note)))) {
    if (note) notes.push(note);
  }
  const samples = table.rows.flatMap((row) => row.samples);
  const disturbed = samples.filter((s) => (s.busyBefore ?? 0) > QUIET_SHARE).length;
  if (disturbed > 0) {
    notes.push(
      `${disturbed} of ${samples.length} rounds started while another process kept a ` +
        `benchmark CPU over ${QUIET_SHARE * 100}% busy for ${options.quietWaitMs / 1000} s: ` +
        "noisier",
    );
  }
  for (const row of table.rows) {
    for (const problem of new Set(row.problems)) notes.push(`${row.server}: ${problem}`);
    if (row.samples.length === 0) {
      rows.push([row.server, "—", ...header.slice(2).map(() => "")]);
      continue;
    }
    const values = row.samples.map((s) => metric(workload, s));
    const value = median(values);
    const range = memory
      ? `${kib(Math.min(...values))}–${kib(Math.max(...values))}`
      : `${integer(Math.min(...values))}–${integer(Math.max(...values))}`;
    const ratios = references.map((reference) =>
      Number.isFinite(reference) ? `${(value / reference).toFixed(2)}x` : "—"
    );
    const sum = (pick: (s: Sample) => number) => row.samples.reduce((a, s) => a + pick(s), 0);
    const med = (pick: (s: Sample) => number) => median(row.samples.map(pick));
    if (memory) {
      const conns = row.samples[0].conns;
      const alive = Math.min(...row.samples.map((s) => s.alive));
      if (alive !== conns) {
        notes.push(`${row.server}: only ${alive} of ${conns} answered after the hold`);
      }
      rows.push([
        row.server,
        kib(value),
        range,
        integer(conns),
        alive === conns ? integer(alive) : `${integer(alive)} !`,
        mib(med((s) => s.rssBefore ?? 0)),
        mib(med((s) => s.rssHeld ?? 0)),
        ...ratios,
      ]);
    } else {
      const errors = sum((s) => s.errors);
      const mismatches = sum((s) => s.mismatches);
      if (mismatches > 0) notes.push(`${row.server}: ${mismatches} bytes came back wrong`);
      rows.push([
        row.server,
        integer(value),
        range,
        mib(med((s) => s.bytesPerS)),
        micros(med((s) => s.p50Us)),
        micros(med((s) => s.p99Us)),
        String(errors),
        mismatches ? `${mismatches} !` : "0",
        ...ratios,
      ]);
    }
  }
  notes.push(
    `${ratioColumns.join(", ")}: ${memory ? "bytes per connection" : "ops/s"} over the ` +
      `${REFERENCES.join(" and ")} rows' medians (— when a row has no figures); ` +
      (memory ? "below 1 is leaner" : "above 1 is faster"),
  );
  return { header, rows, notes };
}

/** One measurement in a progress line. */
function describe(workload: Workload, sample: Sample): string {
  return workload.kind === "memory"
    ? `${kib(sample.bytesPerConn ?? Number.NaN)} KiB/conn, alive ${sample.alive}/${sample.conns}`
    : `${integer(sample.opsPerS)} ops/s, p50 ${micros(sample.p50Us)} µs, ` +
      `errors ${sample.errors}, bad bytes ${sample.mismatches}`;
}

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function title(table: Table, options: Options): string {
  const rounds = options.rounds === 1 ? "1 round" : `median of ${options.rounds} rounds`;
  const seconds = table.workload.kind === "memory"
    ? `held ${options.duration} s`
    : `${options.duration} s each after ${WARMUP_SECONDS} s warm-up`;
  const held = table.workload.kind === "memory"
    ? `${integer(options.idleConnections)} ${table.workload.summary}`
    : table.workload.summary;
  return `${table.workload.name}: ${held} (${rounds}, ${seconds})`;
}

/** A sample with the load generator's snake_case names. */
function sampleJson(sample: Sample): object {
  return {
    ops_per_s: sample.opsPerS,
    bytes_per_s: sample.bytesPerS,
    p50_us: sample.p50Us,
    p99_us: sample.p99Us,
    errors: sample.errors,
    mismatches: sample.mismatches,
    conns: sample.conns,
    alive: sample.alive,
    rss_before: sample.rssBefore,
    rss_held: sample.rssHeld,
    bytes_per_conn: sample.bytesPerConn,
    note: sample.note,
    busy_before: sample.busyBefore,
  };
}

function summaryJson(table: Table): object[] {
  return table.rows.map((row) => {
    const values = row.samples.map((s) => metric(table.workload, s));
    const value = values.length ? median(values) : null;
    const ratios = Object.fromEntries(REFERENCES.map((name) => {
      const reference = referenceValue(table, name);
      return [name, value !== null && Number.isFinite(reference) ? value / reference : null];
    }));
    return {
      type: "summary",
      workload: table.workload.name,
      server: row.server,
      metric: table.workload.kind === "memory" ? "bytes_per_conn" : "ops_per_s",
      median: value,
      min: values.length ? Math.min(...values) : null,
      max: values.length ? Math.max(...values) : null,
      rounds: values.length,
      ratios,
      problems: [...new Set(row.problems)],
    };
  });
}

async function writeResults(
  tables: Table[],
  ownSections: string[],
  machine: Machine,
  options: Options,
): Promise<string> {
  const path = `${ROOT}bench/RESULTS.md`;
  const sections = tables.map((table) => {
    const { header, rows, notes } = tableRows(table, options);
    return `## ${title(table, options)}\n\n${markdownTable(header, rows)}\n\n` +
      notes.map((note) => `- ${note}`).join("\n");
  });
  const text = [
    "# Benchmark results",
    `Written by \`${["deno run -A bench/run.ts", ...Deno.args].join(" ")}\` on ${
      new Date().toISOString()
    }. ` +
    "See bench/README.md for what each server and workload is and how to read the ratios.",
    "## Machine",
    [
      `- CPU: ${machine.cpuModel}, ${machine.cpus} logical CPUs (nproc)`,
      `- Kernel: ${Deno.build.os} ${Deno.osRelease()}`,
      `- ${Object.values(machine.versions).join(", ")}`,
      ...machine.notes.map((note) => `- ${note}`),
      `- load average (1, 5, 15 min) at the start: ${machine.loadAverage}; at the end: ${await loadAverage()} (above 0 means other processes shared the CPUs)`,
    ].join("\n"),
    ...sections,
    ...ownSections.filter((section) => section !== ""),
  ].join("\n\n") + "\n";
  await Deno.writeTextFile(path, text);
  // deno fmt owns markdown layout (table padding): format it so that
  // `deno fmt --check` passes on the written file.
  await new Deno.Command(machine.deno, { args: ["fmt", "--quiet", path], cwd: ROOT }).output();
  return path;
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const report = (line: string) => options.json ? console.error(line) : console.log(line);
  const machine = await inspectMachine();
  try {
    await compile(machine, "bench/loadgen.c", LOADGEN);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }

  // Which servers each selected workload runs, and why any of them cannot.
  const unavailable = new Map<ServerSpec, string | undefined>();
  const serversOf = (workload: Workload) =>
    (workload.servers ?? ECHO_SERVERS).filter((server) =>
      options.servers?.includes(server.name) ?? true
    );
  for (const server of new Set(options.workloads.flatMap(serversOf))) {
    let reason = await server.unavailable(machine);
    if (reason === undefined && server.build) {
      reason = await server.build(machine).then(
        () => undefined,
        (error) => `build failed: ${error instanceof Error ? error.message : error}`,
      );
    }
    unavailable.set(server, reason);
  }

  report(
    `machine: ${machine.cpuModel}, ${machine.cpus} CPUs, Linux ${Deno.osRelease()}, ` +
      Object.values(machine.versions).join(", "),
  );
  for (const note of machine.notes) report(`note: ${note}`);
  for (const [server, reason] of unavailable) if (reason) report(`${server.name}: ${reason}`);
  if (options.json) {
    const { cpuModel: model, cpus, versions, notes } = machine;
    const kernel = Deno.osRelease();
    console.log(JSON.stringify({ type: "machine", model, cpus, kernel, versions, notes }));
    for (const [server, reason] of unavailable) {
      if (reason) console.log(JSON.stringify({ type: "skipped", server: server.name, reason }));
    }
  }

  const tables: Table[] = [];
  /** Markdown sections of the workloads that run themselves. */
  const ownSections: string[] = [];
  for (const workload of options.workloads) {
    if (workload.run) {
      ownSections.push(await workload.run(options));
      continue;
    }
    const servers = serversOf(workload);
    const rows: Row[] = servers.map((server) => {
      const reason = unavailable.get(server);
      return { server: server.name, samples: [], problems: reason ? [reason] : [] };
    });
    const runnable = servers.filter((server) => unavailable.get(server) === undefined);
    for (let round = 1; round <= options.rounds; round++) {
      for (const server of rotate(runnable, round - 1)) {
        const row = rows[servers.indexOf(server)];
        const label = `[${workload.name} ${round}/${options.rounds}] ${server.name.padEnd(9)}`;
        try {
          const busyBefore = await awaitQuiet(machine, options.quietWaitMs);
          const sample = {
            ...await measureOnce(workload, server, machine, options),
            busyBefore,
          };
          row.samples.push(sample);
          console.error(`${label} ${describe(workload, sample)}`);
          if (options.json) {
            console.log(JSON.stringify({
              type: "sample",
              workload: workload.name,
              server: server.name,
              round,
              ...sampleJson(sample),
            }));
          }
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          row.problems.push(`round ${round}: ${message}`);
          console.error(`${label} failed: ${message}`);
        }
      }
    }
    const table: Table = { workload, rows };
    tables.push(table);
    if (options.json) {
      for (const line of summaryJson(table)) console.log(JSON.stringify(line));
    } else {
      const { header, rows: cells, notes } = tableRows(table, options);
      console.log(`\n${title(table, options)}\n${textTable(header, cells)}`);
      for (const note of notes) console.log(`  ${note}`);
    }
  }
  if (options.write) {
    report(`\nwrote ${await writeResults(tables, ownSections, machine, options)}`);
  }
}

// Children must not outlive the runner, also when it is interrupted.
const killAll = () => {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }
};
const onSignal = () => {
  killAll();
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", onSignal);
Deno.addSignalListener("SIGTERM", onSignal);
try {
  await main();
} finally {
  await Promise.all([...running].map(stop));
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
}
