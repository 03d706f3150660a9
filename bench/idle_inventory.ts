/**
 * What one idle connection costs, and what it is made of: serves echo
 * connections in this process, holds N of them open and idle from
 * `bench/loadgen.c` (a separate process, so the clients' objects are not
 * counted), and reports the growth per connection of the V8 heap (after a
 * full GC), of memory outside it (`external`: ArrayBuffer backing stores),
 * and of the process's resident set. With `--snapshot` it also diffs two
 * heap snapshots, one before and one while the connections are held, and
 * lists what the heap growth is made of: objects by constructor, closures,
 * promises, arrays, async function frames.
 *
 * Usage:
 *
 *     deno run -A --v8-flags=--expose-gc bench/idle_inventory.ts \
 *       [--style sync|await|raw] [--conns 10000] [--snapshot]
 *
 * `sync` and `await` are `bench/servers/framework_echo.ts`'s handlers in a
 * `ThreadingTCPServer` (default settings); `raw` is `bench/servers/raw_deno.ts`'s
 * loop with a 256-byte buffer. Each connection echoes one 64-byte frame, then
 * stays idle, as in `deno task bench`'s idle workload.
 *
 * @module
 */

import v8 from "node:v8";
import { ThreadingTCPServer } from "../mod.ts";
import { STYLES } from "./servers/framework_echo.ts";
import { serveConnection } from "./servers/raw_deno.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LOADGEN = `${ROOT}bench/.build/loadgen`;
const FRAME = 4 + 64;

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

const style = flag("--style") ?? "sync";
const conns = Number(flag("--conns") ?? 10_000);
const snapshot = Deno.args.includes("--snapshot");
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || !["sync", "await", "raw"].includes(style) || !(conns > 0)) {
  console.error(
    "usage: deno run -A --v8-flags=--expose-gc bench/idle_inventory.ts " +
      "[--style sync|await|raw] [--conns N] [--snapshot]",
  );
  Deno.exit(2);
}

/** Starts the server under test; returns its port. */
function listen(): number {
  if (style === "raw") {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    (async () => {
      for await (const conn of listener) serveConnection(conn, 256);
    })();
    return listener.addr.port;
  }
  const server = new ThreadingTCPServer(
    { hostname: "127.0.0.1", port: 0 },
    STYLES[style as keyof typeof STYLES],
  );
  server.serveForever();
  return server.address.port;
}

async function ensureLoadgen(): Promise<void> {
  try {
    await Deno.stat(LOADGEN);
  } catch {
    await Deno.mkdir(`${ROOT}bench/.build`, { recursive: true });
    const { success } = await new Deno.Command("cc", {
      args: ["-O2", "-o", LOADGEN, `${ROOT}bench/loadgen.c`],
    }).output();
    if (!success) throw new Error("could not build bench/loadgen.c (run `deno task bench` once)");
  }
}

/** Holds `count` connections for `seconds`; resolves `held` once all are open. */
function hold(port: number, count: number, seconds: number) {
  const child = new Deno.Command(LOADGEN, {
    args: [
      ...`--port ${port} --frame len32be --mode hold --size ${FRAME}`.split(" "),
      ...`--conns ${count} --duration ${seconds}`.split(" "),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const held = Promise.withResolvers<void>();
  const done = (async () => {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (text.includes('"event":"held"')) held.resolve();
    }
    await child.status;
    const result = JSON.parse(text.trim().split("\n").at(-1)!);
    if (result.alive !== count) throw new Error(`only ${result.alive} of ${count} answered`);
  })();
  done.catch(held.reject);
  return { held: held.promise, done };
}

async function rss(): Promise<number> {
  const status = await Deno.readTextFile("/proc/self/status");
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)![1]) * 1024;
}

async function settle(): Promise<{ heap: number; external: number; rss: number }> {
  // Let finished handlers' promises run out, then collect twice (weak and finalized objects).
  await new Promise((resolve) => setTimeout(resolve, 500));
  gc!();
  gc!();
  const { heapUsed, external } = Deno.memoryUsage();
  return { heap: heapUsed, external, rss: await rss() };
}

interface Totals {
  count: number;
  bytes: number;
}

/** Heap objects grouped by kind and constructor (or function) name. */
function inventory(path: string): Map<string, Totals> {
  const snap = JSON.parse(Deno.readTextFileSync(path));
  const fields: string[] = snap.snapshot.meta.node_fields;
  const types: string[] = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const nodes: number[] = snap.nodes;
  const strings: string[] = snap.strings;
  const groups = new Map<string, Totals>();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const name = strings[nodes[i + nameAt]];
    const key = type === "object" || type === "closure" || type === "native"
      ? `${type} ${name}`
      : type === "array" || type === "hidden" || type === "code"
      ? `${type} ${name.length > 40 ? name.slice(0, 40) + "…" : name}`
      : type;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += nodes[i + sizeAt];
    groups.set(key, group);
  }
  return groups;
}

await ensureLoadgen();
const port = listen();
// Warm up: code compiled, pools and caches filled, so the baseline has them.
const warm = hold(port, 500, 1);
await warm.done;
const before = await settle();
const snapshotBefore = snapshot ? v8.writeHeapSnapshot("/tmp/idle_before.heapsnapshot") : "";
const held = hold(port, conns, 30);
await held.held;
const during = await settle();
const snapshotDuring = snapshot ? v8.writeHeapSnapshot("/tmp/idle_held.heapsnapshot") : "";

const per = (a: number, b: number) => ((b - a) / conns).toFixed(0).padStart(7);
console.log(`${style}: ${conns} idle connections, bytes per connection`);
console.log(`  V8 heap (after GC)        ${per(before.heap, during.heap)}`);
console.log(`  external (ArrayBuffers)   ${per(before.external, during.external)}`);
console.log(`  resident set (VmRSS)      ${per(before.rss, during.rss)}`);

if (snapshot) {
  const a = inventory(snapshotBefore);
  const b = inventory(snapshotDuring);
  const rows = [...b].map(([key, { count, bytes }]) => {
    const old = a.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (count - old.count) / conns, bytes: (bytes - old.bytes) / conns };
  }).filter((row) => row.count >= 0.5 || row.bytes >= 8).sort((x, y) => y.bytes - x.bytes);
  console.log("\n  heap growth per connection, by kind (count, bytes):");
  for (const row of rows.slice(0, 40)) {
    console.log(
      `  ${row.count.toFixed(2).padStart(7)} ${row.bytes.toFixed(0).padStart(6)}  ${row.key}`,
    );
  }
  await Deno.remove(snapshotBefore);
  await Deno.remove(snapshotDuring);
}
await held.done;
Deno.exit(0);
