/**
 * socketserver for Deno (module doc is written with the core).
 *
 * @module
 */

export { ByteWindow } from "./src/framing/byte_window.ts";
export type {
  ByteSink,
  Codec,
  FrameDecoder,
  FrameLimits,
  TooLongPolicy,
} from "./src/framing/codec.ts";
export { DEFAULT_MAX_FRAME_LENGTH } from "./src/framing/codec.ts";
export {
  FrameSyntaxError,
  FrameTooLongError,
  IncompleteFrameError,
  InvalidLengthError,
} from "./src/framing/errors.ts";
export type { LengthField } from "./src/framing/length_field.ts";
export {
  lengthFieldFromFormat,
  maxLengthOf,
  readLength,
  writeLength,
} from "./src/framing/length_field.ts";
export { encodeFrame } from "./src/framing/encode_frame.ts";
export { decodeFrames } from "./src/framing/decode_frames.ts";
// @exports struct (helper: struct)
// @exports codecs-binary (helper: binary codecs)
// @exports codecs-text (helper: text and JSON codecs)
// @exports core (server, handlers, io)
