// A small sample of `deno task fuzz` in the default test run: 300 cases per
// target with a fixed seed, in workers watched for hangs. Then the fuzz
// harness itself is checked: it must catch decoders that are broken in each
// way it claims to catch.

import { assertEquals, assertMatch, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  type ByteWindow,
  type Codec,
  type FrameDecoder,
  FrameTooLongError,
  IncompleteFrameError,
} from "@socketserver/core/framing";
import { fuzz, runJob } from "./harness.ts";
import { codecTarget, encodeWith, runTarget, TARGETS } from "./targets.ts";

const SAMPLE_CASES = 300;
const SEED = 20251122;

Deno.test(`fuzz sample: ${SAMPLE_CASES} cases for each of the ${TARGETS.length} targets`, async () => {
  const results = await fuzz({ cases: SAMPLE_CASES, perTarget: true, seed: SEED });
  assertEquals(results.map((result) => result.name), TARGETS.map((target) => target.name));
  for (const result of results) {
    assertEquals(result.failure, undefined, `${result.name}:\n${result.failure}`);
    assertEquals(result.cases, SAMPLE_CASES, result.name);
  }
});

// --- the harness catches what it claims to -----------------------------------------

/**
 * A one-byte-length codec (`[n, ...n bytes]`, n at most 8) whose decoder
 * misbehaves as `broken` says once it sees a byte 0xEE (and, with
 * `dropAtEof`, silently drops what is left at the end of the stream).
 */
function brokenCodec(
  broken: Broken,
  dropAtEof = false,
): Codec<Uint8Array, Uint8Array> {
  const correct = (input: ByteWindow): Uint8Array | undefined => {
    if (input.length < 1) return undefined;
    const length = input.bytes[input.start];
    if (length > 8) throw new FrameTooLongError(length, 8);
    if (input.length < 1 + length) return undefined;
    input.advance(1);
    return input.take(length);
  };
  const decoder: FrameDecoder<Uint8Array> = {
    decode(input) {
      return input.view().includes(0xee) ? broken(input, correct) : correct(input);
    },
    decodeEof(input) {
      if (dropAtEof) input.start = input.end;
      const frame = this.decode(input);
      if (frame === undefined && input.length > 0) throw new IncompleteFrameError(input.length);
      return frame;
    },
  };
  return {
    decoder: () => decoder,
    encode(frame, sink) {
      if (frame.length > 8) throw new RangeError("too long");
      sink.write(Uint8Array.of(frame.length));
      sink.write(frame);
    },
  };
}

/** A broken decode step; `correct` is what it should have done. */
type Broken = (
  input: ByteWindow,
  correct: (input: ByteWindow) => Uint8Array | undefined,
) => Uint8Array | undefined;

const brokenCases: {
  name: string;
  broken: Broken;
  dropAtEof?: boolean;
  report: RegExp;
}[] = [
  {
    name: "an error that is not a typed framing error",
    broken: () => {
      throw new TypeError("Cannot read properties of undefined");
    },
    report: /TypeError: Cannot read properties of undefined/,
  },
  {
    name: "frames that consume nothing (a loop)",
    broken: () => new Uint8Array(0),
    report: /Hang: two frames in a row consumed no byte/,
  },
  {
    name: "buffering without a bound",
    // Correct on short input, so only the bound can tell.
    broken: (input, correct) => input.length > 9 ? undefined : correct(input),
    dropAtEof: true,
    report: /Buffered \d+ bytes after decode returned undefined; the limit allows 9/,
  },
  {
    name: "reserving what a hostile length asks for",
    broken: (input) => {
      input.reserve(1 << 30);
      input.start = input.end;
      return undefined;
    },
    report: /Reserved 1073741824 bytes; the limit allows 9/,
  },
  {
    name: "reading past the end of the window",
    broken: (input) => {
      const frame = input.bytes.subarray(input.start, input.end + 2);
      input.start = input.end + 2;
      return frame;
    },
    report: /Window moved/,
  },
];

for (const c of brokenCases) {
  Deno.test(`fuzz harness catches a decoder with ${c.name}`, () => {
    const codec = brokenCodec(c.broken, c.dropAtEof);
    const target = codecTarget<Uint8Array, Uint8Array>({
      name: c.name,
      weight: 1,
      codec,
      encode: (inputs) => encodeWith(codec, inputs),
      // 0xEE bytes are common, so the broken path is found at once.
      inputs: fc.array(
        fc.array(fc.constantFrom(1, 2, 0xee), { maxLength: 8, size: "max" })
          .map((b) => Uint8Array.from(b)),
        { maxLength: 4, size: "max" },
      ),
      expected: (encoded) => encoded,
      collect: (frames) => frames,
      maxBuffered: 9,
      checkFrame: () => {},
    });
    const error = assertThrows(() => runTarget(target, 500, SEED), Error);
    assertMatch(error.message, c.report);
  });
}

Deno.test("fuzz harness reports a worker stuck inside one call as hung, and stops it", async () => {
  // Stands in for a decoder that loops inside `decode`: no heartbeat ever comes.
  const source = "self.onmessage = () => { for (;;) {} };";
  const worker = new Worker(`data:application/javascript,${encodeURIComponent(source)}`, {
    type: "module",
  });
  try {
    const result = await runJob(worker, "stuck", 10, { seed: SEED, stallSeconds: 0.2 });
    assertMatch(result.failure ?? "", /^Hung: no progress for 0\.2 s after about 0 cases/);
  } finally {
    worker.terminate();
  }
});
