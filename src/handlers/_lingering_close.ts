// Internal: nginx's lingering_close, for a connection the server ends while
// the client may still be sending (a bad frame in a pipelined batch, a frame
// cut short by a graceful stop). Closing a socket with unread bytes makes
// the kernel send a reset, and a reset makes the client's kernel drop what
// it has not read yet: the replies written just before. So the server sends
// what it has, shuts its write side (the client reads every reply, then the
// end of the stream), and reads and drops what still comes until the client
// closes, for a bounded time and number of bytes; then it closes.

import { withDeadline } from "../io/_deadline.ts";

/** The longest the server waits for the client to close, as nginx's `lingering_timeout`. */
export const LINGER_SECONDS = 5;
/** The most bytes it reads and drops meanwhile. */
export const LINGER_BYTES = 1024 * 1024;

/**
 * Half-closes `conn`, then reads and drops until the client closes its side,
 * `LINGER_SECONDS` pass or `LINGER_BYTES` were dropped. Never throws: a
 * connection that is closed or reset already has nothing left to linger for.
 * One timer per read: this is the path of connections ended by a fault.
 */
export async function lingeringClose(conn: Deno.Conn): Promise<void> {
  const deadline = performance.now() + LINGER_SECONDS * 1000;
  const scratch = new Uint8Array(16 * 1024);
  const withinLinger = <T>(step: Promise<T>): Promise<T> =>
    withDeadline(
      step,
      Math.max(0, deadline - performance.now()) / 1000,
      () => new Deno.errors.TimedOut("the client did not close"),
    );
  try {
    // Bounded too: a TLS close_notify waits for a client that does not read.
    await withinLinger(conn.closeWrite());
    for (let dropped = 0; dropped <= LINGER_BYTES;) {
      const count = await withinLinger(conn.read(scratch));
      if (count === null) return;
      dropped += count;
    }
  } catch {
    // Closed, reset, or still sending at the deadline: closing is all that is left.
  }
}
