// Micro-benchmarks, so a regression in a codec or in the reader/writer shows
// in isolation: `deno bench bench/codecs_bench.ts`. Each decode bench takes
// FRAMES frames of 64 bytes (RespCodec: FRAMES commands) from one large
// buffer (frames/s = FRAMES / time); "inline length-prefix loop" is the
// hand-written baseline with no codec.

import { concat } from "@std/bytes/concat";
import {
  BufferedReader,
  BufferedWriter,
  ByteWindow,
  type Codec,
  DelimiterCodec,
  encodeFrame,
  FixedLengthCodec,
  JsonHeaderCodec,
  type JsonHeaderFrame,
  LengthPrefixedCodec,
  LinesCodec,
  NetstringCodec,
  RespCodec,
  VarintLengthCodec,
} from "../mod.ts";

const FRAMES = 10_000;
const PAYLOAD = new Uint8Array(64).fill(0x61); // "aaaa…": no delimiter inside

/** FRAMES encoded frames in one buffer. */
function wire<Input>(codec: Codec<unknown, Input>, frame: Input): Uint8Array {
  const one = encodeFrame(codec, frame);
  return concat(Array.from({ length: FRAMES }, () => one));
}

/** Decodes every frame of `bytes`; throws unless there are FRAMES of them. */
function decodeAll(codec: Codec<unknown, never>, bytes: Uint8Array): void {
  const decoder = codec.decoder();
  const window = new ByteWindow(bytes);
  let count = 0;
  while (decoder.decode(window) !== undefined) count++;
  if (count !== FRAMES) throw new Error(`decoded ${count} of ${FRAMES} frames`);
}

const text = "a".repeat(64);
const cases: { name: string; codec: Codec<unknown, never>; bytes: Uint8Array }[] = [
  { name: "LengthPrefixedCodec !I", codec: new LengthPrefixedCodec() },
  {
    name: "LengthPrefixedCodec i (struct.pack('i'))",
    codec: new LengthPrefixedCodec({ format: "i" }),
  },
  { name: "VarintLengthCodec", codec: new VarintLengthCodec() },
  { name: "FixedLengthCodec", codec: new FixedLengthCodec({ frameLength: 64 }) },
  { name: "NetstringCodec", codec: new NetstringCodec() },
  { name: "DelimiterCodec \\n", codec: new DelimiterCodec() },
].map(({ name, codec }) => ({
  name,
  codec: codec as Codec<unknown, never>,
  bytes: wire(codec as Codec<unknown, Uint8Array>, PAYLOAD),
}));
const lines = new LinesCodec();
cases.push({ name: "LinesCodec (UTF-8 text)", codec: lines, bytes: wire(lines, text) });
const json = new JsonHeaderCodec();
const jsonFrame: JsonHeaderFrame = { header: { file_name: "a.txt" }, body: PAYLOAD };
cases.push({
  name: "JsonHeaderCodec (header + 64-byte body)",
  codec: json,
  bytes: wire(json, jsonFrame),
});

// Redis commands as redis-benchmark pipelines them: FRAMES commands in one buffer.
const resp = new RespCodec();
const commands = (text: string) => new TextEncoder().encode(text.repeat(FRAMES));
cases.push(
  { name: "RespCodec PING (*1 $4 PING)", codec: resp, bytes: commands("*1\r\n$4\r\nPING\r\n") },
  {
    name: "RespCodec SET key value",
    codec: resp,
    bytes: commands("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"),
  },
  { name: "RespCodec inline PING", codec: resp, bytes: commands("PING\r\n") },
);

for (const { name, codec, bytes } of cases) {
  Deno.bench({ name, group: "decode 10,000 frames", fn: () => decodeAll(codec, bytes) });
}

const lengthWire = cases[0].bytes;
Deno.bench({
  name: "inline length-prefix loop",
  group: "decode 10,000 frames",
  baseline: true,
  fn() {
    // What a hand-written server does: no codec object, no frame objects kept.
    const bytes = lengthWire;
    let start = 0;
    let count = 0;
    let payloadBytes = 0;
    while (bytes.length - start >= 4) {
      const length = ((bytes[start] << 24) | (bytes[start + 1] << 16) | (bytes[start + 2] << 8) |
        bytes[start + 3]) >>> 0;
      if (bytes.length - start < 4 + length) break;
      // The frame view is made and used, as the codecs make theirs.
      payloadBytes += bytes.subarray(start + 4, start + 4 + length).length;
      count++;
      start += 4 + length;
    }
    if (count !== FRAMES || payloadBytes !== FRAMES * 64) throw new Error("decoded wrong");
  },
});

// The reader and writer over in-memory ends: 16 frames per read, one flush per batch.
const lengthCodec = new LengthPrefixedCodec();
const batch = concat(Array.from({ length: 16 }, () => encodeFrame(lengthCodec, PAYLOAD)));

/** `batches` copies of `batch`, each offered as one read, as a socket would (at most `p.length`). */
function memorySource(batches: number) {
  let left = batches;
  let offset = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (left === 0) return Promise.resolve(null);
      const count = Math.min(p.length, batch.length - offset);
      p.set(batch.subarray(offset, offset + count));
      offset += count;
      if (offset === batch.length) {
        offset = 0;
        left--;
      }
      return Promise.resolve(count);
    },
  };
}
const discard = { write: (p: Uint8Array) => Promise.resolve(p.length) };

for (const reuseBuffer of [false, true]) {
  Deno.bench({
    name: `BufferedReader frames() + BufferedWriter writeFrame${
      reuseBuffer ? " (reuseBuffer)" : ""
    }`,
    group: "echo 10,000 frames in memory",
    async fn() {
      const writer = new BufferedWriter(discard);
      const reader = new BufferedReader(memorySource(FRAMES / 16), {
        beforeWait: () => writer.flush(),
        reuseBuffer,
      });
      for await (const frame of reader.frames(lengthCodec)) {
        await writer.writeFrame(lengthCodec, frame);
      }
      await writer.close();
    },
  });
}
