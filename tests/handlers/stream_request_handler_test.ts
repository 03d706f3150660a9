// StreamRequestHandler's frame style, over real sockets: `handleFrame(frame)`
// called for every frame already received with no promise, `sendFrame(reply)`
// appended to one write per batch, a returned promise holding the frames
// after it, errors, back-pressure, and the reused read buffer.

import { assert, assertEquals, assertInstanceOf, assertLessOrEqual } from "@std/assert";
import { connect, LengthPrefixedCodec, LinesCodec } from "@socketserver/core";
import {
  type RequestHandlerClass,
  StreamRequestHandler,
  ThreadingTCPServer,
} from "@socketserver/core/server";
import { readToEnd, recordWrites } from "../support/clients.ts";
import { concat } from "../support/wire.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const text = new TextEncoder();
const codec = new LengthPrefixedCodec();

/** A length-prefixed frame: 4-byte big-endian length, then `payload`. */
function frameOf(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** Runs `body` against a threading server of `Handler`; collects handleError's errors. */
async function withServer(
  Handler: RequestHandlerClass<Deno.Conn, Deno.Addr>,
  body: (address: ThreadingTCPServer["address"], errors: unknown[]) => Promise<void>,
): Promise<void> {
  const errors: unknown[] = [];
  await using server = new ThreadingTCPServer(LOCALHOST, Handler);
  server.handleError = (error) => void errors.push(error);
  const serving = server.serveForever();
  await body(server.address, errors);
  await server.shutdown();
  await serving;
  await server.serverClose();
}

/** Replies to each frame with its bytes reversed. */
class Reverse extends StreamRequestHandler<Uint8Array> {
  override codec = codec;
  override handleFrame(frame: Uint8Array): void {
    this.sendFrame(frame.toReversed());
  }
}

Deno.test("handleFrame: the replies to a pipelined batch leave in one write", async () => {
  const writes: number[] = [];
  class Counting extends Reverse {
    override setup(): void {
      super.setup();
      recordWrites(this.request, writes);
    }
  }
  await withServer(Counting, async (address) => {
    await using client = await connect(address, { codec });
    const frames = Array.from({ length: 16 }, (_, i) => text.encode(`frame ${i}`));
    await client.sendAll(frames);
    const replies = [];
    for (let i = 0; i < 16; i++) replies.push(await client.receive());
    assertEquals(replies, frames.map((frame) => frame.toReversed()));
  });
  // One batch in (one sendAll), one write out: 16 frames of 4 + 7..8 bytes.
  assertEquals(writes, [16 * 4 + 10 * 7 + 6 * 8]);
});

Deno.test("handleFrame: a frame whose handler returns a promise holds the frames after it", async () => {
  const events: string[] = [];
  class Slow extends StreamRequestHandler<string> {
    override codec = new LinesCodec();
    override handleFrame(line: string): void | Promise<void> {
      events.push(`start ${line}`);
      if (line !== "slow") return this.sendFrame(line);
      // A wait on the event loop (a timer), not just a microtask.
      return new Promise((resolve) =>
        setTimeout(() => {
          events.push("slow done");
          this.sendFrame(line);
          resolve();
        }, 20)
      );
    }
  }
  await withServer(Slow, async (address) => {
    await using client = await connect(address, { codec: new LinesCodec() });
    await client.sendAll(["a", "slow", "b", "c"]);
    await client.closeWrite();
    assertEquals(await Array.fromAsync(client), ["a", "slow", "b", "c"]);
  });
  assertEquals(events, ["start a", "start slow", "slow done", "start b", "start c"]);
});

Deno.test("handleFrame: a throw mid-batch ends the connection, and replies written before it are sent", async () => {
  class Picky extends StreamRequestHandler<Uint8Array> {
    override codec = codec;
    override handleFrame(frame: Uint8Array): void {
      if (frame[0] === 0x21) throw new SyntaxError("Cannot handle frame: it starts with !");
      this.sendFrame(frame);
    }
  }
  await withServer(Picky, async (address, errors) => {
    using conn = await Deno.connect(address);
    const batch = ["one", "two", "!bad", "four"].map((word) => frameOf(text.encode(word)));
    await conn.write(concat(batch));
    // The two replies, then end of stream: the frames after the throw are not handled.
    assertEquals(await readToEnd(conn), concat(batch.slice(0, 2)));
    while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assertEquals(errors.length, 1);
    assertInstanceOf(errors[0], SyntaxError);
    assertEquals((errors[0] as Error).message, "Cannot handle frame: it starts with !");
  });
});

Deno.test("handleFrame: 256 KiB frames are echoed intact while the read buffer is reused", async () => {
  class Echo extends StreamRequestHandler<Uint8Array> {
    override codec = codec;
    override handleFrame(frame: Uint8Array): void {
      this.sendFrame(frame);
    }
  }
  await withServer(Echo, async (address) => {
    await using client = await connect(address, { codec });
    // Each frame differs from the one before it, so a reply built from
    // overwritten bytes could not pass.
    const frames = Array.from({ length: 12 }, (_, i) => {
      const frame = new Uint8Array(256 * 1024);
      for (let at = 0; at < frame.length; at++) frame[at] = (at * 7 + i * 31) & 0xff;
      return frame;
    });
    const sending = client.sendAll(frames);
    for (const [i, expected] of frames.entries()) {
      const reply = (await client.receive())!;
      assertEquals(reply.length, expected.length, `frame ${i}: length`);
      const at = reply.findIndex((byte, j) => byte !== expected[j]);
      assertEquals(at, -1, `frame ${i}: first difference at ${at}`);
    }
    await sending;
  });
});

Deno.test("handleFrame: a frame kept past the call must be copied; copies stay right", async () => {
  // The frame is a view of the read buffer, which the next read reuses:
  // `frame.slice()` is what a handler keeps.
  let kept: Uint8Array[] = [];
  class Keep extends StreamRequestHandler<Uint8Array> {
    override codec = codec;
    #kept: Uint8Array[] = [];
    override handleFrame(frame: Uint8Array): void {
      this.#kept.push(frame.slice());
    }
    override async finish(): Promise<void> {
      kept = this.#kept;
      await super.finish();
    }
  }
  const sent = Array.from({ length: 200 }, (_, i) => text.encode(`frame ${i} `.repeat(i % 7 + 1)));
  await withServer(Keep, async (address) => {
    using conn = await Deno.connect(address);
    // Several writes, so the server reads (and reuses its buffer) several times.
    for (let i = 0; i < sent.length; i += 25) {
      await conn.write(concat(sent.slice(i, i + 25).map(frameOf)));
    }
    await conn.closeWrite();
    assertEquals(await readToEnd(conn), new Uint8Array(0));
  });
  assertEquals(kept, sent);
});

Deno.test("handleFrame: a client that does not read stops the decoding, so memory stays bounded", async () => {
  // Each 8-byte request asks for a 64 KiB reply: 4,000 requests ask for 250
  // MiB, far more than socket buffers hold, and the client reads nothing
  // until the server has stopped making progress.
  const reply = new Uint8Array(64 * 1024).fill(0x61);
  const writeBufferSize = 65536;
  let handled = 0;
  let mostBuffered = 0;
  let mostRead = 0;
  class Amplify extends StreamRequestHandler<Uint8Array> {
    override codec = codec;
    override writeBufferSize = writeBufferSize;
    override handleFrame(): void {
      handled++;
      mostRead = Math.max(mostRead, this.rfile.buffered);
      this.sendFrame(reply);
      mostBuffered = Math.max(mostBuffered, this.wfile.buffered);
    }
  }
  await withServer(Amplify, async (address) => {
    using conn = await Deno.connect(address);
    const requests = concat(Array.from({ length: 4000 }, () => frameOf(text.encode("please!!"))));
    const sending = conn.write(requests);
    // Wait until the count stops moving (a server without back-pressure
    // would have handled all 4,000 by then, into memory).
    for (let last = -1, still = 0; still < 5; still = handled === last ? still + 1 : 0) {
      last = handled;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert(handled < 4000, `all ${handled} requests were handled with no reader`);
    // Read every reply: the server goes on, and every request is answered.
    let received = 0;
    const buffer = new Uint8Array(1 << 20);
    while (received < 4000 * (4 + reply.length)) {
      const count = await conn.read(buffer);
      if (count === null) break;
      received += count;
    }
    assertEquals(received, 4000 * (4 + reply.length));
    await sending;
  });
  assertEquals(handled, 4000);
  // At most one reply past the threshold waits in the writer; the reader holds at most its buffer.
  assertLessOrEqual(mostBuffered, writeBufferSize + 4 + reply.length);
  assertLessOrEqual(mostRead, 64 * 1024);
});

Deno.test("handleFrame: a greeting from handle() first, then the frame loop with super.handle()", async () => {
  class Greet extends StreamRequestHandler<string> {
    override codec = new LinesCodec();
    override async handle(): Promise<void> {
      const name = await this.readFrame();
      this.sendFrame(`hello ${name}`);
      await super.handle();
    }
    override handleFrame(line: string): void {
      this.sendFrame(line.toUpperCase());
    }
  }
  await withServer(Greet, async (address) => {
    await using client = await connect(address, { codec: new LinesCodec() });
    await client.sendAll(["ada", "x", "y"]);
    await client.closeWrite();
    assertEquals(await Array.fromAsync(client), ["hello ada", "X", "Y"]);
  });
});

Deno.test("handleFrame without a codec: a TypeError naming the handler goes to handleError", async () => {
  class NoCodec extends StreamRequestHandler {
    override handleFrame(): void {}
  }
  await withServer(NoCodec, async (address, errors) => {
    using conn = await Deno.connect(address);
    assertEquals(await conn.read(new Uint8Array(1)), null);
    while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assertInstanceOf(errors[0], TypeError);
    assertEquals(
      (errors[0] as Error).message,
      "Cannot read or write frames: NoCodec has no codec (set the codec field)",
    );
  });
});

Deno.test("a handler that overrides neither handle() nor handleFrame() closes at once, as Python's", async () => {
  class Nothing extends StreamRequestHandler<Uint8Array> {
    override codec = codec;
  }
  await withServer(Nothing, async (address) => {
    using conn = await Deno.connect(address);
    await conn.write(frameOf(text.encode("anyone?")));
    assertEquals(await readToEnd(conn), new Uint8Array(0));
  });
});

// --- a new user's first hour -----------------------------------------------------------

const forgetfulCases: { name: string; use: (handler: StreamRequestHandler) => Promise<unknown> }[] =
  [
    { name: "rfile", use: (handler) => handler.rfile.readline() },
    { name: "wfile", use: (handler) => handler.wfile.write("hello\n") },
  ];

for (const c of forgetfulCases) {
  Deno.test(`setup() without super.setup(): the first use of ${c.name} fails with a TypeError that says so`, async () => {
    class Forgetful extends StreamRequestHandler {
      override setup(): void {
        // super.setup() forgotten: rfile and wfile are never made.
      }
      override async handle(): Promise<void> {
        await c.use(this);
      }
    }
    await withServer(Forgetful, async (address, errors) => {
      using conn = await Deno.connect(address);
      assertEquals(await readToEnd(conn), new Uint8Array(0));
      while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assertEquals(errors.length, 1);
      assertInstanceOf(errors[0], TypeError);
      assertEquals(
        (errors[0] as Error).message,
        `${c.name} is not set: Forgetful.setup() did not call super.setup()`,
      );
    });
  });
}

Deno.test("Python's names: connection is request; rfile.readlineBytes() and rfile.readAll() read as Python's readline() and read()", async () => {
  class PythonStyle extends StreamRequestHandler {
    override async handle(): Promise<void> {
      assert(this.connection === this.request);
      const requestLine = await this.rfile.readlineBytes(); // b"GET / HTTP/1.0\r\n"
      const rest = await this.rfile.readAll(1024); // Everything until the client half-closes.
      await this.wfile.write(
        `${JSON.stringify(new TextDecoder().decode(requestLine!))} then ${rest.length} bytes\n`,
      );
    }
  }
  await withServer(PythonStyle, async (address, errors) => {
    using conn = await Deno.connect(address);
    await conn.write(text.encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
    await conn.closeWrite();
    assertEquals(
      new TextDecoder().decode(await readToEnd(conn)),
      `"GET / HTTP/1.0\\r\\n" then 11 bytes\n`,
    );
    assertEquals(errors, []);
  });
});
