// Runs fuzz targets in workers: a few at a time, each watched. A worker that
// sends no heartbeat for `stallSeconds` is stuck inside a decoder (a loop
// that no case cap can see) and is terminated, its target reported as hung.

import { type FuzzTarget, shareCases, TARGETS } from "./targets.ts";
import type { FuzzJob, FuzzMessage } from "./worker.ts";

/** How one target fared. */
export interface TargetResult {
  name: string;
  cases: number;
  ms: number;
  /** fast-check's report (counterexample, seed, path), or why the run stopped. */
  failure?: string;
}

/** Options for {@linkcode fuzz}. */
export interface FuzzOptions {
  /** Cases in all, shared by weight; or per target with `perTarget`. */
  cases: number;
  /** Whether `cases` is per target rather than in all. */
  perTarget?: boolean;
  /** The fast-check seed; the same seed replays the same cases. */
  seed: number;
  /** Targets whose name contains this text; all by default. */
  only?: string;
  /** Workers at once. */
  parallel?: number;
  /** Seconds without a heartbeat after which a worker counts as hung. */
  stallSeconds?: number;
  /** Called as each target ends. */
  onResult?: (result: TargetResult) => void;
}

/**
 * Runs the targets and resolves with one result per target, in target order.
 *
 * @param options What to run and how.
 * @returns The results.
 */
export async function fuzz(options: FuzzOptions): Promise<TargetResult[]> {
  const targets = TARGETS.filter((target) =>
    options.only === undefined || target.name.includes(options.only)
  );
  if (targets.length === 0) throw new Error(`No fuzz target matches ${options.only}`);
  const counts = options.perTarget
    ? targets.map(() => options.cases)
    : shareCases(targets, options.cases);
  const queue = targets.map((target, i): [FuzzTarget, number] => [target, counts[i]]);
  const results = new Map<string, TargetResult>();
  const lanes = Array.from(
    { length: Math.min(options.parallel ?? 2, queue.length) },
    async () => {
      let worker: Worker | undefined;
      try {
        for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
          worker ??= new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
          const result = await runJob(worker, job[0].name, job[1], options);
          results.set(result.name, result);
          options.onResult?.(result);
          // A worker that failed may be stuck or in a bad state: start afresh.
          if (result.failure !== undefined) {
            worker.terminate();
            worker = undefined;
          }
        }
      } finally {
        worker?.terminate();
      }
    },
  );
  await Promise.all(lanes);
  return targets.map((target) => results.get(target.name)!);
}

/**
 * Sends one job to `worker` and watches it: resolves with the worker's
 * result, or with a "Hung" failure once no message came for `stallSeconds`.
 *
 * @param worker A worker running `worker.ts` (or anything that answers alike).
 * @param name The target.
 * @param cases Cases to run.
 * @param options The seed and the stall limit.
 * @returns The result; it never rejects.
 */
export function runJob(
  worker: Worker,
  name: string,
  cases: number,
  options: Pick<FuzzOptions, "seed" | "stallSeconds">,
): Promise<TargetResult> {
  const stallMs = (options.stallSeconds ?? 30) * 1000;
  const started = performance.now();
  let lastBeat = started;
  let done = 0;
  const { promise, resolve } = Promise.withResolvers<TargetResult>();
  const watchdog = setInterval(() => {
    if (performance.now() - lastBeat < stallMs) return;
    resolve({
      name,
      cases: done,
      ms: performance.now() - started,
      failure: `Hung: no progress for ${stallMs / 1000} s after about ${done} cases ` +
        `(replay with seed ${options.seed}; a decoder loops inside one call)`,
    });
  }, Math.min(1000, stallMs / 4));
  worker.onmessage = (event: MessageEvent<FuzzMessage>) => {
    const message = event.data;
    if (message.name !== name) return;
    lastBeat = performance.now();
    if (message.type === "progress") {
      done = message.done;
    } else if (message.type === "passed") {
      resolve({ name, cases: message.cases, ms: message.ms });
    } else {
      resolve({ name, cases: done, ms: performance.now() - started, failure: message.report });
    }
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    resolve({ name, cases: done, ms: performance.now() - started, failure: event.message });
  };
  worker.postMessage({ name, cases, seed: options.seed } satisfies FuzzJob);
  return promise.finally(() => clearInterval(watchdog));
}
