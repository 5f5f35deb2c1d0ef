/** Where a store lives: `--store DIR`, else $STORE_ROOT, else the per-user XDG data directory. */
import os from 'node:os';
import path from 'node:path';

export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(env.HOME || os.homedir(), '.local', 'share');
  return path.join(xdg, 'hepstore');
}

export function resolveStoreRoot(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag || env.STORE_ROOT || defaultStoreRoot(env));
}

export interface StoreLayout {
  root: string;
  /** Where store objects live; part of every store path's fingerprint. */
  storeDir: string;
  varDir: string;
  dbFile: string;
  logDir: string;
  /** Build directories of running builds (and those kept by --keep-failed). */
  buildsDir: string;
  /** Staging files of running commands (`store push`). */
  tmpDir: string;
  gcRootsDir: string;
  profilesDir: string;
  configFile: string;
}

export function storeLayout(root: string): StoreLayout {
  const varDir = path.join(root, 'var');
  return {
    root,
    storeDir: path.join(root, 'store'),
    varDir,
    dbFile: path.join(varDir, 'db', 'store.sqlite'),
    logDir: path.join(varDir, 'log'),
    buildsDir: path.join(varDir, 'builds'),
    tmpDir: path.join(varDir, 'tmp'),
    gcRootsDir: path.join(varDir, 'gcroots'),
    profilesDir: path.join(varDir, 'profiles'),
    configFile: path.join(root, 'etc', 'hepstore.json'),
  };
}
