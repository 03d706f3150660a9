// In-process benchmarks of the hot path, with no sockets (so figures hold up
// on a busy machine): `deno bench bench/handler_bench.ts`. A stream handler
// runs over an in-memory connection that delivers what "arrived" per read, as
// loopback does: a pipelined batch, or a piece of a large frame. Writes are
// counted and dropped. Time per frame = time per iteration / frames echoed.
//
// "inline loop" is bench/servers/raw_deno.ts's loop (read, decode every frame
// buffered, re-encode into one output buffer, one write per read): what the
// framework's per-frame and per-batch machinery is measured against. Both
// handler styles use the default settings (frameTimeout 300 s, no reuse for
// the `for await` style).

import { type Codec, LengthPrefixedCodec, StreamRequestHandler } from "../mod.ts";
import { serveConnection } from "./servers/raw_deno.ts";

const HEADER_LENGTH = 4;

interface Workload {
  name: string;
  payload: number;
  /** Frames echoed per bench iteration. */
  frames: number;
  /** Frames that arrive together (a client's batch). */
  batch: number;
}

const WORKLOADS: Workload[] = [
  { name: "10,000 64-byte frames, 1 per read (ping-pong)", payload: 64, frames: 10_000, batch: 1 },
  {
    name: "10,000 64-byte frames, 16 per read (pipelined)",
    payload: 64,
    frames: 10_000,
    batch: 16,
  },
  { name: "100 256 KiB frames, 64 KiB per read", payload: 256 * 1024, frames: 100, batch: 1 },
];
/** The most one read returns, as a socket's receive buffer does. */
const MAX_READ = 64 * 1024;

/** `frames` length-prefixed frames of `payload` bytes each, in one buffer. */
function wire(payload: number, frames: number): Uint8Array {
  const one = new Uint8Array(HEADER_LENGTH + payload).fill(0x61);
  new DataView(one.buffer).setUint32(0, payload);
  const bytes = new Uint8Array(one.length * frames);
  for (let i = 0; i < frames; i++) bytes.set(one, i * one.length);
  return bytes;
}

/**
 * A connection over `bytes`: what arrives is one batch of `batchBytes` at a
 * time, and a read returns what has arrived, at most MAX_READ bytes (the
 * rest of the batch comes with the next read), then end of stream; writes
 * are counted and dropped.
 */
class MemoryConn {
  written = 0;
  #offset = 0;
  #arrived = 0;
  readonly #bytes: Uint8Array;
  readonly #batchBytes: number;

  constructor(bytes: Uint8Array, batchBytes: number) {
    this.#bytes = bytes;
    this.#batchBytes = batchBytes;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#offset === this.#arrived) {
      this.#arrived = Math.min(this.#bytes.length, this.#offset + this.#batchBytes);
    }
    const count = Math.min(p.length, this.#arrived - this.#offset, MAX_READ);
    if (count === 0) return Promise.resolve(null);
    p.set(this.#bytes.subarray(this.#offset, this.#offset + count));
    this.#offset += count;
    return Promise.resolve(count);
  }

  write(p: Uint8Array): Promise<number> {
    this.written += p.length;
    return Promise.resolve(p.length);
  }

  setNoDelay(): void {}

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}

function check(conn: MemoryConn, expected: number): void {
  if (conn.written !== expected) throw new Error(`echoed ${conn.written} of ${expected} bytes`);
}

/** bench/servers/raw_deno.ts's connection loop itself, over the in-memory connection. */
function inlineLoop(conn: MemoryConn): Promise<void> {
  return serveConnection(conn as unknown as Deno.TcpConn);
}

const codec: Codec<Uint8Array> = new LengthPrefixedCodec();

/** The pull style, as users write it: `for await` over frames, `await writeFrame`. */
class PullEcho extends StreamRequestHandler<Uint8Array> {
  override codec = codec;
  override async handle(): Promise<void> {
    for await (const frame of this.frames()) await this.writeFrame(frame);
  }
}

/** The push style: `handleFrame` called for every frame buffered, `sendFrame` with no promise. */
class PushEcho extends StreamRequestHandler<Uint8Array> {
  override codec = codec;
  override handleFrame(frame: Uint8Array): void {
    this.sendFrame(frame);
  }
}

/** Runs one handler over `conn` as a server does: setup, handle, finish. */
async function serve(Handler: typeof StreamRequestHandler<Uint8Array>, conn: MemoryConn) {
  const handler = new Handler(
    conn as unknown as Deno.Conn,
    { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    { shutdown: () => Promise.resolve() },
  );
  handler.setup();
  try {
    await handler.handle();
  } finally {
    await handler.finish();
  }
}

for (const workload of WORKLOADS) {
  const bytes = wire(workload.payload, workload.frames);
  const group = `echo ${workload.name}`;
  const conn = () => new MemoryConn(bytes, workload.batch * (HEADER_LENGTH + workload.payload));
  Deno.bench({
    name: "inline loop (raw_deno.ts)",
    group,
    baseline: true,
    async fn() {
      const c = conn();
      await inlineLoop(c);
      check(c, bytes.length);
    },
  });
  Deno.bench({
    name: "handleFrame(): sendFrame()",
    group,
    async fn() {
      const c = conn();
      await serve(PushEcho, c);
      check(c, bytes.length);
    },
  });
  Deno.bench({
    name: "handle(): for await frames() + await writeFrame()",
    group,
    async fn() {
      const c = conn();
      await serve(PullEcho, c);
      check(c, bytes.length);
    },
  });
}
