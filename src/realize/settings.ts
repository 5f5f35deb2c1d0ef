/**
 * The builder's settings for one realize: the sandbox (bubblewrap, mapped store paths, a
 * synthetic /etc), build and download slots, mirrors, timeouts and limits.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import { toStorePath } from '../store/path.js';
import { ownedName } from '../store/process.js';
import { networkTimeouts, readStoreConfig } from '../store/config.js';
import { type BuilderSettings } from './builder.js';
import { defaultSandboxPaths, findBwrap, findSandboxInit, parseSandboxPath, withLibraries, writeSandboxEtc, type SandboxPath } from './sandbox.js';
import { Launcher } from './launcher.js';
import { Semaphore } from '../limit.js';
import { FETCHES, type RealizeOptions } from './realize-options.js';

export function sandboxAvailable(opts: RealizeOptions = {}): boolean {
  return opts.sandbox !== false && findBwrap() !== undefined;
}

export function settingsFor(store: Store, opts: RealizeOptions, launcher: Launcher): BuilderSettings {
  const bwrap = opts.sandbox === false ? undefined : findBwrap();
  const jobs = opts.jobs ?? os.availableParallelism();
  const buildsDir = store.layout.buildsDir;
  fs.mkdirSync(buildsDir, { recursive: true });
  fs.mkdirSync(store.layout.logDir, { recursive: true });
  let sandbox: BuilderSettings['sandbox'];
  if (bwrap) {
    const etcDir = fs.mkdtempSync(path.join(buildsDir, ownedName('.etc')));
    writeSandboxEtc(etcDir);
    const paths = opts.sandboxPaths?.map(parseSandboxPath);
    const inStore = (p: SandboxPath) => p.source.startsWith(store.storeDir + '/');
    const mapped = resolveStorePaths(store, paths?.filter(inStore) ?? []);
    sandbox = { bwrap, hostPaths: paths ? withLibraries(paths.filter((p) => !inStore(p))) : defaultSandboxPaths(), ...mapped, etcDir, init: findSandboxInit(bwrap) };
  }
  const config = readStoreConfig(store.layout.configFile);
  return {
    storeDir: store.storeDir,
    buildsDir,
    logDir: store.layout.logDir,
    sandbox,
    keepFailed: opts.keepFailed ?? false,
    cores: Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, jobs))),
    launcher,
    slots: new Semaphore(jobs),
    fetchSlots: new Semaphore(FETCHES),
    mirrors: config.mirrors,
    timeouts: networkTimeouts(config, store.layout.configFile),
    limits: opts.timeoutMs || opts.maxSilentMs ? { timeoutMs: opts.timeoutMs || undefined, maxSilentMs: opts.maxSilentMs || undefined } : undefined,
  };
}

/**
 * `sandboxPaths` entries whose source is in the store (`/bin/sh=/…/store/…-busybox/bin/sh`):
 * each source, symlinks resolved, must lie in a valid store path, and the closure of those
 * paths (the store's references, as `store path-info -r` lists them) becomes visible to every
 * build beside its inputs, so that what is mapped can run.
 */
function resolveStorePaths(store: Store, paths: readonly SandboxPath[]): { storePaths: SandboxPath[]; storeClosure: string[] } {
  const storePaths: SandboxPath[] = [];
  const roots = new Set<string>();
  for (const p of paths) {
    let real: string;
    try {
      real = fs.realpathSync(p.source);
    } catch {
      throw new StoreError('USAGE', `sandboxPaths: '${p.source}' (for ${p.inside}) does not exist`, { hint: 'build or add the store path first, or change the store configuration' });
    }
    for (const q of [p.source, real]) {
      const sp = toStorePath(q, store.storeDir);
      if (!q.startsWith(store.storeDir + '/') || !store.isValid(sp)) {
        throw new StoreError('USAGE', `sandboxPaths: '${p.source}' (for ${p.inside}) is not in a valid store path${q === real && q !== p.source ? ` (it leads to ${real})` : ''}`, {
          hint: 'map only paths of valid store paths (store add, or realize the package first)',
        });
      }
      roots.add(sp);
    }
    storePaths.push({ inside: p.inside, source: real });
  }
  return { storePaths, storeClosure: roots.size ? store.queryClosure([...roots]) : [] };
}
