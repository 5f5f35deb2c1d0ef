/**
 * Content-addressed paths need no signature: their store path follows from their contents.
 * `nar:` (store add, recursive fixed-output), `text:` (.drv files, text sources) and `flat:`
 * (flat fixed-output) are checked here against the restored object.
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { parseSRI } from '../../hash/sri.js';
import { fixedOutputPath } from '../../derivation/paths.js';
import { makeStorePath, parseStorePath, typeWithReferences } from '../../store/path.js';

export interface CaInfo {
  path: string;
  narHash: string;
  references: readonly string[];
  ca?: string;
}

function fileSha256(p: string): Buffer | undefined {
  try {
    const st = fs.lstatSync(p);
    if (!st.isFile()) return undefined;
    return createHash('sha256').update(fs.readFileSync(p)).digest();
  } catch {
    return undefined;
  }
}

/**
 * Undefined if `info.path` is what `info.ca` says for the object at `location` (whose narHash has
 * already been checked); otherwise why not.
 */
export function checkContentAddress(info: CaInfo, storeDir: string, location: string): string | undefined {
  const ca = info.ca;
  if (!ca) return 'it is not content-addressed';
  const i = ca.indexOf(':');
  const kind = ca.slice(0, i);
  let digest: Buffer;
  try {
    digest = parseSRI(ca.slice(i + 1), 'content address');
  } catch {
    return `malformed content address '${ca}'`;
  }
  const { name } = parseStorePath(info.path, storeDir);
  const refs = info.references.filter((r) => r !== info.path);
  const self = refs.length !== info.references.length;
  const hex = digest.toString('hex');
  let candidates: string[];
  if (kind === 'nar') {
    if (!parseSRI(info.narHash).equals(digest)) return `its content address ${ca} is not its narHash ${info.narHash}`;
    candidates = [makeStorePath(typeWithReferences('source', refs, self), hex, storeDir, name)];
    if (info.references.length === 0) candidates.push(fixedOutputPath(storeDir, name, 'r:sha256', hex));
  } else if (kind === 'text' || kind === 'flat') {
    const got = fileSha256(location);
    if (!got || !got.equals(digest)) return `its content does not have the sha256 its content address ${ca} claims`;
    candidates = kind === 'text' ? [makeStorePath(typeWithReferences('text', refs, self), hex, storeDir, name)] : info.references.length === 0 ? [fixedOutputPath(storeDir, name, 'sha256', hex)] : [];
  } else {
    return `unknown content address kind '${kind}'`;
  }
  return candidates.includes(info.path) ? undefined : `its store path does not follow from its content address ${ca}`;
}
