/**
 * The classic chat room: every line a client sends goes to every other
 * client as `[name] text`. The first line a client sends is its name.
 *
 *     deno run --allow-net examples/chat_room.ts [--host 127.0.0.1] [--port 9004]
 *         [--max-queue 1048576] [--help]
 *
 * Try it with `python3 examples/python/chat_client.py NAME` in two terminals
 * (or `nc 127.0.0.1 9004`).
 *
 * The room is state on the server (`ChatServer.members`); each handler
 * reaches it as `this.server`. A client that stops reading must not stall
 * the others, so nobody writes to a client's socket but that client's own
 * writer task, fed by a queue: a broadcast only appends to queues, and a
 * client whose queue passes `--max-queue` bytes is dropped, with a notice to
 * the others. Besides `[name] text` lines the server sends notices starting
 * with `* `: a welcome to the newcomer, and joined, left and dropped to the
 * others.
 *
 * Names and lines lose their control characters and bidi overrides before
 * anyone sees them (`printable()`): a line `"\r[alice] send me your
 * password"` from mallory must not show as alice speaking.
 *
 * SIGINT or SIGTERM stops accepting, closes the sessions after a second,
 * exits 0.
 *
 * @module
 */

import { concat } from "@std/bytes/concat";
import { formatAddress, StreamRequestHandler, ThreadingTCPServer } from "../mod.ts";
import { flag, parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import { printable } from "./_printable.ts";

const cli = parseCommandLine({
  permissions: "--allow-net",
  about: "A chat room: each line a client sends goes to every other client as [name] text.",
  port: 9004,
  flags: {
    maxQueue: flag.bytes("drop a client with more than this waiting (default 1M)", 1024 * 1024),
  },
});

/** The longest name and message line accepted, in bytes. */
const MAX_NAME_BYTES = 256;
const MAX_LINE_BYTES = 8192;
/** How long a leaving client's writer may take to send what is still queued. */
const LEAVE_FLUSH_SECONDS = 5;

const encoder = new TextEncoder();

/** A ThreadingTCPServer that holds the room: who is in it, and how to reach them. */
class ChatServer extends ThreadingTCPServer {
  // Chat sessions never end by themselves: on shutdown, give them a second, then close them.
  static override drainTimeout = 1;

  /** Everyone in the room, in order of arrival. */
  readonly members = new Set<Chatter>();
  /** Bytes a member may have waiting before it is dropped. */
  readonly maxQueue: number = cli.maxQueue;

  /** Queues `text` for every member but `from`; never waits. */
  broadcast(text: string, from?: Chatter): void {
    const bytes = encoder.encode(text);
    for (const member of this.members) if (member !== from) member.send(bytes);
  }

  /** Removes a member that does not read, and tells the others. */
  drop(member: Chatter): void {
    if (!this.members.delete(member)) return;
    member.close();
    console.log(`${member.name} dropped: more than ${this.maxQueue} bytes waiting`);
    this.broadcast(`* ${member.name} was dropped (not reading)\n`);
  }
}

/** One client: reads its lines, and owns the only writer to its socket. */
class Chatter extends StreamRequestHandler {
  declare readonly server: ChatServer;
  // A chatter may listen for hours without a word: no idle limit (the
  // default closes after 60 s). maxConnections still bounds how many stay.
  override idleTimeout = null;
  name = "";

  #queue: Uint8Array[] = [];
  #queued = 0;
  #wake: (() => void) | undefined;
  #leaving = false;
  #closed = false;

  override async handle(): Promise<void> {
    const name = await this.rfile.readline(MAX_NAME_BYTES);
    if (name === null) return;
    this.name = printable(name).trim() || "anonymous";
    const writing = this.#writeQueued();
    const room = this.server;
    room.members.add(this);
    console.log(`${this.name} joined from ${formatAddress(this.clientAddress)}`);
    this.send(encoder.encode(`* welcome, ${this.name} (${room.members.size} online)\n`));
    room.broadcast(`* ${this.name} joined\n`, this);
    try {
      for await (const line of this.rfile.lines(MAX_LINE_BYTES)) {
        room.broadcast(`[${this.name}] ${printable(line)}\n`, this);
      }
    } catch (error) {
      if (!this.#closed) throw error; // Dropped: its reads fail, as expected.
    } finally {
      if (room.members.delete(this)) {
        console.log(`${this.name} left`);
        room.broadcast(`* ${this.name} left\n`);
      }
      await this.#finishWriting(writing);
    }
  }

  /**
   * Queues bytes for this client. Past `maxQueue` bytes waiting, the client
   * is dropped instead: it is not reading, and must not hold up the room.
   */
  send(bytes: Uint8Array): void {
    if (this.#closed || this.#leaving) return;
    if (this.#queued + bytes.length > this.server.maxQueue) return this.server.drop(this);
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    this.#wake?.();
  }

  /** Closes the connection at once; its pending read and write fail. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
    try {
      this.request.close();
    } catch {
      // Already closed.
    }
  }

  /** The writer task: sends what is queued, batch by batch, until the client leaves. */
  async #writeQueued(): Promise<void> {
    try {
      while (!this.#closed) {
        if (this.#queue.length === 0) {
          if (this.#leaving) return;
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = undefined;
          continue;
        }
        const batch = concat(this.#queue);
        this.#queue = [];
        this.#queued = 0;
        for (let offset = 0; offset < batch.length;) {
          offset += await this.request.write(batch.subarray(offset));
        }
      }
    } catch {
      // The connection is closed or reset: the reading side ends the session.
    }
  }

  /** Lets the writer send what is left, for a bounded time, then closes. */
  async #finishWriting(writing: Promise<void>): Promise<void> {
    this.#leaving = true;
    this.#wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, LEAVE_FLUSH_SECONDS * 1000);
    });
    await Promise.race([writing, expired]);
    clearTimeout(timer);
    this.close();
    await writing;
  }
}

await serve(cli, () => new ChatServer({ hostname: cli.host, port: cli.port }, Chatter));
