// examples/echo.ts limits as a real subprocess: --idle-timeout closes a silent
// client, --frame-timeout a slow frame, --write-timeout a client that stops
// reading, --max-connections makes the next client wait its turn, and bad
// values are refused.

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { assertExampleRefuses, startExample } from "../support/example_process.ts";

const utf8 = new TextEncoder();

/** Sends `text` and reads the same number of bytes back. */
async function roundTrip(conn: Deno.Conn, text: string): Promise<string> {
  await conn.write(utf8.encode(text));
  const reply = new Uint8Array(text.length);
  for (let filled = 0; filled < reply.length;) {
    const count = await conn.read(reply.subarray(filled));
    assert(count !== null, "the echo server closed the connection");
    filled += count;
  }
  return new TextDecoder().decode(reply);
}

Deno.test("echo example: --idle-timeout closes a client that sends nothing, and serves others", async () => {
  const echo = await startExample("echo.ts", ["--port", "0", "--idle-timeout", "0.3"]);
  try {
    const address = { hostname: "127.0.0.1", port: echo.port };
    using silent = await Deno.connect(address);
    // The server closes it: the client reads the end of the stream.
    assertEquals(await silent.read(new Uint8Array(1)), null);
    using busy = await Deno.connect(address);
    assertEquals(await roundTrip(busy, "still served"), "still served");
    busy.close();
  } finally {
    assertEquals(await echo.stop("SIGTERM"), 0, echo.stderr());
  }
  assertMatch(echo.stderr(), /IdleTimeoutError: Cannot read: idle for 0\.3 s/);
});

Deno.test("echo example: --frame-timeout closes a client whose line never ends", async () => {
  const echo = await startExample("echo.ts", [
    "--port",
    "0",
    "--framing",
    "line",
    "--frame-timeout",
    "0.3",
  ]);
  try {
    using slow = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
    await slow.write(utf8.encode("a line that never ends"));
    assertEquals(await slow.read(new Uint8Array(1)), null);
  } finally {
    assertEquals(await echo.stop("SIGTERM"), 0, echo.stderr());
  }
  assertMatch(echo.stderr(), /FrameTimeoutError: Cannot read frame: not complete after 0\.3 s/);
});

Deno.test("echo example: --write-timeout closes a client that stops reading", async () => {
  const echo = await startExample("echo.ts", ["--port", "0", "--write-timeout", "0.3"]);
  try {
    using stuck = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
    // Send and never read: the echo's writes fill both socket buffers, then time out.
    const chunk = new Uint8Array(1024 * 1024);
    await assertRejects(async () => {
      for (let sent = 0; sent < 1024; sent++) await stuck.write(chunk);
    });
  } finally {
    assertEquals(await echo.stop("SIGTERM"), 0, echo.stderr());
  }
  assertMatch(echo.stderr(), /WriteTimeoutError: Cannot write: \d+ bytes unsent after 0\.3 s/);
});

Deno.test("echo example: --max-connections 1 serves the second client only once the first leaves", async () => {
  const echo = await startExample("echo.ts", ["--port", "0", "--max-connections", "1"]);
  try {
    const address = { hostname: "127.0.0.1", port: echo.port };
    const first = await Deno.connect(address);
    assertEquals(await roundTrip(first, "one"), "one");
    using second = await Deno.connect(address); // Accepted by the kernel, not by the server.
    await second.write(utf8.encode("two"));
    let answered = false;
    const reply = new Uint8Array(3);
    const reading = second.read(reply).then((count) => {
      answered = true;
      return count;
    });
    // Round trips on the first connection give a server that ignored the limit every chance.
    for (let i = 0; i < 20; i++) assertEquals(await roundTrip(first, "again"), "again");
    assertEquals(answered, false, "the second client was served while the first was connected");
    first.close();
    assertEquals(await reading, 3);
    assertEquals(new TextDecoder().decode(reply), "two");
  } finally {
    assertEquals(await echo.stop("SIGTERM"), 0, echo.stderr());
  }
});

const badFlagCases: { args: string[]; message: RegExp }[] = [
  {
    args: ["--frame-timeout", "-1"],
    message: /--frame-timeout must be a number of seconds above 0, got -1/,
  },
  {
    args: ["--frame-timeout", "0"],
    message: /--frame-timeout must be a number of seconds above 0, got 0/,
  },
  { args: ["--write-timeout", "never"], message: /--write-timeout must be .*, got never/ },
  {
    args: ["--idle-timeout", "0"],
    message: /--idle-timeout must be a number of seconds above 0, got 0/,
  },
  { args: ["--idle-timeout", "soon"], message: /--idle-timeout must be .*, got soon/ },
  {
    args: ["--max-connections", "0"],
    message: /--max-connections must be an integer of at least 1, got 0/,
  },
  {
    args: ["--max-connections", "1.5"],
    message: /--max-connections must be an integer of at least 1, got 1\.5/,
  },
];

for (const c of badFlagCases) {
  Deno.test(`echo example: ${c.args.join(" ")} exits non-zero with a message`, async () => {
    await assertExampleRefuses("echo.ts", c.args, c.message);
  });
}
