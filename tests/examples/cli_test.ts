// A new user's first minutes, over every example program: --help answers,
// and a bad flag, a bad value or a taken port each give one line on stderr
// naming the problem and a non-zero exit, never a stack trace.

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "@std/assert";
import { type ExampleRun, runExample } from "../support/example_process.ts";

interface Program {
  name: string;
  permissions: string[];
  /** The socket the program binds, so a test can take its port first; `null` for a client. */
  binds: "tcp" | "udp" | null;
  /** Arguments it needs besides the ones under test. */
  args?: string[];
}

const PROGRAMS: Program[] = [
  { name: "echo.ts", permissions: ["--allow-net"], binds: "tcp" },
  { name: "greeting.ts", permissions: ["--allow-net"], binds: "tcp" },
  { name: "sticky_packets.ts", permissions: ["--allow-net"], binds: "tcp" },
  { name: "chat_room.ts", permissions: ["--allow-net"], binds: "tcp" },
  { name: "mini_redis.ts", permissions: ["--allow-net"], binds: "tcp" },
  {
    name: "remote_command.ts",
    permissions: ["--allow-net", "--allow-run=ls,pwd,whoami,date,echo,uname", "--allow-read=."],
    binds: "tcp",
  },
  {
    name: "file_server.ts",
    permissions: ["--allow-net", "--allow-read=.", "--allow-write=."],
    binds: "tcp",
  },
  {
    name: "file_client.ts",
    permissions: ["--allow-net", "--allow-read=.", "--allow-write=."],
    binds: null,
    args: ["get"],
  },
  { name: "udp_time.ts", permissions: ["--allow-net", "--unstable-net"], binds: "udp" },
  { name: "udp_chat.ts", permissions: ["--allow-net", "--unstable-net"], binds: "udp" },
];

/** Modules in examples/ that are not programs (besides the `_`-prefixed private ones). */
const MODULES = ["echo_handlers.ts"];

/** Runs every program at once (in a scratch folder), each with `args(program)`. */
async function runAll(
  args: (program: Program) => string[],
): Promise<[Program, ExampleRun][]> {
  const cwd = await Deno.makeTempDir({ prefix: "cli_" });
  try {
    return await Promise.all(PROGRAMS.map(async (program) => {
      const run = await runExample(program.name, [...(program.args ?? []), ...args(program)], {
        permissions: program.permissions,
        cwd,
      });
      return [program, run] as [Program, ExampleRun];
    }));
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

/** One line on stderr, matching `pattern`, exit `code`, no stack trace. */
function assertOneLine(program: Program, run: ExampleRun, code: number, pattern: RegExp) {
  const what = `${program.name}:\n${run.stderr}`;
  assertEquals(run.code, code, what);
  assertEquals(run.stderr.split("\n").length, 2, `not one line: ${what}`);
  assertMatch(run.stderr, pattern, what);
  assertNotMatch(run.stderr, /Uncaught|^ {4}at /m, what);
}

Deno.test("every example program is in this table", async () => {
  const files = (await Array.fromAsync(Deno.readDir(new URL("../../examples/", import.meta.url))))
    .filter((entry) => entry.isFile && entry.name.endsWith(".ts") && !entry.name.startsWith("_"))
    .map((entry) => entry.name)
    .filter((name) => !MODULES.includes(name))
    .sort();
  assertEquals(files, PROGRAMS.map((program) => program.name).sort());
});

Deno.test("every example answers --help with its usage and exits 0", async () => {
  for (const [program, run] of await runAll(() => ["--help"])) {
    assertEquals(run.code, 0, `${program.name}: ${run.stderr}`);
    assertEquals(run.stderr, "", program.name);
    assert(run.stdout.startsWith("Usage: deno run "), `${program.name}: ${run.stdout}`);
    assertStringIncludes(run.stdout, `examples/${program.name}`);
    assertStringIncludes(run.stdout, "--port PORT");
  }
});

Deno.test("every example refuses an unknown flag in one line naming it, exit 2", async () => {
  for (const [program, run] of await runAll(() => ["--bogus", "1"])) {
    assertOneLine(
      program,
      run,
      2,
      new RegExp(`^${program.name}: unknown flag --bogus \\(see --help\\)\\n$`),
    );
  }
});

Deno.test("every example refuses a bad value in one line naming the flag and the value, exit 2", async () => {
  for (const [program, run] of await runAll(() => ["--port", "abc"])) {
    assertOneLine(
      program,
      run,
      2,
      new RegExp(`^${program.name}: --port must be 0 to 65535, got abc\\n$`),
    );
  }
});

Deno.test("every example server on a taken port says so in one line, exit 1 (a client: nobody listening)", async () => {
  using tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    const ports = { tcp: tcp.addr.port, udp: (udp.addr as Deno.NetAddr).port };
    // A port nobody listens on, for the client: one just freed.
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const freePort = free.addr.port;
    free.close();
    const portOf = (program: Program) => program.binds === null ? freePort : ports[program.binds];
    for (const [program, run] of await runAll((p) => ["--port", String(portOf(p))])) {
      const port = portOf(program);
      const pattern = program.binds === null
        ? new RegExp(
          `^${program.name}: cannot connect to 127\\.0\\.0\\.1:${port}: Connection refused`,
        )
        : new RegExp(
          `^${program.name}: cannot listen on 127\\.0\\.0\\.1:${port}: Address already in use`,
        );
      assertOneLine(program, run, 1, pattern);
    }
  } finally {
    udp.close();
  }
});
