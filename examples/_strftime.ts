/**
 * C's `strftime` (as glibc does it in the C locale) for JavaScript dates: what
 * `examples/udp_time.ts` answers with. Pure: no Deno APIs.
 *
 *     strftime("%Y/%m/%d %H:%M:%S", new Date(0), { utc: true }) // "1970/01/01 00:00:00"
 *
 * Directives: `%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M
 * %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%`, with the
 * glibc flags `-` (no padding), `_` (pad with spaces), `0` (pad with zeros)
 * and `^` (upper case), and the `E` / `O` modifiers (the same output in the
 * C locale). An unknown directive is left as it is, as glibc does; field
 * widths (`%10Y`) are not supported and are left as they are too.
 *
 * `%Z` is `UTC` with `utc: true`; in local time it is the short name `Intl`
 * gives (`EST`, or `GMT+5:30` where English has no abbreviation, where C
 * says `IST`).
 *
 * @module
 */

/** Options for {@linkcode strftime}. */
export interface StrftimeOptions {
  /**
   * Format in UTC instead of the process's local time zone (`TZ`).
   *
   * @default {false}
   */
  utc?: boolean;
}

const DAYS = "Sunday Monday Tuesday Wednesday Thursday Friday Saturday".split(" ");
const MONTHS =
  "January February March April May June July August September October November December"
    .split(" ");
const DAY_MS = 86_400_000;

/** The broken-down time (C's `struct tm`) that every directive reads. */
interface Fields {
  year: number;
  month: number; // 0-11
  day: number; // 1-31
  hours: number;
  minutes: number;
  seconds: number;
  weekday: number; // 0 = Sunday
  yearDay: number; // 0-365
  offsetMinutes: number; // east of UTC
  zone: string;
  epochSeconds: number;
}

/** A number with its default width and padding, which flags may change. */
interface NumberField {
  value: number;
  width: number;
  pad: "0" | " ";
}

/** Directives that expand to other directives, as glibc defines them in the C locale. */
const COMPOSITES: Record<string, string> = {
  c: "%a %b %e %H:%M:%S %Y",
  D: "%m/%d/%y",
  F: "%Y-%m-%d",
  r: "%I:%M:%S %p",
  R: "%H:%M",
  T: "%H:%M:%S",
  x: "%m/%d/%y",
  X: "%H:%M:%S",
};

// % then flags, an optional E/O modifier, and one character (or nothing at the end).
const DIRECTIVE = /%([-_0^]*)([EO]?)(.?)/gs;

/**
 * Formats `date` as C's `strftime(format)` does in the C locale.
 *
 * @param format The format, such as `"%Y-%m-%d %H:%M:%S"`.
 * @param date The time to format.
 * @param options `utc: true` to format in UTC.
 * @returns The formatted text.
 */
export function strftime(
  format: string,
  date: Date = new Date(),
  options: StrftimeOptions = {},
): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("Cannot format time: invalid Date");
  const fields = breakDown(date, options.utc ?? false);
  return expand(format, fields);
}

function expand(format: string, fields: Fields): string {
  return format.replace(DIRECTIVE, (whole, flags: string, _modifier: string, name: string) => {
    const text = directive(name, flags, fields);
    return text === undefined ? whole : text;
  });
}

/** One directive's text, or `undefined` when it is unknown (left as is). */
function directive(name: string, flags: string, fields: Fields): string | undefined {
  const upper = flags.includes("^");
  if (Object.hasOwn(COMPOSITES, name)) {
    const text = expand(COMPOSITES[name], fields);
    return upper ? text.toUpperCase() : text;
  }
  if (Object.hasOwn(NUMBERS, name)) return padNumber(NUMBERS[name](fields), flags);
  if (!Object.hasOwn(TEXTS, name)) return undefined;
  const text = TEXTS[name](fields);
  // glibc leaves %P in lower case even with ^.
  return upper && name !== "P" ? text.toUpperCase() : text;
}

const zero = (value: number, width: number): NumberField => ({ value, width, pad: "0" });
const space = (value: number): NumberField => ({ value, width: 2, pad: " " });

/** The numeric directives: each gives its number and default width and padding. */
const NUMBERS: Record<string, (f: Fields) => NumberField> = {
  C: (f) => zero(Math.floor(f.year / 100), 1),
  d: (f) => zero(f.day, 2),
  e: (f) => space(f.day),
  g: (f) => zero(mod(isoWeek(f).year, 100), 2),
  G: (f) => zero(isoWeek(f).year, 1),
  H: (f) => zero(f.hours, 2),
  I: (f) => zero(hours12(f.hours), 2),
  j: (f) => zero(f.yearDay + 1, 3),
  k: (f) => space(f.hours),
  l: (f) => space(hours12(f.hours)),
  m: (f) => zero(f.month + 1, 2),
  M: (f) => zero(f.minutes, 2),
  s: (f) => zero(f.epochSeconds, 1),
  S: (f) => zero(f.seconds, 2),
  u: (f) => zero(f.weekday === 0 ? 7 : f.weekday, 1),
  U: (f) => zero(Math.floor((f.yearDay + 7 - f.weekday) / 7), 2),
  V: (f) => zero(isoWeek(f).week, 2),
  w: (f) => zero(f.weekday, 1),
  W: (f) => zero(Math.floor((f.yearDay + 7 - mod(f.weekday + 6, 7)) / 7), 2),
  y: (f) => zero(mod(f.year, 100), 2),
  Y: (f) => zero(f.year, 1),
};

/** The text directives. */
const TEXTS: Record<string, (f: Fields) => string> = {
  a: (f) => DAYS[f.weekday].slice(0, 3),
  A: (f) => DAYS[f.weekday],
  b: (f) => MONTHS[f.month].slice(0, 3),
  h: (f) => MONTHS[f.month].slice(0, 3),
  B: (f) => MONTHS[f.month],
  n: () => "\n",
  p: (f) => f.hours < 12 ? "AM" : "PM",
  P: (f) => f.hours < 12 ? "am" : "pm",
  t: () => "\t",
  z: (f) => {
    const minutes = Math.abs(f.offsetMinutes);
    return `${f.offsetMinutes < 0 ? "-" : "+"}${pad2(Math.floor(minutes / 60))}${
      pad2(minutes % 60)
    }`;
  },
  Z: (f) => f.zone,
  "%": () => "%",
};

/** Applies the padding flags: `-` none, `_` spaces, `0` zeros. */
function padNumber(field: NumberField, flags: string): string {
  const digits = String(Math.abs(field.value));
  const sign = field.value < 0 ? "-" : "";
  let pad: string = field.pad;
  for (const flag of flags) {
    if (flag === "-") pad = "";
    else if (flag === "_") pad = " ";
    else if (flag === "0") pad = "0";
  }
  if (pad === "") return sign + digits;
  return sign + digits.padStart(field.width - sign.length, pad);
}

function breakDown(date: Date, utc: boolean): Fields {
  const year = utc ? date.getUTCFullYear() : date.getFullYear();
  const month = utc ? date.getUTCMonth() : date.getMonth();
  const day = utc ? date.getUTCDate() : date.getDate();
  return {
    year,
    month,
    day,
    hours: utc ? date.getUTCHours() : date.getHours(),
    minutes: utc ? date.getUTCMinutes() : date.getMinutes(),
    seconds: utc ? date.getUTCSeconds() : date.getSeconds(),
    weekday: utc ? date.getUTCDay() : date.getDay(),
    yearDay: Math.round((utcMidnight(year, month, day) - utcMidnight(year, 0, 1)) / DAY_MS),
    offsetMinutes: utc ? 0 : -date.getTimezoneOffset(),
    zone: utc ? "UTC" : zoneName(date),
    epochSeconds: Math.floor(date.getTime() / 1000),
  };
}

function zoneName(date: Date): string {
  const parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(date);
  return parts.find((part) => part.type === "timeZoneName")?.value ?? "";
}

/** ISO 8601 week number and week-based year (weeks start on Monday; week 1 holds a Thursday). */
function isoWeek(f: Fields): { year: number; week: number } {
  const isoWeekday = f.weekday === 0 ? 7 : f.weekday;
  const week = Math.floor((f.yearDay + 1 - isoWeekday + 10) / 7);
  if (week < 1) return { year: f.year - 1, week: isoWeeksIn(f.year - 1) };
  if (week > isoWeeksIn(f.year)) return { year: f.year + 1, week: 1 };
  return { year: f.year, week };
}

/** 53 when the year starts on a Thursday, or on a Wednesday in a leap year; else 52. */
function isoWeeksIn(year: number): number {
  const weekday = new Date(utcMidnight(year, 0, 1)).getUTCDay();
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return weekday === 4 || (leap && weekday === 3) ? 53 : 52;
}

/** Milliseconds at UTC midnight of a date; unlike `Date.UTC`, years 0-99 stay as they are. */
function utcMidnight(year: number, month: number, day: number): number {
  return new Date(0).setUTCFullYear(year, month, day);
}

function hours12(hours: number): number {
  return hours % 12 === 0 ? 12 : hours % 12;
}

function pad2(value: number): string {
  return String(value).padStart(2, "0");
}

function mod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}
