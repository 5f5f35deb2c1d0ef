/** Shared libraries a host binary loads, from the dynamic loader's own listing (ldd). */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as ChildProcess from 'node:child_process';

// Loaded when a tool is first probed: child_process brings in the networking modules, and
// most evaluations (a no-op realize above all) probe nothing.
const childProcess = () => createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;

export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = childProcess().execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
  } catch {
    return [];
  }
  const libs = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (!m) continue;
    libs.add(m[1]);
    try {
      libs.add(fs.realpathSync(m[1]));
    } catch {
      /* dangling */
    }
  }
  return [...libs].sort();
}
