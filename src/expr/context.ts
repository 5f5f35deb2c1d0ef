/**
 * Evaluation state shared by the expression API: the store directory paths are computed for,
 * and registries that map every store path created during evaluation back to what made it.
 * A store path found in a derivation's strings is an input of that derivation ("string
 * context", found by hash part, so `${dep}/bin/tool` and `${dep}-suffix` both count).
 */
import { StoreError } from '../errors.js';
import type { Drv } from './drv.js';
import type { SourcePath } from './path.js';
import type { HostTool } from './host.js';

export interface EvalSettings {
  storeDir: string;
  system: string;
  /** Where cached host-tool identities live (optional). */
  cacheDir?: string;
}

/** `broken`: a derivation whose making failed; whatever uses it fails with its error. */
export type ContextEntry = { kind: 'drv'; drv: Drv; output: string } | { kind: 'src'; src: SourcePath } | { kind: 'broken'; error: StoreError };

interface EvalState {
  settings: EvalSettings;
  byHashPart: Map<string, ContextEntry>;
  /** Derivations made so far, by first output path (fixed-output ones by .drv path). */
  drvs: Map<string, Drv>;
  /** `<storeDir>/`, for finding store paths in strings. */
  prefix: string;
  hostTools: Map<string, HostTool>;
  /** Values made once per evaluation (the bootstrap, the stdenv), by key. */
  memo: Map<string, unknown>;
}

let state: EvalState | undefined;

export function defaultSystem(): string {
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  return `${arch}-${process.platform}`;
}

/** Start a fresh evaluation (the CLI calls this before loading an expression file). */
export function beginEvaluation(settings: Partial<EvalSettings> & { storeDir: string }): void {
  state = {
    settings: { system: defaultSystem(), ...settings },
    byHashPart: new Map(),
    drvs: new Map(),
    prefix: settings.storeDir + '/',
    hostTools: new Map(),
    memo: new Map(),
  };
}

export function evalState(): EvalState {
  if (!state) {
    throw new StoreError('EVAL', 'hepstore expressions can only be used while `store` evaluates a file', {
      hint: 'run the file with `store realize FILE` (or call beginEvaluation() first in a script)',
    });
  }
  return state;
}

/** `make()`'s value, made once per evaluation (so once per store directory). */
export function once<T>(key: string, make: () => T): T {
  const memo = evalState().memo;
  if (memo.has(key)) return memo.get(key) as T;
  const v = make();
  memo.set(key, v);
  return v;
}

export function settings(): EvalSettings {
  return evalState().settings;
}

const HASH_RE = /[0-9abcdfghijklmnpqrsvwxyz]{32}/y;

/** Every context entry whose store path occurs in `s`. */
export function contextOf(s: string, into: Set<ContextEntry>): void {
  const st = evalState();
  const prefix = st.prefix;
  let at = s.indexOf(prefix);
  while (at >= 0) {
    HASH_RE.lastIndex = at + prefix.length;
    const m = HASH_RE.exec(s);
    if (m) {
      const entry = st.byHashPart.get(m[0]);
      if (entry) into.add(entry);
    }
    at = s.indexOf(prefix, at + prefix.length);
  }
}

/** Host tools whose paths occur in `s`. */
export function hostToolsIn(s: string, into: Set<HostTool>): void {
  const tools = evalState().hostTools;
  if (tools.size === 0) return;
  for (const [p, tool] of tools) if (s.includes(p)) into.add(tool);
}
