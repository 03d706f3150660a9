// Internal: bound a promise by a timeout without leaking the timer.

/**
 * Resolves like `promise`, or rejects with `onTimeout()` after `seconds`.
 * The timer is cleared either way, so no timer outlives the wait.
 */
export function withDeadline<T>(
  promise: Promise<T>,
  seconds: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), seconds * 1000);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
