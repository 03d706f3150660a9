// examples/mini_redis.ts as a real subprocess, driven by the real redis-cli
// and redis-benchmark, and compared byte for byte with the real
// redis-server. Expected replies were copied from redis-server 7.0.

import { assert, assertEquals, assertMatch, assertNotMatch } from "@std/assert";
import { delay } from "@std/async";
import { concat } from "@std/bytes";
import { stripAnsiCode } from "@std/fmt/colors";
import { startExample, withExample } from "../support/example_process.ts";
import {
  command,
  connectRedis,
  latin1,
  redisServerInstalled,
  redisToolsMissing,
  type Reply,
  runTool,
  startRedisServer,
} from "../support/redis.ts";
import { Db, keyOf } from "../../examples/mini_redis/db.ts";

const toolsMissing = await redisToolsMissing();
if (toolsMissing !== undefined) {
  console.warn(`mini-redis: redis-cli tests skipped: ${toolsMissing}`);
}
const hasRedisServer = await redisServerInstalled();
if (!hasRedisServer) {
  console.warn("mini-redis: redis-server is not installed: differential test skipped");
}

/** Runs mini-redis for `body`; it must exit 0 on SIGTERM without an error on stderr. */
async function withMiniRedis(args: string[], body: (port: number) => Promise<void>): Promise<void> {
  const server = await withExample(
    "mini_redis.ts",
    ["--port", "0", ...args],
    (server) => body(server.port),
  );
  assertNotMatch(server.stderr(), /Error|^\s+at /m);
}

/** redis-cli against mini-redis, typed output (`(integer) 1`) as in a terminal. */
async function redisCli(port: number, args: string[], stdin?: Uint8Array | string) {
  const result = await runTool("redis-cli", ["-p", String(port), "--no-raw", ...args], { stdin });
  assert(result !== null, "redis-cli did not start");
  return result;
}

// [command, reply]: each reply is redis-server 7.0's, byte for byte, but for
// HELLO 3 (7.0 speaks RESP3; mini-redis answers as Redis 6 without it). A
// pattern stands where the reply depends on the clock or the connection.
const SCRIPT: [string[], string | RegExp][] = [
  [["PING"], "+PONG\r\n"],
  [["PING", "hello"], "$5\r\nhello\r\n"],
  [["PING", "a", "b"], "-ERR wrong number of arguments for 'ping' command\r\n"],
  [["ECHO", "hi"], "$2\r\nhi\r\n"],
  [["ECHO"], "-ERR wrong number of arguments for 'echo' command\r\n"],
  [["foo", "a", "b"], "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"],
  [["FoO"], "-ERR unknown command 'FoO', with args beginning with: \r\n"],
  [["GeT", "a", "b"], "-ERR wrong number of arguments for 'get' command\r\n"],
  [["SET", "k", "v"], "+OK\r\n"],
  [["GET", "k"], "$1\r\nv\r\n"],
  [["GET", "missing"], "$-1\r\n"],
  [["SET", "k", "v2", "NX"], "$-1\r\n"],
  [["SET", "new", "v", "XX"], "$-1\r\n"],
  [["SET", "k", "v3", "XX"], "+OK\r\n"],
  [["SET", "k", "v4", "GET"], "$2\r\nv3\r\n"],
  [["SET", "k", "v5", "NX", "GET"], "$2\r\nv4\r\n"],
  [["SET", "k", "v", "nx", "xx"], "-ERR syntax error\r\n"],
  [["SET", "k", "v", "EX", "0"], "-ERR invalid expire time in 'set' command\r\n"],
  [["SET", "k", "v", "PX", "-5"], "-ERR invalid expire time in 'set' command\r\n"],
  [["SET", "k", "v", "EX", "ten"], "-ERR value is not an integer or out of range\r\n"],
  [["SET", "k", "v", "EX"], "-ERR syntax error\r\n"],
  [["SET", "k", "v", "EX", "5", "PX", "5"], "-ERR syntax error\r\n"],
  [["SET", "k", "v", "KEEPTTL", "EX", "5"], "-ERR syntax error\r\n"],
  [["SET", "k", "v", "EX", "9223372036854775807"], "-ERR invalid expire time in 'set' command\r\n"],
  [["SET", "k"], "-ERR wrong number of arguments for 'set' command\r\n"],
  [["SET", "ttl", "v", "EX", "1000"], "+OK\r\n"],
  [["TTL", "ttl"], /^:(999|1000)\r\n$/],
  [["SET", "ttl", "w", "KEEPTTL"], "+OK\r\n"],
  [["TTL", "ttl"], /^:(999|1000)\r\n$/],
  [["SET", "ttl", "x"], "+OK\r\n"],
  [["TTL", "ttl"], ":-1\r\n"],
  [["SET", "n", "10"], "+OK\r\n"],
  [["INCR", "n"], ":11\r\n"],
  [["DECR", "n"], ":10\r\n"],
  [["INCRBY", "n", "-20"], ":-10\r\n"],
  [["DECRBY", "n", "5"], ":-15\r\n"],
  [["INCRBY", "n", "1.5"], "-ERR value is not an integer or out of range\r\n"],
  [["INCRBY", "n", "+1"], "-ERR value is not an integer or out of range\r\n"],
  [["INCR", "fresh"], ":1\r\n"],
  [["DECRBY", "fresh2", "3"], ":-3\r\n"],
  [["SET", "s", " 1"], "+OK\r\n"],
  [["INCR", "s"], "-ERR value is not an integer or out of range\r\n"],
  [["SET", "s", "01"], "+OK\r\n"],
  [["INCR", "s"], "-ERR value is not an integer or out of range\r\n"],
  [["SET", "max", "9223372036854775807"], "+OK\r\n"],
  [["INCR", "max"], "-ERR increment or decrement would overflow\r\n"],
  [["DECRBY", "n", "-9223372036854775808"], "-ERR decrement would overflow\r\n"],
  [["INCRBY", "n", "9223372036854775808"], "-ERR value is not an integer or out of range\r\n"],
  [["INCR"], "-ERR wrong number of arguments for 'incr' command\r\n"],
  [["MSET", "a", "1", "b", "2"], "+OK\r\n"],
  [["MSET", "a", "1", "b"], "-ERR wrong number of arguments for 'mset' command\r\n"],
  [["MGET", "a", "missing", "b"], "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"],
  [["EXISTS", "a", "a", "missing"], ":2\r\n"],
  [["DEL", "a", "b", "missing"], ":2\r\n"],
  [["DEL"], "-ERR wrong number of arguments for 'del' command\r\n"],
  [["DBSIZE"], ":7\r\n"],
  [["SET", "e", "v"], "+OK\r\n"],
  [["EXPIRE", "e", "1000"], ":1\r\n"],
  [["EXPIRE", "e", "100", "NX"], ":0\r\n"],
  [["EXPIRE", "e", "100", "XX"], ":1\r\n"],
  [["EXPIRE", "e", "200", "LT"], ":0\r\n"],
  [["EXPIRE", "e", "200", "GT"], ":1\r\n"],
  [["TTL", "e"], /^:(199|200)\r\n$/],
  [
    ["EXPIRE", "e", "10", "NX", "XX"],
    "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
  ],
  [
    ["EXPIRE", "e", "10", "GT", "LT"],
    "-ERR GT and LT options at the same time are not compatible\r\n",
  ],
  [["EXPIRE", "e", "10", "later"], "-ERR Unsupported option later\r\n"],
  [["EXPIRE", "e", "ten"], "-ERR value is not an integer or out of range\r\n"],
  [["EXPIRE", "e", "9223372036854775807"], "-ERR invalid expire time in 'expire' command\r\n"],
  [["EXPIRE", "missing", "10"], ":0\r\n"],
  [["TTL", "missing"], ":-2\r\n"],
  [["PTTL", "missing"], ":-2\r\n"],
  [["PTTL", "k"], ":-1\r\n"],
  [["EXPIRE", "k", "10", "XX"], ":0\r\n"],
  [["EXPIRE", "k", "0"], ":1\r\n"],
  [["EXISTS", "k"], ":0\r\n"],
  [["PUBLISH", "news", "hi"], ":0\r\n"],
  [["SUBSCRIBE"], "-ERR wrong number of arguments for 'subscribe' command\r\n"],
  [["UNSUBSCRIBE"], "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"],
  [["UNSUBSCRIBE", "news"], "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n"],
  [["HELLO", "3"], "-NOPROTO unsupported protocol version\r\n"],
  [["HELLO", "two"], "-ERR Protocol version is not an integer or out of range\r\n"],
  [
    ["HELLO", "2", "SETNAME", "bad name"],
    "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
  ],
  [
    ["HELLO", "2", "SETNAME", "tester"],
    /^\*14\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$\d\r\n[\d.]+\r\n\$5\r\nproto\r\n:2\r\n\$2\r\nid\r\n:\d+\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n$/,
  ],
  [["CLIENT", "GETNAME"], "$6\r\ntester\r\n"],
  [
    ["CLIENT", "SETNAME", "a b"],
    "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
  ],
  [["CLIENT", "SETNAME", ""], "+OK\r\n"],
  [["CLIENT", "GETNAME"], "$-1\r\n"],
  [["CLIENT"], "-ERR wrong number of arguments for 'client' command\r\n"],
  [["CLIENT", "constructor"], "-ERR unknown subcommand 'constructor'. Try CLIENT HELP.\r\n"],
  [["CLIENT", "SETNAME"], "-ERR wrong number of arguments for 'client|setname' command\r\n"],
  [["CONFIG", "GET", "save"], "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"],
  [["CONFIG", "GET", "appendonly"], "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"],
  [["CONFIG", "GET", "nosuch"], "*0\r\n"],
  [["CONFIG", "GET"], "-ERR wrong number of arguments for 'config|get' command\r\n"],
  [["COMMAND", "nope"], "-ERR unknown subcommand 'nope'. Try COMMAND HELP.\r\n"],
  [["SET", "bin\u0000key", "v\r\nw"], "+OK\r\n"],
  [["GET", "bin\u0000key"], "$4\r\nv\r\nw\r\n"],
  [["SET", "", ""], "+OK\r\n"],
  [["GET", ""], "$0\r\n\r\n"],
];

// HELLO 3 switches redis-server 7.0 to RESP3 (mini-redis refuses it, as Redis 6 does).
const SHARED_SCRIPT = SCRIPT.filter(([args]) => args.join(" ") !== "HELLO 3");

function assertReply(reply: Reply | undefined, expected: string | RegExp, what: string): void {
  assert(reply !== undefined, `${what}: the connection closed`);
  const text = latin1(reply.raw);
  if (typeof expected === "string") assertEquals(text, expected, what);
  else assertMatch(text, expected, what);
}

Deno.test("mini-redis: every command replies byte for byte as redis-server 7.0 does", async () => {
  await withMiniRedis([], async (port) => {
    await using client = await connectRedis(port);
    for (const [args, expected] of SCRIPT) {
      assertReply(await client.request(command(...args)), expected, args.join(" "));
    }
  });
});

Deno.test({
  name:
    "mini-redis: the same pipelined script gets the same bytes from redis-server and mini-redis",
  ignore: !hasRedisServer,
  async fn() {
    const redis = await startRedisServer();
    try {
      await withMiniRedis([], async (port) => {
        const replies: Reply[][] = [];
        for (const serverPort of [redis.port, port]) {
          await using client = await connectRedis(serverPort);
          // All at once: the server sees a pipeline, as redis-cli --pipe sends it.
          await client.sendAll(SHARED_SCRIPT.map(([args]) => command(...args)));
          const got: Reply[] = [];
          for (const [args] of SHARED_SCRIPT) {
            const reply = await client.receive();
            assert(reply !== undefined, `${args.join(" ")}: the connection closed`);
            got.push(reply);
          }
          replies.push(got);
        }
        SHARED_SCRIPT.forEach(([args, expected], i) => {
          const [fromRedis, fromMini] = replies.map((got) => latin1(got[i].raw));
          if (typeof expected === "string") assertEquals(fromMini, fromRedis, args.join(" "));
          else assertMatch(fromRedis, expected, `redis-server: ${args.join(" ")}`);
        });
      });
    } finally {
      await redis.stop();
    }
  },
});

// [redis-cli arguments, what it prints]: one redis-cli run (one connection) each, in order.
const CLI_SCRIPT: [string[], string][] = [
  [["PING"], "PONG\n"],
  [["ECHO", "hello world"], '"hello world"\n'],
  [["SET", "greeting", "hello"], "OK\n"],
  [["GET", "greeting"], '"hello"\n'],
  [["GET", "missing"], "(nil)\n"],
  [["SET", "greeting", "hi", "NX"], "(nil)\n"],
  [["SET", "greeting", "hi", "XX", "GET"], '"hello"\n'],
  [["SET", "session", "token", "EX", "100", "NX"], "OK\n"],
  [["PTTL", "missing"], "(integer) -2\n"],
  [["EXPIRE", "greeting", "1000", "NX"], "(integer) 1\n"],
  [["SET", "counter", "41"], "OK\n"],
  [["INCR", "counter"], "(integer) 42\n"],
  [["DECR", "counter"], "(integer) 41\n"],
  [["INCRBY", "counter", "10"], "(integer) 51\n"],
  [["DECRBY", "counter", "20"], "(integer) 31\n"],
  [["INCR", "greeting"], "(error) ERR value is not an integer or out of range\n"],
  [["MSET", "a", "1", "b", "2"], "OK\n"],
  [["MGET", "a", "b", "missing"], '1) "1"\n2) "2"\n3) (nil)\n'],
  [["EXISTS", "a", "b", "missing"], "(integer) 2\n"],
  [["DEL", "a", "b", "missing"], "(integer) 2\n"],
  [["DBSIZE"], "(integer) 3\n"],
  [["PUBLISH", "news", "hello"], "(integer) 0\n"],
  [["CLIENT", "SETNAME", "cli"], "OK\n"],
  [["CONFIG", "GET", "save"], '1) "save"\n2) ""\n'],
  [["HELLO", "3"], "(error) NOPROTO unsupported protocol version\n"],
  [["UNSUBSCRIBE"], '1) "unsubscribe"\n2) (nil)\n3) (integer) 0\n'],
  [["FOO", "bar"], "(error) ERR unknown command 'FOO', with args beginning with: 'bar' \n"],
  [["GET"], "(error) ERR wrong number of arguments for 'get' command\n"],
];

Deno.test({
  name: "mini-redis: redis-cli runs every command and prints what it prints for redis-server",
  ignore: toolsMissing !== undefined,
  async fn() {
    await withMiniRedis([], async (port) => {
      for (const [args, expected] of CLI_SCRIPT) {
        const result = await redisCli(port, args);
        assertEquals([result.code, result.stdout], [0, expected], `redis-cli ${args.join(" ")}`);
      }
      // The time to live, with a second of slack for a loaded machine.
      assertMatch((await redisCli(port, ["TTL", "session"])).stdout, /^\(integer\) (99|100)\n$/);
    });
  },
});

Deno.test({
  name:
    "mini-redis: interactive redis-cli (in a terminal) starts, shows its help and runs commands",
  ignore: toolsMissing !== undefined,
  async fn() {
    await withMiniRedis([], async (port) => {
      // script(1) gives redis-cli a terminal: it then asks COMMAND DOCS on start.
      const result = await runTool("script", ["-qec", `redis-cli -p ${port}`, "/dev/null"], {
        stdin: "help get\nset a 1\nget a\nquit\n",
        env: { TERM: "dumb" },
      });
      if (result === null) return console.warn("script(1) is not installed: not tried");
      assertEquals(result.code, 0, result.stdout + result.stderr);
      const printed = stripAnsiCode(result.stdout).replaceAll("\r", "");
      assertMatch(printed, /summary: Get the value of a key/);
      assertMatch(printed, /> OK\n/);
      assertMatch(printed, /> "1"\n/);
    });
  },
});

/** 1 MiB in which every byte value occurs, `\r\n` and NUL included. */
function binaryValue(): Uint8Array {
  return Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
}

Deno.test({
  name:
    "mini-redis: 1 MiB binary values go in and come out unchanged (RESP client and redis-cli -x)",
  ignore: toolsMissing !== undefined,
  async fn() {
    const value = binaryValue();
    await withMiniRedis([], async (port) => {
      await using client = await connectRedis(port);
      assertReply(await client.request(command("SET", "blob", value)), "+OK\r\n", "SET blob");
      assertEquals((await client.request(command("GET", "blob"))).value, value);
      const piped = await redisCli(port, ["-x", "SET", "piped"], value);
      assertEquals([piped.code, piped.stdout], [0, "OK\n"]);
      assertEquals((await client.request(command("GET", "piped"))).value, value);
      assertEquals((await client.request(command("MGET", "blob", "piped"))).value, [value, value]);
      // A long binary key is a key too, and differs from one that differs in its last byte.
      const key = value.subarray(0, 100_000);
      const other = key.slice();
      other[other.length - 1] ^= 1;
      assertReply(await client.request(command("SET", key, "long")), "+OK\r\n", "long key");
      assertReply(await client.request(command("GET", key)), "$4\r\nlong\r\n", "long key");
      assertReply(await client.request(command("GET", other)), "$-1\r\n", "other key");
    });
  },
});

Deno.test({
  name: "mini-redis: redis-cli --pipe sends 5,000 commands and reports errors: 0, replies: 5000",
  ignore: toolsMissing !== undefined,
  async fn() {
    const commands: Uint8Array[] = [];
    for (let i = 0; i < 4000; i++) commands.push(command("SET", `key:${i}`, `value ${i}`));
    for (let i = 0; i < 1000; i++) commands.push(command("INCR", "counter"));
    const wire = concat(commands);
    await withMiniRedis([], async (port) => {
      const result = await runTool("redis-cli", ["-p", String(port), "--pipe"], { stdin: wire });
      assert(result !== null);
      assertEquals(result.code, 0, result.stdout + result.stderr);
      assertMatch(result.stdout, /errors: 0, replies: 5000\n/);
      await using client = await connectRedis(port);
      assertReply(await client.request(command("GET", "counter")), "$4\r\n1000\r\n", "counter");
      // Each value is a copy, not a view of a read buffer that later commands overwrote.
      for (const i of [0, 1234, 3999]) {
        const value = `value ${i}`;
        assertReply(
          await client.request(command("GET", `key:${i}`)),
          `$${value.length}\r\n${value}\r\n`,
          `key:${i}`,
        );
      }
      assertReply(await client.request(command("DBSIZE")), ":4001\r\n", "DBSIZE");
    });
  },
});

/** Reads a child's stdout until it has printed `text`; returns all it printed. */
async function readUntil(
  stdout: ReadableStreamDefaultReader<Uint8Array>,
  printed: { text: string },
  text: string,
): Promise<void> {
  const decoder = new TextDecoder();
  while (!printed.text.includes(text)) {
    const { value, done } = await stdout.read();
    if (done) throw new Error(`ended before printing ${JSON.stringify(text)}: ${printed.text}`);
    printed.text += decoder.decode(value, { stream: true });
  }
}

Deno.test({
  name: "mini-redis: a redis-cli SUBSCRIBE gets what another connection PUBLISHes",
  ignore: toolsMissing !== undefined,
  async fn() {
    await withMiniRedis([], async (port) => {
      const subscriber = new Deno.Command("redis-cli", {
        args: ["-p", String(port), "SUBSCRIBE", "news"],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const stdout = subscriber.stdout.getReader();
      const printed = { text: "" };
      try {
        await readUntil(stdout, printed, "subscribe\nnews\n1\n");
        await using publisher = await connectRedis(port);
        assertReply(
          await publisher.request(command("PUBLISH", "news", "hello")),
          ":1\r\n",
          "PUBLISH",
        );
        await readUntil(stdout, printed, "message\nnews\nhello\n");
        assertEquals(printed.text, "subscribe\nnews\n1\nmessage\nnews\nhello\n");
      } finally {
        subscriber.kill("SIGTERM");
        await stdout.cancel();
        await subscriber.status;
      }
    });
  },
});

Deno.test("mini-redis: a subscribed connection gets pushes, answers PING, refuses GET, and unsubscribes", async () => {
  await withMiniRedis([], async (port) => {
    await using subscriber = await connectRedis(port);
    await using publisher = await connectRedis(port);
    assertReply(
      await subscriber.request(command("SUBSCRIBE", "sports", "weather")),
      "*3\r\n$9\r\nsubscribe\r\n$6\r\nsports\r\n:1\r\n",
      "SUBSCRIBE",
    );
    assertReply(
      await subscriber.receive(),
      "*3\r\n$9\r\nsubscribe\r\n$7\r\nweather\r\n:2\r\n",
      "2nd",
    );
    assertReply(await publisher.request(command("PUBLISH", "sports", "goal")), ":1\r\n", "PUBLISH");
    assertReply(
      await subscriber.receive(),
      "*3\r\n$7\r\nmessage\r\n$6\r\nsports\r\n$4\r\ngoal\r\n",
      "push",
    );
    assertReply(
      await subscriber.request(command("PING")),
      "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
      "PING",
    );
    assertReply(
      await subscriber.request(command("GET", "x")),
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
      "GET while subscribed",
    );
    assertReply(
      await subscriber.request(command("UNSUBSCRIBE")),
      "*3\r\n$11\r\nunsubscribe\r\n$6\r\nsports\r\n:1\r\n",
      "UNSUBSCRIBE",
    );
    assertReply(
      await subscriber.receive(),
      "*3\r\n$11\r\nunsubscribe\r\n$7\r\nweather\r\n:0\r\n",
      "2nd",
    );
    assertReply(
      await publisher.request(command("PUBLISH", "sports", "again")),
      ":0\r\n",
      "PUBLISH",
    );
    assertReply(await subscriber.request(command("GET", "x")), "$-1\r\n", "GET after UNSUBSCRIBE");
  });
});

Deno.test("mini-redis: a subscriber that does not read is disconnected once 32 MiB wait for it", async () => {
  await withMiniRedis([], async (port) => {
    await using subscriber = await connectRedis(port);
    await using publisher = await connectRedis(port);
    assertReply(
      await subscriber.request(command("SUBSCRIBE", "firehose")),
      "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n",
      "SUBSCRIBE",
    );
    // The subscriber reads nothing more: the socket buffers fill, then the server's.
    const message = new Uint8Array(1 << 20);
    let published = 0;
    for (; published < 200; published++) {
      const receivers = await publisher.request(command("PUBLISH", "firehose", message));
      if (receivers.value === 0) break;
    }
    assert(published > 32 && published < 200, `dropped after ${published} MiB`);
  });
});

// [what a client sends, what it gets before mini-redis closes its connection]: redis-server's
// texts, but for the two limits it does not have (it allows 2^31 elements and 512 MB values).
const PROTOCOL_ERRORS: [string, string, string][] = [
  ["a bulk string where one was expected", "*1\r\n+foo\r\n", "expected '$', got '+'"],
  ["an integer in a command", "*1\r\n:5\r\n", "expected '$', got ':'"],
  ["an array in a command", "*1\r\n*1\r\n$1\r\na\r\n", "expected '$', got '*'"],
  ["a count that is no number", "*x\r\n", "invalid multibulk length"],
  ["a length that is no number", "*1\r\n$x\r\n", "invalid bulk length"],
  ["a negative length", "*1\r\n$-5\r\n", "invalid bulk length"],
  ["a null bulk string", "*1\r\n$-1\r\n", "invalid bulk length"],
  ["an unclosed quote", 'SET a "b\r\n', "unbalanced quotes in request"],
  [
    "a value over 8 MiB, refused before it is sent",
    "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$9000000\r\n",
    "invalid bulk length",
  ],
  ["over 1,048,576 arguments", "*2000000\r\n", "invalid multibulk length"],
  ["an inline command over 64 KiB", "x".repeat(70_000), "too big inline request"],
  ["a good command first, then garbage", "PING\r\n*x\r\n", "invalid multibulk length"],
];

Deno.test("mini-redis: a client that breaks the protocol gets Redis's error and is closed; others are served", async () => {
  await withMiniRedis([], async (port) => {
    await using bystander = await connectRedis(port);
    assertReply(await bystander.request(command("SET", "still", "here")), "+OK\r\n", "SET");
    for (const [what, sent, detail] of PROTOCOL_ERRORS) {
      await using client = await connectRedis(port);
      await client.send(new TextEncoder().encode(sent));
      if (sent.startsWith("PING")) assertReply(await client.receive(), "+PONG\r\n", what);
      assertReply(await client.receive(), `-ERR Protocol error: ${detail}\r\n`, what);
      assertEquals(await client.receive(), undefined, `${what}: the connection is closed`);
      assertReply(await bystander.request(command("GET", "still")), "$4\r\nhere\r\n", what);
    }
  });
});

Deno.test("mini-redis: QUIT answers OK and closes; an empty or null command is skipped", async () => {
  await withMiniRedis([], async (port) => {
    await using client = await connectRedis(port);
    await client.send(new TextEncoder().encode("*0\r\n*-1\r\n\r\nPING\r\nQUIT\r\nPING\r\n"));
    assertReply(await client.receive(), "+PONG\r\n", "PING");
    assertReply(await client.receive(), "+OK\r\n", "QUIT");
    assertEquals(await client.receive(), undefined);
  });
});

Deno.test({
  name: "mini-redis: redis-benchmark's handshake works and it measures PING, SET and GET",
  ignore: toolsMissing !== undefined,
  async fn() {
    await withMiniRedis([], async (port) => {
      const result = await runTool("redis-benchmark", [
        ..."-t ping,set,get -n 1000 -c 5 -P 4 -q".split(" "),
        "-p",
        String(port),
      ]);
      assert(result !== null);
      assertEquals(result.code, 0, result.stderr);
      // A failed CONFIG GET would print "WARNING: Could not fetch server CONFIG".
      assertNotMatch(result.stdout + result.stderr, /WARNING|error/i);
      for (const test of ["PING_INLINE", "PING_MBULK", "SET", "GET"]) {
        assertMatch(result.stdout, new RegExp(`${test}: [\\d.]+ requests per second`));
      }
    });
  },
});

/** Sends `args` until the reply is `expected`, for at most 10 s. */
async function waitForReply(
  client: Awaited<ReturnType<typeof connectRedis>>,
  args: string[],
  expected: string,
): Promise<void> {
  for (const end = Date.now() + 10_000;;) {
    const reply = await client.request(command(...args));
    if (latin1(reply.raw) === expected) return;
    if (Date.now() > end) assertReply(reply, expected, `${args.join(" ")} after 10 s`);
    await delay(20);
  }
}

Deno.test("mini-redis: keys expire when read (lazily) and when nobody reads them (the periodic cycle)", async () => {
  await withMiniRedis([], async (port) => {
    await using client = await connectRedis(port);
    assertReply(await client.request(command("SET", "soon", "v", "PX", "1")), "+OK\r\n", "SET");
    await waitForReply(client, ["GET", "soon"], "$-1\r\n");
    // 300 keys nobody reads again: only the periodic cycle can delete them.
    await client.sendAll(
      Array.from({ length: 300 }, (_, i) => command("SET", `temporary:${i}`, "v", "PX", "1")),
    );
    for (let i = 0; i < 300; i++) assertReply(await client.receive(), "+OK\r\n", `SET ${i}`);
    assertReply(await client.request(command("SET", "forever", "v")), "+OK\r\n", "SET");
    await waitForReply(client, ["DBSIZE"], ":1\r\n");
    assertReply(await client.request(command("GET", "forever")), "$1\r\nv\r\n", "GET");
  });
});

Deno.test("mini-redis: the expiry cycle does bounded work per tick and leaves keys without a TTL alone", () => {
  const db = new Db(1 << 30);
  const now = Date.now();
  const value = new Uint8Array(8);
  for (let i = 0; i < 1000; i++) db.set(keyOf(new TextEncoder().encode(`t${i}`)), value, now + 5);
  for (let i = 0; i < 10; i++) db.set(`p${i}`, value);
  // Every key checked has expired, so each tick runs its 16 rounds of 20 keys, and no more.
  assertEquals(
    [db.expireCycle(now + 10), db.expireCycle(now + 10), db.expireCycle(now + 10)],
    [320, 320, 320],
  );
  assertEquals(db.expireCycle(now + 10), 40);
  assertEquals(db.size, 10);
  // Keys whose time has not come are checked, never deleted.
  db.set("later", value, now + 60_000);
  assertEquals(db.expireCycle(now + 10), 0);
  assertEquals(db.size, 11);
});

Deno.test("mini-redis: a key set again without a TTL is never taken by the expiry cycle", () => {
  const db = new Db(1 << 30);
  const now = Date.now();
  const value = new Uint8Array(1);
  db.set("kept", value, now + 5);
  db.set("kept", value); // SET without EX: the time to live is gone
  db.set("expired", value, now + 5);
  db.set("later", value, now + 60_000);
  db.expire("later", 0); // clears its time to live
  assertEquals(db.expireCycle(now + 10), 1);
  assertEquals([db.get("kept"), db.expiresAt("kept"), db.get("later")], [value, 0, value]);
});

Deno.test("mini-redis: the Db keeps a copy of the bytes it is given, small (packed) and large", () => {
  const db = new Db(1 << 30);
  const buffer = new Uint8Array(200).fill(1);
  db.set("small", buffer.subarray(0, 3));
  db.set("next", buffer.subarray(3, 6));
  db.set("large", buffer.subarray(0, 100));
  buffer.fill(9); // as the next read overwrites a reused read buffer
  assertEquals(db.get("small"), new Uint8Array(3).fill(1));
  assertEquals(db.get("next"), new Uint8Array(3).fill(1));
  assertEquals(db.get("large"), new Uint8Array(100).fill(1));
});

Deno.test("mini-redis: past --max-memory, writes get Redis's -OOM error; reads and DEL still work", async () => {
  await withMiniRedis(["--max-memory", "1K"], async (port) => {
    await using client = await connectRedis(port);
    const value = "v".repeat(600);
    const oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    assertReply(await client.request(command("SET", "a", value)), "+OK\r\n", "first");
    assertReply(await client.request(command("SET", "b", value)), "+OK\r\n", "second, past it");
    assertReply(await client.request(command("SET", "c", value)), oom, "third");
    assertReply(await client.request(command("INCR", "n")), oom, "INCR");
    assertReply(await client.request(command("GET", "a")), `$600\r\n${value}\r\n`, "GET");
    assertReply(await client.request(command("DEL", "a")), ":1\r\n", "DEL");
    assertReply(await client.request(command("SET", "c", value)), "+OK\r\n", "room again");
  });
});

Deno.test("mini-redis: SIGTERM closes idle and subscribed connections and exits 0", async () => {
  const server = await startExample("mini_redis.ts", ["--port", "0"]);
  await using idle = await connectRedis(server.port);
  await using subscriber = await connectRedis(server.port);
  assertReply(await idle.request(command("PING")), "+PONG\r\n", "PING");
  assertReply(
    await subscriber.request(command("SUBSCRIBE", "news")),
    "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    "SUBSCRIBE",
  );
  assertEquals(await server.stop("SIGTERM"), 0, server.stderr());
  assertEquals([await idle.receive(), await subscriber.receive()], [undefined, undefined]);
});
