/** `path("./src")`: a local file or directory brought into the store by content. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from '../errors.js';
import { hashPathSync } from '../archive/hash-sync.js';
import { makeStorePath, hashPartOf, validateName, typeWithReferences } from '../store/path.js';
import { sha256Hex } from '../hash/sha256.js';
import { evalState, settings } from './context.js';
import { callerFile } from './caller.js';
import { noteRead, unrecorded } from './record.js';
import { describe, exprError } from './check.js';

export class SourcePath {
  readonly kind = 'source';
  constructor(
    /** The store path it will have. */
    readonly storePath: string,
    /** Where it is on this machine (never part of any hash); '' for text. */
    readonly hostPath: string,
    readonly name: string,
    readonly narHash: string,
    /** The contents, for a text file made by writeText(). */
    readonly text?: string,
  ) {}
  toString(): string {
    return this.storePath;
  }
  toJSON(): string {
    return this.storePath;
  }
}

const SANITIZE = /[^A-Za-z0-9+\-._?=]/g;

export function sourceName(hostPath: string): string {
  const base = path.basename(hostPath).replace(SANITIZE, '_').replace(/^\.+/, '');
  return base || 'source';
}

/**
 * Bring a local path into the store. Relative paths are resolved against the directory of the
 * file that calls `path()` (not the working directory), so an expression gives the same store
 * paths wherever it is evaluated from.
 */
export function sourcePath(p: string | URL, opts: { name?: string } = {}): SourcePath {
  if (typeof p !== 'string' && !(p instanceof URL)) {
    throw exprError(`path() takes a file name (a string or a URL), not ${describe(p)}`, { hint: "write path('./src'), relative to the expression file" });
  }
  if (p === '') throw exprError("path(''): the file name is empty", { hint: "write path('.') for the expression's own directory" });
  if (opts === null || typeof opts !== 'object') throw exprError(`path('${p}'): the options must be an object ({ name }), not ${describe(opts)}`);
  for (const k in opts) if (k !== 'name') throw exprError(`path('${p}') has no option '${k}'`, { hint: 'the only option is name' });
  if (opts.name !== undefined && typeof opts.name !== 'string') throw exprError(`path('${p}'): name must be a string, not ${describe(opts.name)}`);
  let abs: string;
  if (p instanceof URL) abs = fileURLToPath(p);
  else if (path.isAbsolute(p)) abs = p;
  else {
    const from = callerFile();
    if (!from) throw new StoreError('EVAL', `cannot tell which file called path('${p}')`, { hint: 'pass an absolute path or new URL(p, import.meta.url)' });
    abs = path.resolve(path.dirname(from), p);
  }
  if (!fs.existsSync(abs)) throw exprError(`path('${p}'): '${abs}' does not exist`);
  const name = opts.name ?? sourceName(abs);
  validateName(name, `name of path('${p}')`);
  // The tree is read as one input: its archive hash (what the evaluation cache checks again).
  const nar = unrecorded(() => hashPathSync(abs));
  noteRead({ fn: 'narHash', args: [abs], value: nar.narHash });
  const storePath = makeStorePath('source', nar.digest.toString('hex'), settings().storeDir, name);
  const src = new SourcePath(storePath, abs, name, nar.narHash);
  evalState().byHashPart.set(hashPartOf(storePath), { kind: 'src', src });
  return src;
}

/**
 * `writeText(name, text)`: a file with these contents in the store (as Nix's toFile). It may
 * not mention other store paths; pass those to a derivation instead.
 */
export function writeText(name: string, text: string): SourcePath {
  if (typeof name !== 'string') throw exprError(`writeText(name, text): name must be a string, not ${describe(name)}`);
  if (typeof text !== 'string') throw exprError(`writeText('${name}', text): text must be a string, not ${describe(text)}`);
  validateName(name, 'name of writeText()');
  const st = settings();
  if (text.includes(st.storeDir + '/')) {
    throw new StoreError('EVAL', `writeText('${name}'): the text mentions store paths`, { hint: 'use a derivation to write files that refer to other store paths' });
  }
  const storePath = makeStorePath(typeWithReferences('text', []), sha256Hex(text), st.storeDir, name);
  const src = new SourcePath(storePath, '', name, '', text);
  evalState().byHashPart.set(hashPartOf(storePath), { kind: 'src', src });
  return src;
}
