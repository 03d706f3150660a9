// Shared by the file server and file client tests: a server on a fresh
// temporary folder, test files, and a python client written from the protocol.

import { crypto } from "@std/crypto";
import { encodeHex } from "@std/encoding/hex";
import { withExample } from "../support/example_process.ts";

/** examples/python/file_client.py, the client of the README. */
export const FILE_CLIENT = new URL("../../examples/python/file_client.py", import.meta.url)
  .pathname;

/**
 * For the scenarios the README client does not play: a wrong digest, odd
 * names, a client that breaks off. Written from the protocol, stdlib only.
 */
export const PUT = `
import hashlib, json, os, socket, struct, sys, time

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

def wait_for(condition):
    for _ in range(1000):  # 10 s at most
        if condition():
            return
        time.sleep(0.01)
    raise TimeoutError("the condition did not hold within 10 s")
`;

/** A running file server on a fresh temporary folder. */
export interface Setup {
  /** The temporary folder, removed afterwards. */
  root: string;
  /** The server's upload folder. */
  uploads: string;
  port: number;
  stdout(): string;
}

/** Runs the file server on a fresh temporary folder; it must exit 0 on SIGTERM. */
export async function withServer(
  args: string[],
  body: (setup: Setup) => Promise<void>,
  options: { uploads?: string } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "file_server_" });
  try {
    const uploads = `${root}/${options.uploads ?? "uploads"}`;
    await withExample(
      "file_server.ts",
      ["--port", "0", "--dir", uploads, ...args],
      (server) => body({ root, uploads, port: server.port, stdout: server.stdout }),
      // Least privilege: the server reads and writes the temporary folder only.
      { permissions: ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}`] },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Writes `size` random bytes to `path`, a mebibyte at a time. */
export async function randomFile(path: string, size: number): Promise<void> {
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

/** A file's MD5 hex digest, by `@std/crypto` (streamed: not the example's own code). */
export async function md5File(path: string): Promise<string> {
  // The readable closes the file at its end.
  const file = await Deno.open(path);
  return encodeHex(await crypto.subtle.digest("MD5", file.readable));
}

/** The names in a folder, sorted. */
export async function listing(folder: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(folder))).map((entry) => entry.name).sort();
}

export const MiB = 1024 * 1024;
