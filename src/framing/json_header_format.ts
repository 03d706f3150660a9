/**
 * The head layout that {@linkcode JsonHeaderCodec} and
 * {@linkcode JsonHeaderStreamCodec} share: a length prefix, then a JSON
 * header that gives the body's size.
 *
 * @module
 */

/**
 * How the head of a JSON-header frame is laid out: the options that
 * {@linkcode JsonHeaderCodec} and {@linkcode JsonHeaderStreamCodec} share.
 *
 * @example The head of `struct.pack('!H', len(h)) + h` with the size under "size"
 * ```ts
 * import { decodeFrames, JsonHeaderCodec, type JsonHeaderFormat } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * const format: JsonHeaderFormat = { headerLengthFormat: "!H", bodySizeField: "size" };
 * const json = new TextEncoder().encode('{"size":1}');
 * const [frame] = decodeFrames(new JsonHeaderCodec(format), new Uint8Array([0, json.length, ...json, 7]));
 * assertEquals(frame.body, new Uint8Array([7]));
 * ```
 */
export interface JsonHeaderFormat {
  /**
   * The Python `struct` format of the prefix that holds the header's length
   * in bytes: one integer code, with an optional byte order (`"i"`, `"!I"`,
   * `">H"`, `"Q"`).
   *
   * @default {"i"} (4 bytes, little-endian, signed: `struct.pack('i', n)`)
   */
  headerLengthFormat?: string;
  /**
   * The header field that holds the body's size in bytes.
   *
   * @default {"file_size"}
   */
  bodySizeField?: string;
  /**
   * The largest header, in bytes of JSON, decoded or encoded. Checked
   * against the prefix before the header is waited for.
   *
   * @default {65536} (64 KiB)
   */
  maxHeaderLength?: number;
}
