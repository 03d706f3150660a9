/**
 * From frames to commands, and Redis's words for a client that breaks the
 * protocol.
 *
 * `RespCodec` decodes any RESP value; a command is an array of bulk
 * strings. Redis answers anything else, and every frame the codec refuses,
 * with `-ERR Protocol error: ...` and closes the connection: the stream can
 * no longer be trusted. The texts here are `redis-server`'s.
 *
 * @module
 */

import {
  FrameSyntaxError,
  FrameTooLongError,
  InvalidLengthError,
  type RespValue,
} from "../../mod.ts";

/** A frame that is not a command; its message is Redis's text after `-`. */
export class ProtocolError extends SyntaxError {
  /** @param detail What Redis says after `Protocol error: `. */
  constructor(detail: string) {
    super(`ERR Protocol error: ${detail}`);
    this.name = "ProtocolError";
  }
}

/** The type byte Redis names for a value that is not a bulk string. */
function typeByte(value: RespValue): string {
  if (typeof value === "string") return "+";
  if (typeof value === "number" || typeof value === "bigint") return ":";
  return Array.isArray(value) ? "*" : "-";
}

/**
 * The arguments of a command frame, or `null` for an empty one (`*0`,
 * `*-1`), which Redis skips.
 *
 * @throws {ProtocolError} The frame is not an array of bulk strings.
 */
export function commandArguments(frame: RespValue): Uint8Array[] | null {
  if (!Array.isArray(frame)) {
    if (frame === null) return null;
    // Redis would read these bytes as an inline command; we refuse them.
    throw new ProtocolError(`expected '*', got '${typeByte(frame)}'`);
  }
  if (frame.length === 0) return null;
  for (const argument of frame) {
    if (argument instanceof Uint8Array) continue;
    throw new ProtocolError(
      argument === null ? "invalid bulk length" : `expected '$', got '${typeByte(argument)}'`,
    );
  }
  return frame as Uint8Array[];
}

/**
 * Redis's reply to a frame the codec refused (`ERR Protocol error: ...`),
 * or undefined for an error that is not about the client's bytes.
 */
export function protocolErrorText(error: unknown): string | undefined {
  if (error instanceof ProtocolError) return error.message;
  // Only what the client sent: a reply the codec refused to encode is the server's fault.
  if (!(error instanceof Error) || !error.message.startsWith("Cannot decode")) return undefined;
  if (error instanceof FrameTooLongError) {
    // What was too long is named in the message: an array, a line, or a bulk string.
    if (error.message.includes("array length")) return protocolError("invalid multibulk length");
    if (error.message.includes("line length")) return protocolError("too big inline request");
    if (error.message.includes("nesting depth")) return protocolError("expected '$', got '*'");
    return protocolError("invalid bulk length");
  }
  if (error instanceof InvalidLengthError) return protocolError("invalid bulk length");
  if (error instanceof FrameSyntaxError) {
    // Offset 1 is the command's own header (`*x`); an inline command fails on its quotes.
    if (error.message.includes("quote")) return protocolError("unbalanced quotes in request");
    if (error.offset === 1) return protocolError("invalid multibulk length");
    const found = error.message.match(/expected a RESP type byte .* found "(.)"/);
    return found ? protocolError(`expected '$', got '${found[1]}'`) : protocolError(
      "invalid bulk length",
    );
  }
  return undefined;
}

function protocolError(detail: string): string {
  return new ProtocolError(detail).message;
}
