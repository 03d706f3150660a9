/**
 * The classic file server: uploads with a JSON header and an MD5 check, a
 * download that sends one file, and a client with a progress bar.
 *
 *     deno run --allow-net --allow-read --allow-write examples/file_server.ts
 *         [--host 127.0.0.1] [--port 9003] [--dir uploads] [--max-size 1G]
 *         [--overwrite] [--ack]                       receive uploads
 *         [--serve-file PATH] [--desc TEXT]           send PATH to each client
 *         [--client put FILE... | --client get]       be the client
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
 * With `--ack`, the acknowledged variant: the client sends the JSON header
 * alone (no length prefix), the server answers `200`, then the N bytes come;
 * the rest is the same. A refused upload is answered `ERROR: <why>` instead
 * of `OK` (or of `200`) and the connection is closed.
 *
 * The body is streamed to a temporary file in `--dir` (`.NAME.<random>.part`)
 * while its MD5 is computed, so a file of any size passes in bounded memory.
 * It takes its final name only when the digest matches (203); on a mismatch
 * (204) or a broken connection it is removed. Names are cut to a safe
 * basename (no directories, no leading dots: `../../x` is stored as `x`),
 * `--max-size` is checked before a byte is written, and an existing file is
 * kept unless `--overwrite` is given.
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

import {
  BufferedReader,
  type ByteWindow,
  formatAddress,
  type FrameDecoder,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
  isPeerGone,
  JsonHeaderStreamCodec,
  type JsonHeaderStreamFrame,
  pack,
  StreamRequestHandler,
  ThreadingTCPServer,
} from "../mod.ts";
import { parseFlags, runUntilSignal } from "./_cli.ts";
import { Md5 } from "./md5.ts";

const flags = parseFlags({
  dir: { type: "string" },
  "max-size": { type: "string" },
  overwrite: { type: "boolean" },
  ack: { type: "boolean" },
  "serve-file": { type: "string" },
  desc: { type: "string" },
  client: { type: "string" },
}, { port: 9003, allowPositionals: true });

const dir = String(flags.values.dir ?? "uploads");
const maxSize = parseSize(String(flags.values["max-size"] ?? "1G"));
const overwrite = flags.values.overwrite === true;
const ack = flags.values.ack === true;
const serveFile = flags.values["serve-file"] as string | undefined;
const description = String(flags.values.desc ?? "sent by examples/file_server.ts");

/** Python's `struct.pack('i', n)`: 4 bytes, little-endian, signed (explicitly, on any machine). */
const HEADER_LENGTH_FORMAT = "<i";
/** The largest JSON header accepted, with or without a length prefix. */
const MAX_HEADER_BYTES = 64 * 1024;
/** How long a refused client may go on sending before the connection is closed. */
const LINGER_SECONDS = 2;
const CHUNK_SIZE = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `1048576`, `512K`, `100M`, `1G` (powers of 1024) to bytes. */
function parseSize(text: string): number {
  const match = text.match(/^(\d+)([KMG]?)i?B?$/i);
  if (!match) {
    console.error(`--max-size must be bytes, or a number with K, M or G, got ${text}`);
    Deno.exit(2);
  }
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2].toUpperCase()]!;
  return Number(match[1]) * unit;
}

/**
 * A name that stays inside the folder: the last path part (after `/` or
 * `\`), without control characters and leading dots, at most 200 bytes.
 *
 * @returns The name, or `undefined` when nothing usable is left.
 */
export function safeName(name: unknown): string | undefined {
  if (typeof name !== "string") return undefined;
  // deno-lint-ignore no-control-regex
  let base = (name.split(/[/\\]/).pop() ?? "").replace(/[\x00-\x1f\x7f]/g, "").trim();
  base = base.replace(/^\.+/, "").trim();
  while (encoder.encode(base).length > 200) base = base.slice(0, -1);
  return base === "" ? undefined : base;
}

function basename(path: string): string {
  return path.split(/[/\\]/).pop() ?? path;
}

/**
 * A JSON object sent bare, with no length prefix (the `--ack` header): the
 * frame ends at the brace that closes the first one. Bounded by
 * `MAX_HEADER_BYTES`.
 */
class BareJsonDecoder implements FrameDecoder<Record<string, unknown>> {
  #scanned = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;

  decode(input: ByteWindow): Record<string, unknown> | undefined {
    const bytes = input.bytes;
    for (let at = input.start + this.#scanned; at < input.end; at++) {
      const byte = bytes[at];
      this.#scanned++;
      if (this.#depth === 0) {
        // Before the object: only whitespace may come first.
        if (byte === 0x7b) this.#depth = 1; // {
        else if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) {
          throw new FrameSyntaxError("the header is not a JSON object", this.#scanned - 1);
        }
      } else if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === 0x5c) this.#escaped = true; // backslash
        else if (byte === 0x22) this.#inString = false; // "
      } else if (byte === 0x22) {
        this.#inString = true;
      } else if (byte === 0x7b) {
        this.#depth++;
      } else if (byte === 0x7d && --this.#depth === 0) { // }
        return this.#parse(input.take(this.#scanned));
      }
    }
    if (this.#scanned > MAX_HEADER_BYTES) {
      throw new FrameTooLongError(this.#scanned, MAX_HEADER_BYTES);
    }
    return undefined;
  }

  decodeEof(input: ByteWindow): Record<string, unknown> | undefined {
    if (input.length === 0) return undefined;
    throw new IncompleteFrameError(input.length);
  }

  #parse(bytes: Uint8Array): Record<string, unknown> {
    this.#scanned = 0;
    try {
      return JSON.parse(decoder.decode(bytes));
    } catch {
      throw new FrameSyntaxError(`the ${bytes.length}-byte header is not valid JSON`);
    }
  }
}

/**
 * A file being received: written to a temporary name in the target folder,
 * and given its final name only by `commit()`. `discard()` removes it.
 */
class PartFile {
  readonly path: string;
  readonly finalPath: string;
  #file: Deno.FsFile | undefined;

  private constructor(path: string, finalPath: string, file: Deno.FsFile) {
    this.path = path;
    this.finalPath = finalPath;
    this.#file = file;
  }

  static async create(folder: string, name: string): Promise<PartFile> {
    const path = `${folder}/.${name}.${crypto.randomUUID().slice(0, 8)}.part`;
    const file = await Deno.open(path, { write: true, createNew: true });
    return new PartFile(path, `${folder}/${name}`, file);
  }

  async write(chunk: Uint8Array): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      offset += await this.#file!.write(chunk.subarray(offset));
    }
  }

  /** Closes the file and gives it its final name; refuses to replace a file unless `replace`. */
  async commit(replace: boolean): Promise<void> {
    this.#close();
    if (replace) {
      await Deno.rename(this.path, this.finalPath);
    } else {
      // link() fails if the name exists: no window in which another file is overwritten.
      await Deno.link(this.path, this.finalPath);
      await Deno.remove(this.path);
    }
  }

  /** Removes the temporary file, if it is still there. */
  async discard(): Promise<void> {
    this.#close();
    await Deno.remove(this.path).catch(() => {});
  }

  #close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Receives uploads, one after another, until the client closes. */
class Upload extends StreamRequestHandler<JsonHeaderStreamFrame> {
  override codec = new JsonHeaderStreamCodec({
    headerLengthFormat: HEADER_LENGTH_FORMAT,
    bodySizeField: "filesize",
    maxHeaderLength: MAX_HEADER_BYTES,
  });
  peer = "";

  override async handle(): Promise<void> {
    this.peer = formatAddress(this.clientAddress);
    try {
      while (await this.receiveOne());
    } catch (error) {
      // A header that breaks the format: say so, then close (the stream is out of step).
      if (
        error instanceof FrameSyntaxError || error instanceof InvalidLengthError ||
        error instanceof FrameTooLongError
      ) {
        return await this.refuse(error.message);
      }
      if (error instanceof IncompleteFrameError || isPeerGone(error)) {
        console.log(`${this.peer} connection lost: ${(error as Error).message}`);
        return;
      }
      throw error;
    }
  }

  /** One upload; `false` once the client has closed or was refused. */
  async receiveOne(): Promise<boolean> {
    const head = await this.readHeader();
    if (head === null) return false;
    const { header, size } = head;
    const name = safeName(header.filename);
    const refusal = header.action !== "put"
      ? `unknown action ${JSON.stringify(header.action)} (only "put")`
      : name === undefined
      ? `unusable filename ${JSON.stringify(header.filename)}`
      : !Number.isSafeInteger(size) || size < 0
      ? `filesize must be a whole number of bytes, got ${JSON.stringify(header.filesize)}`
      : size > maxSize
      ? `file too large: ${size} bytes exceeds --max-size ${maxSize}`
      : !overwrite && await exists(`${dir}/${name}`)
      ? `${name} exists (the server keeps files unless started with --overwrite)`
      : undefined;
    if (refusal !== undefined) {
      await this.refuse(refusal);
      return false;
    }
    if (ack) await this.wfile.write("200");
    const part = await PartFile.create(dir, name!);
    try {
      const md5 = new Md5();
      for await (const chunk of this.body(size)) {
        md5.update(chunk);
        await part.write(chunk);
      }
      await this.wfile.write("OK");
      const digest = decoder.decode(await this.rfile.readExactly(32)).toLowerCase();
      const expected = md5.hexdigest();
      if (digest !== expected) {
        console.log(`${this.peer} ${name}: md5 mismatch (got ${digest}, received ${expected})`);
        await this.wfile.write("204");
        return true;
      }
      try {
        await part.commit(overwrite);
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        await this.refuse(`${name} exists (it appeared while the upload ran)`);
        return false;
      }
      console.log(`${this.peer} received ${name} (${size} bytes, md5 ${expected})`);
      await this.wfile.write("203");
      return true;
    } finally {
      await part.discard();
    }
  }

  /** The next header: length-prefixed, or bare JSON with `--ack`; `null` at the end. */
  async readHeader(): Promise<{ header: Record<string, unknown>; size: number } | null> {
    if (ack) {
      const header = await this.rfile.readFrame(new BareJsonDecoder());
      return header === null ? null : { header, size: header.filesize as number };
    }
    const event = await this.readFrame();
    if (event === null) return null;
    if (event.type !== "header") throw new Error(`Expected a header event, got ${event.type}`);
    return { header: event.header, size: event.bodySize };
  }

  /** The body's bytes as they arrive, never more than one read at a time. */
  async *body(size: number): AsyncGenerator<Uint8Array> {
    if (ack) {
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
      // null cannot come mid-body (decodeEof throws IncompleteFrameError): defensive.
      if (event === null || event.type === "end") return;
      if (event.type === "body") yield event.chunk;
    }
  }

  /**
   * Answers `ERROR: <why>` and closes. What the client is still sending is
   * read and dropped for a moment first: closing a socket with unread bytes
   * resets the connection, and the client might lose the answer.
   */
  async refuse(why: string): Promise<void> {
    console.log(`${this.peer} refused: ${why}`);
    await this.wfile.write(`ERROR: ${why}`);
    await this.wfile.flush();
    await this.request.closeWrite();
    const deadline = Date.now() + LINGER_SECONDS * 1000;
    try {
      for (let left = LINGER_SECONDS; left > 0; left = (deadline - Date.now()) / 1000) {
        this.rfile.timeout = left;
        if (await this.rfile.read() === null) return;
      }
    } catch {
      // Timed out or reset: either way, done.
    }
  }
}

/** Sends `--serve-file` to each client: prefix, JSON header, the file. */
class Download extends StreamRequestHandler {
  headerCodec = new JsonHeaderStreamCodec({ headerLengthFormat: HEADER_LENGTH_FORMAT });

  override async handle(): Promise<void> {
    using file = await Deno.open(serveFile!);
    const { size } = await file.stat();
    const header = { file_name: basename(serveFile!), file_size: size, file_desc: description };
    await this.wfile.writeFrame(this.headerCodec, { type: "header", header, bodySize: size });
    const buffer = new Uint8Array(CHUNK_SIZE);
    for (let sent = 0; sent < size;) {
      const count = await file.read(buffer.subarray(0, Math.min(buffer.length, size - sent)));
      if (count === null) {
        throw new Error(`${serveFile} shrank while sent: ${sent} of ${size} bytes`);
      }
      // writeFrame waits until a full chunk is sent, so the buffer can be reused.
      await this.wfile.writeFrame(this.headerCodec, {
        type: "body",
        chunk: buffer.subarray(0, count),
      });
      sent += count;
    }
    await this.wfile.writeFrame(this.headerCodec, { type: "end" });
    await this.wfile.flush();
    console.log(`sent ${header.file_name} (${size} bytes) to ${formatAddress(this.clientAddress)}`);
  }
}

// ---- the client ----------------------------------------------------------

/** Bytes, percentage and rate on stderr: redrawn on a terminal, a line per tenth otherwise. */
class Progress {
  readonly #label: string;
  readonly #total: number;
  readonly #started = performance.now();
  readonly #terminal = Deno.stderr.isTerminal();
  #done = 0;
  #lastDraw = 0;
  #lastTenth = -1;

  constructor(label: string, total: number) {
    this.#label = label;
    this.#total = total;
  }

  add(count: number): void {
    this.#done += count;
    const now = performance.now();
    if (this.#terminal) {
      if (now - this.#lastDraw < 100 && this.#done < this.#total) return;
      this.#lastDraw = now;
      this.#write(`\r${this.#line(true)}`);
    } else {
      const tenth = this.#total === 0 ? 10 : Math.floor((this.#done / this.#total) * 10);
      if (tenth === this.#lastTenth) return;
      this.#lastTenth = tenth;
      this.#write(`${this.#line(false)}\n`);
    }
  }

  finish(): void {
    if (this.#lastTenth < 10 && !this.#terminal) this.add(0);
    if (this.#terminal) this.#write(`\r${this.#line(true)}\n`);
  }

  #line(bar: boolean): string {
    const fraction = this.#total === 0 ? 1 : this.#done / this.#total;
    const seconds = Math.max((performance.now() - this.#started) / 1000, 0.001);
    const filled = Math.round(fraction * 30);
    return [
      this.#label,
      bar ? `[${"#".repeat(filled)}${"-".repeat(30 - filled)}]` : "",
      `${(fraction * 100).toFixed(0).padStart(3)}%`,
      `${mib(this.#done)} / ${mib(this.#total)}`,
      `${mib(this.#done / seconds)}/s`,
    ].filter((part) => part !== "").join("  ");
  }

  #write(text: string): void {
    Deno.stderr.writeSync(encoder.encode(text));
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** Uploads each file over one connection; returns the exit code. */
async function clientPut(paths: string[]): Promise<number> {
  if (paths.length === 0) {
    console.error("usage: --client put FILE...");
    return 2;
  }
  using conn = await Deno.connect({ hostname: flags.hostname, port: flags.port });
  const reader = new BufferedReader(conn);
  const send = async (bytes: Uint8Array) => {
    for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
  };
  for (const path of paths) {
    using file = await Deno.open(path);
    const { size } = await file.stat();
    const json = encoder.encode(
      JSON.stringify({ action: "put", filename: basename(path), filesize: size }),
    );
    if (ack) {
      await send(json);
      const answer = decoder.decode(await reader.read(1024) ?? new Uint8Array());
      if (answer !== "200") return failed(answer);
    } else {
      await send(pack(HEADER_LENGTH_FORMAT, json.length));
      await send(json);
    }
    const md5 = new Md5();
    const progress = new Progress(basename(path), size);
    const buffer = new Uint8Array(CHUNK_SIZE);
    try {
      for (let sent = 0; sent < size;) {
        const count = await file.read(buffer.subarray(0, Math.min(buffer.length, size - sent)));
        if (count === null) throw new Error(`${path} shrank while sent: ${sent} of ${size} bytes`);
        const chunk = buffer.subarray(0, count);
        md5.update(chunk);
        await send(chunk);
        sent += count;
        progress.add(count);
      }
    } catch (error) {
      // The server may have refused the file and closed: its answer says why.
      const answer = await reader.read(1024).catch(() => null);
      return failed(answer ? decoder.decode(answer) : String(error));
    }
    progress.finish();
    const ok = decoder.decode(await reader.read(1024) ?? new Uint8Array());
    if (ok !== "OK") return failed(ok);
    const digest = md5.hexdigest();
    await send(encoder.encode(digest));
    const verdict = decoder.decode(await reader.readExactly(3));
    console.log(
      `${path}: ${verdict} (${verdict === "203" ? "md5 matches" : "md5 differs"}) ${digest}`,
    );
    if (verdict !== "203") return 1;
  }
  return 0;
}

/** Receives the server's file into `--dir`; returns the exit code. */
async function clientGet(): Promise<number> {
  using conn = await Deno.connect({ hostname: flags.hostname, port: flags.port });
  const reader = new BufferedReader(conn);
  const frames = reader.frames(
    new JsonHeaderStreamCodec({ headerLengthFormat: HEADER_LENGTH_FORMAT }),
  );
  const first = await frames.next();
  if (first.done || first.value.type !== "header") return failed("no header from the server");
  const { header, bodySize } = first.value;
  const name = safeName(header.file_name);
  if (name === undefined) return failed(`unusable file_name ${JSON.stringify(header.file_name)}`);
  await Deno.mkdir(dir, { recursive: true });
  const part = await PartFile.create(dir, name);
  try {
    const md5 = new Md5();
    const progress = new Progress(name, bodySize);
    for await (const event of frames) {
      if (event.type === "end") break;
      if (event.type !== "body") continue;
      md5.update(event.chunk);
      await part.write(event.chunk);
      progress.add(event.chunk.length);
    }
    progress.finish();
    await part.commit(overwrite);
    console.log(`${part.finalPath}: ${bodySize} bytes, md5 ${md5.hexdigest()}`);
    if (typeof header.file_desc === "string") console.log(header.file_desc);
    return 0;
  } finally {
    await part.discard();
  }
}

function failed(why: string): number {
  console.error(`failed: ${why}`);
  return 1;
}

// ---- main ----------------------------------------------------------------

if (flags.values.client !== undefined) {
  const mode = flags.values.client;
  const code = mode === "put"
    ? await clientPut(flags.positionals)
    : mode === "get"
    ? await clientGet()
    : (console.error(`--client must be put or get, got ${mode}`), 2);
  Deno.exit(code);
}
if (flags.positionals.length > 0) {
  console.error(`unexpected arguments: ${flags.positionals.join(" ")}`);
  Deno.exit(2);
}
if (serveFile !== undefined) {
  const info = await Deno.stat(serveFile).catch(() => null);
  if (!info?.isFile) {
    console.error(`--serve-file ${serveFile}: not a readable file`);
    Deno.exit(2);
  }
} else {
  await Deno.mkdir(dir, { recursive: true });
}
const server = new ThreadingTCPServer(
  { hostname: flags.hostname, port: flags.port },
  serveFile === undefined ? Upload : Download,
);
await runUntilSignal(server);
