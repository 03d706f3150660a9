// Internal: the one decoder state machine of every length-headed codec
// (length prefix, varint, netstring, both JSON header codecs). Not part of
// the public API.
//
// A codec says only how to read its head, as tokio-util's
// `length_delimited` splits out `decode_head` and Netty's
// `LengthFieldBasedFrameDecoder` has one override point: its FrameHead's
// `read` returns the payload's length, or NEED_MORE. The machine owns the
// rest, once:
//
//   HEAD ── head.read ──> payload length n
//     │                    ├── n > max ──> DISCARD: skip the frame as it arrives ──> HEAD
//     │                    └── DATA: wait for the whole frame (reserve), check the
//     │                              trailer, emit it ──> HEAD
//     └── end of stream inside a frame: IncompleteFrameError with the numbers
//
// In streamed mode (a body of any size, never buffered) DATA emits an
// `opened` event, then each run of payload bytes as it arrives, then a
// `closed` event, instead of one frame.

import type { ByteWindow } from "./byte_window.ts";
import type { FrameDecoder, TooLongPolicy } from "./codec.ts";
import { FrameSyntaxError, FrameTooLongError, IncompleteFrameError } from "./errors.ts";
import { describeByte } from "./_describe.ts";

/** What `FrameHead.read` returns while the head is not all buffered. */
export const NEED_MORE = -1;

const HEAD = 0;
const DATA = 1;
const DISCARD = 2;
type DecoderState = typeof HEAD | typeof DATA | typeof DISCARD;

const NO_TRAILER = new Uint8Array(0);

/**
 * How a codec reads its head and makes its frames: all a length-headed codec
 * writes. One per decoder (a head may keep state between calls).
 */
export interface FrameHead<Frame> {
  /** Set by `read` before it returns a length: the head's bytes, prefix and all. */
  headLength: number;
  /**
   * Reads the head at the front of `input`: returns the payload's length
   * and sets `headLength`, or returns NEED_MORE. It consumes the head or
   * not, as the decoder's `consumesHead` says (a partly read head may keep
   * state of its own). It throws for a head that is not valid, and may
   * throw FrameTooLongError before the head ends, so that a flood of length
   * digits is never buffered.
   */
  read(input: ByteWindow): number;
  /**
   * Makes the frame of `bytes[payloadStart, payloadEnd)`, whose head
   * starts at `frameStart` when it was kept in the window (else
   * `frameStart === payloadStart`). Streamed, called for each run of
   * payload bytes as it arrives. The bytes stay valid: views are safe.
   *
   * Absent when frames are bytes (`Frame` is `Uint8Array`): the decoder
   * then yields views itself, of the payload or, with `framesIncludeHead`,
   * of the head and payload, with no call per frame.
   */
  frame?(bytes: Uint8Array, frameStart: number, payloadStart: number, payloadEnd: number): Frame;
  /** Streamed: the event that opens a frame, once its head is read. */
  opened?(payloadLength: number): Frame;
  /** Streamed: the event that closes a frame, once its payload is passed on. */
  closed?(): Frame;
  /**
   * The error for a stream that ends inside a head, or `undefined` when none
   * is needed. Only for a head that `read` consumes in parts; else the
   * decoder reports the bytes left, if any.
   */
  incomplete?(input: ByteWindow): IncompleteFrameError | undefined;
}

/** The settings of a {@linkcode HeadedDecoder}. */
export interface HeadedDecoderOptions {
  /** The largest payload; checked on the length `read` returns, before a payload byte is waited for. */
  maxPayloadLength: number;
  /** What to do with a payload over `maxPayloadLength`. */
  onTooLong: TooLongPolicy;
  /** What `maxPayloadLength` is called in messages. Default `"maxFrameLength"`. */
  limitName?: string;
  /**
   * Whether `read` consumes the head (the JSON codecs, whose head is
   * parsed) or leaves it at the window's front until the frame is taken
   * (the others: a frame may include its head). Default false.
   */
  consumesHead?: boolean;
  /** Whether a frame view (a head without `frame`) starts at the head, kept in the window. Default false. */
  framesIncludeHead?: boolean;
  /** ASCII bytes that end every frame after the payload (a netstring's `","`). Default none. */
  trailer?: string;
  /** The format's name in a trailer error: `expected "," after the 5-byte netstring payload`. */
  formatName?: string;
  /** Whether DATA emits the payload in runs between `opened` and `closed` events. Default false. */
  streamed?: boolean;
}

/**
 * The decoder of frames made of a head that gives the payload's length, the
 * payload, and an optional fixed trailer: one class for every length-headed
 * codec, which supplies its {@linkcode FrameHead}. Composition, not a base
 * class: the machine's fields keep one shape whatever the codec, and the
 * hot path makes one call into the head per frame. That call is the price
 * of one machine: with several codecs hot in one process it is
 * polymorphic and V8 may not inline it (measured: 0.85 of a per-codec
 * decoder then, the same speed with one codec per process).
 */
export class HeadedDecoder<Frame> implements FrameDecoder<Frame> {
  readonly #head: FrameHead<Frame>;
  // Frames are views made here: the head has no `frame`.
  readonly #views: boolean;
  readonly #framesIncludeHead: boolean;
  #state: DecoderState = HEAD;
  #payloadLength = 0;
  // Head, payload and trailer.
  #frameLength = 0;
  // Of the frame's bytes, those not yet consumed: the head when kept in the
  // window, the payload (or what is left of it to skip or pass on), the trailer.
  #remaining = 0;

  readonly #maxPayloadLength: number;
  // The largest payload the fast path emits whole: maxPayloadLength, or -1
  // when streamed (one compare on the hot path instead of two).
  readonly #maxWholePayload: number;
  readonly #discardTooLong: boolean;
  readonly #limitName: string;
  readonly #consumesHead: boolean;
  readonly #trailerText: string;
  readonly #trailer: Uint8Array;
  readonly #trailerLength: number;
  readonly #formatName: string;
  readonly #streamed: boolean;

  /**
   * @param head How the codec reads its head and makes frames.
   * @param options The limits and the mode.
   */
  constructor(head: FrameHead<Frame>, options: HeadedDecoderOptions) {
    this.#head = head;
    this.#views = head.frame === undefined;
    this.#framesIncludeHead = options.framesIncludeHead ?? false;
    this.#maxPayloadLength = options.maxPayloadLength;
    this.#discardTooLong = options.onTooLong === "discard";
    this.#limitName = options.limitName ?? "maxFrameLength";
    this.#consumesHead = options.consumesHead ?? false;
    this.#trailerText = options.trailer ?? "";
    this.#trailer = options.trailer === undefined
      ? NO_TRAILER
      : Uint8Array.from(options.trailer, (char) => char.charCodeAt(0));
    this.#trailerLength = this.#trailer.length;
    this.#formatName = options.formatName ?? "";
    this.#streamed = options.streamed ?? false;
    this.#maxWholePayload = this.#streamed ? -1 : this.#maxPayloadLength;
  }

  decode(input: ByteWindow): Frame | undefined {
    // Loops only after a skipped frame, so that a whole frame behind it is
    // never left waiting for more bytes.
    for (;;) {
      if (this.#state === DATA) {
        return this.#streamed ? this.#passRun(input) : this.#takeFrame(input);
      }
      if (this.#state === DISCARD && !this.#skip(input)) return undefined;
      const head = this.#head;
      const payloadLength = head.read(input);
      if (payloadLength === NEED_MORE) return undefined;
      const remaining = this.#begin(head.headLength, payloadLength);
      // Fast path: the whole frame is buffered, as pipelined frames are, and
      // leaves with no state kept. Everything else is apart, so that this
      // stays small enough for V8 to inline the heads it calls.
      if (payloadLength <= this.#maxWholePayload && input.end - input.start >= remaining) {
        return this.#emit(input, input.start, remaining);
      }
      const opened = this.#enter(payloadLength);
      if (opened !== undefined) return opened;
    }
  }

  decodeEof(input: ByteWindow): Frame | undefined {
    // A caller that skipped the last `decode` still gets a whole frame.
    const frame = this.decode(input);
    if (frame !== undefined) return frame;
    const left = input.end - input.start;
    if (this.#state === HEAD) {
      const error = this.#head.incomplete?.(input) ??
        (left > 0 ? new IncompleteFrameError(left) : undefined);
      if (error !== undefined) throw error;
      return undefined;
    }
    throw new IncompleteFrameError(this.#frameLength - this.#remaining + left, this.#frameLength);
  }

  // Keeps the numbers of the frame whose head was just read; returns the
  // bytes from the window's front to its end.
  #begin(headLength: number, payloadLength: number): number {
    const trailerLength = this.#trailerLength;
    const remaining = (this.#consumesHead ? 0 : headLength) + payloadLength + trailerLength;
    this.#payloadLength = payloadLength;
    this.#frameLength = headLength + payloadLength + trailerLength;
    this.#remaining = remaining;
    return remaining;
  }

  // Leaves HEAD for DATA, or for DISCARD when the payload is too long; the
  // opening event when streamed. With "discard", a too-long frame is
  // skipped as it arrives. With "error" the decoder throws and stays put: a
  // head kept in the window is read again and throws again (the stream
  // cannot be resynchronised, as in tokio), but a consumed head cannot be,
  // so the rest of the frame is skipped, keeping the stream in step for a
  // caller that goes on.
  #enter(payloadLength: number): Frame | undefined {
    if (payloadLength > this.#maxPayloadLength) {
      if (this.#discardTooLong || this.#consumesHead) this.#state = DISCARD;
      if (!this.#discardTooLong) {
        throw new FrameTooLongError(
          payloadLength,
          this.#maxPayloadLength,
          "decode",
          this.#limitName,
        );
      }
      return undefined;
    }
    this.#state = DATA;
    return this.#streamed ? this.#head.opened?.(payloadLength) : undefined;
  }

  // DATA, whole: the frame once all of it is buffered.
  #takeFrame(input: ByteWindow): Frame | undefined {
    const start = input.start;
    const remaining = this.#remaining;
    if (input.end - start < remaining) {
      // A hint: the transport may grow its buffer as the bytes arrive.
      input.reserve(remaining);
      return undefined;
    }
    this.#state = HEAD;
    return this.#emit(input, start, remaining);
  }

  // The frame of the `remaining` bytes from `start`, all buffered.
  #emit(input: ByteWindow, start: number, remaining: number): Frame {
    const end = start + remaining;
    const payloadEnd = end - this.#trailerLength;
    if (payloadEnd !== end) this.#checkTrailer(input.bytes, payloadEnd);
    input.start = end;
    return this.#frame(input.bytes, start, payloadEnd - this.#payloadLength, payloadEnd);
  }

  #frame(bytes: Uint8Array, frameStart: number, payloadStart: number, payloadEnd: number): Frame {
    // Fast path: byte frames are views made here, with no call into the
    // head, which would vary when several codecs run in one process.
    if (this.#views) {
      // `Frame` is `Uint8Array` for a head without `frame`.
      return bytes.subarray(
        this.#framesIncludeHead ? frameStart : payloadStart,
        payloadEnd,
      ) as unknown as Frame;
    }
    return this.#head.frame!(bytes, frameStart, payloadStart, payloadEnd);
  }

  // DATA, streamed: what is buffered of the payload, never waiting to fill a
  // run; then the trailer and the closing event.
  #passRun(input: ByteWindow): Frame | undefined {
    const payloadLeft = this.#remaining - this.#trailerLength;
    if (payloadLeft === 0) {
      if (!this.#takeTrailer(input)) return undefined;
      this.#state = HEAD;
      return this.#head.closed?.();
    }
    const start = input.start;
    const length = Math.min(payloadLeft, input.end - start);
    if (length === 0) return undefined;
    input.start = start + length;
    this.#remaining -= length;
    return this.#frame(input.bytes, start, start, start + length);
  }

  // DISCARD: skips what is buffered of the frame, without keeping it, then
  // checks its trailer, so that a wrong length is caught here too. True once
  // the whole frame is gone (the state is HEAD again).
  #skip(input: ByteWindow): boolean {
    const trailerLength = this.#trailerLength;
    const skip = Math.min(this.#remaining - trailerLength, input.end - input.start);
    input.start += skip;
    this.#remaining -= skip;
    if (this.#remaining > trailerLength || !this.#takeTrailer(input)) return false;
    this.#state = HEAD;
    return true;
  }

  // Checks and consumes the trailer once all of it is buffered; false until then.
  #takeTrailer(input: ByteWindow): boolean {
    const trailerLength = this.#trailerLength;
    if (input.end - input.start < trailerLength) return false;
    this.#checkTrailer(input.bytes, input.start);
    input.start += trailerLength;
    this.#remaining = 0;
    return true;
  }

  #checkTrailer(bytes: Uint8Array, at: number): void {
    const trailer = this.#trailer;
    for (let index = 0; index < trailer.length; index++) {
      if (bytes[at + index] !== trailer[index]) throw this.#badTrailer(bytes[at + index], index);
    }
  }

  #badTrailer(byte: number, index: number): FrameSyntaxError {
    return new FrameSyntaxError(
      `expected ${
        JSON.stringify(this.#trailerText)
      } after the ${this.#payloadLength}-byte ${this.#formatName} payload, found ${
        describeByte(byte)
      }`,
      this.#frameLength - this.#trailerLength + index,
    );
  }
}
