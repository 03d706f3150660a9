import { assert, assertEquals, assertMatch } from "@std/assert";
import { startExample } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";

const client = await Deno.readTextFile(
  new URL("../../examples/python/remote_command_client.py", import.meta.url),
);
const COMMANDS = "ls,pwd,whoami,date,echo,uname,sleep";
// Deno refuses to run anything else, whatever the example does: a second wall.
const PERMISSIONS = ["--allow-net", `--allow-run=${COMMANDS}`];

/** Runs the example in a fresh temporary folder; removes it afterwards. */
async function withServer(
  args: string[],
  body: (port: number, folder: string) => Promise<void>,
): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "remote_command_" });
  try {
    const server = await startExample(
      "remote_command.ts",
      ["--port", "0", "--allow-commands", COMMANDS, ...args],
      { permissions: PERMISSIONS, cwd: folder },
    );
    let code: number;
    try {
      await body(server.port, folder);
    } finally {
      code = await server.stop("SIGTERM");
    }
    assertEquals(code, 0, server.stderr());
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("remote command: an allowlisted command's output comes back framed", async () => {
  await withServer([], async (port, folder) => {
    const result = await runPython(client, {
      args: [String(port)],
      stdin: `echo hello\necho "two  words" 'and more'\npwd\nexit\n`,
    });
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, `hello\ntwo  words and more\n${await Deno.realPath(folder)}\n`);
  });
});

Deno.test("remote command: refused commands are answered with an error and never run", async () => {
  await withServer([], async (port, folder) => {
    await Deno.mkdir(`${folder}/keep`);
    // Each line would leave a trace if any shell or the program ran it.
    const refused: [string, RegExp][] = [
      ["rm -rf /", /^error: "rm" is not allowed/],
      ["rm -rf keep", /^error: "rm" is not allowed/],
      ["ls; cat /etc/passwd", /^error: shell metacharacter ";" refused/],
      ["ls; touch marker1", /^error: shell metacharacter ";" refused/],
      ["echo $(whoami)", /^error: shell metacharacter "\$" refused/],
      ["echo $(touch marker2)", /^error: shell metacharacter "\$" refused/],
      ["echo `touch marker3`", /^error: shell metacharacter "`" refused/],
      ["echo hi > marker4", /^error: shell metacharacter ">" refused/],
      ["echo hi | tee marker5", /^error: shell metacharacter "\|" refused/],
      ["echo hi && touch marker6", /^error: shell metacharacter "&" refused/],
      ["touch marker7", /^error: "touch" is not allowed/],
      ["/usr/bin/touch marker8", /^error: "\/usr\/bin\/touch" is not allowed/],
      ["echo 'unclosed", /^error: unclosed ' quote/],
    ];
    const result = await runPython(client, {
      args: [String(port)],
      stdin: [...refused.map(([command]) => command), "echo still serving"].join("\n") + "\n",
    });
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assertEquals(lines.length, refused.length + 1, result.stdout);
    refused.forEach(([command, expected], i) => assertMatch(lines[i], expected, command));
    assertEquals(lines.at(-1), "still serving");
    for (let i = 1; i <= 8; i++) assertEquals(await exists(`${folder}/marker${i}`), false);
    assertEquals(await exists(`${folder}/keep`), true);
    assertEquals((await Array.fromAsync(Deno.readDir(folder))).map((entry) => entry.name), [
      "keep",
    ]);
  });
});

Deno.test("remote command: a command is killed at --timeout, output cut at --max-output", async () => {
  await withServer(["--timeout", "0.5", "--max-output", "100"], async (port) => {
    const result = await runPython(client, {
      args: [String(port)],
      stdin: `sleep 30\necho ${"x".repeat(500)}\necho short\n`,
    });
    assertEquals(result.code, 0, result.stderr);
    assertEquals(
      result.stdout,
      "\nerror: killed after 0.5 s\n" +
        `${"x".repeat(100)}\nerror: output cut off at 100 bytes\n` +
        "short\n",
    );
  });
});

Deno.test("remote command: --handshake speaks Ready|n, Start, then the bytes", async () => {
  await withServer(["--handshake"], async (port) => {
    const result = await runPython(client, {
      args: [String(port), "--handshake"],
      stdin: "echo hello handshake\nrm -rf /\nwhoami\n",
    });
    assertEquals(result.code, 0, result.stderr);
    const [hello, refused, user] = result.stdout.trimEnd().split("\n");
    assertEquals(hello, "hello handshake");
    assertMatch(refused, /^error: "rm" is not allowed/);
    assert(user.length > 0);
  });
});

Deno.test("remote command: the raw reply is struct 'i' (4 bytes, little-endian) then the bytes", async () => {
  await withServer([], async (port) => {
    const result = await runPython(
      `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.send(b"echo abc")
data = b""
while len(data) < 8:
    data += s.recv(64)
print(data.hex())
s.send(b"exit")
print(repr(s.recv(64)))
`,
      { args: [String(port)] },
    );
    assertEquals(result.code, 0, result.stderr);
    // 4 bytes of output ("abc\\n"), little-endian, then the output; exit closes the session.
    assertEquals(result.stdout, "040000006162630a\nb''\n");
  });
});

Deno.test("remote command: a non-loopback address needs --allow-remote", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("../../examples/remote_command.ts", import.meta.url).pathname,
      "--host",
      "0.0.0.0",
      "--port",
      "0",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(code, 2);
  assertMatch(new TextDecoder().decode(stderr), /--allow-remote/);
});
