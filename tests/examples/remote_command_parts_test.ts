// The parts of examples/remote_command.ts on their own: where a command
// ends (CommandReader), which argument forms run (checkCommand), and the
// output cap (BoundedOutput).

import { assert, assertEquals } from "@std/assert";
import { BufferedReader } from "@socketserver/core/io";
import { BoundedOutput } from "../../examples/_bounded_run.ts";
import { CommandReader } from "../../examples/_command_reader.ts";
import { checkCommand, COMMAND_RULES } from "../../examples/_command_rules.ts";
import { FakeSource } from "../support/fake_source.ts";

const text = (bytes: Uint8Array | { tooLong: number } | null) =>
  bytes === null || "tooLong" in bytes ? bytes : new TextDecoder().decode(bytes);

function reader(source: FakeSource, maxBytes = 16) {
  return new CommandReader(new BufferedReader(source, { bufferSize: 4 }), {
    maxBytes,
    pauseSeconds: 0.05,
  });
}

Deno.test("CommandReader: a command cut across reads is joined up to its newline", async () => {
  // A 4-byte buffer: every read returns part of a command.
  const commands = reader(FakeSource.of("echo ", "hello\r\nwho", "ami\npwd"));
  assertEquals(text(await commands.next()), "echo hello");
  assertEquals(text(await commands.next()), "whoami");
  assertEquals(text(await commands.next()), "pwd"); // the end of the stream ends it
  assertEquals(await commands.next(), null);
});

Deno.test("CommandReader: without a newline, a pause ends the command; the read in flight loses nothing", async () => {
  const source = new FakeSource();
  const commands = reader(source);
  source.push("who");
  source.push("ami");
  assertEquals(text(await commands.next()), "whoami");
  const next = commands.next();
  source.push("pw");
  source.push("d\n");
  assertEquals(text(await next), "pwd");
  source.end();
  assertEquals(await commands.next(), null);
});

Deno.test("CommandReader: a known reply ends without waiting for the pause", async () => {
  const source = new FakeSource();
  const commands = reader(source);
  source.push("Start");
  // With no pause to wait (pauseSeconds would be the only end), this resolves on its bytes.
  assertEquals(text(await commands.next("Start")), "Start");
  source.end();
});

Deno.test("CommandReader: a command over maxBytes is refused whole, and the next one is read", async () => {
  const commands = reader(FakeSource.of("echo ", "x".repeat(20), "whoami\n", "pwd\n"));
  assertEquals(await commands.next(), { tooLong: 31 });
  assertEquals(text(await commands.next()), "pwd");
  assertEquals(await commands.next(), null);
});

Deno.test("BoundedOutput: output that reaches the cap exactly on a chunk's end, then more, is cut and stops the command", () => {
  let stops = 0;
  const output = new BoundedOutput(8, () => stops++);
  output.add(new TextEncoder().encode("12345678")); // exactly the cap
  assertEquals(output.truncated, false);
  output.add(new TextEncoder().encode("9")); // before: dropped silently, the child left running
  assertEquals(output.truncated, true);
  output.add(new TextEncoder().encode("more"));
  assertEquals(stops, 1);
  assertEquals(new TextDecoder().decode(output.bytes()), "12345678");
});

Deno.test("BoundedOutput: a chunk across the cap keeps what fits", () => {
  let stops = 0;
  const output = new BoundedOutput(5, () => stops++);
  output.add(new TextEncoder().encode("abc"));
  output.add(new TextEncoder().encode("defg"));
  assertEquals([new TextDecoder().decode(output.bytes()), output.truncated, stops], [
    "abcde",
    true,
    1,
  ]);
});

Deno.test("checkCommand: each rule's refused and accepted forms", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "command_rules_" }));
  try {
    await Deno.mkdir(`${root}/sub`);
    await Deno.symlink("/", `${root}/up`);
    const allowed = new Set(Object.keys(COMMAND_RULES));
    const cases: [string, string[] | RegExp][] = [
      ["date", ["date"]],
      ["date -u +%F", ["date", "-u", "+%F"]],
      ["date -f /etc/passwd", /option not allowed/], // reads a file into its error text
      ["date -s now", /option not allowed/], // sets the clock
      ["date --set=now", /option not allowed/],
      ["date 0101", /\+FORMAT/], // MMDDhhmm sets the clock
      ["date +%s +%s", /at most 1 operands/],
      ["ls -la", ["ls", "-la"]],
      ["ls -la sub", ["ls", "-la", "sub"]],
      ["ls sub/..", ["ls", "sub/.."]], // still inside
      ["ls /", /inside the served directory/],
      ["ls ../..", /inside the served directory/],
      ["ls up", /inside the served directory/], // a link out
      ["ls missing", /inside the served directory/],
      ["ls -la -Q", /"-Q": option not allowed/],
      ["pwd -P", /option not allowed/],
      ["echo 'a b' c", ["echo", "a b", "c"]],
      ["echo $(id)", /metacharacter "\$"/],
      ["sleep 1.5", ["sleep", "1.5"]],
      ["sleep forever", /number of seconds/],
      ["rm -rf /", /"rm" is not allowed/],
    ];
    for (const [line, expected] of cases) {
      const result = await checkCommand(line, allowed, root);
      if (Array.isArray(expected)) {
        assertEquals(result, { argv: expected }, line);
      } else {
        assert(
          "refused" in result && expected.test(result.refused),
          `${line}: ${JSON.stringify(result)}`,
        );
      }
    }
    // Allowed by a rule, but not by --allow-commands.
    assertEquals(await checkCommand("sleep 1", new Set(["echo"]), root), {
      refused: '"sleep" is not allowed (allowed: echo)',
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
