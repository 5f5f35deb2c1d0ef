/** Sizes and ages, printed for people and parsed from the command line. */
import { StoreError } from '../errors.js';

/** "1 path", "2 paths": a count with its noun (`plural` when not word + 's'). */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[u]}`;
}

/** A signed size change as `store diff` prints it: "+12.3 KiB", "-1.0 MiB", "+0 B". */
export function formatSizeDelta(n: number): string {
  const sign = n < 0 ? '-' : '+';
  const a = Math.abs(n);
  return sign + (a >= 1048576 ? `${(a / 1048576).toFixed(1)} MiB` : a >= 1024 ? `${(a / 1024).toFixed(1)} KiB` : `${a} B`);
}

/** "3d", "5h", "12m", "40s": the largest whole unit. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 86400) return `${Math.floor(s / 86400)}d`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h`;
  if (s >= 60) return `${Math.floor(s / 60)}m`;
  return `${s}s`;
}

export function formatDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** BYTES as Nix takes them: a whole number with an optional K, M, G or T suffix (powers of 1024). */
export function parseBytes(v: string, what = '--max-freed'): number {
  const m = /^(\d+)\s*([KMGT])?(i?B)?$/i.exec(v.trim());
  if (!m) throw new StoreError('USAGE', `${what} takes a size in bytes, e.g. 500M or 2G (got '${v}')`);
  const pow = m[2] ? 'KMGT'.indexOf(m[2].toUpperCase()) + 1 : 0;
  return Number(m[1]) * 1024 ** pow;
}

/** AGE: a whole number with s, m, h, d or w (e.g. 30d, as Nix's --delete-older-than). */
export function parseAge(v: string): number {
  const m = /^(\d+)([smhdw])$/.exec(v.trim());
  if (!m) throw new StoreError('USAGE', `an age is a whole number and a unit s, m, h, d or w, e.g. 30d (got '${v}')`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
}
