// The file server's clients, examples/file_client.ts and
// examples/python/file_client.py: transfers with progress, and a clear
// message (never a hang) against a server in another mode.

import { assertEquals, assertMatch } from "@std/assert";
import { runExample, startExample } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";
import { FILE_CLIENT, listing, md5File, MiB, randomFile, withServer } from "./_file_server.ts";

const fileClient = await Deno.readTextFile(FILE_CLIENT);

/** examples/file_client.ts with access to `root` only. */
function denoClient(root: string, args: string[]) {
  return runExample("file_client.ts", args, {
    permissions: ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}`],
  });
}

/** Runs `body` with a `--serve-file` server sending `path`. */
async function withDownload(path: string, body: (port: number) => Promise<void>) {
  const server = await startExample("file_server.ts", ["--port", "0", "--serve-file", path], {
    permissions: ["--allow-net", "--allow-read"],
  });
  let code: number;
  try {
    await body(server.port);
  } finally {
    code = await server.stop();
  }
  assertEquals(code, 0);
}

Deno.test("file client: puts and gets, with a one-line progress report off a terminal", async () => {
  await withServer([], async ({ root, uploads, port }) => {
    await randomFile(`${root}/mine.bin`, 3 * MiB);
    const expected = await md5File(`${root}/mine.bin`);
    const put = await denoClient(root, ["put", `${root}/mine.bin`, "--port", String(port)]);
    assertEquals(put.code, 0, put.stderr);
    assertEquals(put.stdout, `${root}/mine.bin: 203 (md5 matches) ${expected}\n`);
    // Not a terminal: one summary line, not a redrawn bar.
    assertMatch(put.stderr, /^mine\.bin: 3 MiB in [\d.]+ s, [\d.]+ [KMG]iB\/s\n$/);
    assertEquals(await listing(uploads), ["mine.bin"]);

    await withDownload(`${uploads}/mine.bin`, async (downloadPort) => {
      const get = await denoClient(root, [
        "get",
        "--port",
        String(downloadPort),
        "--dir",
        `${root}/got/here`,
      ]);
      assertEquals(get.code, 0, get.stderr);
      assertEquals(
        get.stdout,
        `${root}/got/here/mine.bin: ${3 * MiB} bytes, md5 ${expected}\na file\n`,
      );
    });
  });
});

Deno.test("file client: --ack puts with the acknowledged protocol", async () => {
  await withServer(["--ack"], async ({ root, uploads, port }) => {
    await randomFile(`${root}/a.bin`, MiB + 3);
    await Deno.writeTextFile(`${root}/b.txt`, "bee\n");
    const put = await denoClient(root, [
      "put",
      `${root}/a.bin`,
      `${root}/b.txt`,
      "--ack",
      "--port",
      String(port),
    ]);
    assertEquals(put.code, 0, put.stderr);
    assertMatch(put.stdout, /a\.bin: sent 1048579 bytes, md5 [0-9a-f]{32}\n.*b\.txt: sent 4 bytes/);
    // The client returns once the server has closed: both files are stored by then.
    assertEquals(await listing(uploads), ["a.bin", "b.txt"]);
    assertEquals(await Deno.readFile(`${uploads}/a.bin`), await Deno.readFile(`${root}/a.bin`));
  });
});

/** A client against a server in another mode: the message it must give (exit 1, no hang). */
interface WrongModeCase {
  name: string;
  /** The server's flags (`--serve-file` gets a file). */
  server: string[];
  /** The client's arguments before `--port`; FILE is replaced by a file. */
  client: string[];
  message: RegExp;
}

const wrongModeCases: WrongModeCase[] = [
  {
    name: "put to an --ack server",
    server: ["--ack"],
    client: ["put", "FILE"],
    message: /refused: ERROR: .*this server runs with --ack/,
  },
  {
    name: "put --ack to a length-prefixed server",
    server: [],
    client: ["put", "FILE", "--ack"],
    message: /refused: ERROR: .*is the client in --ack mode\?/,
  },
  {
    name: "get from an upload server (both wait: the client gives up)",
    server: [],
    client: ["get", "--timeout", "0.5"],
    message: /no file from the server within 0\.5 s \(is it in this mode\?/,
  },
  {
    name: "put to a --serve-file server",
    server: ["--serve-file", "FILE"],
    client: ["put", "FILE", "--timeout", "2"],
    // What the server sent instead of an answer, or (if it reset the connection) that it closed.
    message:
      /(unexpected answer|the server closed the connection) .*get needs one run with --serve-file/,
  },
];

for (const c of wrongModeCases) {
  Deno.test(`file clients, python and Deno: ${c.name} fails with a message, not a hang`, async () => {
    const root = await Deno.makeTempDir({ prefix: "file_client_" });
    try {
      const file = `${root}/file.txt`;
      await Deno.writeTextFile(file, "some bytes\n");
      const fill = (args: string[]) => args.map((arg) => arg === "FILE" ? file : arg);
      const server = await startExample(
        "file_server.ts",
        ["--port", "0", "--dir", `${root}/uploads`, ...fill(c.server)],
        { permissions: ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}`] },
      );
      try {
        const args = [...fill(c.client), "--port", String(server.port), "--dir", `${root}/got`];
        const python = await runPython(fileClient, { args, timeoutSeconds: 20 });
        assertEquals(python.code, 1, python.stdout + python.stderr);
        assertMatch(python.stderr, c.message);
        assertEquals(python.stderr.trimEnd().split("\n").length, 1, python.stderr);
        const deno = await denoClient(root, args);
        assertEquals(deno.code, 1, deno.stdout + deno.stderr);
        assertMatch(deno.stderr, c.message);
      } finally {
        await server.stop();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}
