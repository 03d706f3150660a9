import { assert, assertEquals, assertMatch } from "@std/assert";
import { md5Hex } from "../../examples/md5.ts";
import { startExample } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";

const fileClient = await Deno.readTextFile(
  new URL("../../examples/python/file_client.py", import.meta.url),
);

// For the scenarios the README client does not play: a wrong digest, odd
// names, a client that breaks off. Written from the protocol, stdlib only.
const PUT = `
import hashlib, json, socket, struct, sys

PORT = int(sys.argv[1])

def connect():
    sock = socket.create_connection(("127.0.0.1", PORT))
    sock.settimeout(20)
    return sock

def put(sock, name, data, digest=None):
    header = json.dumps({"action": "put", "filename": name, "filesize": len(data)}).encode()
    sock.sendall(struct.pack("i", len(header)) + header)
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused and closed: the answer says why
    answer = sock.recv(1024).decode()
    if answer != "OK":
        return answer
    sock.sendall((digest or hashlib.md5(data).hexdigest()).encode())
    return sock.recv(1024).decode()
`;

interface Setup {
  /** A fresh temporary folder, removed afterwards. */
  root: string;
  /** The server's upload folder. */
  uploads: string;
  port: number;
  stdout(): string;
}

/** Runs the file server on a fresh temporary folder; it must exit 0 on SIGTERM. */
async function withServer(
  args: string[],
  body: (setup: Setup) => Promise<void>,
  options: { uploads?: string } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "file_server_" });
  try {
    const uploads = `${root}/${options.uploads ?? "uploads"}`;
    const server = await startExample(
      "file_server.ts",
      ["--port", "0", "--dir", uploads, ...args],
      {
        // Least privilege: the server reads and writes the temporary folder only.
        permissions: ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}`],
      },
    );
    let code: number;
    try {
      await body({ root, uploads, port: server.port, stdout: server.stdout });
    } finally {
      code = await server.stop("SIGTERM");
    }
    assertEquals(code, 0, server.stdout());
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Writes `size` random bytes to `path`, a mebibyte at a time. */
async function randomFile(path: string, size: number): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let left = size; left > 0; left -= chunk.length) {
    for (let offset = 0; offset < chunk.length; offset += 65536) {
      crypto.getRandomValues(chunk.subarray(offset, offset + 65536));
    }
    const part = chunk.subarray(0, Math.min(left, chunk.length));
    for (let written = 0; written < part.length;) {
      written += await file.write(part.subarray(written));
    }
  }
}

async function listing(folder: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(folder))).map((entry) => entry.name).sort();
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Polls `condition` until it holds, for at most `seconds`. */
async function waitUntil(condition: () => boolean, seconds = 10): Promise<void> {
  for (const end = Date.now() + seconds * 1000; !condition();) {
    if (Date.now() > end) throw new Error(`Condition not met within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const MiB = 1024 * 1024;

Deno.test("file server: a 50 MiB file and a small one over one connection, md5 checked (203)", async () => {
  await withServer([], async ({ root, uploads, port }) => {
    await randomFile(`${root}/big.bin`, 50 * MiB);
    await Deno.writeTextFile(`${root}/small.txt`, "hello\n");
    const result = await runPython(fileClient, {
      args: ["put", `${root}/big.bin`, `${root}/small.txt`, "--port", String(port)],
      timeoutSeconds: 60,
    });
    assertEquals(result.code, 0, result.stderr);
    const [big, small] = result.stdout.trimEnd().split("\n");
    // The digests the client computed with hashlib, as it sent.
    const bigMd5 = big.match(/^.*big\.bin: 203 ([0-9a-f]{32})$/)?.[1];
    assert(bigMd5, big);
    assertEquals(small, `${root}/small.txt: 203 ${md5Hex(new TextEncoder().encode("hello\n"))}`);
    assertEquals(await listing(uploads), ["big.bin", "small.txt"]);
    assertEquals(md5Hex(await Deno.readFile(`${uploads}/big.bin`)), bigMd5);
    assertEquals(await Deno.readTextFile(`${uploads}/small.txt`), "hello\n");
  });
});

Deno.test("file server: a wrong digest is answered 204 and the file is not kept", async () => {
  await withServer([], async ({ uploads, port }) => {
    const result = await runPython(
      PUT + `
sock = connect()
print(put(sock, "corrupted.txt", b"hello", digest="0" * 32))
print(put(sock, "next.txt", b"the connection goes on"))
sock.close()
`,
      { args: [String(port)] },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "204\n203\n");
    assertEquals(await listing(uploads), ["next.txt"]);
  });
});

Deno.test("file server: names are reduced to a safe basename inside --dir", async () => {
  await withServer([], async ({ root, uploads, port }) => {
    const result = await runPython(
      PUT + `
sock = connect()
print(put(sock, "../../x", b"one"))
print(put(sock, ".hidden", b"two"))
print(put(sock, "x", b"three"))  # exists: refused, connection closed
sock.close()
sock = connect()
print(put(sock, "..", b"four"))
sock.close()
`,
      { args: [String(port)] },
    );
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assertEquals(lines.slice(0, 2), ["203", "203"]);
    assertMatch(lines[2], /^ERROR: x exists/);
    assertMatch(lines[3], /^ERROR: unusable filename/);
    assertEquals(await listing(uploads), ["hidden", "x"]);
    assertEquals(await Deno.readTextFile(`${uploads}/x`), "one");
    assertEquals(await Deno.readTextFile(`${uploads}/hidden`), "two");
    // --dir is root/a/b/uploads: "../../x" would have landed in root/a.
    assertEquals(await exists(`${root}/a/x`), false);
  }, { uploads: "a/b/uploads" });
});

Deno.test("file server: an upload over --max-size is refused before a byte is written", async () => {
  await withServer(["--max-size", "1M"], async ({ uploads, port }) => {
    const result = await runPython(
      PUT + `
sock = connect()
print(put(sock, "fits.bin", b"a" * 1048576))
sock.close()
sock = connect()
print(put(sock, "too_big.bin", b"b" * 1048577))
print(repr(sock.recv(1024)))  # then the server closes
sock.close()
`,
      { args: [String(port)] },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(
      result.stdout,
      "203\nERROR: file too large: 1048577 bytes exceeds --max-size 1048576\nb''\n",
    );
    assertEquals(await listing(uploads), ["fits.bin"]);
  });
});

Deno.test("file server: a connection broken mid-file leaves no file behind", async () => {
  await withServer([], async ({ uploads, port, stdout }) => {
    const result = await runPython(
      PUT + `
import os, time

UPLOADS = sys.argv[2]

def wait_for(condition):
    for _ in range(1000):  # 10 s at most
        if condition():
            return
        time.sleep(0.01)
    raise TimeoutError("the server's folder did not change")

header = json.dumps({"action": "put", "filename": "broken.bin", "filesize": 10485760}).encode()
for reset in (False, True):
    sock = connect()
    sock.sendall(struct.pack("i", len(header)) + header + b"z" * 1048576)
    # Break off once the server is writing the file (under a temporary name).
    wait_for(lambda: os.listdir(UPLOADS) != [])
    print(os.listdir(UPLOADS)[0].startswith(".broken.bin."))
    if reset:  # an abortive close: RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    wait_for(lambda: os.listdir(UPLOADS) == [])
`,
      { args: [String(port), uploads] },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "True\nTrue\n");
    await waitUntil(() => stdout().split("connection lost").length === 3);
    assertEquals(await listing(uploads), []);
  });
});

Deno.test("file server: --serve-file sends a header and the file; the python client verifies it", async () => {
  const root = await Deno.makeTempDir({ prefix: "file_server_" });
  try {
    await randomFile(`${root}/served.bin`, 5 * MiB + 7);
    await Deno.mkdir(`${root}/got`);
    const server = await startExample(
      "file_server.ts",
      ["--port", "0", "--serve-file", `${root}/served.bin`, "--desc", "five random mebibytes"],
      { permissions: ["--allow-net", `--allow-read=${root}`] },
    );
    let code: number;
    try {
      const result = await runPython(fileClient, {
        args: ["get", "--port", String(server.port), "--dir", `${root}/got`],
      });
      assertEquals(result.code, 0, result.stderr);
      const expected = md5Hex(await Deno.readFile(`${root}/served.bin`));
      assertEquals(
        result.stdout,
        `${root}/got/served.bin: ${5 * MiB + 7} bytes, md5 ${expected}\nfive random mebibytes\n`,
      );
      assertEquals(
        await Deno.readFile(`${root}/got/served.bin`),
        await Deno.readFile(`${root}/served.bin`),
      );
    } finally {
      code = await server.stop("SIGINT");
    }
    assertEquals(code, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("file server: --ack takes a bare JSON header, answers 200, then the bytes", async () => {
  await withServer(["--ack", "--max-size", "2M"], async ({ root, uploads, port }) => {
    await randomFile(`${root}/one.bin`, 2 * MiB);
    await Deno.writeTextFile(`${root}/two.txt`, "second file\n");
    await randomFile(`${root}/three.bin`, 2 * MiB + 1);
    const ok = await runPython(fileClient, {
      args: ["put", `${root}/one.bin`, `${root}/two.txt`, "--port", String(port), "--ack"],
    });
    assertEquals(ok.code, 0, ok.stderr);
    assertMatch(ok.stdout, /one\.bin: 203 [0-9a-f]{32}\n.*two\.txt: 203 [0-9a-f]{32}\n$/);
    assertEquals(await listing(uploads), ["one.bin", "two.txt"]);
    assertEquals(
      await Deno.readFile(`${uploads}/one.bin`),
      await Deno.readFile(`${root}/one.bin`),
    );
    // Too big: refused instead of 200, so the client never sends the bytes.
    const refused = await runPython(fileClient, {
      args: ["put", `${root}/three.bin`, "--port", String(port), "--ack"],
    });
    assertEquals(refused.code, 1, refused.stderr);
    assertMatch(refused.stdout, /three\.bin: refused: ERROR: file too large: 2097153 bytes/);
    assertEquals(await listing(uploads), ["one.bin", "two.txt"]);
  });
});

Deno.test("file server: the Deno client mode puts and gets, with a plain progress report", async () => {
  await withServer([], async ({ root, uploads, port }) => {
    await randomFile(`${root}/mine.bin`, 3 * MiB);
    const example = new URL("../../examples/file_server.ts", import.meta.url).pathname;
    const run = async (args: string[]) => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          `--allow-read=${root}`,
          `--allow-write=${root}`,
          example,
          ...args,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
    };
    const expected = md5Hex(await Deno.readFile(`${root}/mine.bin`));
    const put = await run(["--client", "put", `${root}/mine.bin`, "--port", String(port)]);
    assertEquals(put.code, 0, put.stderr);
    assertEquals(put.stdout, `${root}/mine.bin: 203 (md5 matches) ${expected}\n`);
    // Not a terminal: progress lines, not a redrawn bar.
    assertMatch(put.stderr, /mine\.bin +100% +3\.0 MiB \/ 3\.0 MiB +[\d.]+ MiB\/s\n$/);
    assertEquals(await listing(uploads), ["mine.bin"]);

    const server = await startExample(
      "file_server.ts",
      ["--port", "0", "--serve-file", `${uploads}/mine.bin`],
      { permissions: ["--allow-net", `--allow-read=${root}`] },
    );
    let code: number;
    try {
      const get = await run([
        "--client",
        "get",
        "--port",
        String(server.port),
        "--dir",
        `${root}/got`,
      ]);
      assertEquals(get.code, 0, get.stderr);
      assertMatch(
        get.stdout,
        new RegExp(`^${root}/got/mine\\.bin: ${3 * MiB} bytes, md5 ${expected}\\n`),
      );
      assertMatch(get.stderr, /100%/);
    } finally {
      code = await server.stop();
    }
    assertEquals(code, 0);
  });
});
