/**
 * Pub/sub: PUBLISH, SUBSCRIBE and UNSUBSCRIBE. A subscribed connection gets
 * each message as a push, `["message", channel, payload]`, between the
 * replies to its own commands; while it has a channel, RESP2 lets it send
 * only the pub/sub commands, PING and QUIT (the dispatcher checks).
 *
 * @module
 */

import type { Client, Command } from "./command.ts";
import { bytesOfKey, keyOf } from "./db.ts";

const encoder = new TextEncoder();
const SUBSCRIBE = encoder.encode("subscribe");
const UNSUBSCRIBE = encoder.encode("unsubscribe");

/** Leaves a channel and says so, with the count of channels left. */
function leave(client: Client, channel: Uint8Array): void {
  const name = keyOf(channel);
  if (client.channels.delete(name)) client.db.unsubscribe(name, client);
  client.reply([UNSUBSCRIBE, channel, client.channels.size]);
}

/** The pub/sub commands' rows of the command table. */
export const PUBSUB_COMMANDS: Command[] = [
  {
    name: "publish",
    arity: 3,
    run: (client, args) => client.reply(client.db.publish(keyOf(args[1]), args[2])),
  },
  {
    name: "subscribe",
    arity: -2,
    pubsub: true,
    run(client, args) {
      // One confirmation per channel, with the count so far, as Redis sends them.
      for (const channel of args.slice(1)) {
        const name = keyOf(channel);
        if (!client.channels.has(name)) {
          client.channels.add(name);
          client.db.subscribe(name, client);
        }
        client.reply([SUBSCRIBE, channel, client.channels.size]);
      }
    },
  },
  {
    name: "unsubscribe",
    arity: -1,
    pubsub: true,
    run(client, args) {
      if (args.length > 1) {
        for (const channel of args.slice(1)) leave(client, channel);
      } else if (client.channels.size > 0) {
        for (const name of [...client.channels]) leave(client, bytesOfKey(name));
      } else {
        client.reply([UNSUBSCRIBE, null, 0]);
      }
    },
  },
];
