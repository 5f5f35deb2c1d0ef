/** The hash of a file's bytes ("flat", as a fetched file is checked), read in large chunks. */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';

export type FileHashType = 'sha256' | 'sha512';
export const FILE_HASH_TYPES: readonly FileHashType[] = ['sha256', 'sha512'];

export interface FileHash {
  /** `sha256-<base64>` or `sha512-<base64>`. */
  integrity: string;
  digest: Buffer;
  size: number;
}

export async function hashFile(file: string, type: FileHashType = 'sha256'): Promise<FileHash> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new StoreError('IO', `'${file}' does not exist`);
  }
  if (!st.isFile()) throw new StoreError('USAGE', `'${file}' is not a regular file`, { hint: st.isDirectory() ? "hash a tree with 'store hash-path'" : undefined });
  const h = createHash(type);
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const digest = h.digest();
  return { integrity: `${type}-${digest.toString('base64')}`, digest, size };
}
