// examples/sticky_packets.ts runs both ends and exits: check what it shows.

import { assert, assertEquals } from "@std/assert";

Deno.test("sticky_packets shows two sends glued into one read, and the framing fix", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("../../examples/sticky_packets.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout);
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const lines = output.split("\n").map((line) => line.trim());
  // 1. The problem: one read returns both sends.
  assert(lines.includes('server read #1: "helloworld"'), output);
  assert(!lines.some((line) => line.startsWith("server read #2")), output);
  // 2. The fix: two frames.
  assert(lines.includes('server frame #1: "hello"'), output);
  assert(lines.includes('server frame #2: "world"'), output);
  // 3. One large message, many reads, one frame.
  assert(lines.includes("server frame #1: 1048576 bytes"), output);
});
