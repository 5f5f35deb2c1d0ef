/**
 * Profiles and generations, as in Nix: `<dir>/<name>` → `<name>-N-link` (relative) → a store
 * path. Every generation link is a GC root. A new generation is written under a temporary
 * name and renamed into place, then the profile link is switched the same way, so readers
 * always see a whole generation. A generation's time is its link's mtime. The current
 * generation is never deleted.
 *
 * A generation is an environment (src/profile/generation.ts): the installed packages merged
 * into one symlink tree, with the manifest at its top as `manifest.json`; its closure is
 * everything installed. Generations made before that are the manifest alone, a JSON text
 * object in the store: they can still be listed, switched to and rolled back to.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { StoreLayout } from '../store/root.js';
import { replaceSymlink } from '../gc/roots.js';

export interface Generation {
  number: number;
  /** The generation link, `<dir>/<name>-N-link`. */
  link: string;
  /** The store path it points at. */
  path: string;
  /** Seconds since the epoch (the link's mtime). */
  time: number;
  current: boolean;
}

export interface ManifestElement {
  /** The store path's name, without the hash (installing the same package name again replaces it). */
  name: string;
  path: string;
  /** Where it came from: an expression file (and attribute), or the path given. */
  source?: string;
}

export interface Manifest {
  version: 1;
  elements: ManifestElement[];
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || String(process.getuid?.() ?? 'user');
  }
}

export class Profile {
  /** The profile link itself, `<dir>/<name>`. */
  readonly link: string;
  readonly dir: string;

  constructor(
    readonly layout: StoreLayout,
    readonly name = 'default',
    readonly user = currentUser(),
  ) {
    if (!PROFILE_NAME.test(name)) throw new StoreError('USAGE', `invalid profile name '${name}'`, { hint: 'use letters, digits and . _ + -' });
    this.dir = path.join(layout.profilesDir, 'per-user', user);
    this.link = path.join(this.dir, name);
  }

  private genLink(n: number): string {
    return path.join(this.dir, `${this.name}-${n}-link`);
  }

  current(): number | undefined {
    let target: string;
    try {
      target = fs.readlinkSync(this.link);
    } catch {
      return undefined;
    }
    const m = new RegExp(`^${escapeRe(this.name)}-(\\d+)-link$`).exec(path.basename(target));
    return m ? Number(m[1]) : undefined;
  }

  generations(): Generation[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const re = new RegExp(`^${escapeRe(this.name)}-(\\d+)-link$`);
    const cur = this.current();
    const gens: Generation[] = [];
    for (const f of names) {
      const m = re.exec(f);
      if (!m) continue;
      const link = path.join(this.dir, f);
      try {
        const st = fs.lstatSync(link);
        gens.push({ number: Number(m[1]), link, path: fs.readlinkSync(link), time: Math.floor(st.mtimeMs / 1000), current: Number(m[1]) === cur });
      } catch {
        /* removed meanwhile */
      }
    }
    return gens.sort((a, b) => a.number - b.number);
  }

  /**
   * Make `storePath` the current generation: a new generation numbered max+1, unless the
   * current one already points there. The caller holds a temporary root on `storePath`.
   */
  createGeneration(storePath: string): Generation {
    const gens = this.generations();
    const cur = gens.find((g) => g.current);
    if (cur && cur.path === storePath) return cur;
    const n = (gens.at(-1)?.number ?? 0) + 1;
    fs.mkdirSync(this.dir, { recursive: true });
    replaceSymlink(storePath, this.genLink(n));
    this.switchTo(n);
    return this.generations().find((g) => g.number === n)!;
  }

  switchTo(n: number): void {
    if (!fs.existsSync(this.genLink(n))) {
      throw new StoreError('USAGE', `profile '${this.name}' has no generation ${n}`, { hint: `see 'store profile list${this.name === 'default' ? '' : ` --profile ${this.name}`}'` });
    }
    replaceSymlink(path.basename(this.genLink(n)), this.link);
  }

  /** Switch to the highest generation below the current one. */
  rollback(): Generation {
    const gens = this.generations();
    const cur = this.current();
    const prev = gens.filter((g) => cur === undefined || g.number < cur).at(-1);
    if (!prev) throw new StoreError('USAGE', `profile '${this.name}' has no generation older than ${cur ?? 'the current one'} to roll back to`);
    this.switchTo(prev.number);
    return { ...prev, current: true };
  }

  /** Delete the given generations; the current one is refused. */
  deleteGenerations(numbers: readonly number[], dryRun = false): number[] {
    const cur = this.current();
    if (numbers.includes(cur as number)) throw new StoreError('USAGE', `generation ${cur} of profile '${this.name}' is the current one and cannot be deleted`, { hint: 'switch to another generation first' });
    if (!dryRun) for (const n of numbers) fs.rmSync(this.genLink(n), { force: true });
    return [...numbers];
  }

  /**
   * As Nix's --delete-older-than: from the newest down, the first generation older than the
   * cutoff is kept (it was the one in use at that time), and every older one is deleted,
   * except the current one.
   */
  deleteOlderThan(cutoff: number, dryRun = false): number[] {
    const gens = this.generations();
    const cur = this.current();
    const doomed: number[] = [];
    let canDelete = false;
    for (let i = gens.length - 1; i >= 0; i--) {
      const g = gens[i];
      if (canDelete) {
        if (g.number !== cur) doomed.push(g.number);
      } else if (g.time < cutoff) {
        canDelete = true;
      }
    }
    return this.deleteGenerations(doomed.sort((a, b) => a - b), dryRun);
  }

  /** Keep the newest `n` generations and the current one; delete the rest. */
  keepLast(n: number, dryRun = false): number[] {
    if (!Number.isInteger(n) || n < 0) throw new StoreError('USAGE', `keep-last takes a whole number (got ${n})`);
    const gens = this.generations();
    const cur = this.current();
    const doomed = gens.slice(0, Math.max(0, gens.length - n)).map((g) => g.number).filter((x) => x !== cur);
    return this.deleteGenerations(doomed, dryRun);
  }

  /** Run `fn` holding this profile's lock (a second install waits for the first). */
  async locked<T>(store: Store, fn: () => Promise<T> | T): Promise<T> {
    return store.pathLocks().withLock([`profile:${this.link}`], fn);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The manifest's name inside a generation. */
export const MANIFEST_FILE = 'manifest.json';

/** Whether a generation is of the older kind: the manifest file alone, no environment. */
export function isManifestOnly(storePath: string): boolean {
  try {
    return fs.statSync(storePath).isFile();
  } catch {
    return false;
  }
}

/** The manifest of a generation (an empty one for a profile with no generation), of either kind. */
export function readManifest(storePath: string | undefined): Manifest {
  if (!storePath) return { version: 1, elements: [] };
  const file = isManifestOnly(storePath) ? storePath : path.join(storePath, MANIFEST_FILE);
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    if (m && m.version === 1 && Array.isArray(m.elements)) return m;
  } catch {
    /* fall through */
  }
  throw new StoreError('IO', `'${storePath}' is not a profile generation (it has no ${MANIFEST_FILE})`, { hint: 'the profile link was changed by hand; switch to another generation' });
}

/**
 * The package name of a store name, as Nix's DrvName: everything before the first dash that
 * is followed by a digit ('analysis-env-2.0' → 'analysis-env'). Installing a package whose
 * package name is already in a profile replaces it (an upgrade).
 */
export function packageName(name: string): string {
  const m = /-\d/.exec(name);
  return m ? name.slice(0, m.index) : name;
}

/** The name of a store path without its hash part. */
export function storeName(p: string): string {
  return path.basename(p).slice(33);
}
