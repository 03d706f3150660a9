// Test support for datagram servers: a client socket whose receive gives up
// (a lost datagram fails the test instead of hanging it), and python3
// SOCK_DGRAM clients as independent peers.

import { delay } from "@std/async";
import { DatagramRequestHandler } from "@socketserver/core";
import { within } from "./clients.ts";
import { runPython } from "./python.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A datagram socket for tests; `await using` closes it and settles its receive. */
export class DatagramClient implements AsyncDisposable {
  readonly socket: Deno.DatagramConn;
  #pending: Promise<[Uint8Array, Deno.Addr]> | undefined;

  constructor(socket: Deno.DatagramConn) {
    this.socket = socket;
  }

  /** A UDP socket on 127.0.0.1 and a free port. */
  static udp(): DatagramClient {
    return new DatagramClient(
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
    );
  }

  /** A Unix datagram socket bound to `path`, so it can receive replies. */
  static unix(path: string): DatagramClient {
    return new DatagramClient(Deno.listenDatagram({ transport: "unixpacket", path }));
  }

  get address(): Deno.Addr {
    return this.socket.addr;
  }

  async send(data: string | Uint8Array, to: Deno.Addr): Promise<void> {
    await this.socket.send(typeof data === "string" ? encoder.encode(data) : data, to);
  }

  /** The next datagram; throws when none came within `timeoutSeconds`. */
  async receive(timeoutSeconds = 10): Promise<[Uint8Array, Deno.Addr]> {
    if (this.#pending === undefined) {
      this.#pending = this.socket.receive();
      this.#pending.catch(() => {});
    }
    const received = await within(this.#pending, timeoutSeconds, "a datagram");
    this.#pending = undefined;
    return received;
  }

  /** The next datagram as UTF-8 text. */
  async receiveText(timeoutSeconds = 10): Promise<string> {
    return decoder.decode((await this.receive(timeoutSeconds))[0]);
  }

  /** Sends `data` and returns the reply as text. */
  async exchange(data: string | Uint8Array, to: Deno.Addr): Promise<string> {
    await this.send(data, to);
    return await this.receiveText();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.socket.close();
    } catch {
      // Already closed.
    }
    await this.#pending?.catch(() => {});
  }
}

/** How a python3 client reaches the server. */
export type PythonTarget =
  | { family: "inet"; host: string; port: number }
  | { family: "unix"; path: string; bind: string; connect?: boolean };

/**
 * Sends each payload from one python3 SOCK_DGRAM socket and waits for a
 * reply to each (in turn); a `{ sendOnly }` payload is sent without waiting
 * (its place in the result is `null`). Returns the replies as text, `null`
 * where none came within `timeoutSeconds`.
 */
export async function pythonExchange(
  target: PythonTarget,
  payloads: (string | { sendOnly: string })[],
  timeoutSeconds = 5,
): Promise<(string | null)[]> {
  const script = `
import json, os, socket, sys
spec = json.load(sys.stdin)
target = spec["target"]
if target["family"] == "inet":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server = (target["host"], target["port"])
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(target["bind"])
    server = target["path"]
    if target.get("connect"):
        s.connect(server)  # the kernel then accepts datagrams from the server's path only
s.settimeout(spec["timeout"])
replies = []
try:
    for payload in spec["payloads"]:
        send_only = isinstance(payload, dict)
        data = (payload["sendOnly"] if send_only else payload).encode()
        if target["family"] == "unix" and target.get("connect"):
            s.send(data)
        else:
            s.sendto(data, server)
        if send_only:
            replies.append(None)
            continue
        try:
            replies.append(s.recv(65536).decode())
        except socket.timeout:
            replies.append(None)
finally:
    s.close()
    if target["family"] == "unix":
        os.unlink(target["bind"])
print(json.dumps(replies))
`;
  const result = await runPython(script, {
    stdin: JSON.stringify({ target, payloads, timeout: timeoutSeconds }),
  });
  if (result.code !== 0) throw new Error(`python3 client failed:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

/**
 * A handler that answers `<datagram> ok` after a timer turn, so handlers
 * overlap, and the most that ran at once (`overlap.max`).
 */
export function slowEcho() {
  const overlap = { max: 0 };
  let active = 0;
  class SlowEcho extends DatagramRequestHandler {
    override async handle(): Promise<void> {
      overlap.max = Math.max(overlap.max, ++active);
      try {
        // A timer turn: handlers overlap, and replies go out while the server receives.
        await delay(1);
        await this.reply(`${new TextDecoder().decode(this.packet)} ok`);
      } finally {
        active--;
      }
    }
  }
  return { SlowEcho, overlap };
}

/** Answers every datagram with the same bytes. */
export class DatagramEcho extends DatagramRequestHandler {
  override async handle(): Promise<void> {
    await this.reply(this.packet);
  }
}
