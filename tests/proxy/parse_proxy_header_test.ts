// The PROXY protocol parser: every header form of HAProxy's proxy-protocol.txt,
// good and bad, each parsed from every prefix of its bytes (the parser sees
// the bytes received so far, so a prefix is a split at that byte).

import { assert, assertEquals, assertMatch, assertThrows, fail } from "@std/assert";

import fc from "fast-check";
import {
  parseProxyHeader,
  type ProxyHeader,
  type ProxyHeaderOptions,
  ProxyProtocolError,
} from "@socketserver/core";
import { crc32c } from "../../src/proxy/_crc32c.ts";
import { formatIPv6, parseIPv4, parseIPv6 } from "../../src/proxy/_ip.ts";
import { TrustedProxies } from "../../src/proxy/_trusted_proxies.ts";
import { bytes } from "../support/codec_harness.ts";
import { concat, wire } from "../support/wire.ts";

// ---- v2 building blocks -------------------------------------------------------------------

const SIGNATURE = wire("0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A");
const PROXY = 0x21;
const LOCAL = 0x20;

/** A v2 header: signature, ver|cmd, fam|proto, the body's length (or `declared`), the body. */
function v2(versionCommand: number, family: number, body: Uint8Array, declared?: number) {
  const length = declared ?? body.length;
  return concat([
    SIGNATURE,
    Uint8Array.of(versionCommand, family, length >> 8, length & 0xff),
    body,
  ]);
}

/** One TLV: type, 2-byte length, value. */
function tlv(type: number, value: Uint8Array | string): Uint8Array {
  const data = typeof value === "string" ? bytes(value) : value;
  return concat([Uint8Array.of(type, data.length >> 8, data.length & 0xff), data]);
}

/** A v2 header whose last TLV is a CRC32C computed over it (plus `corrupt` xored in). */
function withCrc32c(versionCommand: number, family: number, body: Uint8Array, corrupt = 0) {
  const header = v2(versionCommand, family, concat([body, tlv(0x03, new Uint8Array(4))]));
  const checksum = (crc32c(header) ^ corrupt) >>> 0;
  new DataView(header.buffer).setUint32(header.length - 4, checksum);
  return header;
}

/** 192.0.2.1:56324 -> 198.51.100.2:443 */
const INET = wire("C0 00 02 01  C6 33 64 02  DC 04  01 BB");
/** [2001:db8::1]:56324 -> [2001:db8::2]:443 */
const INET6 = wire(
  "20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 01" +
    "20 01 0D B8 00 00 00 00 00 00 00 00 00 00 00 02  DC 04  01 BB",
);
/** /tmp/client.sock -> /run/server.sock, each NUL-padded to 108 bytes. */
const UNIX = concat([
  bytes("/tmp/client.sock"),
  new Uint8Array(108 - 16),
  bytes("/run/server.sock"),
  new Uint8Array(108 - 16),
]);

const INET_SOURCE = { hostname: "192.0.2.1", port: 56324 };
const INET_DESTINATION = { hostname: "198.51.100.2", port: 443 };
const INET6_SOURCE = { hostname: "2001:db8::1", port: 56324 };
const INET6_DESTINATION = { hostname: "2001:db8::2", port: 443 };
const UNIX_SOURCE = { path: "/tmp/client.sock" };
const UNIX_DESTINATION = { path: "/run/server.sock" };

// ---- the cases -----------------------------------------------------------------------------

interface Case {
  name: string;
  input: Uint8Array;
  options?: ProxyHeaderOptions;
  /** Fields the header must have (others are not checked); `length` is always checked. */
  header?: Partial<ProxyHeader> & { length: number };
  /** The error's offset and a pattern its reason must match. */
  error?: { offset: number; reason: RegExp };
}

const v1 = (text: string) => bytes(text);
const UNKNOWN_107 = `PROXY UNKNOWN ${"x".repeat(107 - 16)}\r\n`;

const v1Cases: Case[] = [
  {
    name: "v1 TCP4",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"),
    header: {
      version: 1,
      command: "PROXY",
      family: "INET",
      transport: "STREAM",
      source: INET_SOURCE,
      destination: INET_DESTINATION,
      tlvs: [],
      length: 45,
    },
  },
  {
    name: "v1 TCP6, addresses in long form come out as Deno prints them",
    input: v1("PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:db8::2 56324 443\r\n"),
    header: {
      family: "INET6",
      source: INET6_SOURCE,
      destination: INET6_DESTINATION,
      length: 55,
    },
  },
  {
    name: "v1 TCP6 with IPv4-mapped addresses",
    input: v1("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 65535\r\n"),
    header: {
      source: { hostname: "::ffff:192.0.2.1", port: 1 },
      destination: { hostname: "::1", port: 65535 },
      length: 41,
    },
  },
  {
    name: "v1 ports 0 and 65535",
    input: v1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"),
    header: {
      source: { hostname: "0.0.0.0", port: 0 },
      destination: { hostname: "255.255.255.255", port: 65535 },
      length: 44,
    },
  },
  {
    name: "v1 UNKNOWN alone",
    input: v1("PROXY UNKNOWN\r\n"),
    header: {
      version: 1,
      command: "PROXY",
      family: "UNSPEC",
      transport: "UNSPEC",
      source: null,
      destination: null,
      length: 15,
    },
  },
  {
    name: "v1 UNKNOWN with addresses, which are ignored",
    input: v1("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"),
    header: { family: "UNSPEC", source: null, length: 59 },
  },
  {
    name: "v1 of exactly 107 bytes",
    input: v1(UNKNOWN_107),
    header: { family: "UNSPEC", length: 107 },
  },
  {
    name: "v1 accepted by accept: v1",
    input: v1("PROXY UNKNOWN\r\n"),
    options: { accept: "v1" },
    header: { version: 1, length: 15 },
  },
  {
    name: "v1 one byte too long (no CRLF within 107 bytes)",
    input: v1(`PROXY UNKNOWN ${"x".repeat(107 - 15)}\r\n`),
    error: { offset: 105, reason: /no CRLF within 107 bytes/ },
  },
  {
    name: "v1 garbage without CRLF",
    input: v1(`PROXY UNKNOWN ${"x".repeat(200)}`),
    error: { offset: 105, reason: /no CRLF within 107 bytes/ },
  },
  {
    name: "v1 LF without CR",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n"),
    error: { offset: 43, reason: /LF without CR/ },
  },
  {
    name: "v1 CR followed by something else",
    input: v1("PROXY UNKNOWN\rX"),
    error: { offset: 14, reason: /CR followed by 0x58, not LF/ },
  },
  {
    name: "v1 signature misspelled",
    input: v1("PROXZ TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"),
    error: { offset: 4, reason: /signature cannot contain "PROXZ"/ },
  },
  {
    name: "v1 signature without its space",
    input: v1("PROXY\r\n"),
    error: { offset: 5, reason: /ends before its protocol/ },
  },
  {
    name: "v1 unknown protocol",
    input: v1("PROXY TCP5 192.0.2.1 198.51.100.2 56324 443\r\n"),
    error: { offset: 9, reason: /protocol cannot contain "TCP5"/ },
  },
  {
    name: "v1 two spaces",
    input: v1("PROXY  TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"),
    error: { offset: 6, reason: /protocol is empty/ },
  },
  {
    name: "v1 IPv4 part over 255",
    input: v1("PROXY TCP4 192.0.2.256 198.51.100.2 56324 443\r\n"),
    error: { offset: 11, reason: /source address "192.0.2.256" is not an IPv4 address/ },
  },
  {
    name: "v1 IPv4 with a leading zero",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.02 56324 443\r\n"),
    error: { offset: 21, reason: /destination address "198.51.100.02" is not an IPv4/ },
  },
  {
    name: "v1 IPv6 address in a TCP4 header",
    input: v1("PROXY TCP4 ::1 ::1 56324 443\r\n"),
    error: { offset: 11, reason: /source address cannot contain ":"/ },
  },
  {
    name: "v1 IPv4 address in a TCP6 header",
    input: v1("PROXY TCP6 192.0.2.1 198.51.100.2 56324 443\r\n"),
    error: { offset: 11, reason: /source address "192.0.2.1" is not an IPv6 address/ },
  },
  {
    name: "v1 IPv6 with two ::",
    input: v1("PROXY TCP6 1::2::3 ::1 56324 443\r\n"),
    error: { offset: 11, reason: /not an IPv6 address/ },
  },
  {
    name: "v1 port over 65535",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n"),
    error: { offset: 34, reason: /source port "65536" is not a port from 0 to 65535/ },
  },
  {
    name: "v1 port with a leading zero",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 0443\r\n"),
    error: { offset: 40, reason: /destination port "0443"/ },
  },
  {
    name: "v1 port of six digits",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 100000 443\r\n"),
    error: { offset: 39, reason: /source port cannot contain "100000"/ },
  },
  {
    name: "v1 port that is not a number",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 http 443\r\n"),
    error: { offset: 34, reason: /source port cannot contain "h"/ },
  },
  {
    name: "v1 missing the destination port",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n"),
    error: { offset: 39, reason: /ends after 5 fields, TCP4 needs 6/ },
  },
  {
    name: "v1 with a field too many",
    input: v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443 1\r\n"),
    error: { offset: 43, reason: /field after the destination port/ },
  },
  {
    name: "v1 with a NUL byte",
    input: v1("PROXY TCP4 192.0.2.1\x00"),
    error: { offset: 20, reason: /byte 0x00, not printable ASCII/ },
  },
  {
    name: "v1 refused by accept: v2",
    input: v1("PROXY UNKNOWN\r\n"),
    options: { accept: "v2" },
    error: { offset: 0, reason: /v1 header where only v2 is accepted/ },
  },
  {
    name: "neither version: an HTTP request",
    input: v1("GET / HTTP/1.1\r\n"),
    error: { offset: 0, reason: /first byte 0x47 starts neither a v1/ },
  },
];

/** PROXY and LOCAL over every address family and transport the specification defines. */
const familyCases: Case[] = [];
for (
  const [familyName, familyNibble, body, source, destination] of [
    ["INET", 0x10, INET, INET_SOURCE, INET_DESTINATION],
    ["INET6", 0x20, INET6, INET6_SOURCE, INET6_DESTINATION],
    ["UNIX", 0x30, UNIX, UNIX_SOURCE, UNIX_DESTINATION],
  ] as const
) {
  for (const [transport, transportNibble] of [["STREAM", 0x1], ["DGRAM", 0x2]] as const) {
    for (const command of ["PROXY", "LOCAL"] as const) {
      familyCases.push({
        name: `v2 ${command} ${familyName} ${transport}`,
        input: v2(command === "PROXY" ? PROXY : LOCAL, familyNibble | transportNibble, body),
        header: {
          version: 2,
          command,
          family: familyName,
          transport,
          // LOCAL: the proxy's own connection; its addresses are not used.
          source: command === "PROXY" ? source : null,
          destination: command === "PROXY" ? destination : null,
          tlvs: [],
          length: 16 + body.length,
        },
      });
    }
  }
}

const SSL_VALUE = concat([
  Uint8Array.of(0x07, 0, 0, 0, 0), // client: TLS, cert on connection and session; verify 0
  tlv(0x21, "TLSv1.3"),
  tlv(0x22, "client.example"),
  tlv(0x23, "TLS_AES_128_GCM_SHA256"),
  tlv(0x24, "RSA-SHA256"),
  tlv(0x25, "RSA2048"),
]);

const v2Cases: Case[] = [
  ...familyCases,
  {
    name: "v2 LOCAL AF_UNSPEC (HAProxy's health check)",
    input: v2(LOCAL, 0x00, new Uint8Array(0)),
    options: { accept: "v2" },
    header: { command: "LOCAL", family: "UNSPEC", transport: "UNSPEC", source: null, length: 16 },
  },
  {
    name: "v2 PROXY AF_UNSPEC: no addresses, TLVs still read",
    input: v2(PROXY, 0x00, tlv(0x04, "")),
    header: { command: "PROXY", family: "UNSPEC", source: null, length: 19 },
  },
  {
    name: "v2 LOCAL with a family the specification does not define: skipped whole",
    input: v2(LOCAL, 0xff, wire("01 02 03")),
    header: { command: "LOCAL", family: "UNSPEC", tlvs: [], length: 19 },
  },
  {
    name: "v2 LOCAL with an address block too short: skipped whole",
    input: v2(LOCAL, 0x11, wire("01 02 03")),
    header: { command: "LOCAL", family: "INET", source: null, tlvs: [], length: 19 },
  },
  {
    name: "v2 with every common TLV and a custom one",
    input: v2(
      PROXY,
      0x11,
      concat([
        INET,
        tlv(0x01, "h2"),
        tlv(0x02, "example.com"),
        tlv(0x04, new Uint8Array(5)),
        tlv(0x05, "req-42"),
        tlv(0x20, SSL_VALUE),
        tlv(0x30, "blue"),
        tlv(0xe0, wire("CA FE")),
      ]),
    ),
    header: {
      source: INET_SOURCE,
      alpn: "h2",
      authority: "example.com",
      uniqueId: bytes("req-42"),
      netns: "blue",
      ssl: {
        client: 7,
        verify: 0,
        version: "TLSv1.3",
        commonName: "client.example",
        cipher: "TLS_AES_128_GCM_SHA256",
        signatureAlgorithm: "RSA-SHA256",
        keyAlgorithm: "RSA2048",
        tlvs: [
          { type: 0x21, value: bytes("TLSv1.3") },
          { type: 0x22, value: bytes("client.example") },
          { type: 0x23, value: bytes("TLS_AES_128_GCM_SHA256") },
          { type: 0x24, value: bytes("RSA-SHA256") },
          { type: 0x25, value: bytes("RSA2048") },
        ],
      },
      tlvs: [
        { type: 0x01, value: bytes("h2") },
        { type: 0x02, value: bytes("example.com") },
        { type: 0x04, value: new Uint8Array(5) },
        { type: 0x05, value: bytes("req-42") },
        { type: 0x20, value: SSL_VALUE },
        { type: 0x30, value: bytes("blue") },
        { type: 0xe0, value: wire("CA FE") },
      ],
      length: 16 + 12 + 5 + 14 + 8 + 9 + 3 + SSL_VALUE.length + 7 + 5,
    },
  },
  {
    name: "v2 with a good CRC32C",
    input: withCrc32c(PROXY, 0x21, concat([INET6, tlv(0x05, "id")])),
    header: { source: INET6_SOURCE, uniqueId: bytes("id"), length: 16 + 36 + 5 + 7 },
  },
  {
    name: "v2 LOCAL with a good CRC32C",
    input: withCrc32c(LOCAL, 0x00, new Uint8Array(0)),
    header: { command: "LOCAL", length: 23 },
  },
  {
    // Captured from HAProxy 2.6 (send-proxy-v2 proxy-v2-options crc32c,unique-id): an independent CRC32C.
    name: "v2 from a real HAProxy: PROXY INET with CRC32C and UNIQUE_ID",
    input: wire(
      "0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A 21 11 00 44 7F 00 00 01 7F 00 00 01" +
        "C3 2E 4A 4D 03 00 04 E8 1B F1 46 05 00 2E 37 46 30 30 30 30 30 31 3A 43 33 32" +
        "45 5F 37 46 30 30 30 30 30 31 3A 34 41 34 44 5F 36 42 30 32 33 43 41 38 5F 30 30 30 30 3A 36 44 35 30",
    ),
    header: {
      command: "PROXY",
      source: { hostname: "127.0.0.1", port: 49966 },
      destination: { hostname: "127.0.0.1", port: 19021 },
      crc32c: 0xe81bf146,
      uniqueId: bytes("7F000001:C32E_7F000001:4A4D_6B023CA8_0000:6D50"),
      length: 84,
    },
  },
  {
    name: "v2 from a real HAProxy: a health check's LOCAL with CRC32C",
    input: wire("0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A 20 00 00 07 03 00 04 A9 B8 7E 8F"),
    header: { command: "LOCAL", family: "UNSPEC", source: null, crc32c: 0xa9b87e8f, length: 23 },
  },
  {
    name: "v2 of exactly maxHeaderLength",
    input: v2(PROXY, 0x11, concat([INET, tlv(0x04, new Uint8Array(100 - 16 - 12 - 3))])),
    options: { maxHeaderLength: 100 },
    header: { source: INET_SOURCE, length: 100 },
  },
  {
    name: "v2 with a bad CRC32C",
    input: withCrc32c(PROXY, 0x11, INET, 0x1),
    error: { offset: 31, reason: /CRC32C 0x[0-9A-F]{8} does not match the header's checksum/ },
  },
  {
    name: "v2 CRC32C of 3 bytes",
    input: v2(PROXY, 0x11, concat([INET, tlv(0x03, wire("00 00 00"))])),
    error: { offset: 31, reason: /CRC32C value has 3 bytes, not 4/ },
  },
  {
    name: "v2 signature with a wrong byte",
    input: concat([wire("0D 0A 0D 0A 00 0D 0A 51 55 49 55 0A 21 11 00 0C"), INET]),
    error: { offset: 10, reason: /signature byte 10 is 0x55, not 0x54/ },
  },
  {
    name: "v2 version 1",
    input: v2(0x11, 0x11, INET),
    error: { offset: 12, reason: /version 1 is not 2/ },
  },
  {
    name: "v2 version 3",
    input: v2(0x31, 0x11, INET),
    error: { offset: 12, reason: /version 3 is not 2/ },
  },
  {
    name: "v2 command 2",
    input: v2(0x22, 0x11, INET),
    error: { offset: 12, reason: /command 2 is neither LOCAL \(0\) nor PROXY \(1\)/ },
  },
  {
    name: "v2 PROXY with family 4",
    input: v2(PROXY, 0x41, INET),
    error: { offset: 13, reason: /family and protocol byte 0x41/ },
  },
  {
    name: "v2 PROXY AF_INET with transport UNSPEC",
    input: v2(PROXY, 0x10, INET),
    error: { offset: 13, reason: /family and protocol byte 0x10/ },
  },
  {
    name: "v2 length over the default limit of 4096",
    input: concat([SIGNATURE, wire("21 11 0F F1")]),
    error: { offset: 14, reason: /header of 4097 bytes exceeds maxHeaderLength 4096/ },
  },
  {
    name: "v2 length 65535 over a configured limit",
    input: concat([SIGNATURE, wire("21 11 FF FF")]),
    options: { maxHeaderLength: 1000 },
    error: { offset: 14, reason: /header of 65551 bytes exceeds maxHeaderLength 1000/ },
  },
  {
    name: "v2 length shorter than the AF_INET6 addresses",
    input: v2(PROXY, 0x21, INET6.subarray(0, 20)),
    error: { offset: 14, reason: /length 20 is shorter than the 36 address bytes of INET6/ },
  },
  {
    name: "v2 TLV cut after its type",
    input: v2(PROXY, 0x11, concat([INET, wire("04 00")])),
    error: { offset: 28, reason: /TLV is cut: 2 bytes left/ },
  },
  {
    name: "v2 TLV longer than the header",
    input: v2(PROXY, 0x11, concat([INET, wire("05 00 09 41 42")])),
    error: { offset: 29, reason: /TLV 0x05 declares 9 bytes, 2 are left/ },
  },
  {
    name: "v2 UNIQUE_ID of 129 bytes",
    input: v2(PROXY, 0x11, concat([INET, tlv(0x05, new Uint8Array(129))])),
    error: { offset: 31, reason: /UNIQUE_ID of 129 bytes exceeds 128/ },
  },
  {
    name: "v2 SSL of 4 bytes",
    input: v2(PROXY, 0x11, concat([INET, tlv(0x20, new Uint8Array(4))])),
    error: { offset: 31, reason: /SSL value has 4 bytes, needs at least 5/ },
  },
  {
    name: "v2 SSL sub-TLV cut",
    input: v2(PROXY, 0x11, concat([INET, tlv(0x20, wire("01 00 00 00 00 21 00 05 41"))])),
    error: { offset: 37, reason: /SSL sub-TLV 0x21 declares 5 bytes, 1 are left/ },
  },
  {
    name: "v2 AUTHORITY that is not UTF-8",
    input: v2(PROXY, 0x11, concat([INET, tlv(0x02, wire("FF FE"))])),
    error: { offset: 31, reason: /AUTHORITY value is not UTF-8/ },
  },
  {
    name: "v2 refused by accept: v1",
    input: v2(LOCAL, 0x00, new Uint8Array(0)),
    options: { accept: "v1" },
    error: { offset: 0, reason: /v2 header where only v1 is accepted/ },
  },
];

// ---- the harness ---------------------------------------------------------------------------

type Outcome = ProxyHeader | undefined | ProxyProtocolError;

function outcome(input: Uint8Array, options?: ProxyHeaderOptions): Outcome {
  try {
    return parseProxyHeader(input, options);
  } catch (error) {
    if (error instanceof ProxyProtocolError) return error;
    throw error;
  }
}

/**
 * Parses every prefix of `input`, as the bytes would arrive split at that
 * byte: before the header is whole the answer is "need more" (or, for a bad
 * header, the same error from the byte that proves it wrong onwards); from
 * the header's last byte on, the same header.
 */
function parseEveryPrefix(input: Uint8Array, options?: ProxyHeaderOptions): Outcome {
  const full = outcome(input, options);
  let failedFrom: number | undefined;
  for (let end = 0; end <= input.length; end++) {
    const result = outcome(input.subarray(0, end), options);
    if (result instanceof ProxyProtocolError) {
      assert(full instanceof ProxyProtocolError, `prefix ${end} failed: ${result.message}`);
      assertEquals(result.message, full.message, `prefix ${end}`);
      failedFrom ??= end;
    } else if (failedFrom !== undefined) {
      fail(`prefix ${failedFrom} failed but the longer prefix ${end} did not`);
    } else if (result === undefined) {
      assert(full === undefined || full instanceof ProxyProtocolError || end < full.length);
    } else {
      assert(full !== undefined && !(full instanceof ProxyProtocolError));
      assert(end >= full.length, `a header from prefix ${end}, shorter than ${full.length}`);
      assertEquals(result, full);
    }
  }
  return full;
}

for (const [group, cases] of [["v1", v1Cases], ["v2", v2Cases]] as const) {
  Deno.test(`parseProxyHeader ${group}: every form, split at every byte`, async (t) => {
    for (const { name, input, options, header, error } of cases) {
      await t.step(name, () => {
        const result = parseEveryPrefix(input, options);
        if (error !== undefined) {
          assert(result instanceof ProxyProtocolError, `expected an error, got ${result}`);
          assert(result instanceof SyntaxError);
          assertEquals(result.name, "ProxyProtocolError");
          assertEquals(result.offset, error.offset, result.message);
          assertMatch(result.reason, error.reason);
          assertEquals(
            result.message,
            `Cannot parse PROXY header: ${result.reason} (offset ${error.offset})`,
          );
          return;
        }
        assert(result !== undefined && !(result instanceof ProxyProtocolError), `${result}`);
        for (const [key, value] of Object.entries(header!)) {
          assertEquals(result[key as keyof ProxyHeader], value, key);
        }
        // Bytes after the header are the connection's data: they change nothing.
        const withData = concat([input, bytes("GET / HTTP/1.1\r\n\r\n")]);
        assertEquals(parseProxyHeader(withData, options), result);
      });
    }
  });
}

Deno.test("parseProxyHeader: named TLV fields take the first of each type", () => {
  const input = v2(PROXY, 0x11, concat([INET, tlv(0x02, "first"), tlv(0x02, "second")]));
  const header = parseProxyHeader(input)!;
  assertEquals(header.authority, "first");
  assertEquals(header.tlvs.length, 2);
});

Deno.test("parseProxyHeader: TLV values are copies that outlive the input", () => {
  const input = v2(PROXY, 0x11, concat([INET, tlv(0x05, "id-1")]));
  const header = parseProxyHeader(input)!;
  input.fill(0);
  assertEquals(header.uniqueId, bytes("id-1"));
  assertEquals(header.tlvs[0].value, bytes("id-1"));
});

Deno.test("parseProxyHeader: refuses bad options, even on empty input", async (t) => {
  const cases: { name: string; options: unknown; error: typeof Error; message: RegExp }[] = [
    {
      name: "accept not a version",
      options: { accept: "v3" },
      error: TypeError,
      message: /accept must be "v1", "v2" or "any", got "v3"/,
    },
    {
      name: "maxHeaderLength under 16",
      options: { maxHeaderLength: 15 },
      error: RangeError,
      message: /maxHeaderLength 15 is not an integer from 16 to 65551/,
    },
    {
      name: "maxHeaderLength over 16 + 65535",
      options: { maxHeaderLength: 65552 },
      error: RangeError,
      message: /maxHeaderLength 65552/,
    },
    {
      name: "maxHeaderLength not an integer",
      options: { maxHeaderLength: 100.5 },
      error: RangeError,
      message: /maxHeaderLength 100.5/,
    },
  ];
  for (const { name, options, error, message } of cases) {
    await t.step(name, () => {
      const thrown = assertThrows(
        () => parseProxyHeader(new Uint8Array(0), options as ProxyHeaderOptions),
        error,
      );
      assertMatch(thrown.message, message);
    });
  }
});

Deno.test("parseProxyHeader: any bytes give a header, need more, or a ProxyProtocolError", () => {
  const seeds = [...v1Cases, ...v2Cases].map((c) => c.input);
  const mutated = fc.tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
  ).map(([seed, edits]) => {
    const copy = seed.slice();
    for (const [at, byte] of edits) copy[at % copy.length] = byte;
    return copy;
  });
  fc.assert(
    fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 })), (input) => {
      // parseEveryPrefix fails on anything but a ProxyProtocolError, and on inconsistent prefixes.
      const result = parseEveryPrefix(input);
      if (result !== undefined && !(result instanceof ProxyProtocolError)) {
        assert(result.length <= input.length);
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("crc32c matches the Castagnoli check value", () => {
  assertEquals(crc32c(bytes("123456789")), 0xe3069283);
  assertEquals(crc32c(new Uint8Array(0)), 0);
});

Deno.test("IP text: strict parsing, RFC 5952 output", async (t) => {
  const ipv6: [string, string | undefined][] = [
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of two equal runs
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"], // the longest run
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"], // a single zero group is not compressed
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["::192.0.2.1", "::c000:201"],
    ["1:2:3:4:5:6:192.0.2.1", "1:2:3:4:5:6:c000:201"],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1::2::3", undefined],
    [":1", undefined],
    ["1:", undefined],
    ["12345::", undefined],
    ["192.0.2.1::", undefined],
    ["::192.0.2.256", undefined],
    ["fe80::1%eth0", undefined],
  ];
  for (const [text, expected] of ipv6) {
    await t.step(`IPv6 ${text}`, () => {
      const parsed = parseIPv6(text);
      assertEquals(parsed === undefined ? undefined : formatIPv6(parsed), expected);
    });
  }
  for (const [text, ok] of [["0.0.0.0", true], ["1.2.3", false], ["1.2.3.04", false]] as const) {
    await t.step(`IPv4 ${text}`, () => assertEquals(parseIPv4(text) !== undefined, ok));
  }
});

Deno.test("trustedProxies: addresses and CIDR networks, IPv4 and IPv6", async (t) => {
  const trusted = new TrustedProxies([
    "127.0.0.1",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "::1",
    "fd00::/8",
  ]);
  const cases: [string, boolean][] = [
    ["127.0.0.1", true],
    ["127.0.0.2", false],
    ["10.255.0.1", true],
    ["11.0.0.1", false],
    ["172.31.255.255", true],
    ["172.32.0.0", false],
    ["::1", true],
    ["::2", false],
    ["fdff::1", true],
    ["fe00::1", false],
    ["::ffff:10.1.2.3", true], // IPv4-mapped, as a dual-stack listener reports IPv4 peers
    ["::ffff:192.0.2.1", false],
    ["not an address", false],
  ];
  for (const [hostname, expected] of cases) {
    await t.step(`${hostname} ${expected ? "is" : "is not"} trusted`, () => {
      assertEquals(trusted.has(hostname), expected);
    });
  }
  for (const entry of ["10.0.0.0/33", "::/129", "10.0.0.0/8/8", "10.0.0.0/", "example.com", ""]) {
    await t.step(`${JSON.stringify(entry)} is refused`, () => {
      assertThrows(() => new TrustedProxies([entry]), TypeError);
    });
  }
  await t.step("0.0.0.0/0 and ::/0 trust everyone of their family", () => {
    assert(new TrustedProxies(["0.0.0.0/0"]).has("192.0.2.1"));
    assert(!new TrustedProxies(["0.0.0.0/0"]).has("2001:db8::1"));
    assert(new TrustedProxies(["::/0"]).has("2001:db8::1"));
  });
});
