/** `fetchurl`: a fixed-output derivation built in-process (http, https, file), verified with ssri. */
import { StoreError } from '../errors.js';
import { derivation, type Drv } from './drv.js';

export interface FetchurlArgs {
  url: string;
  /** SRI hash of the file (e.g. `sha256-…`). */
  integrity: string;
  name?: string;
  /** Make the fetched file executable (its hash is then over the archive, as for `store add`). */
  executable?: boolean;
}

export const FETCHURL_BUILDER = 'builtin:fetchurl';

export function urlName(url: string): string {
  const base = decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '');
  const clean = base.replace(/[^A-Za-z0-9+\-._?=]/g, '_').replace(/^\.+/, '');
  return clean || 'download';
}

export function fetchurl(a: FetchurlArgs): Drv {
  let parsed: URL;
  try {
    parsed = new URL(a.url);
  } catch {
    throw new StoreError('EVAL', `fetchurl: '${a.url}' is not a URL`);
  }
  if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) throw new StoreError('EVAL', `fetchurl: unsupported URL scheme '${parsed.protocol}' in '${a.url}'`, { hint: 'use http://, https:// or file://' });
  if (!a.integrity) throw new StoreError('EVAL', `fetchurl('${a.url}') needs an integrity hash`, { hint: "run it once with integrity: 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' and copy the hash the error prints" });
  return derivation({
    name: a.name ?? urlName(a.url),
    builder: FETCHURL_BUILDER,
    env: { url: a.url, executable: a.executable ?? false },
    outputHash: a.integrity,
    outputHashMode: a.executable ? 'recursive' : 'flat',
  });
}
