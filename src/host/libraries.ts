/** Shared libraries a host binary loads, from the dynamic loader's own listing (ldd). */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

export function sharedLibraries(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
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
