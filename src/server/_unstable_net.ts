// Internal: fail with a clear message where Deno would exit the process.

/**
 * Throws when Deno runs without `--unstable-net`. Without the flag, Deno
 * exits the whole process (status 70) on `reusePort` instead of throwing;
 * `Deno.listenDatagram` exists only with the flag, so its presence tells.
 */
export function assertUnstableNet(feature: string): void {
  if (typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function") {
    throw new TypeError(
      `Cannot use ${feature}: it needs Deno's --unstable-net flag (run \`deno run --unstable-net ...\`, or add "unstable": ["net"] to deno.json)`,
    );
  }
}
