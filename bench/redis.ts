/**
 * The `redis` workload of `deno task bench`: examples/mini_redis.ts beside
 * the real `redis-server --save "" --appendonly no`, both driven by the real
 * `redis-benchmark -t ping_mbulk,set,get -c 50 --csv` at `-P 1` and `-P 16`.
 *
 * Each server runs pinned to one CPU and redis-benchmark to another (as
 * `taskset -c 1` and `taskset -c 0`), so both servers get one core, as
 * Redis itself uses one. Rounds are interleaved (each round starts every
 * server fresh, in turn) and each cell is the median of the rounds; the
 * ratio is mini-redis over redis-server, and the last row of each depth is
 * the geometric mean of the three ratios. `-n` is sized from a short first
 * run so that each test lasts about `--duration` seconds on the faster
 * server, and both servers get the same `-n`.
 *
 *     deno task bench --workload redis [--rounds N] [--duration S] [--quick] [--json]
 *     deno run -A bench/redis.ts [--rounds N] [--duration S] [--quick] [--json]
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { delay } from "@std/async/delay";
import { markdownTable, median } from "./_stats.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TESTS = ["PING_MBULK", "SET", "GET"] as const;
const DEPTHS = [1, 16] as const;
const CONNECTIONS = 50;

/** What the redis workload measured. */
export interface RedisBenchResult {
  /** The geometric mean of mini-redis / redis-server over the tests, per pipeline depth. */
  geomeans: Record<number, number>;
  /** The table as a Markdown section, for bench/RESULTS.md ("" with `--json` or when skipped). */
  markdown: string;
}

/** What `deno task bench` passes to a workload that runs itself. */
export interface RedisBenchOptions {
  rounds: number;
  /** Seconds each redis-benchmark test should last on the faster server. */
  duration: number;
  json: boolean;
}

interface Server {
  name: string;
  argv(port: number, dir: string): string[];
}

const SERVERS: Server[] = [
  {
    name: "mini-redis",
    argv: (
      port,
    ) => [Deno.execPath(), "run", "--allow-net", "examples/mini_redis.ts", "--port", `${port}`],
  },
  {
    name: "redis-server",
    argv: (
      port,
      dir,
    ) => ["redis-server", "--port", `${port}`, "--save", "", "--appendonly", "no", "--dir", dir],
  },
];

/** Requests per second of each test: `rps[server][depth][test]`, one entry per round. */
type Samples = Map<string, Map<number, Map<string, number[]>>>;

/** Whether `program --version` runs. */
function runs(program: string): Promise<boolean> {
  return new Deno.Command(program, { args: ["--version"], stdout: "null", stderr: "null" })
    .output().then((result) => result.success, () => false);
}

/** `taskset -c N`, when taskset exists and there are two CPUs to spread over. */
async function pinning(): Promise<{ server: string[]; client: string[]; note: string }> {
  if (!await runs("taskset") || navigator.hardwareConcurrency < 2) {
    return { server: [], client: [], note: "nothing pinned (no taskset or one CPU): noisier" };
  }
  return {
    server: ["taskset", "-c", "1"],
    client: ["taskset", "-c", "0"],
    note: "servers pinned to CPU 1, redis-benchmark to CPU 0",
  };
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

/** Whether the server on `port` answers an inline PING. */
async function answersPing(port: number): Promise<boolean> {
  try {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const reply = new Uint8Array(7);
    return await conn.read(reply) === 7 && new TextDecoder().decode(reply) === "+PONG\r\n";
  } catch {
    return false;
  }
}

/** Starts a server, pinned, and resolves once it answers PING (30 s at most). */
async function start(server: Server, pin: string[], dir: string) {
  const port = freePort();
  const [program, ...args] = [...pin, ...server.argv(port, dir)];
  const child = new Deno.Command(program, { args, cwd: ROOT, stdout: "null", stderr: "null" })
    .spawn();
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await answersPing(port)) return { port, child };
    await delay(100);
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`${server.name} did not answer PING on port ${port} within 30 s`);
}

/** Runs redis-benchmark once; requests per second by test name. */
async function benchmark(pin: string[], port: number, depth: number, requests: number) {
  const [program, ...prefix] = [...pin, "redis-benchmark"];
  const args = [...prefix, "-p", `${port}`, "-t", "ping_mbulk,set,get", "-c", `${CONNECTIONS}`];
  args.push("-n", `${requests}`, "-P", `${depth}`, "--csv");
  const { success, stdout, stderr } = await new Deno.Command(program, { args }).output();
  const text = new TextDecoder().decode(stdout);
  if (!success) throw new Error(`redis-benchmark failed: ${new TextDecoder().decode(stderr)}`);
  const rps = new Map<string, number>();
  for (const line of text.trim().split("\n").slice(1)) {
    const [test, value] = line.split(",").map((cell) => cell.replaceAll('"', ""));
    rps.set(test, Number(value));
  }
  return rps;
}

const loadAverage = async () => (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3);

/**
 * Measures both servers and prints the table (or JSON lines).
 *
 * @returns The geometric mean of the ratios per depth, `{ 1: r, 16: r }`.
 */
export async function runRedisBenchmark(
  options: RedisBenchOptions,
): Promise<RedisBenchResult> {
  const say = (line: string) => options.json ? console.error(line) : console.log(line);
  for (const program of ["redis-server", "redis-benchmark"]) {
    if (!await runs(program)) {
      say(`redis: skipped: ${program} not found (apt-get install redis-server redis-tools)`);
      return { geomeans: {}, markdown: "" };
    }
  }
  const pin = await pinning();
  const dir = await Deno.makeTempDir({ prefix: "bench_redis_" });
  const samples: Samples = new Map(SERVERS.map((server) => [server.name, new Map()]));
  const loadBefore = await loadAverage();
  try {
    // -n per depth: about `duration` seconds on the faster server.
    const requests = new Map<number, number>();
    for (const depth of DEPTHS) {
      let fastest = 0;
      for (const server of SERVERS) {
        const { port, child } = await start(server, pin.server, dir);
        const rps = await benchmark(pin.client, port, depth, 20_000 * depth).finally(() => {
          child.kill("SIGTERM");
          return child.status;
        });
        fastest = Math.max(fastest, ...rps.values());
      }
      requests.set(depth, Math.ceil(fastest * options.duration / 10_000) * 10_000);
    }
    for (let round = 0; round < options.rounds; round++) {
      // Each round starts with the other server, so neither always goes first.
      for (const server of round % 2 ? SERVERS.toReversed() : SERVERS) {
        const { port, child } = await start(server, pin.server, dir);
        try {
          for (const depth of DEPTHS) {
            const rps = await benchmark(pin.client, port, depth, requests.get(depth)!);
            const byTest = samples.get(server.name)!;
            if (!byTest.has(depth)) byTest.set(depth, new Map(TESTS.map((test) => [test, []])));
            for (const test of TESTS) byTest.get(depth)!.get(test)!.push(rps.get(test) ?? NaN);
            say(
              `[redis ${round + 1}/${options.rounds}] ${server.name} -P ${depth}: ${
                TESTS.map((test) => `${test} ${Math.round(rps.get(test) ?? NaN)}`).join(", ")
              } rps`,
            );
          }
        } finally {
          child.kill("SIGTERM");
          await child.status;
        }
      }
    }
    return report(samples, options, [
      pin.note,
      `load average before ${loadBefore.join(" ")}, after ${(await loadAverage()).join(" ")}`,
    ], requests);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Prints the table of medians and ratios; returns it with the geometric mean of the ratios per depth. */
function report(
  samples: Samples,
  options: RedisBenchOptions,
  notes: string[],
  requests: Map<number, number>,
): RedisBenchResult {
  const [mini, redis] = SERVERS.map((server) => samples.get(server.name)!);
  const rows = [["depth", "test", "mini-redis rps", "redis-server rps", "ratio"]];
  const geomeans: Record<number, number> = {};
  for (const depth of DEPTHS) {
    const ratios = TESTS.map((test) => {
      const [ours, theirs] = [mini, redis].map((server) => median(server.get(depth)!.get(test)!));
      rows.push([
        `-P ${depth}`,
        test,
        `${Math.round(ours)}`,
        `${Math.round(theirs)}`,
        (ours / theirs).toFixed(2),
      ]);
      if (options.json) {
        console.log(
          JSON.stringify({ type: "redis", depth, test, mini_redis: ours, redis_server: theirs }),
        );
      }
      return ours / theirs;
    });
    geomeans[depth] = Math.exp(
      ratios.reduce((sum, ratio) => sum + Math.log(ratio), 0) / ratios.length,
    );
    rows.push([`-P ${depth}`, "geometric mean", "", "", geomeans[depth].toFixed(2)]);
  }
  if (options.json) {
    console.log(JSON.stringify({ type: "redis-summary", geomeans, notes }));
    return { geomeans, markdown: "" };
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const title = `redis: redis-benchmark -t ping_mbulk,set,get -c ${CONNECTIONS} -n ${
    DEPTHS.map((depth) => `${requests.get(depth)} (-P ${depth})`).join(", ")
  }, median of ${options.rounds} rounds`;
  console.log(`\n${title}`);
  for (const row of rows) {
    console.log(
      row.map((cell, column) =>
        column < 2 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])
      ).join("  "),
    );
  }
  const allNotes = [...notes, "ratio: mini-redis / redis-server, medians; above 1 is faster"];
  for (const note of allNotes) console.log(`  ${note}`);
  const markdown = `## ${title}\n\n${markdownTable(rows[0], rows.slice(1))}\n\n` +
    allNotes.map((note) => `- ${note}`).join("\n");
  return { geomeans, markdown };
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, { string: ["rounds", "duration"], boolean: ["quick", "json"] });
  await runRedisBenchmark({
    rounds: Number(args.rounds ?? (args.quick ? 1 : 3)),
    duration: Number(args.duration ?? (args.quick ? 0.5 : 2)),
    json: args.json,
  });
}
