// Internal: the state machine that length-headed decoders share (tokio's
// Head / Data(n), plus skipping a frame that was too long), and what their
// decodeEof throws. Not part of the public API.

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
 * The error for bytes left at end of stream, or `undefined` when none are:
 * a skipped frame cut short, a frame of known length cut short, or a header
 * cut short.
 *
 * @param state The decoder's state after its last decode.
 * @param received Bytes left in the window.
 * @param frameLength The whole frame's length, known in `DATA`.
 * @param discarded Bytes of the too-long frame skipped so far.
 * @param discardTotal The too-long frame's whole length.
 */
export function errorAtEof(
  state: DecoderState,
  received: number,
  frameLength: number,
  discarded: number,
  discardTotal: number,
): IncompleteFrameError | undefined {
  if (state === DISCARD) return new IncompleteFrameError(discarded, discardTotal);
  if (received === 0) return undefined;
  return state === DATA
    ? new IncompleteFrameError(received, frameLength)
    : new IncompleteFrameError(received);
}
