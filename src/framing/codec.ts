/**
 * The contract every codec keeps: a pure decoder that turns buffered bytes
 * into frames, and an encoder that turns frames into bytes.
 *
 * ```
 *   socket bytes ──> ByteWindow ──decode()──> frame, frame, … (undefined: need more)
 *   frame ──encode()──> ByteSink.write(header), ByteSink.write(payload)
 * ```
 *
 * A codec knows nothing of sockets: the same codec frames a TCP stream, one
 * UDP datagram at a time, or a Web Stream.
 *
 * @module
 */

import type { ByteWindow } from "./byte_window.ts";

/** What a decoder does with a frame longer than `maxFrameLength`. */
export type TooLongPolicy = "error" | "discard";

/**
 * Limits shared by every codec.
 */
export interface FrameLimits {
  /**
   * The largest frame (payload bytes) a decoder accepts and an encoder emits.
   * Checked against a declared length before anything is allocated.
   *
   * @default {8388608} (8 MiB)
   */
  maxFrameLength?: number;
  /**
   * `"error"` throws {@linkcode FrameTooLongError} (the connection is then
   * closed); `"discard"` skips that frame's bytes without buffering them and
   * goes on with the next frame.
   *
   * @default {"error"}
   */
  onTooLong?: TooLongPolicy;
}

/** The default `maxFrameLength`: 8 MiB. */
export const DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024;

/**
 * Where an encoder puts its bytes. The connection's writer implements it by
 * copying into its coalescing buffer, so a header and a payload written one
 * after the other leave in one `write` syscall.
 */
export interface ByteSink {
  /**
   * Appends bytes. The sink copies or sends them before the caller can
   * change them again, so encoders may reuse a scratch header.
   *
   * @param bytes The bytes to append.
   */
  write(bytes: Uint8Array): void;
}

/**
 * An incremental decoder: one per connection (or per datagram), since it may
 * keep state between calls (a parsed header, bytes left to discard).
 */
export interface FrameDecoder<Frame> {
  /**
   * Decodes at most one frame from the front of `input`, advancing
   * `input.start` past the bytes it used. A frame may be a view into
   * `input.bytes` (`input.take(n)`): transports never overwrite consumed bytes.
   *
   * @param input The buffered bytes.
   * @returns The frame, or `undefined` when no frame can be completed without
   * more bytes. It may still have consumed some (bytes being discarded, a
   * header it keeps in its state), but it never returns `undefined` while a
   * whole frame is left in `input`: callers read more only after `undefined`.
   * @throws {FrameTooLongError} A declared or scanned length exceeds the limit.
   * @throws {SyntaxError} The bytes do not follow the format.
   */
  decode(input: ByteWindow): Frame | undefined;
  /**
   * Called once the peer has sent everything, and again until it returns
   * `undefined` (as tokio does): returns a frame left at the end, such as a
   * last line without a terminator, or `undefined` when none is left.
   *
   * @param input The bytes left after the last `decode`.
   * @returns The last frame, or `undefined` when nothing is left.
   * @throws {IncompleteFrameError} A partial frame is left.
   */
  decodeEof(input: ByteWindow): Frame | undefined;
}

/**
 * A framing format: a decoder factory and an encoder.
 *
 * @typeParam Frame What the decoder yields.
 * @typeParam Input What the encoder accepts (often the same as `Frame`).
 */
export interface Codec<Frame, Input = Frame> {
  /**
   * Makes a fresh decoder for one connection or stream.
   *
   * @returns A decoder with no state.
   */
  decoder(): FrameDecoder<Frame>;
  /**
   * Writes one frame to `sink`.
   *
   * @param frame The frame to encode.
   * @param sink Where the bytes go.
   * @throws {FrameTooLongError} The frame exceeds `maxFrameLength` or the
   * length field cannot represent its size.
   */
  encode(frame: Input, sink: ByteSink): void;
}
