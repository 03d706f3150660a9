import { assertEquals, assertThrows } from "@std/assert";
import { Md5, md5Hex } from "../../examples/md5.ts";
import { runPython } from "../support/python.ts";

const text = (value: string) => new TextEncoder().encode(value);

/** Random bytes of any length (getRandomValues gives 64 KiB a call). */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  }
  return bytes;
}

Deno.test("md5: the RFC 1321 test suite", () => {
  const cases: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ],
    [
      "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
      "57edf4a22be3c955ac49da2e2107b67a",
    ],
  ];
  for (const [input, expected] of cases) assertEquals(md5Hex(text(input)), expected, input);
});

Deno.test("md5: digest bytes and hexdigest agree", () => {
  const md5 = new Md5().update(text("abc"));
  const hex = md5.hexdigest();
  assertEquals(hex, "900150983cd24fb0d6963f7d28e17f72");
  // The digest can be read again, but the hasher is finished.
  assertEquals(Array.from(md5.digest(), (b) => b.toString(16).padStart(2, "0")).join(""), hex);
  assertThrows(() => md5.update(text("more")), TypeError);
});

Deno.test("md5: any split of the input gives the one-shot digest", () => {
  const data = randomBytes(1000);
  const expected = md5Hex(data);
  // Splits around the 64-byte block and the 56-byte padding boundary.
  for (const size of [1, 3, 55, 56, 57, 63, 64, 65, 127, 128, 129, 999]) {
    const md5 = new Md5();
    for (let offset = 0; offset < data.length; offset += size) {
      md5.update(data.subarray(offset, offset + size));
    }
    assertEquals(md5.hexdigest(), expected, `chunks of ${size}`);
  }
});

Deno.test("md5: matches python's hashlib on lengths around block boundaries", async () => {
  const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 128, 1000, 65536, 1_000_003];
  const blobs = lengths.map((length) => randomBytes(length));
  const total = blobs.reduce((sum, blob) => sum + blob.length, 0);
  const stdin = new Uint8Array(total);
  let offset = 0;
  for (const blob of blobs) {
    stdin.set(blob, offset);
    offset += blob.length;
  }
  const result = await runPython(
    `
import hashlib, sys
data = sys.stdin.buffer.read()
offset = 0
for length in map(int, sys.argv[1:]):
    print(hashlib.md5(data[offset:offset + length]).hexdigest())
    offset += length
`,
    { args: lengths.map(String), stdin },
  );
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout.trim().split("\n"), blobs.map((blob) => md5Hex(blob)));
});
