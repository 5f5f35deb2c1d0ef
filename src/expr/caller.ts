/** The file of the expression that called into the API, read from the stack (source-mapped). */
import { fileURLToPath } from 'node:url';

const API_DIR = fileURLToPath(new URL('.', import.meta.url));
/** All of hepstore's own compiled modules (the evaluator calls into expressions too). */
const OWN_DIR = fileURLToPath(new URL('..', import.meta.url));

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
 * A call site captured now and formatted later (siteLocation): formatting a (source-mapped)
 * stack costs far more than capturing one, and the location is only read when something goes
 * wrong. Each frame captured costs about as much as the rest of making a small derivation's
 * store path, so only a few are: `frames` past the API function that asks, enough to get from
 * derivation() through two levels of the API's own functions (a wrapper that calls
 * mkDerivation, which calls derivation) to the expression file. A plain Error is the cheapest
 * holder (Error.captureStackTrace on another object turns it into a slow dictionary).
 */
export type CallSite = Error & { location?: string | null };

export function captureCallSite(frames = 3): CallSite {
  const limit = Error.stackTraceLimit;
  // This function and the API function that called it come first.
  Error.stackTraceLimit = frames + 2;
  const site: CallSite = new Error();
  Error.stackTraceLimit = limit;
  return site;
}

/** "file:line" of the first frame of a captured site outside the API, if any (computed once). */
export function siteLocation(site: CallSite): string | undefined {
  if (site.location === undefined) site.location = locationFromStack(site.stack ?? '') ?? null;
  return site.location ?? undefined;
}

/** The call site of the caller, as a function that formats it on first use. */
export function callSite(): () => string | undefined {
  const site = captureCallSite(6);
  return () => siteLocation(site);
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

export interface SourceSite {
  file: string;
  /** 1-based. */
  line: number;
  /** 0-based. */
  column: number;
}

/**
 * The first frame of the current stack outside the API (and outside node_modules): the line
 * of the expression that called the API function now failing. Only for errors: it formats a
 * (source-mapped) stack.
 */
export function expressionSite(): SourceSite | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return siteFromStack(stack);
}

export function siteFromStack(stack: string): SourceSite | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    if (file.startsWith(OWN_DIR) || file.includes('/node_modules/') || file.startsWith('node:')) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) - 1 };
  }
  return undefined;
}
