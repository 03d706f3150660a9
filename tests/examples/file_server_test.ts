// examples/file_server.ts as a real subprocess, against python3 clients:
// the README's client (examples/python/file_client.py) and raw ones written
// from the protocol.

import { assert, assertEquals, assertMatch } from "@std/assert";
import { startExample, waitUntil } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";
import { FILE_CLIENT, listing, md5File, MiB, PUT, randomFile, withServer } from "./_file_server.ts";

const fileClient = await Deno.readTextFile(FILE_CLIENT);

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

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
    assertEquals(small, `${root}/small.txt: 203 b1946ac92492d2347c6235b4d2611184`);
    assertEquals(await listing(uploads), ["big.bin", "small.txt"]);
    assertEquals(await md5File(`${uploads}/big.bin`), bigMd5);
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

Deno.test("file server: names lose bidi overrides and stay valid UTF-8, cut between characters", async () => {
  await withServer([], async ({ uploads, port }) => {
    // json.dumps escapes: \u202e reaches the server as a bidi override, \ud800 as a lone surrogate.
    const result = await runPython(
      PUT + `
sock = connect()
print(put(sock, "invoice\\u202efdp.exe", b"bidi"))
print(put(sock, "\\u2066left\\u2069\\u202aright\\u202c", b"isolates"))
print(put(sock, "lone\\ud800.txt", b"surrogate"))
print(put(sock, "a" * 198 + "\\u00e9\\u00e9", b"cut"))  # 198 + 2 + 2 bytes: the second e-acute goes
sock.close()
`,
      { args: [String(port)] },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "203\n203\n203\n203\n");
    const names = await listing(uploads);
    assertEquals(names, [
      `${"a".repeat(198)}\u00e9`,
      "invoicefdp.exe",
      "leftright",
      "lone\ufffd.txt",
    ]);
    // Every name is valid UTF-8 of at most 200 bytes.
    for (const name of names) {
      const bytes = new TextEncoder().encode(name);
      assert(bytes.length <= 200, name);
      assertEquals(new TextDecoder("utf-8", { fatal: true }).decode(bytes), name);
    }
  });
});

Deno.test("file server: a connection broken mid-file leaves no file behind", async () => {
  await withServer([], async ({ uploads, port, stdout }) => {
    const result = await runPython(
      PUT + `
UPLOADS = sys.argv[2]
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
    const server = await startExample(
      "file_server.ts",
      ["--port", "0", "--serve-file", `${root}/served.bin`, "--desc", "five random mebibytes"],
      { permissions: ["--allow-net", `--allow-read=${root}`] },
    );
    let code: number;
    try {
      // The download folder does not exist yet: the client creates it.
      const result = await runPython(fileClient, {
        args: ["get", "--port", String(server.port), "--dir", `${root}/got/here`],
      });
      assertEquals(result.code, 0, result.stderr);
      const expected = await md5File(`${root}/served.bin`);
      assertEquals(
        result.stdout,
        `${root}/got/here/served.bin: ${5 * MiB + 7} bytes, md5 ${expected}\n` +
          "five random mebibytes\n",
      );
      assertEquals(
        await Deno.readFile(`${root}/got/here/served.bin`),
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

/**
 * The classic acknowledged client, as the tutorials write it: the JSON
 * header alone, wait for 200, send the bytes, close. Prints what the server
 * said, and anything it sent after the bytes (there must be nothing).
 */
const CLASSIC_ACK_CLIENT = PUT + `
for name, size in (("one.bin", 2097152), ("two.txt", 12)):
    data = os.urandom(size)
    sock = connect()
    sock.send(json.dumps({"action": "put", "filename": name, "filesize": size}).encode())
    print(sock.recv(1024).decode())
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    print(repr(sock.recv(1024)))  # the server's end of stream: it sent nothing more
    sock.close()
    print(hashlib.md5(data).hexdigest())
`;

Deno.test("file server: --ack speaks the classic protocol: header, 200, the bytes, nothing more", async () => {
  await withServer(["--ack"], async ({ uploads, port, stdout }) => {
    const result = await runPython(CLASSIC_ACK_CLIENT, { args: [String(port)] });
    assertEquals(result.code, 0, result.stderr);
    const [answer1, after1, md5One, answer2, after2, md5Two] = result.stdout.trimEnd().split("\n");
    assertEquals([answer1, after1, answer2, after2], ["200", "b''", "200", "b''"]);
    assertEquals(await listing(uploads), ["one.bin", "two.txt"]);
    assertEquals(await md5File(`${uploads}/one.bin`), md5One);
    assertEquals(await md5File(`${uploads}/two.txt`), md5Two);
    assertMatch(stdout(), new RegExp(`received one\\.bin \\(2097152 bytes, md5 ${md5One}\\)`));
  });
});

Deno.test("file server: --ack with the README client; a file over --max-size is refused instead of 200", async () => {
  await withServer(["--ack", "--max-size", "2M"], async ({ root, uploads, port }) => {
    await randomFile(`${root}/one.bin`, 2 * MiB);
    await Deno.writeTextFile(`${root}/two.txt`, "second file\n");
    await randomFile(`${root}/three.bin`, 2 * MiB + 1);
    const ok = await runPython(fileClient, {
      args: ["put", `${root}/one.bin`, `${root}/two.txt`, "--port", String(port), "--ack"],
    });
    assertEquals(ok.code, 0, ok.stderr);
    assertMatch(ok.stdout, /one\.bin: sent 2097152 bytes, md5 [0-9a-f]{32}\n.*two\.txt: sent 12/);
    assertEquals(await listing(uploads), ["one.bin", "two.txt"]);
    assertEquals(
      await Deno.readFile(`${uploads}/one.bin`),
      await Deno.readFile(`${root}/one.bin`),
    );
    // Too big: refused instead of 200, so the client never sends the bytes.
    const refused = await runPython(fileClient, {
      args: ["put", `${root}/three.bin`, "--port", String(port), "--ack"],
    });
    assertEquals(refused.code, 1);
    assertMatch(refused.stderr, /three\.bin: refused: ERROR: file too large: 2097153 bytes/);
    assertEquals(await listing(uploads), ["one.bin", "two.txt"]);
  });
});
