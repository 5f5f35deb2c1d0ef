/**
 * The collector's global lock: a PathLocks row under a reserved key (not a store path), held
 * by a live process. A second `store gc` (or `store delete`) waits for the first; a lock
 * whose holder died is taken over.
 */
import type { Store } from '../store/store.js';
import { ensureGcReserve, releaseGcReserve } from '../store/reserve.js';

export const GC_LOCK_KEY = 'gc';

/**
 * Run `fn` holding the collector's lock. `freeing` (a collection that deletes): the space
 * reserved for the collector (var/gc-reserve) is released before the lock is taken — taking it
 * writes to the database, which a full disk refuses — and made again afterwards.
 */
export async function withGcLock<T>(store: Store, fn: () => Promise<T> | T, onWait?: (holder: number) => void, freeing = false): Promise<T> {
  if (!freeing) return lockedGc(store, fn, onWait);
  releaseGcReserve(store.layout);
  try {
    return await lockedGc(store, fn, onWait);
  } finally {
    ensureGcReserve(store.layout);
  }
}

async function lockedGc<T>(store: Store, fn: () => Promise<T> | T, onWait?: (holder: number) => void): Promise<T> {
  // A store opened read-only can delete nothing (a dry run only reads), and could not take it.
  if (store.readOnly) return fn();
  return store.pathLocks().withLock([GC_LOCK_KEY], fn, onWait);
}
