// examples/_serve.ts through examples/echo.ts: on SIGINT or SIGTERM the
// server says on stderr how many connections it drains and for how long;
// a second signal exits at once.

import { assertEquals, assertMatch } from "@std/assert";
import { startExample, waitUntil } from "../support/example_process.ts";

const utf8 = new TextEncoder();

for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
  Deno.test(`serve: ${signal} says what it drains; a second ${signal} exits at once with ${code}`, async () => {
    const echo = await startExample("echo.ts", ["--port", "0", "--framing", "line"]);
    let exit: number | undefined;
    try {
      using first = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
      using second = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
      // A round trip on each, then half a line: both are busy when the signal
      // comes (an idle connection would be closed at once).
      for (const conn of [first, second]) {
        await conn.write(utf8.encode("hi\n"));
        assertEquals(await conn.read(new Uint8Array(3)), 3);
        await conn.write(utf8.encode("half a li"));
      }
      echo.signal(signal);
      await waitUntil(() => echo.stderr().includes("draining"));
      assertEquals(
        echo.stderr(),
        `${signal}: draining 2 connections for up to 30 s; ${signal} again to exit now\n`,
      );
      // The clients stay connected: without the second signal it would wait 30 s.
      exit = await echo.stop(signal);
    } finally {
      exit ??= await echo.stop("SIGKILL");
    }
    assertEquals(exit, code);
    assertMatch(
      echo.stderr(),
      new RegExp(`echo\\.ts: ${signal} again: exiting without waiting\\n$`),
    );
  });
}
