/**
 * `builtin:buildenv`: an environment view, one symlink tree that merges the outputs of several
 * packages (as Nix's buildEnv), made in-process by the builder before its optional shell phase.
 *
 * For each name, the entries the packages have there are merged:
 * - directories of several packages become a real directory, merged recursively; a directory
 *   only one package has becomes one symlink to it (so the tree stays small);
 * - a file (or a symlink to one) becomes a symlink to the package's file. Two packages with
 *   different files at one name collide, unless one has a better priority (a lower number) or
 *   the files are identical (same contents and executable bit, or the same link target);
 * - a relative symlink whose target is not in its own package (Debian's `libfoo.so ->
 *   libfoo.so.1` of another package, `python3 -> python3.11`), or whose target is a file
 *   listed in copyFiles, is reproduced as it is, so it resolves among the environment's files;
 * - the paths of copyFiles are copied as real files, and the environment's symlinks that lead to
 *   a copied file (`bin/python3 -> /…-python3.11/bin/python3.11`) lead to the copy instead.
 *
 * Symlinks are resolved only inside the store, through paths of the build's input closure, so
 * the result never depends on the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';

export interface EnvSpec {
  packages: Array<{ path: string; priority: number }>;
  /** Relative paths below which entries are linked ('' for everything). */
  pathsToLink: string[];
  ignoreCollisions: boolean;
  /** Relative paths copied as real files rather than linked. */
  copyFiles: string[];
}

export interface LinkOptions {
  storeDir: string;
  /** Store paths that may be looked into (the input closure); all when absent. */
  visible?: Iterable<string>;
  log?: (line: string) => void;
}

export interface LinkStats {
  packages: number;
  symlinks: number;
  directories: number;
  copies: number;
}

/** A relative path inside a tree: no leading or trailing '/', no '.', '..' or empty parts. */
export function normaliseRelative(p: string, what: string): string {
  const parts = p.split('/').filter((x) => x !== '');
  if (parts.some((x) => x === '.' || x === '..')) throw new StoreError('EVAL', `${what}: '${p}' may not contain '.' or '..'`);
  return parts.join('/');
}

export function parseEnvSpec(json: string | undefined): EnvSpec {
  if (!json) throw new StoreError('BUILD_FAILED', 'builtin:buildenv needs the environment variable __buildEnv');
  const raw = JSON.parse(json) as Partial<EnvSpec>;
  const packages = raw.packages ?? [];
  for (const p of packages) {
    if (typeof p.path !== 'string' || !Number.isFinite(p.priority)) throw new StoreError('BUILD_FAILED', `builtin:buildenv: bad package entry ${JSON.stringify(p)}`);
  }
  return {
    packages,
    pathsToLink: (raw.pathsToLink ?? ['']).map((p) => normaliseRelative(p, 'pathsToLink')),
    ignoreCollisions: Boolean(raw.ignoreCollisions),
    copyFiles: (raw.copyFiles ?? []).map((p) => normaliseRelative(p, 'copyFiles')),
  };
}

type Kind = 'dir' | 'file' | 'verbatim' | 'opaque';

interface Entry {
  /** Index of the package in the list (ties between equal priorities go to the first). */
  pkg: number;
  priority: number;
  /** The path as the package shows it: what the environment's symlink points to. */
  abs: string;
  /** For 'dir' and 'file': where it really is (symlinks resolved inside the store). */
  real: string;
  /** For a symlink: its target. */
  target: string;
  kind: Kind;
}

const MAX_LINK_HOPS = 40;
/** resolveLink's answer for a symlink to reproduce as it is (never a store path). */
const VERBATIM = 'verbatim';

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

class Linker {
  private readonly prefix: string;
  private readonly visible?: Set<string>;
  private readonly copy: Set<string>;
  /** Whether a real directory holds, at any depth, a symlink that must be reproduced. */
  private readonly verbatimBelow = new Map<string, boolean>();
  /** Copied files: the path copied from (symlinks resolved) -> the copy's path in the environment. */
  private readonly copied = new Map<string, string>();
  /** Symlinks made for files that are links in their package: where, and the file they lead to. */
  private readonly fileLinks: Array<{ dest: string; real: string }> = [];
  readonly stats: LinkStats;

  constructor(
    private readonly spec: EnvSpec,
    private readonly out: string,
    opts: LinkOptions,
  ) {
    this.prefix = opts.storeDir + '/';
    if (opts.visible) this.visible = new Set([...opts.visible].map((p) => p.slice(this.prefix.length)));
    this.copy = new Set(spec.copyFiles);
    this.log = opts.log ?? (() => {});
    this.stats = { packages: spec.packages.length, symlinks: 0, directories: 0, copies: 0 };
  }
  private readonly log: (line: string) => void;

  run(): void {
    const roots: Entry[] = this.spec.packages.map((p, i) => {
      const real = this.realInStore(p.path);
      if (real === undefined || !fs.statSync(real).isDirectory()) {
        throw new StoreError('BUILD_FAILED', `buildEnv: '${p.path}' is not a directory (only packages with a directory tree can be merged)`);
      }
      return { pkg: i, priority: p.priority, abs: p.path, real, target: '', kind: 'dir' };
    });
    fs.mkdirSync(this.out);
    this.stats.directories++;
    this.mergeDirs('', roots);
    const copies = new Set(this.copied.values());
    const missing = this.spec.copyFiles.filter((c) => !copies.has(c));
    if (missing.length) {
      throw new StoreError('BUILD_FAILED', `buildEnv: copyFiles ${missing.map((m) => `'${m}'`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not a file in any of the packages`);
    }
    for (const { dest, real } of this.fileLinks) {
      const copy = this.copied.get(real);
      if (copy === undefined) continue;
      fs.unlinkSync(dest);
      fs.symlinkSync(path.relative(path.dirname(dest), path.join(this.out, copy)), dest);
    }
  }

  /** The package root (`<storeDir>/<name>`) of a path in the store. */
  private rootOf(p: string): string {
    const i = p.indexOf('/', this.prefix.length);
    return i < 0 ? p : p.slice(0, i);
  }

  /**
   * Resolve every symlink of `p` without leaving the store or the visible paths; undefined
   * if it does not exist there. With `base` (a real directory in the store), `p` is relative
   * to it.
   */
  private realInStore(p: string, base?: string): string | undefined {
    let todo: string[];
    const done: string[] = [];
    if (base !== undefined) {
      done.push(...base.slice(this.prefix.length).split('/'));
      todo = p.split('/');
    } else {
      if (!p.startsWith(this.prefix)) return undefined;
      todo = p.slice(this.prefix.length).split('/');
    }
    let hops = 0;
    while (todo.length) {
      const c = todo.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (done.length === 0) return undefined;
        done.pop();
        continue;
      }
      if (done.length === 0 && this.visible && !this.visible.has(c)) return undefined;
      done.push(c);
      const at = this.prefix + done.join('/');
      let st: fs.Stats;
      try {
        st = fs.lstatSync(at);
      } catch {
        return undefined;
      }
      if (!st.isSymbolicLink()) continue;
      if (++hops > MAX_LINK_HOPS) return undefined;
      done.pop();
      const t = fs.readlinkSync(at);
      if (t.startsWith('/')) {
        if (!t.startsWith(this.prefix)) return undefined;
        done.length = 0;
        todo = [...t.slice(this.prefix.length).split('/'), ...todo];
      } else todo = [...t.split('/'), ...todo];
    }
    return done.length ? this.prefix + done.join('/') : undefined;
  }

  /** What the entry `d` of the real directory `dir` is; `rel` is its path in the environment. */
  private classify(dir: string, d: fs.Dirent, pkg: number, priority: number, rel: string): Entry {
    const abs = `${dir}/${d.name}`;
    const e: Entry = { pkg, priority, abs, real: abs, target: '', kind: 'file' };
    if (d.isDirectory()) e.kind = 'dir';
    else if (d.isSymbolicLink()) {
      e.target = fs.readlinkSync(abs);
      const real = this.resolveLink(dir, e.target, rel);
      if (real === VERBATIM) e.kind = 'verbatim';
      else if (real === undefined) e.kind = 'opaque';
      else {
        e.real = real;
        e.kind = fs.statSync(real).isDirectory() ? 'dir' : 'file';
      }
    }
    return e;
  }

  /**
   * Where a symlink in the real directory `dir` leads in the store (undefined: nowhere there),
   * or VERBATIM: a relative symlink whose target is not in its own package, or is a path the
   * environment copies, is reproduced as it is. `rel` is the link's path in the environment.
   */
  private resolveLink(dir: string, target: string, rel: string): string | undefined {
    if (target.startsWith('/')) return this.realInStore(target);
    const lexical = path.posix.resolve(dir, target);
    if (!lexical.startsWith(this.rootOf(dir) + '/')) return VERBATIM;
    if (this.copy.size && this.copy.has(path.posix.join(path.posix.dirname(rel), target))) return VERBATIM;
    return this.realInStore(target, dir) ?? VERBATIM;
  }

  /** Whether a directory must be merged entry by entry rather than linked as a whole. */
  private mustExpand(rel: string, e: Entry): boolean {
    for (const c of this.spec.copyFiles) if (c.startsWith(rel + '/')) return true;
    if (!this.linked(rel)) return true;
    return this.hasVerbatim(e.real, rel);
  }

  private hasVerbatim(dir: string, rel: string): boolean {
    const known = this.verbatimBelow.get(dir);
    if (known !== undefined) return known;
    let found = false;
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const childRel = `${rel}/${d.name}`;
      if (d.isDirectory()) found = this.hasVerbatim(`${dir}/${d.name}`, childRel);
      else if (d.isSymbolicLink()) found = this.resolveLink(dir, fs.readlinkSync(`${dir}/${d.name}`), childRel) === VERBATIM;
      if (found) break;
    }
    this.verbatimBelow.set(dir, found);
    return found;
  }

  /** Inside one of pathsToLink. */
  private linked(rel: string): boolean {
    return this.spec.pathsToLink.some((p) => p === '' || rel === p || rel.startsWith(p + '/'));
  }

  /** Above one of pathsToLink: a directory to create, not to link. */
  private above(rel: string): boolean {
    return this.spec.pathsToLink.some((p) => p !== '' && (rel === '' || p.startsWith(rel + '/')));
  }

  /** Merge the directories `dirs` (in package order) into the environment's directory `rel`. */
  private mergeDirs(rel: string, dirs: Entry[]): void {
    const byName = new Map<string, Entry[]>();
    for (const dir of dirs) {
      for (const d of fs.readdirSync(dir.real, { withFileTypes: true })) {
        const childRel = rel ? `${rel}/${d.name}` : d.name;
        if (!this.linked(childRel) && !this.above(childRel)) continue;
        let list = byName.get(d.name);
        if (!list) byName.set(d.name, (list = []));
        list.push(this.classify(dir.real, d, dir.pkg, dir.priority, childRel));
      }
    }
    for (const name of [...byName.keys()].sort(byteOrder)) {
      const childRel = rel ? `${rel}/${name}` : name;
      this.mergeEntry(childRel, byName.get(name)!.sort((a, b) => a.pkg - b.pkg));
    }
  }

  private mergeEntry(rel: string, entries: Entry[]): void {
    const best = Math.min(...entries.map((e) => e.priority));
    const top = entries.filter((e) => e.priority === best);
    const dest = path.join(this.out, rel);
    if (top.every((e) => e.kind === 'dir')) {
      const dirs = entries.filter((e) => e.kind === 'dir');
      if (dirs.length === 1 && !this.mustExpand(rel, dirs[0])) return this.symlink(dirs[0].abs, dest);
      fs.mkdirSync(dest);
      this.stats.directories++;
      return this.mergeDirs(rel, dirs);
    }
    if (!this.linked(rel)) return; // a file above pathsToLink
    const winner = top[0];
    const other = top.find((e) => !this.identical(winner, e));
    if (other) {
      const what = (e: Entry) => `'${e.abs}'${e.kind === 'dir' ? ' (a directory)' : ''}`;
      const msg = `collision between ${what(winner)} and ${what(other)}`;
      if (!this.spec.ignoreCollisions) {
        throw new StoreError('BUILD_FAILED', `buildEnv: ${msg}: both packages provide '${rel}' with priority ${best}`, {
          hint: 'give one of them a better priority (a lower number: { path: pkg, priority: 4 }), remove one, or set ignoreCollisions',
        });
      }
      this.log(`warning: ${msg}; keeping the first`);
    }
    if (this.copy.has(rel)) {
      if (winner.kind !== 'file') throw new StoreError('BUILD_FAILED', `buildEnv: copyFiles '${rel}' is ${winner.kind === 'dir' ? 'a directory' : 'a symlink that does not resolve in the store'} in '${this.rootOf(winner.abs)}'`);
      fs.copyFileSync(winner.real, dest);
      fs.chmodSync(dest, fs.statSync(winner.real).mode & 0o111 ? 0o755 : 0o644);
      this.copied.set(winner.real, rel);
      this.stats.copies++;
      return;
    }
    this.symlink(winner.kind === 'verbatim' ? winner.target : winner.abs, dest);
    if (winner.kind === 'file' && winner.real !== winner.abs && this.copy.size) this.fileLinks.push({ dest, real: winner.real });
  }

  private symlink(target: string, dest: string): void {
    fs.symlinkSync(target, dest);
    this.stats.symlinks++;
  }

  private identical(a: Entry, b: Entry): boolean {
    if (a === b) return true;
    // Two symlinks with one target at one place lead to the same thing in the environment.
    if (a.target !== '' && a.target === b.target) return true;
    if (a.kind !== b.kind || a.kind === 'verbatim' || a.kind === 'opaque') return false;
    if (a.kind === 'dir') return false;
    if (a.real === b.real) return true;
    const sa = fs.statSync(a.real);
    const sb = fs.statSync(b.real);
    if (sa.size !== sb.size || Boolean(sa.mode & 0o111) !== Boolean(sb.mode & 0o111)) return false;
    return fs.readFileSync(a.real).equals(fs.readFileSync(b.real));
  }
}

/** Make the environment `out` (which must not exist) from `spec`. */
export function linkEnvironment(spec: EnvSpec, out: string, opts: LinkOptions): LinkStats {
  const linker = new Linker(spec, out, opts);
  linker.run();
  const s = linker.stats;
  opts.log?.(`hepstore: linked ${s.packages} packages: ${s.symlinks} symlinks, ${s.directories} directories, ${s.copies} copied files`);
  return s;
}
