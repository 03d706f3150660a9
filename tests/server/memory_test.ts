// A long-running server must keep nothing per connection it has finished with.

import { assert, assertEquals } from "@std/assert";

Deno.test("3000 more connections leave the server's heap where it was", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--v8-flags=--expose-gc",
      new URL("../support/leak_probe.ts", import.meta.url).pathname,
      new URL("../../mod.ts", import.meta.url).href,
      "3000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const growth = Number(new TextDecoder().decode(stdout).trim());
  // A reaction left per accept would be about 3000 × 100 bytes; allow noise well below that.
  assert(growth < 100_000, `heap grew ${growth} bytes over 3000 connections`);
});
