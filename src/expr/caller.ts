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
  return locationFromStack(new Error().stack ?? '');
}

/**
 * Capture the call site now, format it later: formatting a (source-mapped) stack costs far
 * more than capturing one, and the location is only read when something goes wrong.
 */
export function callSite(): () => string | undefined {
  // A short stack is enough to reach the expression file and much cheaper to capture.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 6;
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, callSite);
  Error.stackTraceLimit = limit;
  let cached: string | undefined | null = null;
  return () => {
    if (cached === null) cached = locationFromStack(site.stack ?? '');
    return cached;
  };
}

function locationFromStack(stack: string): string | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    if (file.startsWith(API_DIR) || file.includes('/node_modules/')) continue;
    return `${file}:${m[2]}`;
  }
  return undefined;
}
