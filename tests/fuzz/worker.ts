// The fuzz worker: runs the targets it is sent, one at a time, and reports
// a heartbeat as cases go by, so the runner can tell a hang from slow work.

import { runTarget, TARGETS } from "./targets.ts";

/** What the runner sends: run one target. */
export interface FuzzJob {
  name: string;
  cases: number;
  seed: number;
}

/** What the worker sends back. */
export type FuzzMessage =
  | { type: "progress"; name: string; done: number }
  | { type: "passed"; name: string; cases: number; ms: number }
  | { type: "failed"; name: string; report: string };

/** Cases between two heartbeats. */
const HEARTBEAT_EVERY = 200;

// The worker's global scope, typed here so this file checks with the others
// (the "deno.worker" lib clashes with the window types they use).
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<FuzzJob>) => void) | null;
  postMessage(message: FuzzMessage): void;
};

scope.onmessage = (event: MessageEvent<FuzzJob>) => {
  const { name, cases, seed } = event.data;
  const target = TARGETS.find((candidate) => candidate.name === name);
  if (target === undefined) {
    scope.postMessage({ type: "failed", name, report: `No fuzz target named ${name}` });
    return;
  }
  let done = 0;
  const started = performance.now();
  try {
    runTarget(target, cases, seed, () => {
      if (++done % HEARTBEAT_EVERY === 0) {
        scope.postMessage({ type: "progress", name, done });
      }
    });
    const ms = performance.now() - started;
    scope.postMessage({ type: "passed", name, cases, ms });
  } catch (error) {
    const report = error instanceof Error ? error.message : String(error);
    scope.postMessage({ type: "failed", name, report });
  }
};
