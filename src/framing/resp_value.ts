/**
 * The values of RESP, the Redis serialization protocol, as
 * {@linkcode RespCodec} decodes and encodes them: plain JavaScript values,
 * so that a command costs no wrapper object per argument.
 *
 * ```
 * RESP2 on the wire          RespValue
 * +OK\r\n                    "OK"                          (simple string)
 * -ERR unknown\r\n           new RespError("ERR unknown")  (error reply)
 * :42\r\n                    42    (a bigint past Number.MAX_SAFE_INTEGER)
 * $5\r\nhello\r\n            Uint8Array [h e l l o]        (bulk string)
 * $-1\r\n  *-1\r\n           null                          (null bulk, null array)
 * *2\r\n:1\r\n:2\r\n         [1, 2]                        (array, nested at will)
 * ```
 *
 * @module
 */

/**
 * One RESP2 value. Which kind it is follows from its JavaScript type:
 * `string` a simple string, {@linkcode RespError} an error reply, `number`
 * or `bigint` an integer, `Uint8Array` a bulk string (binary-safe), `null`
 * a null bulk string or null array, an array a RESP array.
 *
 * @example A SET command as a server receives it
 * ```ts
 * import { decodeFrames, RespCodec, type RespValue } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const wire = new TextEncoder().encode("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
 * const [command]: RespValue[] = decodeFrames(new RespCodec(), wire);
 * assertEquals(command, ["SET", "k", "v"].map((word) => new TextEncoder().encode(word)));
 * ```
 */
export type RespValue =
  | string
  | RespError
  | number
  | bigint
  | Uint8Array
  | null
  | RespValue[];

/**
 * An error reply (`-ERR unknown command\r\n`): a value a server sends and a
 * client receives, not an exception. Its first word is the error's kind by
 * Redis convention (`ERR`, `WRONGTYPE`, `MOVED`).
 *
 * @example Read an error reply's kind
 * ```ts
 * import { RespError } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const reply = new RespError("WRONGTYPE Operation against a key holding the wrong kind of value");
 * assertEquals(reply.kind, "WRONGTYPE");
 * ```
 */
export class RespError {
  /** The text after `-`, without the line end. */
  readonly message: string;

  /**
   * Makes an error reply.
   *
   * @param message The text after `-`; it may not hold `\r` or `\n`.
   */
  constructor(message: string) {
    this.message = message;
  }

  /**
   * The first word of the message, by Redis convention the error's kind.
   *
   * @returns `"ERR"` for `ERR unknown command`.
   */
  get kind(): string {
    const space = this.message.indexOf(" ");
    return space < 0 ? this.message : this.message.slice(0, space);
  }
}
