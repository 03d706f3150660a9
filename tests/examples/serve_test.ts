// examples/_serve.ts through examples/echo.ts: on SIGINT or SIGTERM the
// server says on stderr how many connections it drains and for how long;
// a second signal exits at once.

import { assertEquals, assertMatch } from "@std/assert";
import { startExample, waitUntil } from "../support/example_process.ts";

const utf8 = new TextEncoder();

for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
  Deno.test(`serve: ${signal} says what it drains; a second ${signal} exits at once with ${code}`, async () => {
    const echo = await startExample("echo.ts", ["--port", "0"]);
    let exit: number | undefined;
    try {
      using first = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
      using second = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
      // A round trip on each: both are being served when the signal comes.
      for (const conn of [first, second]) {
        await conn.write(utf8.encode("hi"));
        assertEquals(await conn.read(new Uint8Array(2)), 2);
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
