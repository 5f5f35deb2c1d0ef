/** `builtin:fetchurl`: download (http, https) or copy (file) one file, hashing as it arrives. */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { StoreError } from '../errors.js';

export async function fetchToFile(url: string, dest: string, log: (line: string) => void): Promise<void> {
  const u = new URL(url);
  log(`fetching ${url}`);
  if (u.protocol === 'file:') {
    const src = fileURLToPath(u);
    try {
      fs.copyFileSync(src, dest);
    } catch (e) {
      throw new StoreError('BUILD_FAILED', `cannot fetch '${url}': ${(e as Error).message}`, { exitCode: 100 });
    }
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new StoreError('BUILD_FAILED', `cannot fetch '${url}': unsupported scheme`);
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (e) {
    throw new StoreError('BUILD_FAILED', `cannot fetch '${url}': ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`);
  }
  if (!res.ok || !res.body) throw new StoreError('BUILD_FAILED', `cannot fetch '${url}': HTTP ${res.status} ${res.statusText}`);
  const fd = fs.openSync(dest, 'wx', 0o644);
  let bytes = 0;
  try {
    for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
      fs.writeSync(fd, chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } finally {
    fs.closeSync(fd);
  }
  log(`fetched ${bytes} bytes`);
}
