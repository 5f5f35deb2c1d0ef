/** What the benchmarks share: where the CLI is, a seeded PRNG, medians, a private Nix store. */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sharedLibraries } from '../src/host/libraries.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO, 'bin', 'store.js');

/**
 * The environment in which bin/store.js runs as an installed `store` does, through its `#!`
 * line (Node.js started without NODE_EXTRA_CA_CERTS): `env node` finds this Node.js first.
 */
export function launcherEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: `${path.dirname(process.execPath)}:${env.PATH ?? '/usr/bin:/bin'}` };
}

/** A small deterministic PRNG (mulberry32): every run sees the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Remove a directory that may hold read-only store objects. */
export function rm(dir: string): void {
  spawnSync('chmod', ['-R', 'u+w', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Environment for a private Nix store under `dir`: no substituters, no build users, and no
 * sandbox unless `sandbox` (then Nix's sandbox with `sandbox-paths` holding /bin/sh and its
 * shared libraries, as hepstore's default `sandboxPaths`).
 */
export function nixEnv(dir: string, extraConf = '', sandbox = false): NodeJS.ProcessEnv {
  fs.mkdirSync(path.join(dir, 'conf'), { recursive: true });
  const sandboxConf = sandbox ? `sandbox = true\nsandbox-paths = ${['/bin/sh', ...sharedLibraries('/bin/sh')].join(' ')}\n` : 'sandbox = false\n';
  fs.writeFileSync(path.join(dir, 'conf', 'nix.conf'), `${sandboxConf}substituters =\nbuild-users-group =\n${extraConf}`);
  return {
    ...process.env,
    NIX_STORE_DIR: path.join(dir, 'nix', 'store'),
    NIX_STATE_DIR: path.join(dir, 'nix', 'var'),
    NIX_LOG_DIR: path.join(dir, 'nix', 'log'),
    NIX_CONF_DIR: path.join(dir, 'conf'),
    NIX_REMOTE: '',
  };
}

/** Run a command to completion and time it (wall seconds); throws with its stderr if it fails. */
export function timed(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { s: number; stdout: string; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: opts.env, cwd: opts.cwd, encoding: 'utf8', maxBuffer: 256 << 20 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${(r.stderr ?? '').slice(-2000)}`);
  return { s, stdout: r.stdout, stderr: r.stderr };
}
