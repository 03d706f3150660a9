/**
 * Sticky packets, shown and fixed. A TCP stream has no message boundaries:
 * two quick sends can arrive as one read, and one large send as many reads.
 * This program runs a server and a client in one process and prints both
 * the problem and the fix:
 *
 *     deno run --allow-net examples/sticky_packets.ts [--host 127.0.0.1] [--port 0] [--help]
 *
 * 1. The client sends `hello` and `world` with two writes; the server's one
 *    read returns `helloworld`.
 * 2. The same two messages, each behind a 4-byte big-endian length (Python's
 *    `struct.pack('!I', n)`), arrive as two frames however the bytes were
 *    split:
 *
 *        +-- len ----+-payload-+-- len ----+-payload-+
 *        | 00 00 00 05 |  hello  | 00 00 00 05 |  world  |
 *        +-----------+---------+-----------+---------+
 *
 * 3. One 1 MiB message, which the kernel delivers in many reads, arrives as
 *    one frame.
 *
 * @module
 */

import {
  connect,
  formatAddress,
  LengthPrefixedCodec,
  StreamRequestHandler,
  ThreadingTCPServer,
} from "../mod.ts";
import { parseCommandLine } from "./_cli.ts";
import { listen } from "./_serve.ts";

const cli = parseCommandLine({
  permissions: "--allow-net",
  about: "Shows sticky packets (two sends read as one) and the length-prefix fix, " +
    "with a server and a client in one process.",
  port: 0,
  flags: {},
});
const text = new TextEncoder();
const show = (bytes: Uint8Array) =>
  bytes.length > 24 ? `${bytes.length} bytes` : JSON.stringify(new TextDecoder().decode(bytes));

// The server reads only after the client has sent both messages, so the demo
// shows the glued read every time instead of by luck.
let bothSent = Promise.withResolvers<void>();

/** Reads raw bytes, as `conn.recv(1024)` does in the classic Python server. */
class RawReader extends StreamRequestHandler {
  override async handle(): Promise<void> {
    await bothSent.promise;
    let reads = 0;
    for await (const chunk of this.rfile) console.log(`  server read #${++reads}: ${show(chunk)}`);
  }
}

/** Reads length-prefixed frames: message boundaries survive the stream. */
class FrameReader extends StreamRequestHandler<Uint8Array> {
  override codec = new LengthPrefixedCodec();
  override async handle(): Promise<void> {
    await bothSent.promise;
    let frames = 0;
    for await (const frame of this.frames()) {
      console.log(`  server frame #${++frames}: ${show(frame)}`);
    }
  }
}

async function demo(
  title: string,
  Handler: typeof RawReader,
  send: (port: number) => Promise<void>,
) {
  console.log(title);
  bothSent = Promise.withResolvers();
  await using server = listen(
    cli,
    () => new ThreadingTCPServer({ hostname: cli.host, port: cli.port }, Handler),
  );
  console.log(`  listening on ${formatAddress(server.address)}`);
  const serving = server.serveForever();
  await send(server.address.port);
  bothSent.resolve();
  await server.shutdown();
  await serving;
  await server.serverClose(); // Waits for the handler to finish printing.
}

await demo(
  "1. Two sends, no framing: the reads do not match the sends",
  RawReader,
  async (port) => {
    const conn = await Deno.connect({ hostname: cli.host, port });
    await conn.write(text.encode("hello"));
    await conn.write(text.encode("world"));
    console.log('  client sent "hello", then "world"');
    conn.close();
  },
);

await demo("2. The same sends behind a 4-byte length: two frames", FrameReader, async (port) => {
  await using client = await connect({ hostname: cli.host, port }, {
    codec: new LengthPrefixedCodec(),
  });
  await client.send(text.encode("hello"));
  await client.send(text.encode("world"));
  console.log('  client sent [00 00 00 05] "hello", then [00 00 00 05] "world"');
});

await demo("3. One 1 MiB send, delivered in many reads: one frame", FrameReader, async (port) => {
  await using client = await connect({ hostname: cli.host, port }, {
    codec: new LengthPrefixedCodec(),
  });
  await client.send(new Uint8Array(1024 * 1024).fill(0x61));
  console.log("  client sent one 1048576-byte message");
});
