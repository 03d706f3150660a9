// RespCodec against the real thing, over sockets on 127.0.0.1: redis-cli
// talks to a server built on the codec, and the codec talks to redis-server
// (its replies decode; its inline commands split as Redis splits them).
// Skipped, with the reason, where redis-cli or redis-server is missing.

import { assertEquals } from "@std/assert";
import { concat } from "@std/bytes/concat";
import {
  type ByteSink,
  decodeFrames,
  encodeFrame,
  RespCodec,
  type RespError,
  type RespValue,
} from "@socketserver/core/framing";
import { BufferedReader, BufferedWriter } from "@socketserver/core/io";

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

async function has(command: string): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false; // Not installed, or no --allow-run.
  }
}

const hasCli = await has("redis-cli");
const hasServer = await has("redis-server");

// A tiny Redis: PING, SET, GET, INCR, and an error for the rest; replies go
// through the codec's helpers, one write per batch of pipelined commands.
async function serveTinyRedis(conn: Deno.Conn): Promise<void> {
  const codec = new RespCodec();
  const writer = new BufferedWriter(conn);
  const reader = new BufferedReader(conn, { beforeWait: () => writer.flush() });
  const store = new Map<string, Uint8Array>();
  const parts: Uint8Array[] = [];
  const sink: ByteSink = { write: (bytes) => parts.push(bytes.slice()) };
  try {
    for await (const command of reader.frames(codec)) {
      const [name, key, value] = command as Uint8Array[];
      switch (text(name).toUpperCase()) {
        case "PING":
          codec.writeSimple(sink, "PONG");
          break;
        case "SET":
          store.set(text(key), value.slice());
          codec.writeSimple(sink, "OK");
          break;
        case "GET": {
          const found = store.get(text(key));
          if (found === undefined) codec.writeNull(sink);
          else codec.writeBulk(sink, found);
          break;
        }
        case "INCR": {
          const next = Number(text(store.get(text(key)) ?? utf8.encode("0"))) + 1;
          store.set(text(key), utf8.encode(String(next)));
          codec.writeInteger(sink, next);
          break;
        }
        default:
          codec.writeError(sink, `ERR unknown command '${text(name)}'`);
      }
      await writer.write(concat(parts));
      parts.length = 0;
    }
  } finally {
    await writer.close();
    conn.close();
  }
}

Deno.test({
  name: "RespCodec serves redis-cli: commands in, replies out, over a real socket",
  ignore: !hasCli,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served = listener.accept().then(serveTinyRedis);
    try {
      const cli = new Deno.Command("redis-cli", {
        args: ["-h", "127.0.0.1", "-p", String(listener.addr.port)],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stdin = cli.stdin.getWriter();
      await stdin.write(utf8.encode(
        'PING\nSET greeting "hello world"\nGET greeting\nGET missing\nINCR n\nINCR n\nFOO\n',
      ));
      await stdin.close();
      const { stdout } = await cli.output();
      // Without a terminal, redis-cli prints a null as an empty line, and an
      // empty line after an error.
      assertEquals(
        text(stdout),
        "PONG\nOK\nhello world\n\n1\n2\nERR unknown command 'FOO'\n\n",
      );
    } finally {
      listener.close();
      await served;
    }
  },
});

// Starts redis-server on a free port, without persistence; stops it after `use`.
async function withRedisServer(use: (conn: Deno.TcpConn) => Promise<void>): Promise<void> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const server = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Wait for the port to answer: redis-server prints "Ready to accept connections" first.
  const output = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (let seen = ""; !seen.includes("Ready to accept connections");) {
      const { value, done } = await output.read();
      if (done) throw new Error(`redis-server exited early: ${seen}`);
      seen += value;
    }
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await use(conn);
    } finally {
      conn.close();
    }
  } finally {
    server.kill("SIGTERM");
    await output.cancel();
    await server.stderr.cancel();
    await server.status;
  }
}

// Sends `wire` and decodes `count` replies.
async function exchange(conn: Deno.TcpConn, wire: Uint8Array, count: number): Promise<RespValue[]> {
  const codec = new RespCodec();
  const reader = new BufferedReader(conn);
  const decoder = codec.decoder();
  await conn.write(wire);
  const replies: RespValue[] = [];
  while (replies.length < count) replies.push((await reader.readFrame(decoder))!);
  return replies;
}

Deno.test({
  name: "RespCodec talks to redis-server: pipelined commands encoded, every kind of reply decoded",
  ignore: !hasServer,
  async fn() {
    await withRedisServer(async (conn) => {
      const codec = new RespCodec();
      const commands = [
        ["SET", "k", "v\r\n"],
        ["GET", "k"],
        ["GET", "missing"],
        ["INCR", "n"],
        ["RPUSH", "list", "a", "b"],
        ["LRANGE", "list", "0", "-1"],
        ["LRANGE", "empty", "0", "-1"],
        ["NOSUCHCOMMAND"],
        ["PING"],
      ].map((words) => words.map((word) => utf8.encode(word)));
      const wire = concat(commands.map((command) => encodeFrame(codec, command)));
      const replies = await exchange(conn, wire, commands.length);
      assertEquals(replies.slice(0, 7), [
        "OK",
        utf8.encode("v\r\n"),
        null,
        1,
        2,
        [utf8.encode("a"), utf8.encode("b")],
        [],
      ]);
      assertEquals((replies[7] as RespError).kind, "ERR");
      assertEquals(replies[8], "PONG");
    });
  },
});

Deno.test({
  name: "RespCodec splits inline commands as redis-server does (quotes, escapes, spaces)",
  ignore: !hasServer,
  async fn() {
    const lines = [
      "ECHO plain",
      'ECHO "two words"',
      'ECHO "escapes \\x41\\n\\t\\\\ \\""',
      "ECHO 'single \\'quoted\\''",
      "ECHO   \t  spaced  ",
      'ECHO ""',
    ];
    await withRedisServer(async (conn) => {
      const wire = utf8.encode(lines.map((line) => `${line}\r\n`).join(""));
      // What Redis echoes is its own reading of the argument.
      const replies = await exchange(conn, wire, lines.length);
      const ours = lines.map((line) =>
        (decodeFrames(new RespCodec(), utf8.encode(`${line}\r\n`))[0] as Uint8Array[])[1]
      );
      assertEquals(ours, replies);
    });
  },
});
