// Making values that API clients chose (tags, users, metadata) safe in each output format. A
// value is always shown as the text it is: never as a spreadsheet formula, Markdown markup, HTML,
// or a terminal control sequence.

/** HTML text and attribute values: the five characters with a meaning in markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// C0 controls, DEL, C1 controls, line and paragraph separators, and the bidirectional
// overrides and isolates that can make a terminal (or an editor) show text in another order.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function visibleEscape(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Text for a terminal: every control character (ESC starts colour, cursor and title sequences)
 * is shown as a visible escape such as `\x1b`, so nothing a client sent can move the cursor,
 * clear the screen or rewrite what the operator sees.
 */
export function terminalText(text: string): string {
  return text.replace(CONTROL, visibleEscape);
}

// What a spreadsheet reads as the start of a formula (OWASP "CSV injection"): = + - @, and tab
// and carriage return, which some importers strip before looking at the next character.
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * One CSV field (RFC 4180). A cell that a spreadsheet would run as a formula gets a leading
 * apostrophe, as OWASP recommends; plain numbers (`-0.5`) are left alone, they are not formulas.
 * `literal` cells (values that would read as a sentinel such as `(untagged)`, or that start with
 * an apostrophe themselves) get the same apostrophe so they stay distinguishable.
 */
export function csvField(text: string, options: { literal?: boolean } = {}): string {
  let t = text;
  if (options.literal || text.startsWith("'") || (FORMULA_START.test(text) && !PLAIN_NUMBER.test(text))) t = `'${text}`;
  return /[",\r\n]/.test(t) || t !== text ? `"${t.replaceAll('"', '""')}"` : t;
}

/**
 * Text inside Markdown (a table cell, a heading): HTML is entity-encoded (no tag, no `<...>`
 * autolink), every character that can open a link, image, emphasis or code span is
 * backslash-escaped, `www.` and `scheme://` are broken up so no autolink forms, `|` cannot end
 * the cell and line breaks (CR, LF, Unicode separators) cannot end the row.
 */
export function markdownText(text: string): string {
  return terminalText(text.replace(/\r\n|[\r\n\u2028\u2029]/g, ' '))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, '\\$&')
    .replace(/:(?=\/\/)/g, '\\:')
    .replace(/(www)\./gi, '$1\\.');
}
