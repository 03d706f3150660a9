// `deno task fuzz [CASES] [--seed N] [--only TEXT] [--parallel N]`: fuzzes
// every decoder and the struct unpacker with CASES cases in all (100,000 by
// default), shared by weight, in 2 workers. Prints one line per target, the
// seed to replay, and the time; exits 1 if any target failed or hung.

import { parseArgs } from "node:util";
import { fuzz } from "./harness.ts";

const DEFAULT_CASES = 100_000;

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string" },
    only: { type: "string" },
    parallel: { type: "string", default: "2" },
  },
  allowPositionals: true,
  strict: true,
});
const cases = positionals.length > 0 ? Number(positionals[0]) : DEFAULT_CASES;
if (!Number.isSafeInteger(cases) || cases < 1) {
  console.error(`CASES must be a positive integer, got ${positionals[0]}`);
  Deno.exit(2);
}
// A fresh seed each run finds new cases; a printed seed replays a failure.
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const parallel = Number(values.parallel);

console.log(`fuzzing ${cases} cases, seed ${seed}, ${parallel} workers`);
const started = performance.now();
const results = await fuzz({
  cases,
  seed,
  only: values.only,
  parallel,
  onResult: (result) => {
    const status = result.failure === undefined ? "ok    " : "FAILED";
    console.log(
      `${status} ${String(result.cases).padStart(7)} cases ${
        (result.ms / 1000).toFixed(1).padStart(6)
      } s  ${result.name}`,
    );
    if (result.failure !== undefined) console.log(`\n${result.failure}\n`);
  },
});
const seconds = (performance.now() - started) / 1000;
const total = results.reduce((sum, result) => sum + result.cases, 0);
const failed = results.filter((result) => result.failure !== undefined);
console.log(
  `${total} cases over ${results.length} targets in ${seconds.toFixed(1)} s (seed ${seed}): ${
    failed.length === 0 ? "no failures" : `${failed.length} failed`
  }`,
);
if (failed.length > 0) Deno.exit(1);
