// Internal: IP addresses as text and as bytes, for the PROXY protocol parser
// and the trustedProxies matcher. Strict (inet_pton's grammar: no leading
// zeros in IPv4, no zone ids) and allocation-light. Not part of the public API.

/**
 * The 4 bytes of a dotted-quad IPv4 address, or `undefined` when `text` is
 * not one: exactly four decimal parts 0 to 255, no leading zeros (which some
 * parsers read as octal).
 */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/**
 * The 16 bytes of an IPv6 address in any RFC 4291 text form (`::`
 * compression, a trailing dotted IPv4 part), or `undefined`.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const groups = [...head, ...tail];
  // A trailing dotted IPv4 part stands for the last two groups.
  let ipv4: Uint8Array | undefined;
  const last = groups.at(-1);
  if (last !== undefined && last.includes(".")) {
    if (halves.length === 2 && tail.length === 0) return undefined; // "1.2.3.4::"
    ipv4 = parseIPv4(last);
    if (ipv4 === undefined) return undefined;
    (tail.length > 0 ? tail : head).pop();
  }
  const words = head.length + tail.length + (ipv4 ? 2 : 0);
  if (halves.length === 2 ? words > 7 : words !== 8) return undefined;
  const bytes = new Uint8Array(16);
  const put = (group: string, at: number): boolean => {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return false;
    const value = parseInt(group, 16);
    bytes[at] = value >> 8;
    bytes[at + 1] = value & 0xff;
    return true;
  };
  for (let i = 0; i < head.length; i++) if (!put(head[i], i * 2)) return undefined;
  const tailStart = 16 - (tail.length + (ipv4 ? 2 : 0)) * 2;
  for (let i = 0; i < tail.length; i++) if (!put(tail[i], tailStart + i * 2)) return undefined;
  if (ipv4) bytes.set(ipv4, 12);
  return bytes;
}

/** `a.b.c.d` from 4 bytes at `offset`. */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * RFC 5952 text of 16 bytes at `offset`, as Deno prints a peer's address:
 * lower case, the longest run of two or more zero groups as `::` (the first
 * on a tie), and `::ffff:a.b.c.d` for an IPv4-mapped address.
 */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + i * 2] << 8) | bytes[offset + i * 2 + 1]);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = (from: number, to: number) =>
    groups.slice(from, to).map((group) => group.toString(16)).join(":");
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** The 4 or 16 bytes of an IPv4 or IPv6 address, or `undefined`. */
export function parseIP(text: string): Uint8Array | undefined {
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}
