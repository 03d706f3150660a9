// Framed reads and writes on real connections: handlers that declare a
// codec, the framed client, and python3 as an independent peer.

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  connect,
  FrameDecoderStream,
  IncompleteFrameError,
  JsonHeaderCodec,
  type JsonHeaderFrame,
  LengthPrefixedCodec,
  LinesCodec,
  RespCodec,
  StreamRequestHandler,
  ThreadingTCPServer,
  ThreadingUnixStreamServer,
} from "@socketserver/core";
import { recordWrites } from "../support/clients.ts";
import { runPython } from "../support/python.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };
const text = new TextEncoder();

/** Replies to each length-prefixed frame with its bytes reversed. */
class Reverse extends StreamRequestHandler<Uint8Array> {
  override codec = new LengthPrefixedCodec();
  override async handle(): Promise<void> {
    for await (const frame of this.frames()) await this.writeFrame(frame.toReversed());
  }
}

Deno.test("a python client's 1000 frames in one sendall get 1000 correct replies", async () => {
  // The sticky-packet case: every frame arrives glued to the others.
  await using server = new ThreadingTCPServer(LOCALHOST, Reverse);
  const serving = server.serveForever();
  const { code, stdout, stderr } = await runPython(
    `
import socket, struct, sys
payloads = [bytes((i + j) % 256 for j in range(i % 300)) for i in range(1000)]
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"".join(struct.pack("!I", len(p)) + p for p in payloads))
def recv_exactly(n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk: raise EOFError(len(data))
        data += chunk
    return data
ok = 0
for p in payloads:
    (n,) = struct.unpack("!I", recv_exactly(4))
    if recv_exactly(n) == p[::-1]: ok += 1
print(ok)
s.close()
`,
    { args: [String(server.address.port)] },
  );
  assertEquals(code, 0, stderr);
  assertEquals(stdout.trim(), "1000");
  await server.shutdown();
  await serving;
});

Deno.test("replies to a pipelined batch leave in one write", async () => {
  const writes: number[] = [];
  class Counting extends Reverse {
    override setup(): void {
      super.setup();
      recordWrites(this.request, writes);
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, Counting);
  const serving = server.serveForever();
  const codec = new LengthPrefixedCodec();
  {
    await using client = await connect(server.address, { codec });
    const frames = Array.from({ length: 16 }, (_, i) => text.encode(`frame ${i}`));
    await client.sendAll(frames);
    const replies = [];
    for (let i = 0; i < 16; i++) replies.push(await client.receive());
    assertEquals(replies, frames.map((frame) => frame.toReversed()));
  }
  await server.shutdown();
  await serving;
  // One batch in (one sendAll), one write out: 16 frames of 4 + 7..8 bytes.
  assertEquals(writes, [16 * 4 + 10 * 7 + 6 * 8]);
});

Deno.test("readFrame and frames() share one decoder per connection", async () => {
  class Mixed extends StreamRequestHandler<string> {
    override codec = new LinesCodec();
    override async handle(): Promise<void> {
      const first = await this.readFrame();
      let count = 0;
      for await (const line of this.frames()) {
        if (++count === 2) break;
        await this.writeFrame(`${first}:${line}`);
      }
      const last = await this.readFrame();
      await this.writeFrame(`last:${last}`);
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, Mixed);
  const serving = server.serveForever();
  {
    await using client = await connect(server.address, { codec: new LinesCodec() });
    await client.sendAll(["a", "b", "c", "d"]);
    assertEquals(await client.receive(), "a:b");
    assertEquals(await client.receive(), "last:d");
    assertEquals(await client.receive(), undefined);
  }
  await server.shutdown();
  await serving;
});

Deno.test("a handler without a codec gets a clear TypeError from readFrame", async () => {
  const errors: unknown[] = [];
  class NoCodec extends StreamRequestHandler {
    override async handle(): Promise<void> {
      await this.readFrame();
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, NoCodec);
  server.handleError = (error) => void errors.push(error);
  const serving = server.handleRequest();
  using conn = await Deno.connect(server.address);
  await serving;
  while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert(errors[0] instanceof TypeError);
  assertMatch((errors[0] as Error).message, /NoCodec has no codec/);
  assertEquals(await conn.read(new Uint8Array(1)), null);
});

Deno.test("the framed client over a Unix socket: iteration, request, end of stream", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/framed.sock`;
  await using server = new ThreadingUnixStreamServer({ path }, Reverse);
  const serving = server.serveForever();
  const codec = new LengthPrefixedCodec();
  {
    await using client = await connect({ path }, { codec });
    assertEquals(await client.request(text.encode("abc")), text.encode("cba"));
    await client.sendAll([text.encode("12"), text.encode("345")]);
    await client.closeWrite();
    const replies = [];
    for await (const reply of client) replies.push(new TextDecoder().decode(reply));
    assertEquals(replies, ["21", "543"]);
  }
  await server.shutdown();
  await serving;
  await server.serverClose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("client.request throws IncompleteFrameError when the server closes first", async () => {
  class Hangup extends StreamRequestHandler {
    override async handle(): Promise<void> {
      await this.rfile.read();
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, Hangup);
  const serving = server.serveForever();
  {
    await using client = await connect(server.address, { codec: new LinesCodec() });
    await assertRejects(() => client.request("anyone there?"), IncompleteFrameError);
  }
  await server.shutdown();
  await serving;
});

Deno.test("a JSON header + body handler answers the classic python client", async () => {
  class Upload extends StreamRequestHandler<JsonHeaderFrame> {
    override codec = new JsonHeaderCodec();
    override async handle(): Promise<void> {
      for await (const { header, body } of this.frames()) {
        const sum = body.reduce((total, byte) => total + byte, 0);
        await this.writeFrame({ header: { name: header.file_name, sum }, body: new Uint8Array(0) });
      }
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, Upload);
  const serving = server.serveForever();
  const { code, stdout, stderr } = await runPython(
    `
import json, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for name, body in [("a.txt", b"hello"), ("b.bin", bytes(range(256)) * 40), ("empty", b"")]:
    h = json.dumps({"file_name": name, "file_size": len(body)}).encode()
    s.sendall(struct.pack("i", len(h)) + h + body)
    (n,) = struct.unpack("i", s.recv(4, socket.MSG_WAITALL))
    reply = json.loads(s.recv(n, socket.MSG_WAITALL))
    print(reply["name"], reply["sum"], reply["file_size"])
s.close()
`,
    { args: [String(server.address.port)] },
  );
  assertEquals(code, 0, stderr);
  assertEquals(stdout, `a.txt 532 0\nb.bin ${40 * 255 * 128} 0\nempty 0 0\n`);
  await server.shutdown();
  await serving;
});

Deno.test("FrameDecoderStream frames a connection's readable for Web Streams users", async () => {
  class Greet extends StreamRequestHandler<string> {
    override codec = new LinesCodec();
    override async handle(): Promise<void> {
      for (const line of ["one", "two", "three"]) await this.writeFrame(line);
    }
  }
  await using server = new ThreadingTCPServer(LOCALHOST, Greet);
  const serving = server.serveForever();
  const conn = await Deno.connect(server.address);
  const lines = await Array.fromAsync(
    conn.readable.pipeThrough(new FrameDecoderStream(new LinesCodec())),
  );
  assertEquals(lines, ["one", "two", "three"]);
  await server.shutdown();
  await serving;
});

Deno.test("a null frame (RESP's nil) is a frame, not the end of the stream", async (t) => {
  // The server sends a nil, then +OK, then closes. The nil is the first
  // frame of the first read, so both ways meet it where they wait for the socket.
  async function serveNilThenOk(listener: Deno.Listener): Promise<void> {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("$-1\r\n+OK\r\n"));
  }
  for (const way of ["receive()", "for await"] as const) {
    await t.step(way, async () => {
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const serving = serveNilThenOk(listener);
      await using client = await connect(listener.addr, { codec: new RespCodec() });
      const frames: unknown[] = [];
      if (way === "receive()") {
        for (let i = 0; i < 3; i++) frames.push(await client.receive());
      } else {
        for await (const frame of client) frames.push(frame);
        frames.push(undefined);
      }
      assertEquals(frames, [null, "OK", undefined]);
      await serving;
    });
  }
});
