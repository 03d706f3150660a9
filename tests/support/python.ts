// Test support: python3 as an independent peer.

/** What a python3 run printed and how it ended. */
export interface PythonResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` with python3 (`-c`), feeding `stdin` if given, and waits for
 * it to exit. A script that hangs is killed after `timeoutSeconds`, so a test
 * never waits forever on a peer.
 */
export async function runPython(
  script: string,
  options: { args?: string[]; stdin?: string | Uint8Array; timeoutSeconds?: number } = {},
): Promise<PythonResult> {
  const child = new Deno.Command("python3", {
    args: ["-c", script, ...(options.args ?? [])],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return await runToEnd(child, options);
}

/**
 * Feeds `stdin` to a spawned child (made with `stdin: "piped"` when given)
 * and waits for it to exit, killing it after `timeoutSeconds`; returns what
 * it printed and its exit code.
 */
export async function runToEnd(
  child: Deno.ChildProcess,
  options: { stdin?: string | Uint8Array; timeoutSeconds?: number },
): Promise<PythonResult> {
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(
      typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    );
    await writer.close();
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), (options.timeoutSeconds ?? 30) * 1000);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}
