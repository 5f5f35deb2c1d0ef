/**
 * Substitution: fetch missing store paths (with whatever of their closure is missing too) from
 * binary caches instead of building them. Each narinfo is checked (store path, store
 * directory, a trusted signature unless the path is content-addressed or signatures are not
 * required); each archive is downloaded, decompressed and restored under a temporary name
 * while its FileHash and narHash are computed, and registered only when both match, after its
 * references. A path that cannot be substituted is reported with the reason, never thrown:
 * the caller decides whether to build it instead.
 */
import os from 'node:os';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Transform } from 'node:stream';
import { StoreError } from '../../errors.js';
import { restoreArchive } from '../../archive/index.js';
import { removeTree } from '../../archive/canonical.js';
import { HashSink } from '../../hash/sha256.js';
import { toSRI } from '../../hash/sri.js';
import type { Store } from '../../store/store.js';
import { openBinaryCache, type BinaryCache } from './binary-cache.js';
import { CACHE_INFO_FILE, parseCacheInfo, parseNarInfo, type NarInfo } from './narinfo.js';
import { narInfoFile } from './push.js';
import { acceptable, untrustedReason, vouchedFor, type TrustedKeys } from '../trust/signing.js';
import { checkContentAddress } from '../trust/content-address.js';
import { decompressor, hashTap, maxFileSize, type TransferProgress } from './transfer.js';
import { mapLimit } from '../../limit.js';
import { byteLimit, type Timeouts } from '../../net/http.js';

/** Paths substituted, and compressed bytes downloaded, of those to fetch. */
export type SubstituteProgress = TransferProgress;

export interface SubstituteOptions {
  substituters: readonly string[];
  trusted: TrustedKeys;
  requireSigs?: boolean;
  /** Downloads at once (default 4). */
  jobs?: number;
  onProgress?: (p: SubstituteProgress) => void;
  /** A warning about a cache (unreachable, not a cache); the paths then count as misses. */
  onWarning?: (message: string) => void;
  /** Fetch `wanted` even if valid, and put the fetched copy in place of the one on disk (`store verify --repair`). */
  repair?: boolean;
  /** Connect and stall timeouts of HTTP caches. */
  timeouts?: Timeouts;
}

export interface SubstituteResult {
  substituted: string[];
  /** Path → why it was not substituted (a miss, a bad signature, a corrupt archive…). */
  failed: Map<string, string>;
  /** Compressed bytes downloaded. */
  bytes: number;
}

interface Source {
  cache: BinaryCache;
  priority: number;
  usable: boolean;
  /** Why the cache stopped answering (a timeout, a refused connection): it is not asked again. */
  down?: string;
}

async function openSources(urls: readonly string[], storeDir: string, warn: (m: string) => void, timeouts?: Timeouts): Promise<Source[]> {
  const sources = await Promise.all(
    urls.map(async (url): Promise<Source> => {
      const cache = openBinaryCache(url, { timeouts });
      let info;
      try {
        const text = await cache.read(CACHE_INFO_FILE);
        if (text === undefined) {
          warn(`binary cache ${url} is not usable: it has no ${CACHE_INFO_FILE}`);
          return { cache, priority: 0, usable: false };
        }
        info = parseCacheInfo(text.toString('utf8'), `${url}/${CACHE_INFO_FILE}`);
      } catch (e) {
        const msg = (e as Error).message;
        warn(msg.startsWith(`binary cache ${url}`) ? `${msg} (not using this cache)` : `binary cache ${url} is not usable: ${msg}`);
        return { cache, priority: 0, usable: false };
      }
      if (info.storeDir !== storeDir) {
        throw new StoreError('STORE_MISMATCH', `binary cache ${url} holds paths for the store directory ${info.storeDir}, not ${storeDir}`, {
          hint: 'store paths include their store directory: use a cache made from a store at the same directory, or remove it from --substituters / "substituters"',
        });
      }
      return { cache, priority: info.priority, usable: true };
    }),
  );
  // Lower Priority first, as in Nix; the order given breaks ties.
  return sources.filter((s) => s.usable).sort((a, b) => a.priority - b.priority);
}

export interface SubstitutableQuery {
  /** Narinfos found for the paths asked for and for their missing references. */
  found: Map<string, { info: NarInfo; cache: BinaryCache }>;
  /** Why a path cannot be substituted (a miss, a bad signature, a reference that cannot be). */
  why: Map<string, string>;
  /** Whether `p` (valid or not) can be had: valid, or found with every reference substitutable. */
  able: (p: string) => boolean;
  /** The paths judged so far and whether each can be had, references before their referrers. */
  ok: Map<string, boolean>;
}

/**
 * Steps 1 and 2 of substitution, which only read: the narinfos of `missing` and of their
 * missing references, and which of them can be substituted. `tempRoots: false` (a dry run)
 * roots nothing, so nothing in the database changes.
 */
export async function querySubstitutable(
  store: Store,
  missing: readonly string[],
  opts: SubstituteOptions & { tempRoots?: boolean },
  isValid: (p: string) => boolean = (p) => store.isValid(p),
): Promise<SubstitutableQuery> {
  const found = new Map<string, { info: NarInfo; cache: BinaryCache }>();
  const why = new Map<string, string>();
  const ok = new Map<string, boolean>();
  // Step 2 (below): what can be substituted: found, and every reference valid or substitutable.
  const able = (p: string, stack: Set<string>): boolean => {
    const known = ok.get(p);
    if (known !== undefined) return known;
    if (isValid(p)) return true;
    const f = found.get(p);
    if (!f) {
      ok.set(p, false);
      return false;
    }
    stack.add(p);
    for (const r of f.info.references) {
      if (r === p || stack.has(r)) continue;
      if (!able(r, stack)) {
        why.set(p, `its reference ${r} cannot be substituted: ${why.get(r)}`);
        ok.set(p, false);
        stack.delete(p);
        return false;
      }
    }
    stack.delete(p);
    ok.set(p, true);
    return true;
  };
  const query: SubstitutableQuery = { found, why, ok, able: (p) => able(p, new Set()) };
  if (missing.length === 0) return query;
  const warn = opts.onWarning ?? (() => {});
  const sources = await openSources(opts.substituters, store.storeDir, warn, opts.timeouts);
  if (sources.length === 0) {
    for (const p of missing) why.set(p, 'no usable binary cache');
    return query;
  }
  const requireSigs = opts.requireSigs ?? true;

  // 1. Narinfos of the missing paths and of their missing references, in parallel rounds.
  const lookup = async (p: string): Promise<void> => {
    const reasons: string[] = [];
    for (const s of sources) {
      if (s.down) {
        reasons.push(s.down);
        continue;
      }
      let text: Buffer | undefined;
      try {
        text = await s.cache.read(narInfoFile(p));
      } catch (e) {
        const msg = (e as Error).message;
        // A cache that does not answer in time (or at all) would cost the same wait for every path.
        if (/connectTimeout|stalledTimeout|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/.test(msg)) s.down = msg;
        reasons.push(msg);
        continue;
      }
      if (text === undefined) continue;
      let info: NarInfo;
      try {
        info = parseNarInfo(text.toString('utf8'), store.storeDir, `${s.cache.url}/${narInfoFile(p)}`);
      } catch (e) {
        reasons.push((e as Error).message);
        continue;
      }
      if (info.storePath !== p) {
        reasons.push(`${s.cache.url}/${narInfoFile(p)} describes ${info.storePath}, not ${p}`);
        continue;
      }
      if (!acceptable({ ...info, path: info.storePath }, info.sigs, opts.trusted, requireSigs)) {
        reasons.push(`${s.cache.url} has it, but ${untrustedReason(info.sigs, opts.trusted, store.layout.configFile)}`);
        continue;
      }
      found.set(p, { info, cache: s.cache });
      return;
    }
    why.set(p, reasons.length ? reasons.join('; ') : `not in any binary cache (${sources.map((s) => s.cache.url).join(', ')})`);
  };
  const seen = new Set<string>(missing);
  let round: readonly string[] = missing;
  while (round.length) {
    await mapLimit([...round], 16, lookup);
    const next: string[] = [];
    const refs = round.flatMap((p) => found.get(p)?.info.references ?? []).filter((r) => !seen.has(r));
    if (opts.tempRoots !== false) store.addTempRoots(refs);
    for (const r of refs) {
      if (seen.has(r)) continue;
      seen.add(r);
      if (!store.isValid(r)) next.push(r);
    }
    round = next;
  }

  // 2. What can be substituted.
  for (const p of missing) able(p, new Set());
  return query;
}

export async function substitutePaths(store: Store, wanted: readonly string[], opts: SubstituteOptions): Promise<SubstituteResult> {
  const result: SubstituteResult = { substituted: [], failed: new Map(), bytes: 0 };
  store.addTempRoots(wanted);
  const repairing = new Set(opts.repair ? wanted : []);
  const isValid = (p: string) => !repairing.has(p) && store.isValid(p);
  const missing = wanted.filter((p) => !isValid(p));
  if (missing.length === 0) return result;
  const { found, why, ok } = await querySubstitutable(store, missing, opts, isValid);
  const requireSigs = opts.requireSigs ?? true;
  const todo = [...ok].filter(([p, v]) => v && found.has(p) && !isValid(p)).map(([p]) => p);

  // 3. Download and restore (several at once); register each once its references are valid.
  const totalBytes = todo.reduce((n, p) => n + found.get(p)!.info.fileSize, 0);
  const progress: SubstituteProgress = { donePaths: 0, totalPaths: todo.length, doneBytes: 0, totalBytes };
  const report = () => opts.onProgress?.(progress);
  report();
  const done = new Map<string, Promise<boolean>>();
  let slots = Math.max(1, opts.jobs ?? Math.min(8, os.availableParallelism() * 2));
  const waiters: Array<() => void> = [];
  const acquire = async () => {
    while (slots === 0) await new Promise<void>((r) => waiters.push(r));
    slots--;
  };
  const release = () => {
    slots++;
    waiters.shift()?.();
  };
  const fetchOne = async (p: string): Promise<boolean> => {
    const { info, cache } = found.get(p)!;
    const temp = store.tempPath('subst');
    let restored = false;
    await acquire();
    try {
      const largest = maxFileSize(info.narSize, info.compression);
      if (info.fileSize > largest) throw new Error(`its narinfo in ${cache.url} gives FileSize ${info.fileSize}, more than a ${info.compression} archive of NarSize ${info.narSize} can be (${largest})`);
      const stream = await cache.open(info.url);
      if (!stream) throw new Error(`its archive ${info.url} is missing from ${cache.url}`);
      const file = new HashSink();
      // Cut the download one byte past what the narinfo says: the FileSize (compressed), and
      // the signed NarSize (decompressed, so that a compression bomb stops early).
      const tooBig = (what: string, n: number) => () => new Error(`${cache.url}/${info.url} is larger than its narinfo's ${what} of ${n} bytes`);
      const stages: Transform[] = [byteLimit(info.fileSize, tooBig('FileSize', info.fileSize)), hashTap(file, (n) => ((progress.doneBytes += n), report()))];
      const z = decompressor(info.compression);
      if (z) stages.push(z);
      stages.push(byteLimit(info.narSize, tooBig('signed NarSize', info.narSize)));
      const out = new PassThrough({ highWaterMark: 1 << 20 });
      const feeding = pipeline(stream, ...(stages as [Transform]), out);
      let got;
      try {
        got = await restoreArchive(out, temp);
      } catch (e) {
        stream.destroy();
        // The download's own error (a timeout, a size limit) says more than the restore's.
        const fed = await feeding.then(() => undefined, (f: Error) => f);
        throw fed && !(fed as NodeJS.ErrnoException).code?.startsWith('ERR_STREAM_PREMATURE') ? fed : e;
      }
      await feeding;
      restored = true;
      result.bytes += file.size;
      if (file.size !== info.fileSize || toSRI(file.digest()) !== info.fileHash) throw new Error(`its archive ${info.url} in ${cache.url} does not have the FileHash/FileSize of its narinfo (corrupt download)`);
      if (got.narHash !== info.narHash || got.narSize !== info.narSize) {
        throw new Error(`hash mismatch in ${cache.url}/${info.url}: wanted ${info.narHash} (${info.narSize} bytes), got ${got.narHash} (${got.narSize} bytes)`);
      }
      if (info.ca) {
        const bad = checkContentAddress({ path: p, narHash: info.narHash, references: info.references, ca: info.ca }, store.storeDir, temp);
        if (bad && !vouchedFor({ ...info, path: info.storePath }, info.sigs, opts.trusted, requireSigs)) throw new Error(bad);
      }
    } catch (e) {
      removeTree(temp);
      const msg = e instanceof StoreError ? e.message : (e as Error).message;
      why.set(p, restored ? msg : `downloading it from ${cache.url} failed: ${msg}`);
      return false;
    } finally {
      release();
    }
    // References first (outside the download slot).
    for (const r of info.references) {
      if (r === p || store.isValid(r)) continue;
      const dep = done.get(r);
      if (!dep || !(await dep)) {
        removeTree(temp);
        why.set(p, `its reference ${r} could not be substituted: ${why.get(r)}`);
        return false;
      }
    }
    try {
      if (repairing.has(p) && store.isValid(p)) store.replaceValidPath(temp, p, info.narHash);
      else store.commitPath(temp, { path: p, narHash: info.narHash, narSize: info.narSize, references: info.references, deriver: info.deriver, ca: info.ca, sigs: info.sigs, ultimate: false });
    } catch (e) {
      why.set(p, `registering it failed: ${(e as Error).message}`);
      return false;
    }
    progress.donePaths++;
    report();
    result.substituted.push(p);
    return true;
  };
  for (const p of todo) done.set(p, fetchOne(p));
  await Promise.all(done.values());
  const got = new Set(result.substituted);
  for (const p of missing) if (!got.has(p) && !store.isValid(p) || (repairing.has(p) && !got.has(p))) result.failed.set(p, why.get(p) ?? 'not substituted');
  return result;
}
