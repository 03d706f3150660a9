// Internal: the state machine that length-headed decoders share (tokio's
// Head / Data(n), plus skipping a frame that was too long), and the one
// decodeEof they all need. Not part of the public API.

import type { ByteWindow } from "./byte_window.ts";
import type { FrameDecoder } from "./codec.ts";
import { IncompleteFrameError } from "./errors.ts";

/** Reading the header. */
export const HEAD = 0;
/** The header is read; waiting for a payload of known length. */
export const DATA = 1;
/** Skipping a frame that was too long. */
export const DISCARD = 2;
/** A decoder's state. */
export type DecoderState = typeof HEAD | typeof DATA | typeof DISCARD;

/**
 * A decoder whose frames are a header that gives the payload's length, the
 * payload, and `trailerLength` more bytes. Subclasses implement `decode` and
 * keep these fields up to date; end of stream is handled here once.
 */
export abstract class HeadedDecoder implements FrameDecoder<Uint8Array> {
  protected state: DecoderState = HEAD;
  /** DATA: the header's length; the header stays in the window until the frame is whole. */
  protected headerLength = 0;
  /** DATA: the payload's length, read from the header. */
  protected payloadLength = 0;
  /** DISCARD: bytes of the too-long frame still to skip, out of `discardTotal`. */
  protected bytesToDiscard = 0;
  protected discardTotal = 0;
  /** Bytes after the payload that belong to the frame (a netstring's comma). */
  protected readonly trailerLength: number = 0;

  abstract decode(input: ByteWindow): Uint8Array | undefined;

  /**
   * In `DISCARD`, skips what is buffered of the too-long frame, without
   * keeping it; `true` once all of it is skipped (the state is `HEAD` again).
   */
  protected skipDiscarded(input: ByteWindow): boolean {
    const skip = Math.min(this.bytesToDiscard, input.end - input.start);
    input.start += skip;
    this.bytesToDiscard -= skip;
    if (this.bytesToDiscard > 0) return false;
    this.state = HEAD;
    return true;
  }

  decodeEof(input: ByteWindow): Uint8Array | undefined {
    // A caller that skipped the last `decode` still gets a whole frame.
    const frame = this.decode(input);
    if (frame !== undefined) return frame;
    if (this.state === DISCARD) {
      throw new IncompleteFrameError(this.discardTotal - this.bytesToDiscard, this.discardTotal);
    }
    const received = input.end - input.start;
    if (received === 0) return undefined;
    if (this.state === DATA) {
      throw new IncompleteFrameError(
        received,
        this.headerLength + this.payloadLength + this.trailerLength,
      );
    }
    throw new IncompleteFrameError(received);
  }
}
