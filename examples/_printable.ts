// Shared by the examples that print or relay text from the network.

/**
 * Control characters other than TAB (C0 and C1: ESC sequences, BEL, a bare
 * CR that returns to the start of the line) drive a terminal; bidirectional
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what a
 * reader sees (`invoice\u202Efdp.exe` shows as `invoiceexe.pdf`).
 */
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` as it may reach a terminal, a log or another client: without
 * control characters (TAB aside) and bidi overrides, and well-formed (a lone
 * surrogate, which JSON's `"\ud800"` can produce, becomes U+FFFD), so it
 * encodes to valid UTF-8. Split multi-line text first: newlines go too.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, "").toWellFormed();
}
