import { assert, assertEquals, assertMatch } from "@std/assert";
import { type ExampleProcess, waitUntil, withExample } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";

const client = await Deno.readTextFile(
  new URL("../../examples/python/remote_command_client.py", import.meta.url),
);
const COMMANDS = "ls,pwd,whoami,date,echo,uname,sleep";

/** Runs the example in a fresh temporary folder (its --root); removes it afterwards. */
async function withServer(
  args: string[],
  body: (port: number, folder: string, server: ExampleProcess) => Promise<void>,
): Promise<void> {
  const folder = await Deno.realPath(await Deno.makeTempDir({ prefix: "remote_command_" }));
  try {
    await withExample(
      "remote_command.ts",
      ["--port", "0", "--allow-commands", COMMANDS, ...args],
      (server) => body(server.port, folder, server),
      {
        // Deno refuses to run anything else, whatever the example does: a second wall.
        // Reading is the folder only: ls's paths are checked there.
        permissions: ["--allow-net", `--allow-run=${COMMANDS}`, `--allow-read=${folder}`],
        cwd: folder,
      },
    );
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
    assertEquals(result.stdout, `hello\ntwo  words and more\n${folder}\n`);
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
        `${"x".repeat(100)}\nerror: output cut off at 100 bytes, command stopped\n` +
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

Deno.test("remote command: date and ls run only in the forms their rules list", async () => {
  await withServer([], async (port, folder) => {
    await Deno.mkdir(`${folder}/sub`);
    await Deno.writeTextFile(`${folder}/sub/inside.txt`, "");
    await Deno.symlink("/etc", `${folder}/escape`);
    // Each refused form, and why it matters.
    const refused: [string, RegExp][] = [
      ["date -f /etc/passwd", /^error: date "-f": option not allowed$/], // reads a file
      ["date -r /etc/passwd", /^error: date "-r": option not allowed$/], // a file's time
      ["date -s 2020-01-01", /^error: date "-s": option not allowed$/], // sets the clock
      ["date --set=2020-01-01", /^error: date "--set=2020-01-01": option not allowed$/],
      ["date 010100002030", /^error: date "010100002030": takes only a \+FORMAT operand$/],
      ["ls -la /", /^error: ls "\/": takes only existing paths inside the served directory$/],
      ["ls ..", /^error: ls "\.\.": takes only existing paths inside/],
      ["ls sub/../..", /^error: ls "sub\/\.\.\/\.\.": takes only existing paths inside/],
      ["ls escape", /^error: ls "escape": takes only existing paths inside/], // a link out
      ["ls --color=always", /^error: ls "--color=always": option not allowed$/],
      ["ls -lZ", /^error: ls "-lZ": option not allowed$/], // combined, one not listed
      ["whoami root", /^error: whoami "root": takes no operands$/],
      ["uname --help", /^error: uname "--help": option not allowed$/],
      ["echo -e hi", /^error: echo "-e": option not allowed$/],
    ];
    const allowed = ["date -u +%Y", "ls sub", "ls -la sub", "uname -s", "echo -n done"];
    const result = await runPython(client, {
      args: [String(port)],
      stdin: [...refused.map(([command]) => command), ...allowed].join("\n") + "\n",
    });
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    refused.forEach(([command, expected], i) => assertMatch(lines[i], expected, command));
    // Nothing of /etc/passwd came back.
    assert(!result.stdout.includes("root:"), result.stdout);
    const rest = lines.slice(refused.length).join("\n");
    assertMatch(rest, /^\d{4}\ninside\.txt\ntotal \d+\n.*inside\.txt\nLinux\ndone$/s);
  });
});

/** A raw client written from the protocol: one connection, and `reply()` for one framed reply. */
const RAW_CLIENT = `
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
def reply():
    n = struct.unpack("i", s.recv(4))[0]
    data = b""
    while len(data) < n:
        data += s.recv(n - len(data))
    return data.decode()
`;

Deno.test("remote command: a command longer than 1024 bytes is refused whole, never run in pieces", async () => {
  await withServer([], async (port, _folder, server) => {
    // The classic client's send(): no newline. Before, recv(1024) ran "echo x..." then "whoami".
    const result = await runPython(
      RAW_CLIENT + `s.send(b"echo " + b"x" * 1019 + b"whoami")
print(repr(reply()))
s.send(b"echo still served")
print(repr(reply()))
`,
      { args: [String(port)] },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(
      result.stdout,
      "'error: longer than 1024 bytes\\n'\n'still served\\n'\n",
    );
    await waitUntil(() => server.stdout().includes('ran ["echo","still","served"]'));
    assert(!server.stdout().includes('running ["whoami"]'), server.stdout());
  });
});

Deno.test("remote command: commands sent together are split at newlines and answered in order", async () => {
  await withServer([], async (port) => {
    // One sendall, three commands: before, one read was one command (refused for its newlines).
    const result = await runPython(
      RAW_CLIENT + `s.sendall(b"echo one\\r\\necho " + b"y" * 600 + b"\\necho three\\n")
print([len(reply()) for _ in range(3)])
`,
      { args: [String(port)] },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "[4, 601, 6]\n");
  });
});

Deno.test("remote command: output past --max-output stops the command, and the reply says so", async () => {
  await withServer(["--max-output", "4096", "--timeout", "20"], async (port, folder, server) => {
    // 2000 files: ls -la writes far past 4096 bytes.
    for (let i = 0; i < 2000; i++) await Deno.writeTextFile(`${folder}/file_${i}.txt`, "");
    const result = await runPython(client, { args: [String(port)], stdin: "ls -la\n" });
    assertEquals(result.code, 0, result.stderr);
    assertMatch(result.stdout, /\nerror: output cut off at 4096 bytes, command stopped\n$/);
    assertEquals(
      new TextEncoder().encode(result.stdout).length,
      4096 + "\nerror: output cut off at 4096 bytes, command stopped\n".length,
    );
    await waitUntil(() => server.stdout().includes("ran "));
    assertMatch(
      server.stdout(),
      /ran \["ls","-la"\]: output cut off at 4096 bytes, command stopped, 4096 bytes/,
    );
  });
});

/** Sends one command line over `conn` and reads its framed reply. */
async function command(conn: Deno.Conn, line: string): Promise<string> {
  await conn.write(new TextEncoder().encode(`${line}\n`));
  const size = new DataView((await readExactly(conn, 4)).buffer).getInt32(0, true);
  return new TextDecoder().decode(await readExactly(conn, size));
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(n);
  for (let filled = 0; filled < n;) {
    const count = await conn.read(bytes.subarray(filled));
    assert(count !== null, `EOF after ${filled} of ${n} bytes`);
    filled += count;
  }
  return bytes;
}

Deno.test("remote command: past --max-running, a command waits its turn", async () => {
  await withServer(["--max-running", "1", "--queue-wait", "20"], async (port, _folder, server) => {
    using first = await Deno.connect({ hostname: "127.0.0.1", port });
    using second = await Deno.connect({ hostname: "127.0.0.1", port });
    const sleeping = command(first, "sleep 0.5");
    await waitUntil(() => server.stdout().includes('running ["sleep","0.5"]'));
    assertEquals(await command(second, "echo waited"), "waited\n");
    assertEquals(await sleeping, "");
    // One at a time: the echo started only once the sleep had ended.
    const log = server.stdout();
    assert(log.indexOf('ran ["sleep","0.5"]') < log.indexOf('running ["echo","waited"]'), log);
  });
});

Deno.test("remote command: past --max-running and --queue-wait, a client is told the server is busy", async () => {
  // The sleep is killed at --timeout 3: the wait of 0.3 s ends well before.
  const args = ["--max-running", "1", "--queue-wait", "0.3", "--timeout", "3"];
  await withServer(args, async (port, _folder, server) => {
    using first = await Deno.connect({ hostname: "127.0.0.1", port });
    using second = await Deno.connect({ hostname: "127.0.0.1", port });
    const sleeping = command(first, "sleep 30");
    await waitUntil(() => server.stdout().includes('running ["sleep","30"]'));
    assertEquals(
      await command(second, "echo waited"),
      "error: busy: --max-running 1 commands already running; try again later\n",
    );
    assertEquals(await sleeping, "\nerror: killed after 3 s\n");
    assert(!server.stdout().includes('running ["echo","waited"]'), server.stdout());
  });
});

Deno.test("remote command client: against a server in the other mode, a message and exit 1, not a hang", async () => {
  const cases = [
    { server: ["--handshake"], client: [], message: /the server speaks --handshake/ },
    { server: [], client: ["--handshake"], message: /no Ready\|<n> from the server/ },
  ];
  for (const c of cases) {
    await withServer(c.server, async (port) => {
      const result = await runPython(client, {
        args: [String(port), ...c.client, "--timeout", "5"],
        stdin: "echo hello\n",
        timeoutSeconds: 20,
      });
      assertEquals(result.code, 1, result.stdout + result.stderr);
      assertMatch(result.stderr, c.message);
      assertEquals(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    });
  }
});
