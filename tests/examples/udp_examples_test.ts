// examples/udp_time.ts and examples/udp_chat.ts as real subprocesses, with
// python3 SOCK_DGRAM clients and with their own --client modes.

import { assert, assertEquals, assertMatch } from "@std/assert";
import { runExample, startExample } from "../support/example_process.ts";
import { pythonExchange } from "../support/datagrams.ts";

const PERMISSIONS = ["--allow-net", "--unstable-net"];
const EXAMPLES = new URL("../../examples/", import.meta.url);
const decoder = new TextDecoder();

/** Runs an example with `--client`, feeding `stdin`; returns what it printed. */
function runClient(name: string, args: string[], stdin = "") {
  return runExample(name, ["--client", ...args], { permissions: PERMISSIONS, stdin });
}

Deno.test("udp_time: python3 client gets the time in the format it sent", async () => {
  const server = await startExample("udp_time.ts", ["--port", "0", "--utc"], {
    permissions: PERMISSIONS,
  });
  let code: number | undefined;
  try {
    const replies = await pythonExchange(
      { family: "inet", host: "127.0.0.1", port: server.port },
      [
        "%Y/%m/%d %H:%M:%S",
        "%Z %z",
        "%%|%Q|%n",
        "%F %T\n",
        { sendOnly: "x".repeat(2000) },
        "%a",
      ],
    );
    assertMatch(replies[0]!, /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);
    assertEquals(replies[1], "UTC +0000");
    // %% is a percent sign, an unknown directive stays as it is.
    assertEquals(replies[2], "%|%Q|\n");
    // A newline ending the format (as nc or echo send it) is not echoed.
    assertMatch(replies[3]!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    // Over maxPacketSize (1024): refused and reported, not answered; so the
    // next reply is the next format's (the server handles them in order).
    assertMatch(replies[5]!, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)$/);
  } finally {
    code = await server.stop("SIGINT");
  }
  assertEquals(code, 0);
  assertMatch(server.stderr(), /DatagramTooLongError: .*maxPacketSize 1024 bytes/);
});

Deno.test("udp_time: a datagram whose answer would be itself gets no answer", async () => {
  const server = await startExample("udp_time.ts", ["--port", "0", "--utc"], {
    permissions: PERMISSIONS,
  });
  try {
    // Each of these was echoed back: a forged sender could set two servers talking forever.
    // The server handles datagrams in order, so the reply that comes is the last one's.
    const echoes = ["", "no directive here", "%Q unknown", "\n"].map((sendOnly) => ({ sendOnly }));
    const replies = await pythonExchange(
      { family: "inet", host: "127.0.0.1", port: server.port },
      [...echoes, "%Y"],
    );
    assertMatch(replies.at(-1)!, /^\d{4}$/);
  } finally {
    assertEquals(await server.stop("SIGTERM"), 0);
  }
});

Deno.test("udp_time: the --client mode prints the reply", async () => {
  const server = await startExample("udp_time.ts", ["--port", "0"], { permissions: PERMISSIONS });
  try {
    const client = await runClient("udp_time.ts", [
      "--port",
      String(server.port),
      "--format",
      "%F",
    ]);
    assertEquals(client.code, 0, client.stderr);
    assertMatch(client.stdout, /^\d{4}-\d{2}-\d{2}\n$/);
  } finally {
    assertEquals(await server.stop("SIGTERM"), 0);
  }
});

Deno.test("udp_chat: python3 clients get acknowledgements; the server prints names plainly", async () => {
  // stdin is not a terminal and empty here: the server answers by itself.
  const server = await startExample("udp_chat.ts", ["--port", "0"], { permissions: PERMISSIONS });
  let code: number | undefined;
  try {
    const target = { family: "inet" as const, host: "127.0.0.1", port: server.port };
    const alice = await pythonExchange(target, ["alice : hello\n", "alice : how are you?\n"]);
    assertEquals(alice, ["ack: hello\n", "ack: how are you?\n"]);
    // Two lines in one datagram: two answers in one datagram.
    assertEquals(await pythonExchange(target, ["bob : one\nbob : two\n"]), [
      "ack: one\nack: two\n",
    ]);
    // No name: the sender's address names it.
    assertEquals(await pythonExchange(target, ["anonymous words"]), ["ack: anonymous words\n"]);
  } finally {
    code = await server.stop("SIGINT");
  }
  assertEquals(code, 0);
  const printed = server.stdout();
  assertMatch(printed, /^alice: hello$/m);
  assertMatch(printed, /^alice: how are you\?$/m);
  assertMatch(printed, /^bob: one$/m);
  assertMatch(printed, /^127\.0\.0\.1:\d+: anonymous words$/m);
  // stdout is a pipe: no color codes.
  assert(!printed.includes("\x1b["), "color codes in piped output");
});

Deno.test("udp_chat --auto-reply: one datagram answers and logs at most 8 lines, none for empty ones", async () => {
  const server = await startExample("udp_chat.ts", ["--port", "0", "--auto-reply"], {
    permissions: PERMISSIONS,
  });
  try {
    const target = { family: "inet" as const, host: "127.0.0.1", port: server.port };
    // 60,000 newlines: before, 360,000 bytes of answers and a line logged for each.
    const many = Array.from({ length: 20 }, (_, i) => `zed : line ${i}\n`).join("");
    const replies = await pythonExchange(target, [{ sendOnly: "\n".repeat(60_000) }, many]);
    assertEquals(
      replies[1],
      Array.from({ length: 8 }, (_, i) => `ack: line ${i}\n`).join(""),
    );
    // Control characters from the network reach neither the answer nor the log.
    assertEquals(await pythonExchange(target, ["eve\x1b[2J : hi\x07\rthere\n"]), [
      "ack: hithere\n",
    ]);
  } finally {
    assertEquals(await server.stop("SIGTERM"), 0);
  }
  const log = server.stdout();
  assertEquals(log.match(/^zed: line \d+$/gm)?.length, 8);
  assertMatch(log, /^127\.0\.0\.1:\d+: 12 more lines in one datagram dropped$/m);
  assertMatch(log, /^eve\[2J: hithere$/m);
  assertEquals(log.split("\n").length, 12, log); // listening, 8 + 1 lines, eve, and the end
});

Deno.test("udp_chat: the --client mode sends stdin lines with --name and prints answers", async () => {
  const server = await startExample("udp_chat.ts", ["--port", "0", "--auto-reply"], {
    permissions: PERMISSIONS,
  });
  try {
    const client = await runClient(
      "udp_chat.ts",
      ["--port", String(server.port), "--name", "carol"],
      "first line\n\nsecond line\n",
    );
    assertEquals(client.code, 0, client.stderr);
    assertEquals(client.stdout, "ack: first line\nack: second line\n");
  } finally {
    assertEquals(await server.stop("SIGTERM"), 0);
  }
  assertMatch(server.stdout(), /^carol: first line$/m);
});

/** A reader over a server's stdout, and a wait until `pattern` shows up in what it printed. */
function watchOutput(stdout: ReadableStream<Uint8Array>) {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    for (;;) {
      const match = printed.match(pattern);
      if (match !== null) return match;
      const { value, done } = await reader.read();
      if (done) throw new Error(`server ended before printing ${pattern}:\n${printed}`);
      printed += value;
    }
  };
  return { reader, waitFor };
}

Deno.test("udp_chat: the operator answers from the server's stdin", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, new URL("udp_chat.ts", EXAMPLES).pathname, "--port", "0"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const stdin = child.stdin.getWriter();
  const { reader: lines, waitFor } = watchOutput(child.stdout);
  try {
    const port = Number((await waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const target = { family: "inet" as const, host: "127.0.0.1", port };
    const asking = pythonExchange(target, ["dave : are you there?\n"], 20);
    await waitFor(/^dave: are you there\?$/m);
    await stdin.write(new TextEncoder().encode("yes, typed by the operator\n"));
    assertEquals(await asking, ["yes, typed by the operator\n"]);
    // The operator's stdin closes: answers are automatic from then on.
    await stdin.close();
    assertEquals(await pythonExchange(target, ["dave : and now?\n"], 20), ["ack: and now?\n"]);
    child.kill("SIGINT");
    assertEquals((await child.status).code, 0);
    // Read the rest so the pipe closes.
    while (!(await lines.read()).done);
  } finally {
    clearTimeout(timer);
    await child.stderr.cancel();
  }
});

Deno.test("udp_chat: SIGINT while the operator is typing still answers, then exits 0", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, new URL("udp_chat.ts", EXAMPLES).pathname, "--port", "0"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const { reader: output, waitFor } = watchOutput(child.stdout);
  try {
    const port = Number((await waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const asking = pythonExchange({ family: "inet", host: "127.0.0.1", port }, [
      "erin : anyone?\n",
    ], 20);
    await waitFor(/^erin: anyone\?$/m);
    // The operator never types: stopping ends the wait, and the drain sends the answer.
    child.kill("SIGINT");
    assertEquals(await asking, ["ack: anyone?\n"]);
    assertEquals((await child.status).code, 0);
    while (!(await output.read()).done);
  } finally {
    clearTimeout(timer);
    await child.stdin.close();
    await child.stderr.cancel();
  }
});

Deno.test("udp_time: the --client mode exits 1 when no reply comes", async () => {
  // A port nobody listens on: UDP has no connection to refuse, so the client waits and gives up.
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  const client = await runClient("udp_time.ts", ["--port", String(port)]);
  assertEquals(client.code, 1);
  assertMatch(client.stderr, /no reply from 127\.0\.0\.1:\d+ within 2 s/);
});

Deno.test("examples/python UDP clients work against both examples", async () => {
  const time = await startExample("udp_time.ts", ["--port", "0", "--utc"], {
    permissions: PERMISSIONS,
  });
  const chat = await startExample("udp_chat.ts", ["--port", "0", "--auto-reply"], {
    permissions: PERMISSIONS,
  });
  /** Runs an examples/python script with `args` and `stdin`; returns its stdout. */
  const python = async (script: string, args: string[], stdin = ""): Promise<string> => {
    const child = new Deno.Command("python3", {
      args: [new URL(`python/${script}`, EXAMPLES).pathname, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    assertEquals(code, 0, decoder.decode(stderr));
    return decoder.decode(stdout);
  };
  try {
    assertMatch(
      await python("udp_time_client.py", [String(time.port)]),
      /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\n$/,
    );
    assertEquals(await python("udp_time_client.py", [String(time.port), "%Z|%%"]), "UTC|%\n");
    assertEquals(
      await python("udp_chat_client.py", [String(chat.port), "alice"], "hello\nhow are you?\n"),
      "ack: hello\nack: how are you?\n",
    );
  } finally {
    assertEquals(await time.stop(), 0);
    assertEquals(await chat.stop(), 0);
  }
  assertMatch(chat.stdout(), /^alice: how are you\?$/m);
});
