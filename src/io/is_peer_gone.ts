/**
 * Telling a vanished peer from a real failure.
 *
 * @module
 */

/**
 * Whether `error` only means the connection is closed or reset (the peer went
 * away, or the server closed it), not a bug. Useful in a `handleError`
 * override that should stay quiet about clients that hang up.
 *
 * @example Log only real failures
 * ```ts
 * import { isPeerGone } from "@socketserver/core";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(isPeerGone(new Deno.errors.ConnectionReset("reset")), true);
 * assertEquals(isPeerGone(new TypeError("bug")), false);
 * ```
 *
 * @param error What was thrown.
 * @returns `true` for broken pipe, reset, aborted, not connected, closed
 * resource and interrupted errors.
 */
export function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted;
}
