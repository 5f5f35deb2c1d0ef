/**
 * A code frame: the line of a source file an error is about, and a caret under the column, as
 * expression errors print it (syntax errors from the bundler, mistakes found by the API).
 */
import fs from 'node:fs';

/** "\n    <line>\n    <caret>" for a line's text and a 0-based column. */
export function codeFrame(lineText: string, column: number): string {
  // Tabs stay tabs under the caret, so that it lines up however they are shown.
  const pad = lineText.slice(0, Math.max(0, column)).replace(/[^\t]/g, ' ');
  return `\n    ${lineText}\n    ${pad}^`;
}

/** The lines of a file, or undefined when it cannot be read. */
export function sourceLines(file: string): string[] | undefined {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

/** The code frame of line `line` (1-based) of `file` at `column` (0-based); '' if unreadable. */
export function codeFrameAt(file: string, line: number, column: number): string {
  const text = sourceLines(file)?.[line - 1];
  return text === undefined ? '' : codeFrame(text.replace(/\r$/, ''), column);
}
