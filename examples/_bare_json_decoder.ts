// Used by examples/file_server.ts --ack: the classic acknowledged client
// sends its JSON header with no length in front.

import {
  type ByteWindow,
  type FrameDecoder,
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
} from "../mod.ts";

const decoder = new TextDecoder();

/**
 * A JSON object sent bare: the frame ends at the brace that closes the
 * first object (braces inside strings do not count). At most `maxBytes`.
 */
export class BareJsonDecoder implements FrameDecoder<Record<string, unknown>> {
  readonly #maxBytes: number;
  #scanned = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  decode(input: ByteWindow): Record<string, unknown> | undefined {
    const bytes = input.bytes;
    for (let at = input.start + this.#scanned; at < input.end; at++) {
      const byte = bytes[at];
      this.#scanned++;
      if (this.#depth === 0) {
        // Before the object: only whitespace may come first.
        if (byte === 0x7b) this.#depth = 1; // {
        else if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) {
          throw new FrameSyntaxError("the header is not a JSON object", this.#scanned - 1);
        }
      } else if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === 0x5c) this.#escaped = true; // backslash
        else if (byte === 0x22) this.#inString = false; // "
      } else if (byte === 0x22) {
        this.#inString = true;
      } else if (byte === 0x7b) {
        this.#depth++;
      } else if (byte === 0x7d && --this.#depth === 0) { // }
        return this.#parse(input.take(this.#scanned));
      }
      if (this.#scanned > this.#maxBytes) {
        throw new FrameTooLongError(this.#scanned, this.#maxBytes);
      }
    }
    return undefined;
  }

  decodeEof(input: ByteWindow): Record<string, unknown> | undefined {
    if (input.length === 0) return undefined;
    throw new IncompleteFrameError(input.length);
  }

  #parse(bytes: Uint8Array): Record<string, unknown> {
    this.#scanned = 0;
    try {
      return JSON.parse(decoder.decode(bytes));
    } catch {
      throw new FrameSyntaxError(`the ${bytes.length}-byte header is not valid JSON`);
    }
  }
}
