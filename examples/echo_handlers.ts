/**
 * The handlers of examples/echo.ts, in a module of their own so that
 * `--workers N` can load them in each ForkingTCPServer worker: a class
 * defined in the main module cannot cross into a worker, a module can.
 *
 * A worker cannot see the main program's flags either, so the handlers read
 * their settings from `this.server.workerData` (ForkingTCPServer gives
 * each worker a copy), and otherwise from `configureEcho()`.
 *
 * @module
 */

import {
  type Codec,
  type ForkingWorkerServer,
  formatAddress,
  LengthPrefixedCodec,
  LinesCodec,
  StreamRequestHandler,
} from "../mod.ts";

/** What examples/echo.ts's flags set. */
export interface EchoSettings {
  /** `--upper`: upper-case ASCII letters. */
  upper: boolean;
  /** `--idle-timeout`, in seconds; `undefined` keeps the handler's default. */
  idleTimeout?: number;
  /** `--frame-timeout`, in seconds; `undefined` keeps the handler's default. */
  frameTimeout?: number;
  /** `--write-timeout`, in seconds; `undefined` keeps the handler's default. */
  writeTimeout?: number;
  /** `--show-client`: reply `client HOST:PORT` first. */
  showClient: boolean;
}

let configured: EchoSettings = {
  upper: false,
  showClient: false,
};

/** Sets the handlers' settings in this thread (workers get theirs as `workerData`). */
export function configureEcho(settings: EchoSettings): void {
  configured = settings;
}

/** The export name of the handler for each `--framing`. */
export const ECHO_HANDLERS = { none: "Echo", length: "LengthEcho", line: "LineEcho" } as const;

/** A ForkingTCPServer worker's copy of the settings, or this thread's. */
function settingsFor(server: unknown): EchoSettings {
  const workerData = (server as Partial<ForkingWorkerServer>).workerData;
  return (workerData as EchoSettings | undefined) ?? configured;
}

/** ASCII upper case of bytes, so binary frames pass through unchanged otherwise. */
function upperBytes(bytes: Uint8Array): Uint8Array {
  return bytes.map((byte) => byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte);
}

/**
 * What the three handlers share: the flags in force, applied before
 * `setup()` builds the reader and writer, and `--show-client`.
 */
abstract class ConfiguredHandler<Frame> extends StreamRequestHandler<Frame> {
  /** The flags in force. */
  readonly settings: EchoSettings = settingsFor(this.server);

  override setup(): void {
    const { idleTimeout, frameTimeout, writeTimeout } = this.settings;
    if (idleTimeout !== undefined) this.idleTimeout = idleTimeout;
    if (frameTimeout !== undefined) this.frameTimeout = frameTimeout;
    if (writeTimeout !== undefined) this.writeTimeout = writeTimeout;
    super.setup();
  }

  /** With `--show-client`, tells the client its address as the server sees it. */
  async showClient(): Promise<void> {
    if (this.settings.showClient) {
      await this.wfile.write(`client ${formatAddress(this.clientAddress)}\n`);
    }
  }

  /** Says the client's address when asked to, then echoes frame by frame (`handleFrame`). */
  override async handle(): Promise<void> {
    await this.showClient();
    await super.handle();
  }
}

/** Echoes raw bytes as they arrive. */
export class Echo extends ConfiguredHandler<Uint8Array> {
  // Each chunk is written back before the next read: the read buffer can be reused.
  override reuseReadBuffer = true;
  override async handle(): Promise<void> {
    await this.showClient();
    const upper = this.settings.upper;
    for await (const chunk of this.rfile) await this.wfile.write(upper ? upperBytes(chunk) : chunk);
  }
}

/**
 * Echoes each 4-byte-length-prefixed frame as one frame. `handleFrame` is
 * called for every frame already received, with no promise per frame, and
 * the replies to a batch leave in one write: the fastest way to serve a
 * framed protocol.
 */
export class LengthEcho extends ConfiguredHandler<Uint8Array> {
  override codec: Codec<Uint8Array> = new LengthPrefixedCodec();
  override handleFrame(frame: Uint8Array): void {
    this.sendFrame(this.settings.upper ? upperBytes(frame) : frame);
  }
}

/** Echoes each line as one line. */
export class LineEcho extends ConfiguredHandler<string> {
  override codec: Codec<string> = new LinesCodec();
  override handleFrame(line: string): void {
    this.sendFrame(this.settings.upper ? line.toUpperCase() : line);
  }
}
