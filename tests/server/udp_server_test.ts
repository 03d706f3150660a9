// UDPServer and ThreadingUDPServer over real sockets on 127.0.0.1: round
// trips with Deno and python3 clients, concurrency and its bound, the
// lifecycle, error containment, oversized datagrams and settings.
//
// "No reply" is proved without waiting: the sequential server handles
// datagrams in the order they arrive, so when a marker sent afterwards is
// the first thing answered, the datagram before it got no reply.

import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "@std/assert";

import {
  type DatagramRequest,
  DatagramRequestHandler,
  DatagramTooLongError,
  type RequestHandlerClass,
  ThreadingUDPServer,
  UDPServer,
  type UDPServerOptions,
} from "@socketserver/core";
import { DatagramClient, DatagramEcho, pythonExchange, slowEcho } from "../support/datagrams.ts";
import { noUnstableConfigArgs } from "../support/no_unstable_config.ts";

const LOCALHOST = { hostname: "127.0.0.1", port: 0 };

const KINDS = [
  { name: "UDPServer", Server: UDPServer },
  { name: "ThreadingUDPServer", Server: ThreadingUDPServer },
];

/** A server that records what reaches handleError instead of printing it. */
function recordingServer(
  Server: typeof UDPServer,
  Handler: RequestHandlerClass<DatagramRequest, Deno.Addr>,
  options: UDPServerOptions = {},
): { server: UDPServer; errors: { error: unknown; clientAddress: Deno.Addr | null }[] } {
  const errors: { error: unknown; clientAddress: Deno.Addr | null }[] = [];
  class Recording extends Server {
    override handleError(error: unknown, _request: unknown, clientAddress: Deno.Addr | null) {
      errors.push({ error, clientAddress });
    }
  }
  return { server: new Recording(LOCALHOST, Handler, options), errors };
}

for (const { name, Server } of KINDS) {
  Deno.test(`${name}: echo round trips with a Deno client, then shutdown and close`, async () => {
    const server = new Server(LOCALHOST, DatagramEcho);
    const serving = server.serveForever();
    {
      await using client = DatagramClient.udp();
      for (const text of ["hello", "a longer datagram\nwith two lines\n", "é ü 漢字"]) {
        assertEquals(await client.exchange(text, server.address), text);
      }
      // An empty datagram is a datagram: echoed as one.
      assertEquals(await client.exchange("", server.address), "");
    }
    await server.shutdown();
    await serving;
    await server.serverClose();
  });

  Deno.test(`${name}: python3 SOCK_DGRAM client gets its replies`, async () => {
    await using server = new Server(LOCALHOST, DatagramEcho);
    const serving = server.serveForever();
    const replies = await pythonExchange(
      { family: "inet", host: "127.0.0.1", port: server.address.port },
      ["ping", "from python", "x".repeat(60000)],
    );
    assertEquals(replies, ["ping", "from python", "x".repeat(60000)]);
    await server.shutdown();
    await serving;
  });
}

Deno.test("ThreadingUDPServer: 1000 datagrams from 10 concurrent senders, each reply matched", async () => {
  const SENDERS = 10;
  const PER_SENDER = 100;
  // In flight per sender: 80 small datagrams in all stay far below the
  // kernel's receive buffer, so loopback drops nothing and no retry is needed.
  const WINDOW = 8;
  const { SlowEcho, overlap } = slowEcho();
  await using server = new ThreadingUDPServer(LOCALHOST, SlowEcho, { maxConcurrentHandlers: 16 });
  const serving = server.serveForever();

  async function sender(id: number): Promise<number> {
    await using client = DatagramClient.udp();
    const waiting = new Set<string>();
    let next = 0;
    const sendNext = async () => {
      const text = `${id}:${next++}`;
      waiting.add(text);
      await client.send(text, server.address);
    };
    while (next < WINDOW) await sendNext();
    let answered = 0;
    while (answered < PER_SENDER) {
      const reply = await client.receiveText();
      const request = reply.replace(/ ok$/, "");
      assert(waiting.delete(request), `unexpected or duplicate reply ${reply}`);
      answered++;
      if (next < PER_SENDER) await sendNext();
    }
    assertEquals(waiting.size, 0);
    return answered;
  }

  const answered = await Promise.all(Array.from({ length: SENDERS }, (_, id) => sender(id)));
  assertEquals(answered.reduce((sum, count) => sum + count, 0), SENDERS * PER_SENDER);
  assert(overlap.max > 1, `handlers never overlapped (max ${overlap.max})`);
  assert(overlap.max <= 16, `maxConcurrentHandlers exceeded: ${overlap.max}`);
  await server.shutdown();
  await serving;
});

Deno.test("ThreadingUDPServer: past maxConcurrentHandlers the next datagram waits for a handler to finish", async () => {
  const events: string[] = [];
  const releases: (() => void)[] = [];
  const twoStarted = Promise.withResolvers<void>();
  class Held extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      const text = new TextDecoder().decode(this.packet);
      events.push(`start ${text}`);
      if (events.length === 2) twoStarted.resolve();
      if (text !== "c") await new Promise<void>((resolve) => releases.push(resolve));
      events.push(`end ${text}`);
      await this.reply(text);
    }
  }
  await using server = new ThreadingUDPServer(LOCALHOST, Held, { maxConcurrentHandlers: 2 });
  const serving = server.serveForever();
  await using client = DatagramClient.udp();
  await client.send("a", server.address);
  await client.send("b", server.address);
  await twoStarted.promise;
  await client.send("c", server.address);
  // The server is not receiving: "c" waits in the kernel's receive buffer.
  const queued = udpReceiveQueueBytes(server.address.port);
  if (queued !== undefined) assert(queued > 0, "datagram c was taken off the socket");
  assertEquals(server.activeRequests, 2);
  releases[0]();
  const replies = new Set([await client.receiveText(), await client.receiveText()]);
  assertEquals(replies, new Set(["a", "c"]));
  // "c" started only after "a" ended: the bound held.
  assert(events.indexOf("start c") > events.indexOf("end a"), events.join(", "));
  releases[1]();
  assertEquals(await client.receiveText(), "b");
  await server.shutdown();
  await serving;
});

/** Bytes queued on a UDP port's receive buffer (Linux /proc), or undefined elsewhere. */
function udpReceiveQueueBytes(port: number): number | undefined {
  let table: string;
  try {
    table = Deno.readTextFileSync("/proc/net/udp");
  } catch {
    return undefined;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of table.split("\n").slice(1)) {
    const columns = line.trim().split(/\s+/);
    if (columns[1]?.endsWith(`:${hexPort}`)) return parseInt(columns[4].split(":")[1], 16);
  }
  return undefined;
}

Deno.test("UDPServer: shutdown while idle returns at once and frees the port", async () => {
  const server = new UDPServer(LOCALHOST, DatagramEcho);
  const port = server.address.port;
  const serving = server.serveForever();
  await server.shutdown();
  await serving;
  await server.serverClose();
  await server.finished;
  // Bound again without allowReuseAddress: the socket is really closed.
  await using again = new UDPServer({ hostname: "127.0.0.1", port }, DatagramEcho);
  assertEquals(again.address.port, port);
});

Deno.test("UDPServer: shutdown from a handler, await using, signal and onListen", async () => {
  class StopAfterReply extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      await this.reply("bye");
      await this.server.shutdown();
    }
  }
  const listened: Deno.Addr[] = [];
  const controller = new AbortController();
  const server = new UDPServer(LOCALHOST, StopAfterReply, {
    signal: controller.signal,
    onListen: (address) => listened.push(address),
  });
  const serving = server.serveForever();
  {
    await using client = DatagramClient.udp();
    assertEquals(await client.exchange("stop", server.address), "bye");
  }
  await serving;
  assertEquals(listened, [server.address]);
  // Aborting the signal closes the server.
  controller.abort();
  await server.finished;
});

Deno.test("UDPServer: serverClose lets a running handler send its reply before the socket closes", async () => {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  class Late extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      started.resolve();
      await release.promise;
      await this.reply("late reply");
    }
  }
  const server = new UDPServer(LOCALHOST, Late);
  const serving = server.serveForever();
  await using client = DatagramClient.udp();
  await client.send("hi", server.address);
  await started.promise;
  await server.shutdown();
  await serving;
  const closing = server.serverClose();
  release.resolve();
  await closing;
  assertEquals(await client.receiveText(), "late reply");
});

Deno.test("UDPServer: handleRequest waits at most timeout, then calls handleTimeout", async () => {
  let timeouts = 0;
  class Timed extends UDPServer {
    override handleTimeout(): void {
      timeouts++;
    }
  }
  await using server = new Timed(LOCALHOST, DatagramEcho, { timeout: 0.05 });
  await server.handleRequest();
  assertEquals(timeouts, 1);
  await using client = DatagramClient.udp();
  await client.send("after the timeout", server.address);
  await server.handleRequest();
  assertEquals(await client.receiveText(), "after the timeout");
  assertEquals(timeouts, 1);
});

Deno.test("UDPServer: a handler's error is contained and the next datagram is answered", async () => {
  class Fragile extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      const text = new TextDecoder().decode(this.packet);
      if (text === "boom") throw new Error("handler failed on purpose");
      await this.reply(text);
    }
  }
  const { server, errors } = recordingServer(UDPServer, Fragile);
  await using _ = server;
  const serving = server.serveForever();
  await using client = DatagramClient.udp();
  await client.send("boom", server.address);
  assertEquals(await client.exchange("still here", server.address), "still here");
  assertEquals(errors.length, 1);
  assertEquals((errors[0].error as Error).message, "handler failed on purpose");
  assertEquals(errors[0].clientAddress, client.address);
  await server.shutdown();
  await serving;
});

Deno.test("UDPServer: verifyRequest false refuses a datagram without a reply", async () => {
  class Picky extends UDPServer {
    override verifyRequest([data]: DatagramRequest): boolean {
      return data[0] !== "x".charCodeAt(0);
    }
  }
  await using server = new Picky(LOCALHOST, DatagramEcho);
  const serving = server.serveForever();
  await using client = DatagramClient.udp();
  await client.send("x: refused", server.address);
  assertEquals(await client.exchange("marker", server.address), "marker");
  await server.shutdown();
  await serving;
});

// maxPacketSize 8: Deno's receive() cuts a longer datagram to the buffer, as
// recvfrom() does; the server reads 9 bytes to notice, then applies onTooLong.
const TOO_LONG_CASES = [
  { onTooLong: "error", handlerSees: null, reported: true },
  { onTooLong: "discard", handlerSees: null, reported: false },
  { onTooLong: "truncate", handlerSees: "01234567", reported: false },
] as const;

for (const { onTooLong, handlerSees, reported } of TOO_LONG_CASES) {
  Deno.test(`UDPServer: a datagram over maxPacketSize with onTooLong "${onTooLong}"`, async () => {
    const { server, errors } = recordingServer(UDPServer, DatagramEcho, {
      maxPacketSize: 8,
      onTooLong,
    });
    await using _ = server;
    const serving = server.serveForever();
    await using client = DatagramClient.udp();
    // Exactly maxPacketSize bytes is not too long.
    assertEquals(await client.exchange("abcdefgh", server.address), "abcdefgh");
    await client.send("0123456789abcdefghij", server.address);
    if (handlerSees !== null) assertEquals(await client.receiveText(), handlerSees);
    assertEquals(await client.exchange("marker", server.address), "marker");
    assertEquals(errors.length, reported ? 1 : 0);
    if (reported) {
      const error = errors[0].error;
      assert(error instanceof DatagramTooLongError);
      assert(error instanceof RangeError);
      assertEquals(error.maxPacketSize, 8);
      assertMatch(error.message, /exceeds maxPacketSize 8 bytes/);
      assertEquals(errors[0].clientAddress, client.address);
    }
    await server.shutdown();
    await serving;
  });
}

Deno.test("UDPServer: settings come from static fields, then options", async () => {
  class Small extends UDPServer {
    static override maxPacketSize = 16;
    static override maxConcurrentHandlers = 3;
  }
  await using byClass = new Small(LOCALHOST, DatagramEcho);
  assertEquals(byClass.maxPacketSize, 16);
  assertEquals(byClass.maxConcurrentHandlers, 3);
  assertEquals(byClass.onTooLong, "error");
  await using byOption = new Small(LOCALHOST, DatagramEcho, { maxPacketSize: 32 });
  assertEquals(byOption.maxPacketSize, 32);
  await using defaults = new UDPServer(LOCALHOST, DatagramEcho);
  assertEquals(defaults.maxPacketSize, 65535);
  assertEquals(defaults.maxConcurrentHandlers, 1000);
  assertEquals(defaults.allowReuseAddress, false);
  assertEquals(defaults.allowReusePort, false);
  assertEquals(defaults.timeout, null);
});

Deno.test("UDPServer: allowReuseAddress false refuses a taken port, true binds it", async () => {
  await using first = new UDPServer(LOCALHOST, DatagramEcho, { allowReuseAddress: true });
  const port = first.address.port;
  assertThrows(
    () => new UDPServer({ hostname: "127.0.0.1", port }, DatagramEcho),
    Deno.errors.AddrInUse,
  );
  await using second = new UDPServer({ hostname: "127.0.0.1", port }, DatagramEcho, {
    allowReuseAddress: true,
  });
  assertEquals(second.address.port, port);
  assertEquals(second.allowReuseAddress, true);
});

Deno.test("UDPServer: options refused before anything is bound", () => {
  const refusals: [UDPServerOptions, ErrorConstructor, RegExp][] = [
    // Deno has no SO_REUSEPORT for UDP: asking for it is an error, not ignored.
    [{ allowReusePort: true }, TypeError, /no SO_REUSEPORT for UDP/],
    [{ maxPacketSize: 0 }, RangeError, /maxPacketSize 0 is not a positive integer/],
    [{ maxPacketSize: 1.5 }, RangeError, /maxPacketSize 1.5 is not a positive integer/],
    [{ maxConcurrentHandlers: -1 }, RangeError, /maxConcurrentHandlers -1/],
    [{ onTooLong: "drop" as "error" }, RangeError, /onTooLong "drop" is not/],
  ];
  for (const [options, ErrorClass, message] of refusals) {
    // The resource sanitizer proves that no socket was left open.
    const error = assertThrows(() => new UDPServer(LOCALHOST, DatagramEcho, options), ErrorClass);
    assertMatch(error.message, message);
  }
});

Deno.test("UDPServer without --unstable-net: the error names the flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/no_unstable.ts`;
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { DatagramRequestHandler, UDPServer } from ${JSON.stringify(mod)};
new UDPServer({ hostname: "127.0.0.1", port: 0 }, DatagramRequestHandler);
console.log("constructed");
`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...await noUnstableConfigArgs(dir), "--allow-net", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assertMatch(err, /--unstable-net/);
    assertMatch(err, /TypeError: Cannot use UDPServer \(Deno\.listenDatagram\)/);
    // Not Deno's own exit for a missing unstable flag (70): our error came first.
    assertNotEquals(code, 70);
    assertNotEquals(code, 0);
    assertEquals(new TextDecoder().decode(stdout), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
