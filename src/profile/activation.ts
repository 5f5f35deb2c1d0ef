/**
 * Activating an environment view (a buildEnv output, or any package): the few variables that
 * make it usable — PATH=<env>/bin, MANPATH, PKG_CONFIG_PATH, CMAKE_PREFIX_PATH… — each set
 * only where the directories exist, never one entry per package. Printed for sh and csh (as
 * an LCG view's setup.sh) or JSON, and applied by `store shell`.
 *
 * LD_LIBRARY_PATH and PYTHONPATH are deliberately not set: programs in the store find their
 * libraries and modules without them, and they would make the host's own programs load the
 * environment's C library or Python modules.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';

export interface Activation {
  /** The environment's store path. */
  storePath: string;
  /**
   * The directory the variables name: the store path, or a profile link that leads to it, so
   * that a later generation (or a rollback) takes effect in a shell activated before it.
   * Absent: the store path.
   */
  prefix?: string;
  /** Variables set to a value. */
  set: Record<string, string>;
  /** Variables whose current value gets these directories in front, in this order. */
  prepend: Record<string, string[]>;
}

/**
 * Search paths in which an empty entry means "the program's default places": the value keeps
 * a trailing ':' when there was none before, so `man` still finds the system's pages.
 */
const WITH_DEFAULTS = new Set(['MANPATH', 'INFOPATH']);

/** Debian-style multiarch library directories of the environment (lib/x86_64-linux-gnu). */
function multiarchDirs(env: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(env, 'lib'));
  } catch {
    return [];
  }
  return names.filter((n) => /^[a-z0-9_]+-linux-[a-z0-9_]+$/.test(n)).sort().map((n) => `lib/${n}`);
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function activation(storePath: string, prefix = storePath): Activation {
  if (!isDir(storePath)) throw new StoreError('USAGE', `'${storePath}' is not a directory, so it cannot be activated as an environment`, { hint: 'give an expression whose output is a directory tree, e.g. a buildEnv' });
  const libs = ['lib', ...multiarchDirs(storePath)];
  const existing = (rels: string[]) => rels.filter((r) => isDir(path.join(storePath, r))).map((r) => (r === '' ? prefix : path.join(prefix, r)));
  const prepend: Record<string, string[]> = {};
  const add = (name: string, dirs: string[]) => {
    if (dirs.length) prepend[name] = dirs;
  };
  add('PATH', existing(['bin', 'sbin']));
  add('MANPATH', existing(['share/man']));
  add('INFOPATH', existing(['share/info']));
  add('PKG_CONFIG_PATH', existing([...libs.map((l) => `${l}/pkgconfig`), 'share/pkgconfig']));
  add('ACLOCAL_PATH', existing(['share/aclocal']));
  // CMake looks below a prefix itself (lib/cmake, lib/<arch>/cmake, share/cmake…).
  if (existing([...libs.map((l) => `${l}/cmake`), 'share/cmake']).length) prepend.CMAKE_PREFIX_PATH = [prefix];
  return { storePath, ...(prefix !== storePath ? { prefix } : {}), set: { HEPSTORE_ENV: prefix }, prepend };
}

function plain(s: string, what: string): string {
  if (/[\n\r\0]/.test(s)) throw new StoreError('USAGE', `${what} contains a line break or NUL and cannot be written as a shell command`);
  return s;
}

export function shQuote(s: string): string {
  return `'${plain(s, `'${s}'`).replaceAll("'", `'\\''`)}'`;
}

/** csh: single quotes, and '!' escaped (history substitution works even inside quotes). */
export function cshQuote(s: string): string {
  return `'${plain(s, `'${s}'`).replaceAll("'", `'\\''`).replaceAll('!', `'\\!'`)}'`;
}

function header(a: Activation): string {
  const p = a.prefix ?? a.storePath;
  return `# hepstore environment ${p === a.storePath ? a.storePath : `${plain(p, `'${p}'`)} (now ${a.storePath})`}`;
}

/** Commands for sh and its descendants (bash, zsh, ksh), to `eval` or `source`. */
export function formatSh(a: Activation): string {
  const lines = [header(a)];
  for (const [k, v] of Object.entries(a.set)) lines.push(`export ${k}=${shQuote(v)}`);
  for (const [k, dirs] of Object.entries(a.prepend)) {
    const front = shQuote(dirs.join(':'));
    lines.push(WITH_DEFAULTS.has(k) ? `export ${k}=${front}":\${${k}-}"` : `export ${k}=${front}"\${${k}:+:\$${k}}"`);
  }
  return lines.join('\n') + '\n';
}

/** Commands for csh and tcsh, to `eval` or `source`. */
export function formatCsh(a: Activation): string {
  const lines = [header(a)];
  for (const [k, v] of Object.entries(a.set)) lines.push(`setenv ${k} ${cshQuote(v)}`);
  for (const [k, dirs] of Object.entries(a.prepend)) {
    const front = cshQuote(dirs.join(':'));
    lines.push(`if ( $?${k} ) then`, `  setenv ${k} ${front}":$${k}"`, 'else', `  setenv ${k} ${front}${WITH_DEFAULTS.has(k) ? "':'" : ''}`, 'endif');
  }
  return lines.join('\n') + '\n';
}

export function formatJson(a: Activation): string {
  return JSON.stringify({ storePath: a.storePath, ...(a.prefix !== undefined && a.prefix !== a.storePath ? { prefix: a.prefix } : {}), set: a.set, prepend: a.prepend }, null, 2) + '\n';
}

/** The variables of `base` with the activation applied, as the sh form would leave them. */
export function applyActivation(a: Activation, base: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  Object.assign(env, a.set);
  for (const [k, dirs] of Object.entries(a.prepend)) {
    const old = env[k] ?? '';
    env[k] = dirs.join(':') + (WITH_DEFAULTS.has(k) ? `:${old}` : old ? `:${old}` : '');
  }
  return env;
}
