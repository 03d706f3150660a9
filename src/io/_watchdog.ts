// Internal: the watchdog, one interval for every deadline of every
// connection in the process (read deadlines, write deadlines), and the drain
// that ends idle waits on a graceful stop.
//
// A timer per wait costs about 3 µs to arm and clear in Deno, more than a
// small request (a timer per write was measured at 15-25% of small-request
// throughput). Instead, a reader or writer that starts a wait writes the tick
// at which the wait must end into a field of its own, and joins the
// watchdog's list unless it is in it already. One interval, ten times a
// second, advances the clock (`tick`) and scans the list: an entry past its
// deadline is expired (its owner fails the wait or closes the connection).
//
// While a framed connection is open it holds the watchdog: its reader and
// writer then stay in the list between waits (two numbers written per
// wait, no push), an entry that is not waiting leaves the list at the next
// scan and joins again at its next wait, and the interval keeps running.
// With no holder (a reader on its own), an entry leaves the list as its wait
// ends (unless a frame deadline spans its waits: the clock must go on
// counting for it) and the interval stops with the last one. So the interval
// runs only while a connection is open or a deadline is pending (tests' op
// sanitizer sees no timer left behind), and never keeps the process alive.
//
// A deadline is never early: a wait that starts during tick k with n ticks
// to go ends at the scan that makes the clock k + n + 1, so at least n whole
// ticks later; it is at most two ticks late (later while the event loop is
// busy).

/** Ticks of the watchdog's clock per second. */
export const TICKS_PER_SECOND = 10;
/** An entry's deadline while it is not waiting. */
export const NOT_WAITING = 0;
/** An entry's deadline while it waits with no deadline (a drain may still end an idle wait). */
export const NEVER: number = 2 ** 30;

/** How the watchdog reaches into an entry's private state: one per class of entry. */
export interface WatchKind<Entry> {
  /** The entry's index in the list, -1 when it is not in it. */
  slot(entry: Entry): number;
  /** Sets that index. */
  setSlot(entry: Entry, slot: number): void;
  /** `NOT_WAITING`, or the tick at which its wait ends (`NEVER`: none). */
  deadline(entry: Entry): number;
  /** Its wait is past its deadline; it is out of the list already. */
  expire(entry: Entry): void;
  /** The drain it follows has begun: ends its wait if it is an idle one. */
  drain?(entry: Entry, drain: Drain): void;
}

/** A server's graceful stop as the readers of its connections see it: one flag for all. */
export interface Drain {
  /** Whether the stop has begun: a wait for a new frame ends as end of stream. */
  aborted: boolean;
}

/** The clock: whole ticks the interval has counted. Starts at 1, so no deadline is NOT_WAITING. */
export let tick = 1;

const entries: unknown[] = [];
const kinds: WatchKind<unknown>[] = [];
let interval: ReturnType<typeof setInterval> | undefined;
/** Open framed connections: while there are any, entries stay listed between waits. */
export let holders = 0;
const drains = new WeakMap<AbortSignal, Drain>();

/**
 * The tick at which a wait that starts now and may last `seconds` ends.
 *
 * @param seconds At most 2,147,483 (the longest timer delay), so the tick stays a small integer.
 */
export function deadlineAfter(seconds: number): number {
  return tick + Math.ceil(seconds * TICKS_PER_SECOND) + 1;
}

/** Puts `entry` in the list, unless it is in it; starts the interval if it is stopped. */
export function watch<Entry>(entry: Entry, kind: WatchKind<Entry>): void {
  if (kind.slot(entry) >= 0) return;
  kind.setSlot(entry, entries.length);
  entries.push(entry);
  kinds.push(kind as WatchKind<unknown>);
  if (interval === undefined) start();
}

/** Takes `entry` out of the list, if it is in it; stops the interval when nothing needs it. */
export function unwatch<Entry>(entry: Entry, kind: WatchKind<Entry>): void {
  const slot = kind.slot(entry);
  if (slot < 0) return;
  remove(slot);
  if (entries.length === 0 && holders === 0) stop();
}

/** A framed connection opened: entries stay listed between waits, and the interval runs. */
export function holdWatchdog(): void {
  holders++;
}

/** A framed connection closed: with the last, entries not waiting leave and the interval stops. */
export function releaseWatchdog(): void {
  if (--holders > 0) return;
  for (let slot = entries.length - 1; slot >= 0; slot--) {
    if (kinds[slot].deadline(entries[slot]) === NOT_WAITING) remove(slot);
  }
  if (entries.length === 0) stop();
}

/**
 * The drain flag of `signal`: one per signal, set by one listener when it
 * aborts, which then ends the idle waits of every entry that follows it.
 */
export function drainOf(signal: AbortSignal): Drain {
  let drain = drains.get(signal);
  if (drain !== undefined) return drain;
  drain = { aborted: signal.aborted };
  drains.set(signal, drain);
  const flag = drain;
  if (!flag.aborted) {
    signal.addEventListener("abort", () => {
      flag.aborted = true;
      // A copy: an entry whose wait ends may leave the list.
      const listed = entries.slice();
      const listedKinds = kinds.slice();
      for (let i = 0; i < listed.length; i++) listedKinds[i].drain?.(listed[i], flag);
    }, { once: true });
  }
  return drain;
}

function remove(slot: number): void {
  kinds[slot].setSlot(entries[slot], -1);
  const lastEntry = entries.pop();
  const lastKind = kinds.pop()!;
  if (slot === entries.length) return;
  // The last entry takes the freed slot.
  entries[slot] = lastEntry;
  kinds[slot] = lastKind;
  lastKind.setSlot(lastEntry, slot);
}

function start(): void {
  interval = setInterval(scan, 1000 / TICKS_PER_SECOND);
  // A connection's deadline must never keep the process alive on its own.
  Deno.unrefTimer(interval as unknown as number);
}

function stop(): void {
  if (interval === undefined) return;
  clearInterval(interval);
  interval = undefined;
}

function scan(): void {
  const now = ++tick;
  const expired: unknown[] = [];
  const expiredKinds: WatchKind<unknown>[] = [];
  // Backwards: removing swaps the last entry in, which is then already scanned.
  for (let slot = entries.length - 1; slot >= 0; slot--) {
    const entry = entries[slot];
    const kind = kinds[slot];
    const deadline = kind.deadline(entry);
    if (deadline === NOT_WAITING) {
      remove(slot);
    } else if (deadline <= now) {
      remove(slot);
      expired.push(entry);
      expiredKinds.push(kind);
    }
  }
  if (entries.length === 0 && holders === 0) stop();
  for (let i = 0; i < expired.length; i++) expiredKinds[i].expire(expired[i]);
}
