/**
 * mini-redis: a Redis-compatible server that the real `redis-cli`,
 * `redis-benchmark` and Redis client libraries talk to. The model is tokio's
 * mini-redis: one frame type, a connection, one small piece per command, a
 * shared `Db`.
 *
 *     deno run --allow-net examples/mini_redis.ts [--host 127.0.0.1] [--port 6379]
 *         [--max-memory 256M] [--help]
 *
 *     redis-cli -p 6379 SET greeting hello      # OK
 *     redis-cli -p 6379 GET greeting            # "hello"
 *     redis-benchmark -p 6379 -t ping,set,get -q
 *
 * Commands: PING, ECHO, GET, SET (EX, PX, NX, XX, KEEPTTL, GET), DEL,
 * EXISTS, DBSIZE, INCR, DECR, INCRBY, DECRBY, MGET, MSET, EXPIRE (NX, XX,
 * GT, LT), TTL, PTTL, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, QUIT, and what
 * clients send on connect: HELLO, CLIENT SETNAME / GETNAME, CONFIG GET,
 * COMMAND (and COUNT; COMMAND DOCS gets Redis 6's error, on which redis-cli
 * uses its own help). Replies and errors are `redis-server`'s, byte for
 * byte; values are binary-safe.
 *
 * How it is built, top to bottom:
 *
 * - the wire: `RespCodec` from `@socketserver/core/framing` decodes each
 *   command (a RESP array, or an inline line as telnet sends it) into bulk
 *   strings that are views of the read buffer, no copy;
 * - the connection (`RedisConnection`, below): hands each command to
 *   `execute()` and each reply to `sendFrame()`; it is the only code here
 *   that knows about sockets;
 * - the commands (examples/mini_redis/): a table of `{ name, arity, run }`
 *   rows, one small function each, that reply through `client.reply()`;
 * - the `Db` (examples/mini_redis/db.ts): keys, values, expiry and pub/sub
 *   channels, shared by every connection of the server.
 *
 * Why the connection overrides `handleFrame()` rather than looping over
 * `for await (const command of this.frames())`: `redis-benchmark -P 16`
 * sends 16 commands in one packet, and a Redis server is judged by how
 * many of them it answers per second. `handleFrame()` is called
 * synchronously for every command already received, with no promise per
 * command, and `sendFrame()` appends each reply to one outbound buffer
 * that leaves in one write when the loop next waits: a batch of 16 costs
 * one read, one write and one promise, as a batch costs Redis one read and
 * one write. The `for await` loop with `await writeFrame()` costs two
 * promises per command: at `-P 16` a GET then takes a fifth more CPU time
 * (measured, server CPU per GET: 1.02 µs with `handleFrame()`, 1.25 µs with
 * `for await`).
 *
 * Keys expire as in Redis: lazily, when a command finds the key expired,
 * and periodically: ten times a second (`serviceActions()`, Python's
 * periodic hook, with `pollInterval` 0.1) a bounded sample of the keys with
 * a time to live is checked, so keys nobody reads again are freed too.
 *
 * Bounded: a value is at most 8 MiB (RespCodec's default limit; Redis
 * allows 512 MB); writes are refused with Redis's `-OOM` error once keys
 * and values hold about `--max-memory` bytes (Redis has no limit by
 * default); a subscriber that does not read its messages is disconnected
 * once 32 MiB wait for it (Redis's `client-output-buffer-limit pubsub`). A
 * client that breaks the protocol gets Redis's `-ERR Protocol error: ...`
 * and is disconnected; the others are served on.
 *
 * SIGINT or SIGTERM stops accepting, gives connected clients a second to
 * finish, closes them, exits 0.
 *
 * @module
 */

import {
  IncompleteFrameError,
  isPeerGone,
  RespCodec,
  RespError,
  type RespValue,
  StreamRequestHandler,
  ThreadingTCPServer,
} from "../mod.ts";
import { flag, parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import type { Client } from "./mini_redis/command.ts";
import { Db } from "./mini_redis/db.ts";
import { execute } from "./mini_redis/dispatch.ts";
import { commandArguments, protocolErrorText } from "./mini_redis/protocol.ts";

const cli = parseCommandLine({
  permissions: "--allow-net",
  about: "A Redis-compatible server: redis-cli and redis-benchmark talk to it.",
  port: 6379,
  flags: {
    maxMemory: flag.bytes("refuse writes past this much data (default 256M)", 256 * 1024 * 1024),
  },
});

/** Bytes waiting for a subscriber before it is disconnected (Redis's pubsub hard limit). */
const MAX_PUSH_BACKLOG = 32 * 1024 * 1024;
const MESSAGE = new TextEncoder().encode("message");
/** One codec for every connection: it holds only its limits. */
const CODEC = new RespCodec();
/** Thrown by `handleFrame()` after QUIT, to end the frame loop. */
const QUIT = Symbol("QUIT");

/** The server: a ThreadingTCPServer with the `Db` its connections share. */
class RedisServer extends ThreadingTCPServer {
  // serviceActions() runs the expiry cycle every 0.1 s, as Redis's `hz 10`.
  static override pollInterval = 0.1;
  // Clients stay connected while idle (redis-cli, a subscriber): on shutdown, give them a second.
  static override drainTimeout = 1;

  readonly db: Db = new Db(cli.maxMemory);
  #connections = 0;

  /** A number for each connection, as `HELLO` shows it. */
  nextClientId(): number {
    return ++this.#connections;
  }

  override serviceActions(): void {
    this.db.expireCycle();
  }
}

/**
 * One client connection: the glue between the socket and the commands, and
 * the only code here that knows about either.
 *
 * The frame handler style: `handleFrame()` is called synchronously for
 * every command already received, and `sendFrame()` appends each reply to
 * the outbound buffer, which leaves in one write when the loop next waits.
 * A batch costs one read and one write, and no promise per command.
 */
class RedisConnection extends StreamRequestHandler<RespValue> implements Client {
  declare readonly server: RedisServer;
  override codec: RespCodec = CODEC;
  // Redis keeps idle clients (`timeout 0`): pooled connections and subscribers
  // are quiet for long. maxConnections still bounds how many stay.
  override idleTimeout = null;

  id = 0;
  name: string | null = null;
  readonly channels: Set<string> = new Set();
  #quitting = false;

  get db(): Db {
    return this.server.db;
  }

  override setup(): void {
    this.id = this.server.nextClientId();
    super.setup();
  }

  reply(value: RespValue): void {
    this.sendFrame(value);
  }

  quit(): void {
    this.#quitting = true;
  }

  push(channel: Uint8Array, message: Uint8Array): void {
    // A subscriber that does not read is disconnected, not buffered for without bound.
    if (this.wfile.buffered > MAX_PUSH_BACKLOG) return this.#drop();
    try {
      this.sendFrame([MESSAGE, channel, message]);
    } catch {
      this.#drop(); // An earlier send failed: the subscriber is gone.
    }
  }

  // A command's arguments are views of the read buffer, valid during this
  // call only: the Db copies what it keeps.
  override handleFrame(frame: RespValue): void {
    const args = commandArguments(frame);
    if (args !== null) execute(this, args);
    // After QUIT's OK, nothing more is read; the OK is still sent.
    if (this.#quitting) throw QUIT;
  }

  override async handle(): Promise<void> {
    try {
      await super.handle();
    } catch (error) {
      if (error === QUIT) return;
      const text = protocolErrorText(error);
      if (text !== undefined) return this.sendFrame(new RespError(text));
      // A client that leaves, even mid-command, is no news (Redis does not log it either).
      if (!isPeerGone(error) && !(error instanceof IncompleteFrameError)) throw error;
    } finally {
      for (const channel of this.channels) this.db.unsubscribe(channel, this);
    }
  }

  /** Disconnects a subscriber that does not read; its pending read then ends `handle()`. */
  #drop(): void {
    try {
      this.request.close();
    } catch {
      // Already closed.
    }
  }
}

await serve(cli, () => new RedisServer({ hostname: cli.host, port: cli.port }, RedisConnection));
