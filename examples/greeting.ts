/**
 * The first socket program of many tutorials: greet the client, read one
 * message, print it with the client's address, close.
 *
 *     deno run --allow-net examples/greeting.ts [--host 127.0.0.1] [--port 9001] [--help]
 *
 * The Python client it answers (examples/python/greeting_client.py):
 *
 *     s.connect(("127.0.0.1", 9001))
 *     print(s.recv(1024).decode())   # welcome to the server~
 *     s.send("hello".encode())
 *
 * SIGINT or SIGTERM stops accepting, lets running handlers finish, exits 0.
 *
 * @module
 */

import { formatAddress, StreamRequestHandler, ThreadingTCPServer } from "../mod.ts";
import { parseCommandLine } from "./_cli.ts";
import { serve } from "./_serve.ts";
import { printable } from "./_printable.ts";

const cli = parseCommandLine({
  permissions: "--allow-net",
  about: "Greets each client, prints the one message it sends back, and closes.",
  port: 9001,
  flags: {},
});
const decoder = new TextDecoder();

class Greeting extends StreamRequestHandler {
  // One read takes the whole message, up to 1024 bytes, as recv(1024) does.
  override readBufferSize = 1024;
  // A client that connects and never sends costs a task for this long at most.
  override timeout = 30;

  override async handle(): Promise<void> {
    await this.wfile.write("welcome to the server~");
    // As the classic server's recv(1024): whatever one read brings, up to 1024 bytes.
    const message = await this.rfile.read(1024);
    if (message === null) return;
    console.log(
      `message from ${formatAddress(this.clientAddress)}: ${printable(decoder.decode(message))}`,
    );
  }
}

await serve(cli, () => new ThreadingTCPServer({ hostname: cli.host, port: cli.port }, Greeting));
