/**
 * Text from outside the tool (CS.cfg values, server messages, entry values) reaches the log and the
 * console through this one function: control characters become visible escapes (\x1b, \r, ...), so
 * no such text can move the terminal's cursor or forge a line. A newline starts an indented
 * continuation line: every line that begins at the left edge is the tool's own.
 */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

export function escapeControl(text: string): string {
  return text
    .replace(CONTROL, (c) => {
      const code = c.charCodeAt(0);
      return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
    })
    .replace(/\n(?! )/g, '\n  ');
}

/** The same for a report of several lines: control characters escaped, its own newlines kept. */
export function escapeTerminal(text: string): string {
  return text
    .split('\n')
    .map((line) => escapeControl(line))
    .join('\n');
}
