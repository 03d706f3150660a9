import { assertEquals, assertMatch } from "@std/assert";
import { waitUntil, withExample } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";

const client = await Deno.readTextFile(
  new URL("../../examples/python/greeting_client.py", import.meta.url),
);

Deno.test("greeting: the python client gets the welcome, the server prints its message", async () => {
  await withExample("greeting.ts", ["--port", "0"], async (server) => {
    const result = await runPython(client, { args: [String(server.port), "hello from python"] });
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "welcome to the server~\n");
    await waitUntil(() => server.stdout().includes("hello from python"));
    assertMatch(server.stdout(), /message from 127\.0\.0\.1:\d+: hello from python\n/);
  }, { signal: "SIGINT" });
});

Deno.test("greeting: clients are served one after another, and SIGTERM exits 0", async () => {
  await withExample("greeting.ts", ["--port", "0"], async (server) => {
    for (const message of ["first", "second", "third"]) {
      const result = await runPython(client, { args: [String(server.port), message] });
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout, "welcome to the server~\n");
    }
    await waitUntil(() => server.stdout().includes(": third"));
    const lines = server.stdout().split("\n").filter((line) => line.startsWith("message from"));
    assertEquals(lines.map((line) => line.split(": ")[1]), ["first", "second", "third"]);
  });
});
