// FramedConnection: the frame loop's states (framing, reading, paused,
// ended, errored), its deadlines, the reused read buffer, and the pull
// methods, over hand-driven ends of a connection.

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  FrameTooLongError,
  IncompleteFrameError,
  LengthPrefixedCodec,
  LinesCodec,
} from "@socketserver/core/framing";
import {
  type ByteDestination,
  type ByteSource,
  FramedConnection,
  type FramedConnectionState,
  FrameTimeoutError,
} from "@socketserver/core/io";
import { FakeDestination, FakeSource } from "../support/fake_source.ts";
import { lengthFrame } from "../support/wire.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A transport whose reads come from `source` and whose writes go to `destination`. */
function transport(source: ByteSource, destination: ByteDestination): ByteSource & ByteDestination {
  return { read: (p) => source.read(p), write: (p) => destination.write(p) };
}

/** One turn of the event loop. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("serve: frames buffered are handled in the framing state, the wait is reading, the end is ended", async () => {
  const source = new FakeSource();
  const destination = new FakeDestination();
  const connection = new FramedConnection(transport(source, destination), {
    codec: new LinesCodec(),
  });
  const seen: [string, FramedConnectionState][] = [];
  const serving = connection.serve((line) => {
    seen.push([line, connection.state]);
    connection.sendFrame(line.toUpperCase());
  });
  source.push("a\nb\n");
  await destination.receivedAtLeast(4);
  assertEquals(connection.state, "reading");
  assertEquals(text.decode(destination.received), "A\nB\n");
  assertEquals(destination.calls.length, 1, "both replies in one write");
  source.push("c");
  source.end();
  await serving;
  assertEquals(connection.state, "ended");
  assertEquals(seen, [["a", "framing"], ["b", "framing"], ["c", "framing"]]);
  await connection.close();
  // The last line, without a newline, ends with the stream (LinesCodec's decodeEof).
  assertEquals(text.decode(destination.received), "A\nB\nC\n");
});

Deno.test("serve: a writer past highWaterMark pauses decoding until it drains", async () => {
  const source = new FakeSource();
  const destination = new FakeDestination({ held: true });
  const connection = new FramedConnection(transport(source, destination), {
    codec: new LinesCodec(),
    highWaterMark: 8,
  });
  const handled: string[] = [];
  const serving = connection.serve((line) => {
    handled.push(line);
    connection.sendFrame(line.repeat(5));
  });
  source.push("a\nb\nc\n");
  await tick();
  // "aaaaa\n" is under 8 bytes; "bbbbb\n" takes it to 12: the loop pauses before "c".
  assertEquals(handled, ["a", "b"]);
  assertEquals(connection.state, "paused");
  assertEquals(destination.held, 1);
  destination.release();
  await tick();
  assertEquals(handled, ["a", "b", "c"]);
  source.end();
  while (destination.held > 0 || connection.state !== "ended") {
    destination.releaseAll();
    await tick();
  }
  await serving;
  await connection.close();
  assertEquals(text.decode(destination.received), "aaaaa\nbbbbb\nccccc\n");
});

Deno.test("serve: a decode error rejects the loop and leaves it errored", async () => {
  const connection = new FramedConnection(
    transport(FakeSource.of(lengthFrame("ok"), lengthFrame("x".repeat(20))), new FakeDestination()),
    { codec: new LengthPrefixedCodec({ maxFrameLength: 10 }) },
  );
  const handled: string[] = [];
  const error = await assertRejects(
    () => connection.serve((frame) => void handled.push(text.decode(frame))),
    FrameTooLongError,
  );
  assertEquals(error.length, 20);
  assertEquals(handled, ["ok"]);
  assertEquals(connection.state, "errored");
  await connection.close();
});

Deno.test("serve: a stream that ends inside a frame rejects with IncompleteFrameError", async () => {
  const connection = new FramedConnection(
    transport(FakeSource.of(lengthFrame("whole"), lengthFrame("cut").subarray(0, 5)), {
      write: (p) => Promise.resolve(p.length),
    }),
    { codec: new LengthPrefixedCodec() },
  );
  await assertRejects(() => connection.serve(() => {}), IncompleteFrameError);
  assertEquals(connection.state, "errored");
  await connection.close();
});

Deno.test("serve: frameTimeout runs across the reads of one frame (a slowloris)", async () => {
  const source = new FakeSource();
  const connection = new FramedConnection(transport(source, new FakeDestination()), {
    codec: new LengthPrefixedCodec(),
    frameTimeout: 0.05,
  });
  const serving = connection.serve(() => {});
  const wire = lengthFrame("hello world");
  // A byte now and then: each read gets one, the frame never completes.
  let at = 0;
  const drip = setInterval(() => at < wire.length - 1 && source.push(wire.subarray(at, ++at)), 5);
  try {
    const error = await assertRejects(() => serving, FrameTimeoutError);
    assertEquals(error.timeout, 0.05);
  } finally {
    clearInterval(drip);
  }
  assertEquals(connection.state, "errored");
  source.end();
  await connection.close();
});

Deno.test("serve: the handler's this is thisArg, and a returned promise holds the next frame", async () => {
  const source = FakeSource.of("a\nb\n");
  const connection = new FramedConnection(transport(source, new FakeDestination()), {
    codec: new LinesCodec(),
  });
  const log: string[] = [];
  const target = {
    name: "target",
    onFrame(this: { name: string }, line: string): Promise<void> {
      log.push(`${this.name} got ${line}`);
      return tick().then(() => void log.push(`${line} done`));
    },
  };
  await connection.serve(target.onFrame, target);
  assertEquals(log, ["target got a", "a done", "target got b", "b done"]);
  await connection.close();
});

Deno.test("serve: frames read before it stay valid when it reuses the read buffer", async () => {
  const source = new FakeSource();
  const connection = new FramedConnection(transport(source, new FakeDestination()), {
    codec: new LengthPrefixedCodec(),
    bufferSize: 64,
  });
  const reading = connection.readFrame();
  source.push(lengthFrame("kept by the caller"));
  const first = (await reading)!;
  const serving = connection.serve(() => {});
  for (let i = 0; i < 20; i++) {
    source.push(lengthFrame(`overwrite ${i} `.repeat(3)));
    await tick();
  }
  source.end();
  await serving;
  assertEquals(text.decode(first), "kept by the caller");
  await connection.close();
});

Deno.test("frame methods without a codec throw a TypeError naming the owner", async () => {
  const connection = new FramedConnection(
    transport(new FakeSource(), new FakeDestination()),
    { owner: "Chat" },
  );
  const message = "Cannot read or write frames: Chat has no codec (set the codec field)";
  assertEquals((await assertRejects(() => connection.readFrame(), TypeError)).message, message);
  assertEquals((await assertRejects(() => connection.writeFrame("x"), TypeError)).message, message);
  assertEquals(assertThrows(() => connection.sendFrame("x"), TypeError).message, message);
  assertEquals(assertThrows(() => connection.frames(), TypeError).message, message);
  assertEquals(
    assertThrows(() => connection.decodeAll(new Uint8Array(1)), TypeError).message,
    message,
  );
  assertEquals((await assertRejects(() => connection.serve(() => {}), TypeError)).message, message);
  assertEquals(connection.state, "errored");
  await connection.close();
});

Deno.test("decodeAll decodes one buffer with the connection's codec, apart from its stream", () => {
  const connection = new FramedConnection(
    transport(new FakeSource(), new FakeDestination()),
    { codec: new LinesCodec() },
  );
  assertEquals(connection.decodeAll(utf8.encode("x\ny\nz")), ["x", "y", "z"]);
  assertEquals(connection.reader.buffered, 0);
});

Deno.test("sendFrame appends with no promise; the batch leaves in one write on flush", async () => {
  const destination = new FakeDestination();
  const connection = new FramedConnection(transport(new FakeSource(), destination), {
    codec: new LengthPrefixedCodec(),
  });
  const result = connection.sendFrame(utf8.encode("one"));
  assertEquals(result, undefined);
  connection.sendFrame(utf8.encode("two"));
  assertEquals(connection.writer.buffered, 14);
  await connection.flush();
  assertEquals(destination.calls.length, 1);
  assertEquals(
    destination.received,
    Uint8Array.from([...lengthFrame("one"), ...lengthFrame("two")]),
  );
  await connection.close();
});

Deno.test("a reply left by sendFrame outside serve() is sent without a flush or a read", async () => {
  const destination = new FakeDestination();
  const connection = new FramedConnection(transport(new FakeSource(), destination), {
    codec: new LinesCodec(),
  });
  connection.sendFrame("pushed by a timer");
  await destination.receivedAtLeast(18);
  assertEquals(text.decode(destination.received), "pushed by a timer\n");
  await connection.close();
});

Deno.test("over a real socket: a frame loop echoes what a client sends, then ends with it", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using conn = await accepted;
  const connection = new FramedConnection(conn, { codec: new LinesCodec() });
  const serving = connection.serve((line) => connection.sendFrame(`echo ${line}`));
  await client.write(utf8.encode("one\ntwo\n"));
  await client.closeWrite();
  const chunks: string[] = [];
  const buffer = new Uint8Array(64);
  for (let count; (count = await client.read(buffer)) !== null;) {
    chunks.push(text.decode(buffer.subarray(0, count)));
    if (chunks.join("") === "echo one\necho two\n") break;
  }
  await serving;
  await connection.close();
  assertEquals(chunks.join(""), "echo one\necho two\n");
  assertEquals(connection.state, "ended");
  // The loop switched the reader to reusing its buffer.
  assert(connection.reader.reuseBuffer);
});
