/** The file of the expression that called into the API, read from the stack (source-mapped). */
import { fileURLToPath } from 'node:url';

const API_DIR = fileURLToPath(new URL('.', import.meta.url));

export function callerFile(): string | undefined {
  const stack = new Error().stack ?? '';
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    if (file.startsWith(API_DIR) || file.includes('/node_modules/') || file.startsWith('node:')) continue;
    return file;
  }
  return undefined;
}

/** "file:line" of the expression that called into the API, for error messages. */
export function callerLocation(): string | undefined {
  const stack = new Error().stack ?? '';
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    if (file.startsWith(API_DIR) || file.includes('/node_modules/')) continue;
    return `${file}:${m[2]}`;
  }
  return undefined;
}
