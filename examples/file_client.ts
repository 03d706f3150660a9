/**
 * The client of examples/file_server.ts: uploads files, or downloads the one
 * a `--serve-file` server sends, with its progress on stderr.
 *
 *     deno run --allow-net --allow-read examples/file_client.ts put FILE... [--port 9003] [--ack]
 *     deno run --allow-net --allow-write examples/file_client.ts get [--dir downloads]
 *
 * put, per file: `struct.pack('i', len(h))`, the JSON header h, the bytes;
 * the server answers `OK`, the client sends the MD5 hex digest, the server
 * answers `203` (match) or `204`. With `--ack` (a server started with
 * `--ack`): the header alone, the server's `200`, the bytes; at the end the
 * client closes its side and waits for the server to close, which it does
 * once every file is stored.
 *
 * get: the server sends `struct.pack('i', len(h))`, h (`file_name`,
 * `file_size`, `file_desc`), then the file, which goes to `--dir` under a
 * safe name (created if needed; an existing file is kept unless
 * `--overwrite`).
 *
 * A server that says nothing for `--timeout` seconds (one in the other mode
 * waits for the client too) is given up on with a message saying so. Exit
 * 0 when every file went through; 1 (with one line on stderr) otherwise.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { BufferedReader, isPeerGone, pack, ReadTimeoutError } from "../mod.ts";
import { fail, flag, parseCommandLine } from "./_cli.ts";
import {
  basename,
  CHUNK_SIZE,
  HEADER_LENGTH_FORMAT,
  headerCodec,
  safeName,
} from "./_file_transfer.ts";
import { PartFile } from "./_part_file.ts";
import { Progress } from "./_progress.ts";

const cli = parseCommandLine({
  permissions: "--allow-net --allow-read --allow-write",
  about: "The client of examples/file_server.ts: put FILE... uploads, get downloads.",
  port: 9003,
  positionals: "put FILE... | get",
  flags: {
    ack: flag.switch("put with the acknowledged protocol (a server started with --ack)"),
    dir: flag.text("DIR", "get: where the file goes (default .)", "."),
    overwrite: flag.switch("get: replace a file of the same name (default: refuse)"),
    timeout: flag.seconds("give up on a server silent this long (default 10)", 10),
  },
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One connection to the server, with answers read within `--timeout`. */
class Connection {
  readonly conn: Deno.TcpConn;
  readonly reader: BufferedReader;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.reader = new BufferedReader(conn, { timeout: cli.timeout });
  }

  static async open(): Promise<Connection> {
    const conn = await Deno.connect({ hostname: cli.host, port: cli.port }).catch((error) =>
      fail(`cannot connect to ${cli.host}:${cli.port}: ${error.message}`)
    );
    return new Connection(conn);
  }

  async send(bytes: Uint8Array): Promise<void> {
    for (let offset = 0; offset < bytes.length;) {
      offset += await this.conn.write(bytes.subarray(offset));
    }
  }

  /** The server's next answer (`null` when it closed), or exit when none comes in time. */
  async answer(waitingFor: string): Promise<string | null> {
    try {
      const bytes = await this.reader.read(1024);
      return bytes === null ? null : decoder.decode(bytes);
    } catch (error) {
      if (error instanceof ReadTimeoutError) this.silent(waitingFor);
      throw error;
    }
  }

  /** Exits: the server said nothing in time, most likely as it waits in another mode. */
  silent(waitingFor: string): never {
    const mode = cli.ack ? "--ack: it must run with --ack" : MODES;
    fail(`no ${waitingFor} from the server within ${cli.timeout} s (is it in this mode? ${mode})`);
  }
}

const MODES = "put needs an upload server, without --ack; get needs one run with --serve-file";

/** Exits 1 with the server's refusal, or what it said instead of an answer. */
function refused(path: string, answer: string | null): never {
  if (answer === null) fail(`${path}: the server closed the connection (${MODES})`);
  if (answer.startsWith("ERROR")) fail(`${path}: refused: ${answer}`);
  fail(`${path}: unexpected answer ${JSON.stringify(answer.slice(0, 40))} (${MODES})`);
}

/** Uploads one file; prints what the server said. */
async function put(connection: Connection, path: string): Promise<void> {
  using file = await Deno.open(path).catch((error) =>
    fail(`cannot read ${path}: ${error.message}`)
  );
  const { size } = await file.stat();
  const header = encoder.encode(
    JSON.stringify({ action: "put", filename: basename(path), filesize: size }),
  );
  const md5 = createHash("md5");
  const progress = new Progress(basename(path), size);
  try {
    if (cli.ack) {
      await connection.send(header);
      const answer = await connection.answer("200");
      if (answer !== "200") refused(path, answer);
    } else {
      await connection.send(pack(HEADER_LENGTH_FORMAT, header.length));
      await connection.send(header);
    }
    const buffer = new Uint8Array(CHUNK_SIZE);
    for (let sent = 0; sent < size;) {
      const count = await file.read(buffer.subarray(0, Math.min(buffer.length, size - sent)));
      if (count === null) fail(`${path} shrank while sent: ${sent} of ${size} bytes`);
      md5.update(buffer.subarray(0, count));
      await connection.send(buffer.subarray(0, count));
      sent += count;
      progress.add(count);
    }
  } catch (error) {
    if (!isPeerGone(error)) throw error;
    // The server refused the file and closed: its answer says why.
    refused(path, await connection.answer("answer").catch(() => null));
  }
  await progress.finish();
  const digest = md5.digest("hex");
  if (cli.ack) return console.log(`${path}: sent ${size} bytes, md5 ${digest}`);
  const ok = await connection.answer("OK");
  if (ok !== "OK") refused(path, ok);
  await connection.send(encoder.encode(digest));
  const verdict = await connection.answer("verdict");
  if (verdict !== "203" && verdict !== "204") refused(path, verdict);
  console.log(
    `${path}: ${verdict} (${verdict === "203" ? "md5 matches" : "md5 differs"}) ${digest}`,
  );
  if (verdict !== "203") Deno.exit(1);
}

/** Receives the server's file into `--dir`. */
async function get(connection: Connection): Promise<void> {
  const frames = connection.reader.frames(headerCodec());
  const first = await frames.next().catch((error) => {
    if (error instanceof ReadTimeoutError) connection.silent("file");
    fail(`not a file header: ${error.message} (${MODES})`);
  });
  if (first.done || first.value.type !== "header") fail(`no file from the server (${MODES})`);
  const { header, bodySize } = first.value;
  const name = safeName(header.file_name);
  if (name === undefined) fail(`unusable file_name ${JSON.stringify(header.file_name)}`);
  await Deno.mkdir(cli.dir, { recursive: true });
  const part = await PartFile.create(cli.dir, name);
  try {
    const md5 = createHash("md5");
    const progress = new Progress(name, bodySize);
    for await (const event of frames) {
      if (event.type === "end") break;
      if (event.type !== "body") continue;
      md5.update(event.chunk);
      await part.write(event.chunk);
      progress.add(event.chunk.length);
    }
    await progress.finish();
    await part.commit(cli.overwrite).catch((error) =>
      fail(`${part.finalPath}: ${error instanceof Deno.errors.AlreadyExists ? "exists" : error}`)
    );
    console.log(`${part.finalPath}: ${bodySize} bytes, md5 ${md5.digest("hex")}`);
    if (typeof header.file_desc === "string") console.log(header.file_desc);
  } finally {
    await part.discard();
  }
}

const [command, ...paths] = cli.positionals;
if (!(command === "put" && paths.length > 0) && !(command === "get" && paths.length === 0)) {
  fail("say put FILE... or get (see --help)", 2);
}
const connection = await Connection.open();
if (command === "get") {
  await get(connection);
} else {
  for (const path of paths) await put(connection, path);
  if (cli.ack) {
    // No answer in the acknowledged protocol: the server closing says every file is stored.
    await connection.conn.closeWrite();
    const answer = await connection.answer("close");
    if (answer !== null) refused(paths.at(-1)!, answer);
  }
}
connection.conn.close();
