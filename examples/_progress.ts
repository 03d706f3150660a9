// Used by examples/file_client.ts: how far a transfer is, on stderr.

import { ProgressBar } from "@std/cli/unstable-progress-bar";
import { format } from "@std/fmt/bytes";

/**
 * A transfer's progress on stderr: on a terminal, `@std/cli`'s progress bar
 * with the rate; otherwise (a log, a pipe) one line when it is done.
 */
export class Progress {
  readonly #label: string;
  readonly #total: number;
  readonly #started = performance.now();
  readonly #bar: ProgressBar | undefined;
  #done = 0;

  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
    if (!Deno.stderr.isTerminal() || total === 0) return;
    this.#bar = new ProgressBar({
      max: total,
      interval: 100,
      formatter: (bar) =>
        `${label} [${bar.progressBar}] ${bar.styledData} ${rate(bar.value, bar.time / 1000)}`,
    });
  }

  add(count: number): void {
    this.#done += count;
    if (this.#bar !== undefined) this.#bar.value = this.#done;
  }

  /** Draws the bar at its end, or prints the one line. */
  async finish(): Promise<void> {
    if (this.#bar !== undefined) return await this.#bar.stop();
    const seconds = (performance.now() - this.#started) / 1000;
    console.error(
      `${this.#label}: ${format(this.#total, BINARY)} in ${seconds.toFixed(1)} s, ` +
        rate(this.#total, seconds),
    );
  }
}

/** Sizes in powers of 1024 (MiB), as the examples' flags count them. */
const BINARY = { binary: true, maximumFractionDigits: 1 };

function rate(bytes: number, seconds: number): string {
  return `${format(bytes / Math.max(seconds, 0.001), BINARY)}/s`;
}
