/**
 * `fetchurl`: a fixed-output derivation built in-process, verified with ssri. URLs are tried in
 * order: http, https, file, `mirror://NAME/PATH` (the store's configured mirrors) and
 * `apt:NAME=VERSION` (the host's apt-get, where installed) and `apt-source:SOURCE=VERSION/FILE` (a
 * file of a Debian source package, through the host's apt). Only the content hash decides the
 * output path, so the same file fetched any of these ways is the same store path.
 */
import { builtinEnv, fetchSchemeOf, FETCHURL, FETCH_SCHEMES } from '../derivation/builtins.js';
import { derivation, type Drv } from './drv.js';
import { checkArgsObject, checkKeys, exprError, optionalArray, optionalBoolean, optionalString, stringElement } from './check.js';

const FETCHURL_KEYS: ReadonlySet<string> = new Set(['url', 'urls', 'integrity', 'name', 'executable', 'hint']);

export interface FetchurlArgs {
  url?: string;
  /** Several places to get the same file from, tried in order. */
  urls?: string[];
  /** SRI hash of the file (e.g. `sha256-…`). */
  integrity: string;
  name?: string;
  /** Make the fetched file executable (its hash is then over the archive, as for `store add`). */
  executable?: boolean;
  /** Said when every URL fails, e.g. what to do about a file that is no longer served. */
  hint?: string;
}

export function urlName(url: string): string {
  let base = url;
  try {
    base = decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '');
  } catch {
    /* not a URL with a path */
  }
  const clean = base.replace(/[^A-Za-z0-9+\-._?=]/g, '_').replace(/^\.+/, '');
  return clean || 'download';
}

export function checkUrl(url: string): void {
  const scheme = fetchSchemeOf(url);
  if (scheme === undefined) {
    const given = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1];
    if (given === undefined) throw exprError(`fetchurl: '${url}' is not a URL`);
    throw exprError(`fetchurl: unsupported URL scheme '${given}:' in '${url}'`, { hint: `use ${FETCH_SCHEMES.map((x) => x.syntax).join(', ')}` });
  }
  if (!scheme.pattern.test(url)) throw exprError(`fetchurl: '${url}' is not a valid ${scheme.name}: URL`, { hint: `write ${scheme.syntax}` });
  if (scheme.name === 'http' || scheme.name === 'https' || scheme.name === 'file') {
    try {
      new URL(url);
    } catch {
      throw exprError(`fetchurl: '${url}' is not a URL`);
    }
  }
}

export function fetchurl(a: FetchurlArgs): Drv {
  checkArgsObject('fetchurl', a);
  const r = a as unknown as Record<string, unknown>;
  checkKeys('fetchurl', r, FETCHURL_KEYS);
  for (const k of ['url', 'integrity', 'name', 'hint']) optionalString('fetchurl', r, k);
  optionalBoolean('fetchurl', r, 'executable');
  optionalArray('fetchurl', r, 'urls', stringElement('fetchurl', 'urls'));
  const urls = a.urls ?? (a.url !== undefined ? [a.url] : []);
  if (urls.length === 0) throw exprError('fetchurl needs a url (or urls)');
  urls.forEach(checkUrl);
  if (!a.integrity) throw exprError(`fetchurl('${urls[0]}') needs an integrity hash`, { hint: "run it once with integrity: 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' and copy the hash the error prints" });
  // A single URL keeps the env of the first fetchurl, so existing derivations keep their paths.
  const where = a.urls === undefined ? { url: urls[0] } : { urls: urls.join(' ') };
  return derivation({
    name: a.name ?? urlName(urls[urls.length - 1]),
    builder: FETCHURL.builder,
    env: { ...where, executable: a.executable ?? false, ...(a.hint ? { hint: a.hint } : {}), ...builtinEnv(FETCHURL) },
    outputHash: a.integrity,
    outputHashMode: a.executable ? 'recursive' : 'flat',
  });
}
