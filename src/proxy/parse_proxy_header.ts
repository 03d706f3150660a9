/**
 * The PROXY protocol, versions 1 and 2 (HAProxy's `proxy-protocol.txt`): the
 * header a load balancer sends first on each connection it opens to a
 * server, so the server learns the original client's address.
 *
 * Version 1 is one line of text, at most 107 bytes with its CRLF:
 *
 * ```
 * PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n
 * PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n
 * PROXY UNKNOWN\r\n                  (the proxy does not know: use the real peer)
 * ```
 *
 * Version 2 is binary: 16 fixed bytes, then `length` bytes of addresses and
 * TLVs (type, 2-byte length, value):
 *
 * ```
 * +---- signature (12) ----+ ver|cmd  fam|proto  length (BE)
 * | 0D 0A 0D 0A 00 0D 0A 51 | 55 49 54 0A |  21  |  11   | 00 0C |
 * +-------------------------+-------------+------+-------+-------+
 * | src addr (4) | dst addr (4) | src port (2) | dst port (2) | TLVs ...
 * ```
 *
 * `ver|cmd` is `0x20` LOCAL (the proxy's own connection, such as a health
 * check: use the real peer) or `0x21` PROXY. `fam|proto` is AF_UNSPEC
 * (`0x00`), AF_INET (`0x1_`, 12 address bytes), AF_INET6 (`0x2_`, 36) or
 * AF_UNIX (`0x3_`, 216) with STREAM (`0x_1`) or DGRAM (`0x_2`).
 *
 * @module
 */

import { crc32c } from "./_crc32c.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./_ip.ts";
import { ProxyProtocolError } from "./errors.ts";

/** Which header versions a parser or a server accepts. */
export type ProxyProtocolVersion = "v1" | "v2" | "any";

/** Options for {@linkcode parseProxyHeader}. */
export interface ProxyHeaderOptions {
  /**
   * The versions accepted; a header of another version is an error at its
   * first byte.
   *
   * @default {"any"}
   */
  accept?: ProxyProtocolVersion;
  /**
   * The longest v2 header accepted, in bytes, its 16 fixed bytes included
   * (16 to 65551). The length field is checked against it before the rest
   * is awaited, so a hostile length costs nothing. A v1 header is at most
   * 107 bytes by the specification.
   *
   * @default {4096}
   */
  maxHeaderLength?: number;
}

/** An IPv4 or IPv6 address and port from a header. */
export interface ProxyNetAddress {
  /** The address as Deno prints one: `192.0.2.1`, `2001:db8::1`. */
  hostname: string;
  /** The port. */
  port: number;
}

/** A Unix socket path from a v2 AF_UNIX header. */
export interface ProxyUnixAddress {
  /** The path, up to its first NUL byte. */
  path: string;
}

/** One v2 TLV: a type byte and its value. */
export interface ProxyTlv {
  /** The type: `0x01` ALPN, `0x02` AUTHORITY, `0x03` CRC32C, `0x04` NOOP, `0x05` UNIQUE_ID, `0x20` SSL, `0x30` NETNS, `0xE0`–`0xEF` custom. */
  type: number;
  /** The value (a copy: it outlives the bytes parsed). */
  value: Uint8Array;
}

/** The v2 SSL TLV (`0x20`): how the client reached the proxy. */
export interface ProxySslInfo {
  /** Bit field: `0x01` the client used TLS, `0x02` it sent a certificate on this connection, `0x04` in this session. */
  client: number;
  /** `0` when the client's certificate was verified, non-zero otherwise. */
  verify: number;
  /** `PP2_SUBTYPE_SSL_VERSION` (`0x21`), such as `TLSv1.3`. */
  version?: string;
  /** `PP2_SUBTYPE_SSL_CN` (`0x22`): the client certificate's Common Name. */
  commonName?: string;
  /** `PP2_SUBTYPE_SSL_CIPHER` (`0x23`). */
  cipher?: string;
  /** `PP2_SUBTYPE_SSL_SIG_ALG` (`0x24`). */
  signatureAlgorithm?: string;
  /** `PP2_SUBTYPE_SSL_KEY_ALG` (`0x25`). */
  keyAlgorithm?: string;
  /** Every sub-TLV, in order. */
  tlvs: ProxyTlv[];
}

/** A parsed PROXY protocol header. */
export interface ProxyHeader {
  /** `1` (text) or `2` (binary). */
  version: 1 | 2;
  /** `PROXY` relays a client; `LOCAL` (v2 only) is the proxy's own connection, such as a health check. */
  command: "PROXY" | "LOCAL";
  /** The address family; `UNSPEC` for v1 `UNKNOWN`, v2 AF_UNSPEC, and LOCAL with an undefined family. */
  family: "INET" | "INET6" | "UNIX" | "UNSPEC";
  /** The transport; `UNSPEC` when the family is. */
  transport: "STREAM" | "DGRAM" | "UNSPEC";
  /** The original client's address; `null` for LOCAL and UNSPEC (use the real peer then). */
  source: ProxyNetAddress | ProxyUnixAddress | null;
  /** The address the client connected to (the proxy's front end); `null` when `source` is. */
  destination: ProxyNetAddress | ProxyUnixAddress | null;
  /** The header's length in bytes: the connection's data starts after it. */
  length: number;
  /** Every v2 TLV, in order (empty for v1). */
  tlvs: ProxyTlv[];
  /** `PP2_TYPE_ALPN` (`0x01`): the application protocol, such as `h2`. */
  alpn?: string;
  /** `PP2_TYPE_AUTHORITY` (`0x02`): the host name the client asked for (TLS SNI). */
  authority?: string;
  /** `PP2_TYPE_CRC32C` (`0x03`): the header's checksum, verified. */
  crc32c?: number;
  /** `PP2_TYPE_UNIQUE_ID` (`0x05`): the proxy's id for the connection, at most 128 bytes. */
  uniqueId?: Uint8Array;
  /** `PP2_TYPE_SSL` (`0x20`). */
  ssl?: ProxySslInfo;
  /** `PP2_TYPE_NETNS` (`0x30`): the network namespace the proxy accepted in. */
  netns?: string;
}

const V1_MAX_LENGTH = 107;
const V2_FIXED_LENGTH = 16;
const V2_MAX_LENGTH = V2_FIXED_LENGTH + 0xffff;
const DEFAULT_MAX_HEADER_LENGTH = 4096;
const V2_SIGNATURE = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);
const V1_SIGNATURE = "PROXY";
const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const MAX_UNIQUE_ID_LENGTH = 128;

const TLV_ALPN = 0x01;
const TLV_AUTHORITY = 0x02;
const TLV_CRC32C = 0x03;
const TLV_UNIQUE_ID = 0x05;
const TLV_SSL = 0x20;
const TLV_NETNS = 0x30;
const SSL_SUBTYPES = {
  0x21: "version",
  0x22: "commonName",
  0x23: "cipher",
  0x24: "signatureAlgorithm",
  0x25: "keyAlgorithm",
} as const;

/** The `fam|proto` byte values the specification defines, and their address block size. */
const V2_FAMILIES = new Map<number, [ProxyHeader["family"], ProxyHeader["transport"], number]>([
  [0x00, ["UNSPEC", "UNSPEC", 0]],
  [0x11, ["INET", "STREAM", 12]],
  [0x12, ["INET", "DGRAM", 12]],
  [0x21, ["INET6", "STREAM", 36]],
  [0x22, ["INET6", "DGRAM", 36]],
  [0x31, ["UNIX", "STREAM", 216]],
  [0x32, ["UNIX", "DGRAM", 216]],
]);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a PROXY protocol header, v1 or v2, from the bytes received so far.
 * Call it again with more bytes while it returns `undefined`. Bytes after
 * the header are the connection's data: they start at `header.length`.
 *
 * Incremental and fail-fast: a header is refused at the first byte that
 * proves it wrong (a v1 line is checked field by field as it arrives, a v2
 * length before its body), so a peer that sends garbage is not waited for.
 * Bounded: a v1 line without CRLF within 107 bytes, and a v2 header longer
 * than `maxHeaderLength`, are refused. A v2 CRC32C TLV is verified.
 *
 * @example Parse a v1 header followed by data
 * ```ts
 * import { parseProxyHeader } from "@socketserver/core/proxy";
 * import { assertEquals } from "@std/assert";
 *
 * const bytes = new TextEncoder().encode("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /");
 * assertEquals(parseProxyHeader(bytes.subarray(0, 20)), undefined); // needs more
 * const header = parseProxyHeader(bytes)!;
 * assertEquals(header.source, { hostname: "192.0.2.1", port: 56324 });
 * assertEquals(new TextDecoder().decode(bytes.subarray(header.length)), "GET /");
 * ```
 *
 * @example Parse a v2 LOCAL header (a health check)
 * ```ts
 * import { parseProxyHeader } from "@socketserver/core/proxy";
 * import { assertEquals } from "@std/assert";
 *
 * const local = Uint8Array.of(
 *   0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, // signature
 *   0x20, 0x00, 0x00, 0x00, // v2 LOCAL, AF_UNSPEC, length 0
 * );
 * const header = parseProxyHeader(local, { accept: "v2" })!;
 * assertEquals(header.command, "LOCAL");
 * assertEquals(header.source, null);
 * assertEquals(header.length, 16);
 * ```
 *
 * @example A malformed header is a typed error
 * ```ts
 * import { parseProxyHeader, ProxyProtocolError } from "@socketserver/core/proxy";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const bad = new TextEncoder().encode("PROXY TCP4 192.0.2.1 198.51.100.2 99999 ");
 * const error = assertThrows(() => parseProxyHeader(bad), ProxyProtocolError);
 * assertEquals(error.offset, 34);
 * ```
 *
 * @param bytes The bytes received so far, from the connection's first byte.
 * @param options The versions accepted and the length limit.
 * @returns The header, or `undefined` when more bytes are needed.
 * @throws {ProxyProtocolError} The bytes cannot start a valid header.
 * @throws {TypeError} `accept` is not `"v1"`, `"v2"` or `"any"`.
 * @throws {RangeError} `maxHeaderLength` is not an integer from 16 to 65551.
 */
export function parseProxyHeader(
  bytes: Uint8Array,
  options: ProxyHeaderOptions = {},
): ProxyHeader | undefined {
  const accept = options.accept ?? "any";
  const maxHeaderLength = options.maxHeaderLength ?? DEFAULT_MAX_HEADER_LENGTH;
  if (accept !== "v1" && accept !== "v2" && accept !== "any") {
    throw new TypeError(
      `Cannot parse PROXY header: accept must be "v1", "v2" or "any", got ${
        JSON.stringify(accept)
      }`,
    );
  }
  if (
    !Number.isInteger(maxHeaderLength) || maxHeaderLength < V2_FIXED_LENGTH ||
    maxHeaderLength > V2_MAX_LENGTH
  ) {
    throw new RangeError(
      `Cannot parse PROXY header: maxHeaderLength ${maxHeaderLength} is not an integer from ${V2_FIXED_LENGTH} to ${V2_MAX_LENGTH}`,
    );
  }
  if (bytes.length === 0) return undefined;
  const first = bytes[0];
  if (first === V1_SIGNATURE.charCodeAt(0)) {
    if (accept === "v2") throw new ProxyProtocolError("v1 header where only v2 is accepted", 0);
    return parseV1(bytes);
  }
  if (first === V2_SIGNATURE[0]) {
    if (accept === "v1") throw new ProxyProtocolError("v2 header where only v1 is accepted", 0);
    return parseV2(bytes, maxHeaderLength);
  }
  throw new ProxyProtocolError(
    `first byte ${hex(first)} starts neither a v1 ("PROXY") nor a v2 signature`,
    0,
  );
}

/** The v1 fields in order; `UNKNOWN` stops after the protocol. */
const V1_FIELDS = [
  "signature",
  "protocol",
  "source address",
  "destination address",
  "source port",
  "destination port",
] as const;
const V1_PROTOCOLS = ["TCP4", "TCP6", "UNKNOWN"] as const;

/**
 * The v1 line, byte by byte: each byte is checked as it arrives and each
 * field when the space after it does, so an error is raised at the first
 * byte that proves the line wrong whatever the split.
 */
function parseV1(bytes: Uint8Array): ProxyHeader | undefined {
  const fields: string[] = [];
  let fieldStart = 0;
  let protocol: typeof V1_PROTOCOLS[number] | undefined;
  for (let at = 0; at < bytes.length; at++) {
    const byte = bytes[at];
    if (byte !== CR && at >= V1_MAX_LENGTH - 2) {
      throw new ProxyProtocolError(`v1 header has no CRLF within ${V1_MAX_LENGTH} bytes`, at);
    }
    // After "UNKNOWN" and a space, the rest of the line is ignored (the specification says so).
    const ignoring = protocol === "UNKNOWN" && fields.length === 2;
    if (byte === CR) {
      if (!ignoring) {
        protocol = endV1Field(bytes, fields, fieldStart, at);
        const expected = protocol === "UNKNOWN" ? 2 : V1_FIELDS.length;
        if (fields.length < expected) {
          throw new ProxyProtocolError(
            protocol === undefined
              ? "v1 header ends before its protocol"
              : `v1 header ends after ${fields.length} fields, ${protocol} needs ${expected}`,
            at,
          );
        }
      }
      if (at + 1 === bytes.length) return undefined;
      if (bytes[at + 1] !== LF) {
        throw new ProxyProtocolError(
          `v1 header has CR followed by ${hex(bytes[at + 1])}, not LF`,
          at + 1,
        );
      }
      return v1Header(protocol!, fields, at + 2);
    }
    if (byte === LF) throw new ProxyProtocolError("v1 header has LF without CR", at);
    if (ignoring) {
      if (byte < SPACE || byte > 0x7e) throw notPrintable(byte, at);
      continue;
    }
    if (byte === SPACE) {
      protocol = endV1Field(bytes, fields, fieldStart, at);
      if (fields.length === V1_FIELDS.length) {
        throw new ProxyProtocolError("v1 header has a field after the destination port", at);
      }
      fieldStart = at + 1;
      continue;
    }
    if (byte < SPACE || byte > 0x7e) throw notPrintable(byte, at);
    checkV1Byte(bytes, fields.length, protocol, fieldStart, at);
  }
  return undefined;
}

/** Fails fast on a byte that no valid value of the current field can contain. */
function checkV1Byte(
  bytes: Uint8Array,
  field: number,
  protocol: string | undefined,
  fieldStart: number,
  at: number,
): void {
  const char = String.fromCharCode(bytes[at]);
  const sofar = ascii(bytes, fieldStart, at + 1);
  let ok: boolean;
  switch (field) {
    case 0:
      ok = V1_SIGNATURE.startsWith(sofar);
      break;
    case 1:
      ok = V1_PROTOCOLS.some((name) => name.startsWith(sofar));
      break;
    case 2:
    case 3:
      ok = protocol === "TCP4"
        ? /[0-9.]/.test(char) && sofar.length <= 15
        : /[0-9A-Fa-f:.]/.test(char) && sofar.length <= 45;
      break;
    default:
      ok = /[0-9]/.test(char) && sofar.length <= 5;
  }
  if (!ok) {
    throw new ProxyProtocolError(
      `v1 ${V1_FIELDS[field]} cannot contain ${JSON.stringify(sofar)}`,
      at,
    );
  }
}

/** Checks the field that ends at `end` and appends it; returns the protocol once known. */
function endV1Field(
  bytes: Uint8Array,
  fields: string[],
  start: number,
  end: number,
): typeof V1_PROTOCOLS[number] | undefined {
  const index = fields.length;
  const text = ascii(bytes, start, end);
  const name = V1_FIELDS[index];
  const protocol = fields[1] as typeof V1_PROTOCOLS[number] | undefined;
  if (text === "") throw new ProxyProtocolError(`v1 ${name} is empty`, start);
  switch (index) {
    case 0:
      if (text !== V1_SIGNATURE) {
        throw new ProxyProtocolError(`v1 signature ${JSON.stringify(text)} is not "PROXY"`, start);
      }
      break;
    case 1:
      if (!(V1_PROTOCOLS as readonly string[]).includes(text)) {
        throw new ProxyProtocolError(
          `v1 protocol ${JSON.stringify(text)} is not TCP4, TCP6 or UNKNOWN`,
          start,
        );
      }
      break;
    case 2:
    case 3: {
      const parsed = protocol === "TCP4" ? parseIPv4(text) : parseIPv6(text);
      if (parsed === undefined) {
        throw new ProxyProtocolError(
          `v1 ${name} ${JSON.stringify(text)} is not an ${
            protocol === "TCP4" ? "IPv4" : "IPv6"
          } address`,
          start,
        );
      }
      // Stored in the form Deno prints a peer's address, so logs and trust checks agree.
      fields.push(protocol === "TCP4" ? formatIPv4(parsed) : formatIPv6(parsed));
      return protocol;
    }
    default:
      if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 0xffff) {
        throw new ProxyProtocolError(
          `v1 ${name} ${JSON.stringify(text)} is not a port from 0 to 65535 without leading zeros`,
          start,
        );
      }
  }
  fields.push(text);
  return fields[1] as typeof V1_PROTOCOLS[number] | undefined;
}

function v1Header(
  protocol: typeof V1_PROTOCOLS[number],
  fields: string[],
  length: number,
): ProxyHeader {
  if (protocol === "UNKNOWN") {
    return {
      version: 1,
      command: "PROXY",
      family: "UNSPEC",
      transport: "UNSPEC",
      source: null,
      destination: null,
      length,
      tlvs: [],
    };
  }
  return {
    version: 1,
    command: "PROXY",
    family: protocol === "TCP4" ? "INET" : "INET6",
    transport: "STREAM",
    source: { hostname: fields[2], port: Number(fields[4]) },
    destination: { hostname: fields[3], port: Number(fields[5]) },
    length,
    tlvs: [],
  };
}

/** The v2 header: fixed part checked byte by byte, then the body once all of it is here. */
function parseV2(bytes: Uint8Array, maxHeaderLength: number): ProxyHeader | undefined {
  for (let at = 0; at < Math.min(bytes.length, V2_SIGNATURE.length); at++) {
    if (bytes[at] !== V2_SIGNATURE[at]) {
      throw new ProxyProtocolError(
        `v2 signature byte ${at} is ${hex(bytes[at])}, not ${hex(V2_SIGNATURE[at])}`,
        at,
      );
    }
  }
  if (bytes.length <= 12) return undefined;
  const version = bytes[12] >> 4;
  if (version !== 2) {
    throw new ProxyProtocolError(`v2 version ${version} is not 2 (byte ${hex(bytes[12])})`, 12);
  }
  const commandCode = bytes[12] & 0x0f;
  if (commandCode > 1) {
    throw new ProxyProtocolError(
      `v2 command ${commandCode} is neither LOCAL (0) nor PROXY (1)`,
      12,
    );
  }
  const command = commandCode === 0 ? "LOCAL" : "PROXY";
  if (bytes.length <= 13) return undefined;
  const kind = V2_FAMILIES.get(bytes[13]);
  // LOCAL ignores the family (the specification says so); PROXY needs a defined one.
  if (kind === undefined && command === "PROXY") {
    throw new ProxyProtocolError(
      `v2 family and protocol byte ${hex(bytes[13])} is not one the specification defines`,
      13,
    );
  }
  if (bytes.length < V2_FIXED_LENGTH) return undefined;
  const bodyLength = (bytes[14] << 8) | bytes[15];
  const length = V2_FIXED_LENGTH + bodyLength;
  if (length > maxHeaderLength) {
    throw new ProxyProtocolError(
      `v2 header of ${length} bytes exceeds maxHeaderLength ${maxHeaderLength}`,
      14,
    );
  }
  const [family, transport, addressLength] = kind ?? ["UNSPEC", "UNSPEC", bodyLength];
  if (bodyLength < addressLength) {
    if (command === "PROXY") {
      throw new ProxyProtocolError(
        `v2 length ${bodyLength} is shorter than the ${addressLength} address bytes of ${family}`,
        14,
      );
    }
  }
  if (bytes.length < length) return undefined;
  const header: ProxyHeader = {
    version: 2,
    command,
    family: kind === undefined ? "UNSPEC" : family,
    transport: kind === undefined ? "UNSPEC" : transport,
    source: null,
    destination: null,
    length,
    tlvs: [],
  };
  // A LOCAL header whose address block does not fit is skipped whole: nothing in it is used.
  if (bodyLength < addressLength) return header;
  if (command === "PROXY") readV2Addresses(bytes, family, header);
  const tlvStart = V2_FIXED_LENGTH + addressLength;
  header.tlvs = readTlvs(bytes, tlvStart, length, "v2 TLV");
  readCommonTlvs(bytes, header, tlvStart);
  return header;
}

function readV2Addresses(bytes: Uint8Array, family: ProxyHeader["family"], header: ProxyHeader) {
  const at = V2_FIXED_LENGTH;
  const port = (offset: number) => (bytes[offset] << 8) | bytes[offset + 1];
  if (family === "INET") {
    header.source = { hostname: formatIPv4(bytes, at), port: port(at + 8) };
    header.destination = { hostname: formatIPv4(bytes, at + 4), port: port(at + 10) };
  } else if (family === "INET6") {
    header.source = { hostname: formatIPv6(bytes, at), port: port(at + 32) };
    header.destination = { hostname: formatIPv6(bytes, at + 16), port: port(at + 34) };
  } else if (family === "UNIX") {
    header.source = { path: unixPath(bytes, at, at + 108) };
    header.destination = { path: unixPath(bytes, at + 108) };
  }
}

/** The TLVs between `start` and `end`; a TLV that overruns `end` is an error. */
function readTlvs(bytes: Uint8Array, start: number, end: number, what: string): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  for (let at = start; at < end;) {
    if (end - at < 3) {
      throw new ProxyProtocolError(
        `${what} is cut: ${end - at} bytes left for its 3-byte type and length`,
        at,
      );
    }
    const type = bytes[at];
    const valueLength = (bytes[at + 1] << 8) | bytes[at + 2];
    if (at + 3 + valueLength > end) {
      throw new ProxyProtocolError(
        `${what} ${hex(type)} declares ${valueLength} bytes, ${end - at - 3} are left`,
        at + 1,
      );
    }
    tlvs.push({ type, value: bytes.slice(at + 3, at + 3 + valueLength) });
    at += 3 + valueLength;
  }
  return tlvs;
}

/** Fills the named TLV fields (the first of each type) and verifies CRC32C. */
function readCommonTlvs(bytes: Uint8Array, header: ProxyHeader, tlvStart: number): void {
  let at = tlvStart;
  for (const { type, value } of header.tlvs) {
    const valueAt = at + 3;
    at = valueAt + value.length;
    switch (type) {
      case TLV_ALPN:
        header.alpn ??= text(value, "ALPN", valueAt);
        break;
      case TLV_AUTHORITY:
        header.authority ??= text(value, "AUTHORITY", valueAt);
        break;
      case TLV_CRC32C:
        header.crc32c ??= verifyCrc32c(bytes, header.length, value, valueAt);
        break;
      case TLV_UNIQUE_ID:
        if (value.length > MAX_UNIQUE_ID_LENGTH) {
          throw new ProxyProtocolError(
            `v2 UNIQUE_ID of ${value.length} bytes exceeds ${MAX_UNIQUE_ID_LENGTH}`,
            valueAt,
          );
        }
        header.uniqueId ??= value;
        break;
      case TLV_SSL:
        header.ssl ??= readSsl(bytes, value, valueAt);
        break;
      case TLV_NETNS:
        header.netns ??= text(value, "NETNS", valueAt);
        break;
    }
  }
}

function verifyCrc32c(bytes: Uint8Array, length: number, value: Uint8Array, valueAt: number) {
  if (value.length !== 4) {
    throw new ProxyProtocolError(`v2 CRC32C value has ${value.length} bytes, not 4`, valueAt);
  }
  const sent = ((value[0] << 24) | (value[1] << 16) | (value[2] << 8) | value[3]) >>> 0;
  // The checksum covers the whole header with its own value zeroed.
  const copy = bytes.slice(0, length);
  copy.fill(0, valueAt, valueAt + 4);
  const computed = crc32c(copy);
  if (computed !== sent) {
    throw new ProxyProtocolError(
      `v2 CRC32C ${hex32(sent)} does not match the header's checksum ${hex32(computed)}`,
      valueAt,
    );
  }
  return sent;
}

function readSsl(bytes: Uint8Array, value: Uint8Array, valueAt: number): ProxySslInfo {
  if (value.length < 5) {
    throw new ProxyProtocolError(
      `v2 SSL value has ${value.length} bytes, needs at least 5`,
      valueAt,
    );
  }
  const ssl: ProxySslInfo = {
    client: value[0],
    verify: ((value[1] << 24) | (value[2] << 16) | (value[3] << 8) | value[4]) >>> 0,
    tlvs: readTlvs(bytes, valueAt + 5, valueAt + value.length, "v2 SSL sub-TLV"),
  };
  let at = valueAt + 5;
  for (const sub of ssl.tlvs) {
    const name = SSL_SUBTYPES[sub.type as keyof typeof SSL_SUBTYPES];
    if (name !== undefined) ssl[name] ??= text(sub.value, `SSL ${name}`, at + 3);
    at += 3 + sub.value.length;
  }
  return ssl;
}

function text(value: Uint8Array, what: string, at: number): string {
  try {
    return utf8.decode(value);
  } catch {
    throw new ProxyProtocolError(`v2 ${what} value is not UTF-8`, at);
  }
}

function unixPath(bytes: Uint8Array, start: number, end = start + 108): string {
  const nul = bytes.subarray(start, end).indexOf(0);
  const path = bytes.subarray(start, nul === -1 ? end : start + nul);
  return new TextDecoder().decode(path);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

function notPrintable(byte: number, at: number): ProxyProtocolError {
  return new ProxyProtocolError(`v1 header has byte ${hex(byte)}, not printable ASCII`, at);
}

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

function hex32(value: number): string {
  return `0x${value.toString(16).toUpperCase().padStart(8, "0")}`;
}
