/**
 * The classic file server: uploads with a JSON header and an MD5 check, or a
 * download that sends one file. Its clients are examples/file_client.ts and
 * examples/python/file_client.py; docs/classic-examples.md has the details.
 *
 *     deno run --allow-net --allow-read --allow-write examples/file_server.ts [--dir uploads] [--ack]
 *     deno run --allow-net --allow-read examples/file_server.ts --serve-file PATH [--desc TEXT]
 *
 * Upload, per connection a loop of:
 *
 * ```
 * client                                               server
 *   struct.pack('i', len(h)) + h + N bytes  ------->    (h = {"action": "put", "filename": NAME, "filesize": N})
 *                                           <-------    OK
 *   md5 hex digest (32 bytes)               ------->
 *                                           <-------    203 (digest matches) or 204 (it does not)
 * ```
 *
 * With `--ack`, the classic acknowledged protocol, exactly: the JSON header
 * alone (no length prefix), the server's `200`, the N bytes, and nothing
 * more. A refused upload is answered `ERROR: <why>` instead of `OK` (or
 * `200`) and the connection is closed.
 *
 * The body streams to `--dir/.NAME.<random>.part` while its MD5 is computed,
 * so a file of any size passes in bounded memory; it takes its name only
 * once complete (and its digest matches), and is removed on a mismatch, a
 * broken connection, or a client silent for `--stall-timeout` seconds.
 * Names are cut to a safe basename (`safeName`); `--max-size` (one file),
 * `--max-total` (all of `--dir`) and an existing name (unless
 * `--overwrite`) are checked before a byte is written.
 *
 * Download (`--serve-file PATH`): on connect the server sends
 * `struct.pack('i', len(h))`, h = `{"file_name": NAME, "file_size": N,
 * "file_desc": TEXT}`, then the file, and closes.
 *
 * SIGINT or SIGTERM stops accepting, lets running transfers finish (up to
 * 30 s), exits 0.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  formatAddress,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
  isPeerGone,
  type JsonHeaderStreamFrame,
  ReadTimeoutError,
  StreamRequestHandler,
  ThreadingTCPServer,
} from "../mod.ts";
import { BareJsonDecoder } from "./_bare_json_decoder.ts";
import { fail, flag, parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import {
  answerAndClose,
  basename,
  CHUNK_SIZE,
  headerCodec,
  MAX_HEADER_BYTES,
  safeName,
} from "./_file_transfer.ts";
import { FolderQuota } from "./_folder_quota.ts";
import { PartFile } from "./_part_file.ts";

const cli = parseCommandLine({
  permissions: "--allow-net --allow-read --allow-write",
  about: "The classic file server: receives uploads (JSON header, body, MD5 check), " +
    "or with --serve-file sends one file to each client.",
  port: 9003,
  flags: {
    dir: flag.text("DIR", "where uploads go (default uploads)", "uploads"),
    maxSize: flag.bytes("the largest file accepted (default 1G)", 1024 ** 3),
    maxTotal: flag.bytes("the most --dir may hold in all (default 10G)", 10 * 1024 ** 3),
    overwrite: flag.switch("replace a file of the same name (default: refuse)"),
    ack: flag.switch("the acknowledged protocol: bare JSON header, 200, the bytes"),
    stallTimeout: flag.seconds("close a client that sends nothing this long (default 30)", 30),
    serveFile: flag.text("PATH", "send this file to each client instead", undefined),
    desc: flag.text("TEXT", "with --serve-file: its description", "a file"),
  },
});

const decoder = new TextDecoder();
const quota = new FolderQuota(cli.dir, cli.maxTotal);
/** A header that breaks the format: the stream is out of step, so the connection closes. */
const FORMAT_ERRORS = [FrameSyntaxError, InvalidLengthError, FrameTooLongError];
/** Added to a format error: the likely cause is a client in the other mode. */
const MODE_HINT = cli.ack
  ? "this server runs with --ack: send the JSON header alone, with no length before it"
  : "this server expects struct.pack('i', len(header)) before the header: is the client in --ack mode?";

/** Why an upload is refused before its first byte is stored, if it is. */
async function refusalFor(header: Record<string, unknown>, name: string | undefined) {
  const size = header.filesize;
  if (header.action !== "put") {
    return `unknown action ${JSON.stringify(header.action)} (only "put")`;
  }
  if (name === undefined) return `unusable filename ${JSON.stringify(header.filename)}`;
  if (!Number.isSafeInteger(size) || (size as number) < 0) {
    return `filesize must be a whole number of bytes, got ${JSON.stringify(size)}`;
  }
  if ((size as number) > cli.maxSize) {
    return `file too large: ${size} bytes exceeds --max-size ${cli.maxSize}`;
  }
  if (!cli.overwrite && await Deno.lstat(`${cli.dir}/${name}`).then(() => true, () => false)) {
    return `${name} exists (the server keeps files unless started with --overwrite)`;
  }
}

/** Receives uploads, one after another, until the client closes. */
class Upload extends StreamRequestHandler<JsonHeaderStreamFrame> {
  override codec = headerCodec("filesize");
  // A client that sends nothing for this long, mid-file or between files, is closed.
  override timeout = cli.stallTimeout;
  peer = "";

  override async handle(): Promise<void> {
    this.peer = formatAddress(this.clientAddress);
    try {
      while (await this.receiveOne());
    } catch (error) {
      if (FORMAT_ERRORS.some((type) => error instanceof type)) {
        // A header that breaks the format: say so, then close (the stream is out of step).
        await this.refuse(`${(error as Error).message} (${MODE_HINT})`);
      } else if (error instanceof ReadTimeoutError) {
        console.log(`${this.peer} stalled: nothing for ${cli.stallTimeout} s, closed`);
      } else if (error instanceof IncompleteFrameError || isPeerGone(error)) {
        console.log(`${this.peer} connection lost: ${(error as Error).message}`);
      } else {
        throw error;
      }
    }
  }

  /** One upload; `false` once the client has closed or was refused. */
  async receiveOne(): Promise<boolean> {
    const header = await this.readHeader();
    if (header === undefined) return false;
    const name = safeName(header.filename);
    const refusal = await refusalFor(header, name);
    if (refusal !== undefined) return await this.refuse(refusal);
    const size = header.filesize as number;
    const reservation = await quota.reserve(size);
    if (typeof reservation === "string") return await this.refuse(reservation);
    using _reserved = reservation;
    if (cli.ack) await this.wfile.write("200");
    const part = await PartFile.create(cli.dir, name!);
    try {
      const md5 = createHash("md5");
      for await (const chunk of this.body(size)) {
        md5.update(chunk);
        await part.write(chunk);
      }
      const digest = md5.digest("hex");
      if (!cli.ack) {
        await this.wfile.write("OK");
        const claimed = decoder.decode(await this.rfile.readExactly(32)).toLowerCase();
        if (claimed !== digest) {
          console.log(`${this.peer} ${name}: md5 mismatch (got ${claimed}, received ${digest})`);
          await this.wfile.write("204");
          return true;
        }
      }
      try {
        await part.commit(cli.overwrite);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        return await this.refuse(`${name} exists (it appeared while the upload ran)`);
      }
      console.log(`${this.peer} received ${name} (${size} bytes, md5 ${digest})`);
      if (!cli.ack) await this.wfile.write("203");
      return true;
    } finally {
      await part.discard();
    }
  }

  /** The next header: length-prefixed, or bare JSON with `--ack`; `undefined` at the end. */
  async readHeader(): Promise<Record<string, unknown> | undefined> {
    if (cli.ack) return await this.rfile.readFrame(new BareJsonDecoder(MAX_HEADER_BYTES));
    const event = await this.readFrame();
    if (event === undefined) return undefined;
    if (event.type !== "header") throw new Error(`Expected a header event, got ${event.type}`);
    return event.header;
  }

  /** The body's bytes as they arrive, never more than one read at a time. */
  async *body(size: number): AsyncGenerator<Uint8Array> {
    if (cli.ack) {
      for (let left = size; left > 0;) {
        const chunk = await this.rfile.read(Math.min(left, CHUNK_SIZE));
        if (chunk === null) throw new IncompleteFrameError(size - left, size);
        left -= chunk.length;
        yield chunk;
      }
      return;
    }
    for (;;) {
      const event = await this.readFrame();
      // The end of the stream cannot come mid-body (decodeEof throws IncompleteFrameError): defensive.
      if (event === undefined || event.type === "end") return;
      if (event.type === "body") yield event.chunk;
    }
  }

  /** Answers `ERROR: <why>` and closes; `false`: no more uploads. */
  async refuse(why: string): Promise<false> {
    console.log(`${this.peer} refused: ${why}`);
    await answerAndClose(this, `ERROR: ${why}`);
    return false;
  }
}

/** Sends `--serve-file` to each client: prefix, JSON header, the file. */
class Download extends StreamRequestHandler<JsonHeaderStreamFrame> {
  override codec = headerCodec();

  override async handle(): Promise<void> {
    const path = cli.serveFile!;
    using file = await Deno.open(path);
    const { size } = await file.stat();
    const header = { file_name: basename(path), file_size: size, file_desc: cli.desc };
    await this.writeFrame({ type: "header", header, bodySize: size });
    const buffer = new Uint8Array(CHUNK_SIZE);
    for (let sent = 0; sent < size;) {
      const count = await file.read(buffer.subarray(0, Math.min(buffer.length, size - sent)));
      if (count === null) throw new Error(`${path} shrank while sent: ${sent} of ${size} bytes`);
      // writeFrame waits until a full chunk is sent, so the buffer can be reused.
      await this.writeFrame({ type: "body", chunk: buffer.subarray(0, count) });
      sent += count;
    }
    await this.writeFrame({ type: "end" });
    await this.wfile.flush();
    console.log(`sent ${header.file_name} (${size} bytes) to ${formatAddress(this.clientAddress)}`);
  }
}

if (cli.serveFile !== undefined) {
  const info = await Deno.stat(cli.serveFile).catch(() => null);
  if (!info?.isFile) fail(`--serve-file ${cli.serveFile}: not a readable file`, 2);
} else {
  await Deno.mkdir(cli.dir, { recursive: true })
    .catch((error) => fail(`cannot create --dir ${cli.dir}: ${error.message}`));
}
const Handler = cli.serveFile === undefined ? Upload : Download;
await serve(cli, () => new ThreadingTCPServer({ hostname: cli.host, port: cli.port }, Handler));
