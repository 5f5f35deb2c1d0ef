/**
 * `store push`: upload a closure to a binary cache. Archives first (several at once), then
 * the narinfo files in dependency order, so that every narinfo a reader can see has its
 * archive and its references' narinfos in place. Paths whose narinfo exists are skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { StoreError } from '../../errors.js';
import { packPath } from '../../archive/index.js';
import { HashSink } from '../../hash/sha256.js';
import { toSRI } from '../../hash/sri.js';
import { nix32Encode } from '../../hash/nix32.js';
import { hashPartOf } from '../../store/path.js';
import type { Store } from '../../store/store.js';
import { ownedName } from '../../store/process.js';
import type { BinaryCache } from './binary-cache.js';
import { CACHE_INFO_FILE, parseCacheInfo, serialiseCacheInfo, serialiseNarInfo, type Compression, type NarInfo } from './narinfo.js';
import { addSignatures, type SecretKey } from '../trust/signing.js';
import { EXTENSIONS, compressor, hashTap, type TransferProgress } from './transfer.js';
import { mapLimit } from '../../limit.js';

export interface PushOptions {
  keys?: readonly SecretKey[];
  compression?: Compression;
  jobs?: number;
  priority?: number;
  /** Archive bytes (uncompressed) read so far of those to upload; paths uploaded. */
  onProgress?: (p: TransferProgress) => void;
}

export interface PushResult {
  pushed: string[];
  skipped: string[];
  /** Archive bytes (uncompressed) read, and compressed bytes written. */
  narBytes: number;
  fileBytes: number;
}

export function narInfoFile(storePath: string): string {
  return `${hashPartOf(storePath)}.narinfo`;
}

/** Check (or, when `create`, write) the cache-info file: the cache's store directory must be ours. */
export async function checkCacheInfo(cache: BinaryCache, storeDir: string, create: { priority: number } | undefined): Promise<void> {
  const text = await cache.read(CACHE_INFO_FILE);
  if (text === undefined) {
    if (!create) throw new StoreError('NOT_VALID', `${cache.url} is not a binary cache: it has no ${CACHE_INFO_FILE}`);
    await cache.write(CACHE_INFO_FILE, Buffer.from(serialiseCacheInfo({ storeDir, priority: create.priority })));
    return;
  }
  const info = parseCacheInfo(text.toString('utf8'), `${cache.url}/${CACHE_INFO_FILE}`);
  if (info.storeDir !== storeDir) {
    throw new StoreError('STORE_MISMATCH', `binary cache ${cache.url} holds paths for the store directory ${info.storeDir}, not ${storeDir}`, {
      hint: 'store paths include their store directory: use a cache made from a store at the same directory',
    });
  }
}

export async function pushClosure(store: Store, cache: BinaryCache, paths: readonly string[], opts: PushOptions = {}): Promise<PushResult> {
  store.addTempRoots(paths);
  const order = store.topoSortClosure(paths);
  store.addTempRoots(order);
  await checkCacheInfo(cache, store.storeDir, { priority: opts.priority ?? 40 });
  const present = await mapLimit(order, 16, (p) => cache.exists(narInfoFile(p)));
  const todo = order.filter((_, i) => !present[i]);
  const compression = opts.compression ?? 'gzip';
  const infos = new Map(todo.map((p) => [p, store.pathInfo(p)]));
  const totalBytes = todo.reduce((n, p) => n + infos.get(p)!.narSize, 0);
  let doneBytes = 0;
  let donePaths = 0;
  let fileBytes = 0;
  const report = () => opts.onProgress?.({ donePaths, totalPaths: todo.length, doneBytes, totalBytes });
  report();
  // Archives are staged in the store's var/tmp, named after this process, so that `store gc`
  // removes those of a killed push (a file:// cache on the same file system takes them by rename).
  const staging = store.layout.tmpDir;
  await fs.promises.mkdir(staging, { recursive: true });
  const narinfos = new Map<string, NarInfo>();
  await mapLimit(todo, Math.max(1, opts.jobs ?? 4), async (p) => {
    const info = infos.get(p)!;
    const temp = path.join(staging, `${ownedName('push')}${randomBytes(6).toString('hex')}`);
    try {
      const nar = new HashSink();
      const file = new HashSink();
      const stages: Transform[] = [hashTap(nar, (n) => ((doneBytes += n), report()))];
      const z = compressor(compression);
      if (z) stages.push(z);
      stages.push(hashTap(file));
      await pipeline(packPath(p), ...(stages as [Transform]), fs.createWriteStream(temp, { highWaterMark: 1 << 20 }));
      const narHash = toSRI(nar.digest());
      if (narHash !== info.narHash || nar.size !== info.narSize) {
        throw new StoreError('HASH_MISMATCH', `path '${p}' was modified: it hashes to ${narHash} (${nar.size} bytes), the database says ${info.narHash} (${info.narSize} bytes)`, {
          hint: 'run `store verify --check-contents --repair` before pushing',
        });
      }
      const digest = file.digest();
      const url = `nar/${nix32Encode(digest)}.tar${EXTENSIONS[compression]}`;
      if (!(await cache.exists(url))) await cache.writeFile(url, temp, { move: true });
      fileBytes += file.size;
      narinfos.set(p, {
        storePath: p,
        url,
        compression,
        fileHash: toSRI(digest),
        fileSize: file.size,
        narHash: info.narHash,
        narSize: info.narSize,
        references: info.references,
        deriver: info.deriver,
        sigs: opts.keys?.length ? addSignatures(info, info.sigs, opts.keys) : info.sigs,
        ca: info.ca,
      });
      donePaths++;
      report();
    } finally {
      await fs.promises.rm(temp, { force: true });
    }
  });
  for (const p of todo) await cache.write(narInfoFile(p), Buffer.from(serialiseNarInfo(narinfos.get(p)!)));
  return { pushed: todo, skipped: order.filter((_, i) => present[i]), narBytes: totalBytes, fileBytes };
}
