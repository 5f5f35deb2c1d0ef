/**
 * The builtin builders and the URL schemes of fetchurl, named once for both sides. A derivation whose builder is `builtin:NAME`
 * is built inside hepstore. Each builtin has a version of its own semantics, raised whenever its
 * output for the same input would change; the expression side records it in the derivation
 * (env.builtinVersion, so it is in the .drv and its hash), and the build side refuses a
 * derivation made for a version it does not implement: an old store path is never rebuilt
 * with other semantics, nor a new one with old semantics.
 */
import { StoreError } from '../errors.js';
import type { Derivation } from './derivation.js';

export interface Builtin {
  /** The derivation's builder: `builtin:NAME`. */
  readonly builder: string;
  /** The version of its semantics that this hepstore implements. */
  readonly version: number;
  /** For builtins older than versioning: the version that a derivation recording none was made for. */
  readonly unversioned?: number;
}

export const BUILTIN_PREFIX = 'builtin:';
/** The env variable that records the version of the builtin a derivation was made for. */
export const BUILTIN_VERSION_VAR = 'builtinVersion';

export const FETCHURL: Builtin = { builder: 'builtin:fetchurl', version: 1, unversioned: 1 };
export const BUILDENV: Builtin = { builder: 'builtin:buildenv', version: 1, unversioned: 1 };
export const UNPACK_DEB: Builtin = { builder: 'builtin:unpack-deb', version: 1 };

export const BUILTINS: ReadonlyMap<string, Builtin> = new Map([FETCHURL, BUILDENV, UNPACK_DEB].map((b) => [b.builder, b]));

/** The env entries that a derivation built by `b` carries. */
export function builtinEnv(b: Builtin): Record<string, string> {
  return { [BUILTIN_VERSION_VAR]: String(b.version) };
}

/**
 * The builtin that builds `drv` (undefined for a program), checked against what this hepstore
 * implements. `what` names the derivation in messages.
 */
export function builtinFor(drv: Pick<Derivation, 'builder' | 'env'>, what: string): Builtin | undefined {
  if (!drv.builder.startsWith(BUILTIN_PREFIX)) return undefined;
  const b = BUILTINS.get(drv.builder);
  if (b === undefined) {
    throw new StoreError('BUILD_FAILED', `${what} is built by '${drv.builder}', which this hepstore does not have (it has ${[...BUILTINS.keys()].join(', ')})`, {
      hint: 'update hepstore',
    });
  }
  const recorded = drv.env[BUILTIN_VERSION_VAR];
  if (recorded === undefined) {
    if (b.unversioned !== undefined && b.unversioned === b.version) return b;
    throw new StoreError('BUILD_FAILED', `${what} records no version of ${b.builder} (env.${BUILTIN_VERSION_VAR}); this hepstore implements version ${b.version}`, {
      hint: 'evaluate the expression again with this hepstore',
    });
  }
  if (recorded !== String(b.version)) {
    const newer = /^[1-9][0-9]*$/.test(recorded) && Number(recorded) > b.version;
    throw new StoreError('BUILD_FAILED', `${what} was made for ${b.builder} version ${recorded}; this hepstore implements version ${b.version}`, {
      hint: newer ? 'update hepstore' : `evaluate the expression again with this hepstore (its derivations will name version ${b.version}, at new store paths), or build it with the hepstore that made it`,
    });
  }
  return b;
}

/**
 * The URL schemes that `builtin:fetchurl` fetches, named once for both sides: the expression
 * side checks a URL against its scheme's syntax, the build side dispatches on the scheme's name
 * (build/fetch.ts has one handler per name, which the type below makes it keep).
 */
export const FETCH_SCHEMES = [
  { name: 'http', syntax: 'http://HOST/PATH', pattern: /^http:\/\/\S+$/ },
  { name: 'https', syntax: 'https://HOST/PATH', pattern: /^https:\/\/\S+$/ },
  { name: 'file', syntax: 'file:///PATH', pattern: /^file:\/\/\S+$/ },
  // A mirror configured for the store ("mirrors" in etc/hepstore.json): mirror://debian/pool/…
  { name: 'mirror', syntax: 'mirror://NAME/PATH', pattern: /^mirror:\/\/[A-Za-z0-9_-]+\/\S+$/ },
  // A Debian package through the host's apt-get: apt:NAME=VERSION or apt:NAME:ARCH=VERSION.
  { name: 'apt', syntax: 'apt:NAME=VERSION', pattern: /^apt:[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?=[A-Za-z0-9.+~:-]+$/ },
  // One file of a Debian source package, through the host's apt sources.
  { name: 'apt-source', syntax: 'apt-source:SOURCE=VERSION/FILE', pattern: /^apt-source:[a-z0-9][a-z0-9+.-]*=[A-Za-z0-9.+~:-]+\/[A-Za-z0-9.+~_-]+$/ },
] as const;

export type FetchSchemeName = (typeof FETCH_SCHEMES)[number]['name'];

/** The scheme of `url` ('https', 'apt-source', …), by the text before its first ':'; undefined for another. */
export function fetchSchemeOf(url: string): (typeof FETCH_SCHEMES)[number] | undefined {
  const name = url.slice(0, Math.max(0, url.indexOf(':')));
  return FETCH_SCHEMES.find((s) => s.name === name);
}
