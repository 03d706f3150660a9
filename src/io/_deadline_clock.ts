// Internal: one timer for every armed read deadline in the process.
//
// A timer costs about 3 µs to arm and clear in Deno, more than a small
// request: a timer per frame would be the hot path's largest cost. Instead,
// deadlines join a list, and one timer, due at the earliest of them, ends
// those that expired and re-arms for the next. Arming a deadline later than
// the timer (every frame, when all share one timeout) costs an append. The
// list is an array whose entries know their index, so removal is a swap:
// a Set of short-lived objects costs more (a hash per new object).
//
// While frame loops run, the timer is kept when the set empties (it fires
// once at its time and, finding nothing due, stops): connections that arm
// and disarm a deadline per frame then never touch a timer. When the last
// loop ends with nothing armed, the timer is cleared, so none outlives the
// connections that needed it.

/** A deadline the clock can end. */
export interface Expiring {
  /** When it is due, in `performance.now()` milliseconds. */
  readonly expiresAt: number;
  /** Its index in the clock's list while armed, -1 otherwise; only the clock sets it. */
  clockSlot: number;
  /** Called once, when it is due while armed; it is disarmed first. */
  expire(): void;
}

const armed: Expiring[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
let timerAt = Infinity;
/** Running frame loops: while there are any, the timer is kept when the set empties. */
let holders = 0;

/** Ends `deadline` with `expire()` once `expiresAt` has passed, unless disarmed first. */
export function arm(deadline: Expiring): void {
  if (deadline.clockSlot >= 0) return;
  deadline.clockSlot = armed.length;
  armed.push(deadline);
  if (deadline.expiresAt < timerAt) schedule(deadline.expiresAt);
}

/** Forgets `deadline`; nothing happens to it any more. */
export function disarm(deadline: Expiring): void {
  if (deadline.clockSlot < 0) return;
  remove(deadline);
  if (armed.length === 0 && holders === 0) stop();
}

/** A frame loop started: keep the timer between its deadlines. */
export function holdClock(): void {
  holders++;
}

/** A frame loop ended: the last one clears the timer if nothing is armed. */
export function releaseClock(): void {
  holders--;
  if (holders === 0 && armed.length === 0) stop();
}

function remove(deadline: Expiring): void {
  const last = armed.pop()!;
  if (last !== deadline) {
    last.clockSlot = deadline.clockSlot;
    armed[last.clockSlot] = last;
  }
  deadline.clockSlot = -1;
}

function schedule(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(tick, Math.max(0, at - performance.now()));
}

function stop(): void {
  if (timer === undefined) return;
  clearTimeout(timer);
  timer = undefined;
  timerAt = Infinity;
}

function tick(): void {
  timer = undefined;
  timerAt = Infinity;
  const now = performance.now();
  const due = armed.filter((deadline) => deadline.expiresAt <= now);
  for (const deadline of due) remove(deadline);
  let next = Infinity;
  for (const deadline of armed) next = Math.min(next, deadline.expiresAt);
  if (next !== Infinity) schedule(next);
  for (const deadline of due) deadline.expire();
}
