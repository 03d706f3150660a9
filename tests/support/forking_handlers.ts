// Test support: handler classes that ForkingTCPServer workers import by URL
// (a class cannot cross into a worker; a module can).

import { type ForkingWorkerServer, LinesCodec, StreamRequestHandler } from "@socketserver/core";

/** Echoes every chunk until the client half-closes. */
export class Echo extends StreamRequestHandler {
  override async handle(): Promise<void> {
    for await (const chunk of this.rfile) await this.wfile.write(chunk);
  }
}

/**
 * Answers line commands, one reply line each:
 * - `id`: the worker's id (`-1` in the main thread, while the workers start);
 * - `frame-memory`: the worker's server's `maxFrameMemory`;
 * - `hold`: `held`, and the connection stays open for the next command;
 * - `fail`: throws a RangeError from the handler (an ordinary handler error);
 * - `crash`: `crashing`, then an uncaught error ends the worker;
 * - `exit`: `exiting`, then `Deno.exit(1)` ends the worker;
 * - `close`: `closing`, then `self.close()` ends the worker;
 * - `stop`: `stopping`, then `server.shutdown()` (the whole pool);
 * - anything else comes back as it is.
 */
export class Commands extends StreamRequestHandler<string> {
  declare readonly server: ForkingWorkerServer;
  override codec: LinesCodec = new LinesCodec();

  override async handle(): Promise<void> {
    for await (const command of this.frames()) {
      switch (command) {
        case "id":
          await this.writeFrame(String(this.server.workerId));
          break;
        case "frame-memory":
          await this.writeFrame(
            String((this.server as { maxFrameMemory?: number }).maxFrameMemory),
          );
          break;
        case "fail":
          throw new RangeError("fail requested");
        case "crash":
          await this.writeFrame("crashing");
          await this.wfile.flush();
          // Outside the handler's promise chain: nothing catches it but the worker.
          setTimeout(() => {
            throw new Error("crash requested");
          }, 0);
          break;
        case "exit":
          await this.writeFrame("exiting");
          await this.wfile.flush();
          Deno.exit(1);
          break;
        case "close":
          await this.writeFrame("closing");
          await this.wfile.flush();
          (globalThis as unknown as { close(): void }).close();
          break;
        case "stop":
          await this.writeFrame("stopping");
          await this.wfile.flush();
          await this.server.shutdown();
          break;
        case "hold":
          await this.writeFrame("held");
          break;
        default:
          await this.writeFrame(command);
      }
    }
  }
}
