/**
 * The transfer workload: a JSON header + body upload through
 * examples/file_server.ts, at two sizes, to show throughput and that the
 * server's peak memory does not grow with the file.
 *
 *     deno run -A bench/transfer.ts [--sizes 256M,1G]
 *
 * A python3 client sends `struct.pack('i', len(h))`, the JSON header, then
 * the body (a 1 MiB random block repeated; hashlib's MD5 keeps the client's
 * cost small), waits for `OK`, sends the digest and expects `203`. The
 * server runs pinned to CPU 1 (the client to CPU 0) when taskset exists.
 * Prints MB/s and the server's peak RSS (VmHWM) per size.
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Deno.args, options: { sizes: { type: "string" } } });
const sizes = (values.sizes ?? "256M,1G").split(",").map(parseSize);

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)$/.exec(text);
  if (!match) throw new RangeError(`--sizes takes numbers with K, M or G, got ${text}`);
  return Number(match[1]) * 1024 ** " KMG".indexOf(match[2] || " ");
}

const CLIENT = `
import hashlib, json, os, socket, struct, sys, time
port, size = int(sys.argv[1]), int(sys.argv[2])
block = os.urandom(1 << 20)
header = json.dumps({"action": "put", "filename": "transfer.bin", "filesize": size}).encode()
s = socket.create_connection(("127.0.0.1", port))
started = time.perf_counter()
s.sendall(struct.pack("i", len(header)) + header)
digest, sent = hashlib.md5(), 0
while sent < size:
    chunk = block[: min(len(block), size - sent)]
    s.sendall(chunk)
    digest.update(chunk)
    sent += len(chunk)
assert s.recv(2) == b"OK"
s.sendall(digest.hexdigest().encode())
answer = s.recv(3)
elapsed = time.perf_counter() - started
s.close()
print(json.dumps({"answer": answer.decode(), "seconds": elapsed}))
`;

const pin = (cpu: number): string[] => {
  try {
    new Deno.Command("taskset", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return ["taskset", "-c", String(cpu)];
  } catch {
    return [];
  }
};

async function measure(size: number): Promise<string> {
  const dir = await Deno.makeTempDir();
  const [serverCommand, ...serverPin] = [...pin(1), Deno.execPath()];
  const server = new Deno.Command(serverCommand, {
    args: [
      ...serverPin,
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      new URL("../examples/file_server.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--dir",
      dir,
      "--max-size",
      String(size),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/listening on \S+:(\d+)/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("file_server exited before listening");
      out += value;
    }
    const port = out.match(/listening on \S+:(\d+)/)![1];
    // The deno process is the server unless taskset exec'd into it (same pid either way).
    const [clientCommand, ...clientPin] = [...pin(0), "python3"];
    const client = await new Deno.Command(clientCommand, {
      args: [...clientPin, "-c", CLIENT, port, String(size)],
      stdout: "piped",
    }).output();
    const result = JSON.parse(new TextDecoder().decode(client.stdout));
    const status = await Deno.readTextFile(`/proc/${server.pid}/status`);
    const peakKiB = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1]);
    const mbPerSecond = size / result.seconds / 1e6;
    reader.releaseLock();
    return `${(size / 2 ** 20).toFixed(0).padStart(6)} MiB  ${
      mbPerSecond.toFixed(0).padStart(5)
    } MB/s  ` +
      `answer ${result.answer}  server peak RSS ${(peakKiB / 1024).toFixed(1)} MiB`;
  } finally {
    server.kill("SIGTERM");
    await server.status;
    await server.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

console.log("transfer: JSON header + body upload through examples/file_server.ts (python3 client)");
for (const size of sizes) console.log(await measure(size));
