// Test support: a real HAProxy as a subprocess. `findHaproxy()` installs the
// Debian package when it is missing and we may (root, apt-get present), so
// the integration test runs on a fresh machine; otherwise it says why not.

import { delay } from "@std/async";

const decoder = new TextDecoder();
/** apt-get update + install, bounded: a stuck mirror must not hang the suite. */
const INSTALL_TIMEOUT_SECONDS = 300;

/** Whether HAProxy can run here, and if not, why. */
export type HaproxyAvailability = { path: string } | { path: null; reason: string };

/** Runs a command to its end within `timeoutSeconds`; `null` when it cannot start. */
async function run(
  command: string,
  args: string[],
  timeoutSeconds: number,
  env?: Record<string, string>,
): Promise<{ code: number; output: string } | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
  } catch {
    return null; // Not installed, or no --allow-run.
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutSeconds * 1000);
  try {
    const { code, stdout, stderr } = await child.output();
    return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

async function haproxyPath(): Promise<string | null> {
  for (const path of ["haproxy", "/usr/sbin/haproxy"]) {
    const result = await run(path, ["-v"], 10);
    if (result?.code === 0) return path;
  }
  return null;
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false; // No --allow-sys: do not guess.
  }
}

/**
 * Finds `haproxy`; when it is missing and we run as root with apt-get,
 * installs the Debian package once (`apt-get update && apt-get install -y
 * haproxy`, at most 5 minutes).
 */
export async function findHaproxy(): Promise<HaproxyAvailability> {
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") {
    return { path: null, reason: "it needs --allow-run to start haproxy" };
  }
  const found = await haproxyPath();
  if (found !== null) return { path: found };
  if (!isRoot()) {
    return { path: null, reason: "haproxy is not installed and we are not root to apt-get it" };
  }
  const apt = await run(
    "sh",
    [
      "-c",
      "command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq haproxy",
    ],
    INSTALL_TIMEOUT_SECONDS,
    { DEBIAN_FRONTEND: "noninteractive" },
  );
  if (apt === null || apt.code !== 0) {
    return {
      path: null,
      reason: `haproxy is not installed and apt-get could not install it:\n${apt?.output ?? ""}`,
    };
  }
  const installed = await haproxyPath();
  return installed !== null
    ? { path: installed }
    : { path: null, reason: "apt-get installed haproxy but it does not run" };
}

/** A running HAProxy. */
export interface HaproxyProcess {
  /** The frontend's port on 127.0.0.1. */
  port: number;
  /** The stats socket's path (`level user`). */
  statsSocket: string;
  /** Everything HAProxy printed on stdout (its log, with `log stdout`). */
  stdout(): string;
  /** Everything HAProxy printed on stderr. */
  stderr(): string;
  /** SIGTERM, then waits for exit and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts `haproxy -f <config> -db` with the config `makeConfig` writes for a
 * free frontend port and a stats socket path; resolves once HAProxy accepts
 * connections. A port taken in the meantime is retried with another.
 */
export async function startHaproxy(
  path: string,
  makeConfig: (frontendPort: number, statsSocket: string) => string,
): Promise<HaproxyProcess> {
  const dir = await Deno.makeTempDir({ prefix: "haproxy_test_" });
  const statsSocket = `${dir}/stats.sock`;
  let lastOutput = "";
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = freePort();
      await Deno.writeTextFile(`${dir}/haproxy.cfg`, makeConfig(port, statsSocket));
      const child = new Deno.Command(path, {
        args: ["-f", `${dir}/haproxy.cfg`, "-db"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let out = "";
      let err = "";
      const drained = Promise.all([
        (async () => {
          for await (const chunk of child.stdout) out += decoder.decode(chunk, { stream: true });
        })(),
        (async () => {
          for await (const chunk of child.stderr) err += decoder.decode(chunk, { stream: true });
        })(),
      ]);
      let exited = false;
      const status = child.status.then((status) => {
        exited = true;
        return status;
      });
      const stop = async () => {
        if (!exited) child.kill("SIGTERM");
        await status;
        await drained;
        await Deno.remove(dir, { recursive: true });
      };
      if (await acceptsConnections(statsSocket, () => exited)) {
        return { port, statsSocket, stdout: () => out, stderr: () => err, stop };
      }
      if (!exited) child.kill("SIGKILL");
      await status;
      await drained;
      lastOutput = `${out}${err}`;
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  await Deno.remove(dir, { recursive: true });
  throw new Error(`haproxy did not start:\n${lastOutput}`);
}

/** Sends one command to the stats socket and returns the answer. */
export async function haproxyCommand(statsSocket: string, command: string): Promise<string> {
  using conn = await Deno.connect({ transport: "unix", path: statsSocket });
  await conn.write(new TextEncoder().encode(`${command}\n`));
  let answer = "";
  const buffer = new Uint8Array(16384);
  for (let count = await conn.read(buffer); count !== null; count = await conn.read(buffer)) {
    answer += decoder.decode(buffer.subarray(0, count), { stream: true });
  }
  return answer;
}

/** `show stat` as rows keyed by column name. */
export async function haproxyStats(statsSocket: string): Promise<Record<string, string>[]> {
  const [head, ...rows] = (await haproxyCommand(statsSocket, "show stat")).trim().split("\n");
  const columns = head.replace(/^# /, "").split(",");
  return rows.map((row) =>
    Object.fromEntries(row.split(",").map((value, i) => [columns[i], value]))
  );
}

function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

/**
 * Polls the stats socket until it accepts (HAProxy binds every listener,
 * the frontend's included, before it accepts on any), HAProxy exits, or
 * 10 s pass. Probing the frontend instead would send a session to a backend.
 */
async function acceptsConnections(statsSocket: string, exited: () => boolean): Promise<boolean> {
  for (let attempt = 0; attempt < 100 && !exited(); attempt++) {
    try {
      const conn = await Deno.connect({ transport: "unix", path: statsSocket });
      conn.close();
      return true;
    } catch {
      await delay(100);
    }
  }
  return false;
}
