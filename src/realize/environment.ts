/** The environment a builder sees (Invariant 5): nothing from the host but what is declared. */
import type { Derivation } from '../derivation/derivation.js';

export const SANDBOX_BUILD_DIR = '/build';

export function buildEnvironment(drv: Derivation, opts: { storeDir: string; buildDir: string; cores: number }): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/path-not-set',
    HOME: '/homeless-shelter',
    HEPSTORE_STORE: opts.storeDir,
    HEPSTORE_BUILD_CORES: String(opts.cores),
    SOURCE_DATE_EPOCH: '1',
    TZ: 'UTC',
    LC_ALL: 'C',
    LANG: 'C',
  };
  Object.assign(env, drv.env);
  for (const k of ['HEPSTORE_BUILD_TOP', 'TMPDIR', 'TEMPDIR', 'TMP', 'TEMP', 'PWD']) env[k] = opts.buildDir;
  return env;
}
