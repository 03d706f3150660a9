// DatagramRequestHandler over a real UDPServer: rfile over the datagram,
// wfile sent as one datagram (nothing when empty), reply(), and codecs
// applied per datagram.
//
// UDPServer handles datagrams in arrival order, so "no reply" is proved by a
// marker datagram sent afterwards being the first thing answered.

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  type Codec,
  type DatagramRequest,
  DatagramRequestHandler,
  IncompleteFrameError,
  LengthPrefixedCodec,
  LinesCodec,
  type RequestHandlerClass,
  UDPServer,
} from "@socketserver/core";
import { DatagramClient } from "../support/datagrams.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts a UDPServer for `Handler`, runs `body` with a client, then stops it. */
async function withServer(
  Handler: RequestHandlerClass<DatagramRequest, Deno.Addr>,
  body: (client: DatagramClient, server: UDPServer, errors: unknown[]) => Promise<void>,
): Promise<void> {
  const errors: unknown[] = [];
  class Recording extends UDPServer {
    override handleError(error: unknown): void {
      errors.push(error);
    }
  }
  await using server = new Recording({ hostname: "127.0.0.1", port: 0 }, Handler);
  const serving = server.serveForever();
  {
    await using client = DatagramClient.udp();
    await body(client, server, errors);
  }
  await server.shutdown();
  await serving;
}

/** Answers "marker" with "marker" and hands anything else to `handleOther`. */
function withMarker(
  handleOther: (handler: DatagramRequestHandler) => Promise<void>,
): RequestHandlerClass<DatagramRequest, Deno.Addr> {
  return class extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      if (decoder.decode(this.packet) === "marker") return await this.reply("marker");
      await handleOther(this);
    }
  };
}

Deno.test("DatagramRequestHandler: request, packet, socket and clientAddress", async () => {
  let seen: { request: DatagramRequest; socket: Deno.DatagramConn; from: Deno.Addr } | undefined;
  class Inspect extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      seen = { request: this.request, socket: this.socket, from: this.clientAddress };
      await this.reply("seen");
    }
  }
  await withServer(Inspect, async (client, server) => {
    assertEquals(await client.exchange("abc", server.address), "seen");
    assert(seen !== undefined);
    const [data, socket] = seen.request;
    assertEquals(data, encoder.encode("abc"));
    assertEquals(socket, server.socket);
    assertEquals(seen.socket, server.socket);
    assertEquals(seen.from, client.address);
  });
});

Deno.test("DatagramRequestHandler: rfile reads the datagram and ends where it ends", async () => {
  const results: unknown[] = [];
  class Read extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      results.push(await this.rfile.readline());
      results.push(decoder.decode(await this.rfile.readExactly(4)));
      results.push(decoder.decode((await this.rfile.read(2))!));
      results.push(await this.rfile.readline());
      results.push(await this.rfile.read());
      results.push(this.rfile.atEof);
      await assertRejects(() => this.rfile.readExactly(1), IncompleteFrameError);
      await this.reply("done");
    }
  }
  await withServer(Read, async (client, server) => {
    assertEquals(await client.exchange("HELLO\r\nabcdXYlast line", server.address), "done");
    assertEquals(results, ["HELLO", "abcd", "XY", "last line", null, true]);
  });
});

Deno.test("DatagramRequestHandler: an empty datagram reads as the end at once", async () => {
  const results: unknown[] = [];
  class Read extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      results.push(await this.rfile.read(), await this.rfile.readline(), this.packet.length);
      await this.reply("empty seen");
    }
  }
  await withServer(Read, async (client, server) => {
    assertEquals(await client.exchange("", server.address), "empty seen");
    assertEquals(results, [null, null, 0]);
  });
});

Deno.test("DatagramRequestHandler: wfile writes leave as ONE datagram when the handler ends", async () => {
  class Lines extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      for await (const line of this.rfile.lines()) {
        await this.wfile.write(`${line.toUpperCase()}\n`);
      }
      await this.wfile.write(encoder.encode("end"));
      // A write larger than the writer's first buffer is gathered all the same.
      await this.wfile.write("z".repeat(40_000));
    }
  }
  await withServer(Lines, async (client, server) => {
    await client.send("a\nb\nc\n", server.address);
    assertEquals(await client.receiveText(), `A\nB\nC\nend${"z".repeat(40_000)}`);
  });
});

// What reaches the client from a handler that answers in these ways. Unlike
// Python (which always sends wfile.getvalue()), an empty wfile sends nothing.
const REPLY_CASES: {
  name: string;
  answer: (handler: DatagramRequestHandler) => Promise<void>;
  datagrams: string[];
}[] = [
  { name: "nothing written, no reply(): nothing is sent", answer: async () => {}, datagrams: [] },
  {
    name: "wfile used but only empty writes: nothing is sent",
    answer: async (h) => await h.wfile.write(""),
    datagrams: [],
  },
  {
    name: 'reply("") sends an empty datagram on purpose',
    answer: async (h) => await h.reply(""),
    datagrams: [""],
  },
  {
    name: "reply() goes at once, wfile at the end",
    answer: async (h) => {
      await h.wfile.write("from wfile");
      await h.reply("first");
      await h.reply(encoder.encode("second"));
    },
    datagrams: ["first", "second", "from wfile"],
  },
];

for (const { name, answer, datagrams } of REPLY_CASES) {
  Deno.test(`DatagramRequestHandler: ${name}`, async () => {
    await withServer(withMarker(answer), async (client, server) => {
      await client.send("request", server.address);
      for (const expected of datagrams) assertEquals(await client.receiveText(), expected);
      assertEquals(await client.exchange("marker", server.address), "marker");
    });
  });
}

Deno.test("DatagramRequestHandler: wfile is still sent when handle() throws (as in Python)", async () => {
  const Failing = withMarker(async (handler) => {
    await handler.wfile.write("partial answer");
    throw new Error("failed after writing");
  });
  await withServer(Failing, async (client, server, errors) => {
    await client.send("request", server.address);
    assertEquals(await client.receiveText(), "partial answer");
    assertEquals(await client.exchange("marker", server.address), "marker");
    assertEquals((errors[0] as Error).message, "failed after writing");
  });
});

/** Echoes every length-prefixed frame of a datagram, upper-cased, in one reply. */
class FrameEcho extends DatagramRequestHandler<Uint8Array> {
  override codec: Codec<Uint8Array> = new LengthPrefixedCodec({ lengthFieldLength: 2 });
  override async handle(): Promise<void> {
    for (const frame of this.frames()) {
      await this.writeFrame(encoder.encode(decoder.decode(frame).toUpperCase()));
    }
  }
}

/** Frames with a 2-byte big-endian length. */
function framed(...texts: string[]): Uint8Array {
  const parts = texts.map((text) => encoder.encode(text));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + 2 + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    new DataView(out.buffer).setUint16(offset, part.length);
    out.set(part, offset + 2);
    offset += 2 + part.length;
  }
  return out;
}

Deno.test("DatagramRequestHandler: a codec decodes each datagram into its frames", async () => {
  await withServer(FrameEcho, async (client, server) => {
    await client.send(framed("one", "two", ""), server.address);
    assertEquals((await client.receive())[0], framed("ONE", "TWO", ""));
    await client.send(framed("solo"), server.address);
    assertEquals((await client.receive())[0], framed("SOLO"));
  });
});

Deno.test("DatagramRequestHandler: a partial frame fails that datagram only", async () => {
  await withServer(FrameEcho, async (client, server, errors) => {
    // A whole frame, then a header that promises 9 bytes and brings 3.
    const partial = new Uint8Array([...framed("ok"), 0, 9, 1, 2, 3]);
    await client.send(partial, server.address);
    // An empty datagram holds no frame: nothing written, nothing sent.
    await client.send(new Uint8Array(0), server.address);
    await client.send(framed("next"), server.address);
    assertEquals((await client.receive())[0], framed("NEXT"));
    assertEquals(errors.length, 1);
    assert(errors[0] instanceof IncompleteFrameError, String(errors[0]));
  });
});

Deno.test("DatagramRequestHandler: text frames with LinesCodec", async () => {
  class LineEcho extends DatagramRequestHandler<string> {
    override codec: Codec<string> = new LinesCodec();
    override async handle(): Promise<void> {
      const frames = this.frames();
      await this.writeFrame(`${frames.length} lines`);
      for (const line of frames) await this.writeFrame(line.split("").reverse().join(""));
    }
  }
  await withServer(LineEcho, async (client, server) => {
    // The last line needs no newline: the datagram's end ends it.
    assertEquals(await client.exchange("abc\r\nxyz", server.address), "2 lines\ncba\nzyx\n");
  });
});

Deno.test("DatagramRequestHandler: frames() without a codec says so", async () => {
  await withServer(
    withMarker((handler) => Promise.resolve(void handler.frames())),
    async (client, server, errors) => {
      await client.send("x", server.address);
      assertEquals(await client.exchange("marker", server.address), "marker");
      assert(errors[0] instanceof TypeError);
      assertMatch((errors[0] as Error).message, /has no codec/);
    },
  );
});

Deno.test("DatagramRequestHandler: handleFrame for each frame, sendFrame into one reply datagram", async () => {
  class FrameUpper extends DatagramRequestHandler<Uint8Array> {
    override codec: Codec<Uint8Array> = new LengthPrefixedCodec({ lengthFieldLength: 2 });
    override handleFrame(frame: Uint8Array): void {
      this.sendFrame(encoder.encode(decoder.decode(frame).toUpperCase()));
    }
  }
  await withServer(FrameUpper, async (client, server, errors) => {
    await client.send(framed("one", "two", ""), server.address);
    assertEquals((await client.receive())[0], framed("ONE", "TWO", ""));
    // A partial frame fails that datagram only, after the frames before it were handled.
    await client.send(new Uint8Array([...framed("ok"), 0, 9, 1]), server.address);
    await client.send(framed("next"), server.address);
    assertEquals((await client.receive())[0], framed("OK"));
    assertEquals((await client.receive())[0], framed("NEXT"));
    assertEquals(errors.length, 1);
    assert(errors[0] instanceof IncompleteFrameError, String(errors[0]));
  });
});
