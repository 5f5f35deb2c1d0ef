/**
 * Host tools: programs of this machine used by builds (a compiler, /usr/bin/make). Their
 * identity — path, version and file hash — goes into the hash of every derivation that uses
 * them, so two different host compilers never give the same store path. In the sandbox, the
 * tool and the shared libraries it loads are made visible at their host paths.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type * as ChildProcess from 'node:child_process';
import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';
import { evalState, settings } from './context.js';
import { sharedLibraries } from '../host/libraries.js';
import { captureCallSite, siteLocation, type CallSite } from './caller.js';
import { unrecorded } from './record.js';

// Loaded when a tool is first probed: child_process brings in the networking modules, and
// most evaluations (a no-op realize above all) probe nothing.
const childProcess = () => createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;

export interface HostToolIdentity {
  name: string;
  path: string;
  version: string;
  hash: string;
  /** Extra host paths the tool needs inside the sandbox (e.g. its libraries, data dirs). */
  paths: string[];
}

export class HostTool {
  readonly kind = 'host-tool';
  /** Where the expression asked for it (the first time), for messages; never part of a hash. */
  private readonly site?: CallSite;
  constructor(readonly id: HostToolIdentity, site?: CallSite) {
    this.site = site;
  }
  get path(): string {
    return this.id.path;
  }
  /** "file:line" of the host.tool() call (or of the API call that made it, e.g. mkDerivation), when known. */
  get askedAt(): string | undefined {
    return this.site ? siteLocation(this.site) : undefined;
  }
  identity(): HostToolIdentity {
    return this.id;
  }
  toString(): string {
    return this.id.path;
  }
  toJSON(): string {
    return this.id.path;
  }
}

function findOnPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':');
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

interface CacheEntry {
  key: string;
  version: string;
  hash: string;
  libs: string[];
}

function cacheFile(): string | undefined {
  const dir = settings().cacheDir;
  return dir ? path.join(dir, 'host-tools.json') : undefined;
}

function readCache(): Record<string, CacheEntry> {
  const f = cacheFile();
  if (!f) return {};
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8'));
  } catch {
    return {};
  }
}

function writeCache(c: Record<string, CacheEntry>): void {
  const f = cacheFile();
  if (!f) return;
  fs.mkdirSync(path.dirname(f), { recursive: true });
  const tmp = `${f}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(c));
  fs.renameSync(tmp, f);
}

/**
 * The tool's stat is its identity for the evaluation cache as for this cache (an evaluation
 * records it); what this cache holds, and probing the tool, are bookkeeping, not inputs.
 */
function probe(real: string): CacheEntry {
  const st = fs.statSync(real);
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  return unrecorded(() => probeUnrecorded(real, key));
}

function probeUnrecorded(real: string, key: string): CacheEntry {
  const cache = readCache();
  if (cache[real]?.key === key) return cache[real];
  const hash = 'sha256-' + createHash('sha256').update(fs.readFileSync(real)).digest('base64');
  let version = '';
  try {
    const out = childProcess().execFileSync(real, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000, env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' } });
    version = out.split('\n')[0].trim();
  } catch {
    version = 'unknown';
  }
  const entry = { key, version, hash, libs: sharedLibraries(real) };
  cache[real] = entry;
  writeCache(cache);
  return entry;
}

export interface HostToolOptions {
  /** Further host paths the tool needs in the sandbox (directories or files). */
  paths?: string[];
}

/** A program of this machine, by name (looked up on PATH) or absolute path. */
export function tool(nameOrPath: string, opts: HostToolOptions = {}): HostTool {
  const st = evalState();
  const found = path.isAbsolute(nameOrPath) ? nameOrPath : findOnPath(nameOrPath);
  if (!found || !fs.existsSync(found)) {
    throw new StoreError('EVAL', `host tool '${nameOrPath}' was not found${path.isAbsolute(nameOrPath) ? '' : ' on PATH'}`, { hint: 'install it, or pass its absolute path' });
  }
  const known = st.hostTools.get(found);
  if (known && !opts.paths) return known;
  // Captured only when a tool is first asked for (then it is the cached value): a few frames
  // reach from here through mkDerivation's own calls to the expression file.
  const site = captureCallSite(8);
  const real = fs.realpathSync(found);
  const p = probe(real);
  const paths = [...new Set([real, ...p.libs, ...(opts.paths ?? [])])].filter((x) => x !== found).sort();
  const t = new HostTool({ name: path.basename(found), path: found, version: p.version, hash: p.hash, paths }, site);
  st.hostTools.set(found, t);
  return t;
}

export const host = { tool };
