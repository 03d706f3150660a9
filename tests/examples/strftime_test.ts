// examples/strftime.ts against python3's time.strftime (glibc), directive by
// directive, for fixed timestamps.

import { assertEquals, assertThrows } from "@std/assert";
import { strftime } from "../../examples/_strftime.ts";
import { runPython } from "../support/python.ts";

const DAY = 86_400;

/** Timestamps chosen for their edges, each with a comment. */
const EDGES: [number, string][] = [
  [0, "the epoch, a Thursday"],
  [-1, "one second before the epoch"],
  [1_700_000_000, "an afternoon (PM, 12-hour clock)"],
  [951_782_400, "2000-02-29, a leap day"],
  [946_684_800, "2000-01-01, a Saturday: ISO week 52 of 1999"],
  [1_104_537_600, "2005-01-01, a Saturday: ISO week 53 of 2004"],
  [1_230_681_600, "2008-12-31, a Wednesday: ISO week 1 of 2009"],
  [1_262_217_600, "2009-12-31, a Thursday: ISO week 53"],
  [1_609_459_199, "2020-12-31 23:59:59"],
  [4_102_444_800, "2100-01-01, not a leap year"],
  [1_356_998_400 + 12 * 3600, "2013-01-01 12:00, noon is 12 PM"],
  [1_356_998_400 + 30, "2013-01-01 00:00:30, midnight is 12 AM"],
];

/** Every day of 2019 and 2020 at a drifting hour: every week-number case comes up. */
const DAYS: number[] = Array.from(
  { length: 731 },
  (_, i) => 1_546_300_800 + i * DAY + ((i * 3607) % DAY),
);

const DIRECTIVES = [
  ..."aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%".split("").map((name) => `%${name}`),
  // glibc flags: no padding, space padding, zero padding, upper case.
  "%-d",
  "%_d",
  "%0e",
  "%-e",
  "%-j",
  "%_H",
  "%-y",
  "%-m",
  "%_m",
  "%0k",
  "%-l",
  "%-I",
  "%-V",
  "%-s",
  "%^a",
  "%^A",
  "%^b",
  "%^B",
  "%^p",
  "%^P",
  "%^c",
  "%-%",
  // E and O modifiers: the same output in the C locale.
  "%Ey",
  "%EY",
  "%Od",
  "%OH",
  "%Ec",
  // Unknown directives and a lone % are left as they are.
  "%Q",
  "%-Q",
  "%v",
  "%+",
  "%E",
  "%O",
  "%",
  "%-",
  "100%",
  // Whole formats.
  "%Y/%m/%d %H:%M:%S",
  "[%a %d %b %Y] %I:%M %p (%j)",
  "week %U/%W/%V of %G, day %u/%w",
  "plain text with no directive",
  "",
];

Deno.test("strftime: every directive matches python3's time.strftime in UTC", async () => {
  const timestamps = [...EDGES.map(([t]) => t), ...DAYS];
  const script = `
import json, sys, time
timestamps, formats = json.load(sys.stdin)
print(json.dumps([[time.strftime(f, time.localtime(t)) for f in formats] for t in timestamps]))
`;
  const python = await runPython(script, { stdin: JSON.stringify([timestamps, DIRECTIVES]) });
  assertEquals(python.code, 0, python.stderr);
  const expected: string[][] = JSON.parse(python.stdout);
  let compared = 0;
  timestamps.forEach((t, i) => {
    const date = new Date(t * 1000);
    DIRECTIVES.forEach((format, j) => {
      const edge = EDGES.find(([edgeTime]) => edgeTime === t)?.[1] ?? "a day of 2019-2020";
      assertEquals(
        strftime(format, date, { utc: true }),
        expected[i][j],
        `${JSON.stringify(format)} at ${t} (${edge})`,
      );
      compared++;
    });
  });
  assertEquals(compared, timestamps.length * DIRECTIVES.length);
});

Deno.test("strftime: local time follows TZ (offset, hour, epoch seconds)", async () => {
  const formats = ["%Y-%m-%d %H:%M:%S %z", "%s", "%j %U %V %a"];
  const timestamps = [0, 1_700_000_000, 1_688_000_000 /* summer: New York on DST */];
  for (const tz of ["Asia/Kolkata", "America/New_York", "UTC"]) {
    const script = `
import json, time
print(json.dumps([[time.strftime(f, time.localtime(t)) for f in ${JSON.stringify(formats)}]
                  for t in ${JSON.stringify(timestamps)}]))
`;
    const python = new Deno.Command("python3", {
      args: ["-c", script],
      env: { TZ: tz },
      stdout: "piped",
      stderr: "piped",
    });
    const ours = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { strftime } from ${
          JSON.stringify(new URL("../../examples/_strftime.ts", import.meta.url).href)
        };
console.log(JSON.stringify(${JSON.stringify(timestamps)}.map((t) =>
  ${JSON.stringify(formats)}.map((f) => strftime(f, new Date(t * 1000))))));`,
      ],
      env: { TZ: tz },
      stdout: "piped",
      stderr: "piped",
    });
    const [expected, actual] = await Promise.all([python.output(), ours.output()]);
    const decoder = new TextDecoder();
    assertEquals(actual.code, 0, decoder.decode(actual.stderr));
    assertEquals(
      JSON.parse(decoder.decode(actual.stdout)),
      JSON.parse(decoder.decode(expected.stdout)),
      `TZ=${tz}`,
    );
  }
});

Deno.test("strftime: %Z names the zone; widths are not supported; an invalid Date is refused", () => {
  assertEquals(strftime("%Z %z", new Date(0), { utc: true }), "UTC +0000");
  assertEquals(strftime("%e|%k|%l", new Date(Date.UTC(2024, 0, 5, 7)), { utc: true }), " 5| 7| 7");
  // glibc pads to a field width ("%5d" is "00001"); we leave it as it is, as documented.
  assertEquals(strftime("%5d", new Date(0), { utc: true }), "%5d");
  assertThrows(() => strftime("%Y", new Date(NaN)), RangeError);
});
