// Used by examples/remote_command.ts: where one command ends.

import { concat } from "@std/bytes/concat";
import { type BufferedReader, ReadTimeoutError } from "../mod.ts";

/** A command longer than the limit, refused whole; its bytes were dropped. */
export interface TooLong {
  tooLong: number;
}

const EMPTY = new Uint8Array(0);
const NEWLINE = 0x0a;
const PAUSED = Symbol("paused");

/**
 * Splits what a client sends into commands, however TCP cut or joined it.
 *
 * A command ends at a newline (`nc`, and examples/python's client, send
 * one). The classic client sends a command with one `send()` and no newline,
 * then waits for the reply; for it, a command also ends when nothing more
 * has come for `pauseSeconds`. Bytes are joined across reads until one of
 * the two: a read that returns part of a command (the buffer had little
 * room, or the network split it) never makes a command of its own.
 *
 * A command over `maxBytes` is refused whole: the rest of it, up to its
 * newline or pause, is read and dropped, and `next()` returns its length.
 * Memory stays under `maxBytes` plus one read.
 */
export class CommandReader {
  readonly #rfile: BufferedReader;
  readonly #maxBytes: number;
  readonly #pauseSeconds: number;
  /** Bytes after the last newline, not yet part of a returned command. */
  #leftover: Uint8Array = EMPTY;

  constructor(rfile: BufferedReader, options: { maxBytes: number; pauseSeconds: number }) {
    this.#rfile = rfile;
    this.#maxBytes = options.maxBytes;
    this.#pauseSeconds = options.pauseSeconds;
  }

  /**
   * The next command, without its newline (or `\r\n`); `null` at the end of
   * the stream.
   *
   * @param known A reply complete as soon as it has come (`Start`), with no pause to wait.
   */
  async next(known?: string): Promise<Uint8Array | TooLong | null> {
    let pending = this.#leftover;
    let dropped = 0;
    for (;;) {
      const newline = pending.indexOf(NEWLINE);
      if (newline !== -1) {
        this.#leftover = pending.subarray(newline + 1);
        return this.#command(pending.subarray(0, newline), dropped);
      }
      if (pending.length > this.#maxBytes) {
        dropped += pending.length;
        pending = EMPTY;
      }
      if (known !== undefined && new TextDecoder().decode(pending) === known) break;
      const chunk = await this.#read(pending.length > 0 || dropped > 0);
      if (chunk === PAUSED) break;
      if (chunk === null) {
        if (pending.length === 0 && dropped === 0) return null;
        break;
      }
      pending = concat([pending, chunk]);
    }
    this.#leftover = EMPTY;
    return this.#command(pending, dropped);
  }

  #command(bytes: Uint8Array, dropped: number): Uint8Array | TooLong {
    if (dropped + bytes.length > this.#maxBytes) return { tooLong: dropped + bytes.length };
    return bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes;
  }

  /** The next bytes; mid-command, `PAUSED` when none come within the pause. */
  async #read(midCommand: boolean): Promise<Uint8Array | null | typeof PAUSED> {
    // A read that times out stays in flight: the next one gets its bytes, none is lost.
    this.#rfile.timeout = midCommand ? this.#pauseSeconds : null;
    try {
      return await this.#rfile.read();
    } catch (error) {
      if (midCommand && error instanceof ReadTimeoutError) return PAUSED;
      throw error;
    }
  }
}
