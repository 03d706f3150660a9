// examples/file_server.ts limits: a stalled upload is aborted, --max-total
// bounds what --dir holds, and both refuse before a byte is kept.

import { assertEquals, assertMatch } from "@std/assert";
import { waitUntil } from "../support/example_process.ts";
import { runPython } from "../support/python.ts";
import { listing, PUT, withServer } from "./_file_server.ts";

Deno.test("file server: an upload that stalls is aborted after --stall-timeout, its .part removed", async () => {
  await withServer(["--stall-timeout", "0.5"], async ({ uploads, port, stdout }) => {
    const result = await runPython(
      PUT + `
UPLOADS = sys.argv[2]
header = json.dumps({"action": "put", "filename": "stalled.bin", "filesize": 1048576}).encode()
sock = connect()
sock.sendall(struct.pack("i", len(header)) + header + b"s" * 1000)
wait_for(lambda: os.listdir(UPLOADS) != [])
print(os.listdir(UPLOADS)[0].startswith(".stalled.bin."))
# Then nothing more: the server closes the connection and removes the part file.
print(repr(sock.recv(1024)))
wait_for(lambda: os.listdir(UPLOADS) == [])
sock.close()
`,
      { args: [String(port), uploads] },
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(result.stdout, "True\nb''\n");
    await waitUntil(() => stdout().includes("stalled"));
    assertMatch(stdout(), /127\.0\.0\.1:\d+ stalled: nothing for 0\.5 s, closed/);
    assertEquals(await listing(uploads), []);
  });
});

Deno.test("file server: --max-total bounds all of --dir, uploads in progress included", async () => {
  await withServer(["--max-total", "3M"], async ({ uploads, port }) => {
    const result = await runPython(
      PUT + `
MiB = 1048576
sock = connect()
print(put(sock, "first.bin", b"1" * (2 * MiB)))
sock.close()
sock = connect()
print(put(sock, "second.bin", b"2" * (2 * MiB)))  # 4 MiB in all: refused
sock.close()
sock = connect()
print(put(sock, "small.bin", b"3" * (MiB // 2)))
sock.close()

# An upload in progress holds its room: a second one that would not fit beside it is refused.
header = json.dumps({"action": "put", "filename": "slow.bin", "filesize": MiB // 4}).encode()
slow = connect()
slow.sendall(struct.pack("i", len(header)) + header + b"4")
wait_for(lambda: any(name.startswith(".slow.bin.") for name in os.listdir(sys.argv[2])))
other = connect()
print(put(other, "other.bin", b"5" * (MiB // 2)))
other.close()
slow.sendall(b"4" * (MiB // 4 - 1))
print(slow.recv(1024).decode())
slow.close()
`,
      { args: [String(port), uploads] },
    );
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assertEquals(lines[0], "203");
    assertEquals(
      lines[1],
      `ERROR: no room: 2097152 more bytes would bring ${uploads} to 4194304, over --max-total 3145728`,
    );
    assertEquals(lines[2], "203");
    assertMatch(lines[3], /^ERROR: no room: 524288 more bytes would bring .* over --max-total/);
    assertEquals(lines[4], "OK");
    assertEquals(await listing(uploads).then((names) => names.filter((n) => !n.startsWith("."))), [
      "first.bin",
      "small.bin",
    ]);
  });
});
