// Internal: the block the default handleError() prints, as Python's
// handle_error() prints a traceback: a header line saying which server and
// which client, then where the error was thrown, then its causes.

/** Causes followed at most this deep: a cycle or a long chain stays one screen. */
const MAX_CAUSES = 4;

/**
 * `header: Name: message`, then the error's stack frames, then each
 * `cause` the same way, as one string (one `console.error` call, so errors
 * from concurrent requests do not interleave line by line).
 */
export function formatErrorReport(header: string, error: unknown): string {
  const lines = [`${header}: ${describeError(error)}`];
  let current = error;
  for (let depth = 0; depth <= MAX_CAUSES; depth++) {
    if (depth > 0) lines.push(`Caused by: ${describeError(current)}`);
    lines.push(...stackFrames(current));
    if (!(current instanceof Error) || current.cause === undefined) break;
    current = current.cause;
  }
  return lines.join("\n");
}

/** `Name: message` for an error, its text otherwise. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The `    at …` lines of the error's stack: its head repeats the message. */
function stackFrames(error: unknown): string[] {
  const stack = error instanceof Error ? error.stack : undefined;
  if (stack === undefined) return [];
  const first = stack.indexOf("\n    at ");
  return first === -1 ? [] : stack.slice(first + 1).split("\n");
}
