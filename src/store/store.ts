/**
 * The Store interface (as Nix's Store): every operation the rest of hepstore uses on a store
 * — path info and closures, adding and committing paths, registration, temporary roots,
 * locks, the reference graph for the collector, releases, derivers (build logs). LocalStore
 * (src/store/local-store.ts) implements it with a SQLite database and the file system; the
 * database is private to src/store/ (test/store/layering.test.ts).
 */
import type { StoreLayout } from './root.js';
import type { ParsedStorePath } from './path.js';
import type { PathLocks } from './locks.js';
import type { ReferenceSnapshot } from './gc-snapshot.js';
import type { LockRow, RefRow, TempRootBatch } from './gc-rows.js';
import type { Release, ReleaseOutput, ReleaseRootRow } from './releases-db.js';

export type { ReferenceSnapshot, PathRows } from './gc-snapshot.js';
export type { LockRow, RefRow, TempRootBatch } from './gc-rows.js';
export type { Release, ReleaseOutput, ReleaseRootRow } from './releases-db.js';

export interface PathInfo {
  path: string;
  narHash: string;
  narSize: number;
  registrationTime: number;
  deriver?: string;
  ca?: string;
  sigs: string[];
  ultimate: boolean;
  references: string[];
}

export type NewPathInfo = Omit<PathInfo, 'registrationTime' | 'sigs' | 'ultimate'> & Partial<Pick<PathInfo, 'sigs' | 'ultimate'>> & {
  /** Output name → path, when registering a .drv. */
  derivationOutputs?: Record<string, string>;
};

export interface VerifyReport {
  checked: number;
  missing: string[];
  modified: Array<{ path: string; expected: string; actual: string; expectedSize: number; actualSize: number }>;
  /** Paths whose contents could not be read back as an archive, and why (only when there are any). */
  unreadable?: Array<{ path: string; error: string }>;
}

export interface Store {
  readonly layout: StoreLayout;
  readonly storeDir: string;
  /** The database could not be opened for writing (a read-only file system or permissions). */
  readonly readOnly: boolean;
  /** Where `store verify --recover` moved a database file that could not be read. */
  readonly movedAside?: string;
  close(): void;

  // The database's trust in itself (Invariant 6).
  storeObjects(): string[];
  databaseLoss(): string | undefined;
  assertDatabaseIntact(action: string): void;
  registerRecovered(infos: readonly NewPathInfo[]): void;

  // Queries.
  parse(p: string): ParsedStorePath;
  isValid(p: string): boolean;
  validPaths(paths: readonly string[]): Set<string>;
  allValid(paths: readonly string[]): boolean;
  allValidWithDerivers(paths: readonly string[]): boolean;
  queryPathInfo(p: string): PathInfo | undefined;
  pathInfo(p: string): PathInfo;
  queryReferrers(p: string): string[];
  queryValidDerivers(p: string): string[];
  allValidPaths(): string[];
  queryClosure(paths: readonly string[]): string[];
  topoSortClosure(paths: readonly string[]): string[];

  // Adding and registering paths (Invariant 1).
  tempPath(label: string): string;
  registerValidPaths(infos: readonly NewPathInfo[]): void;
  commitPath(temp: string, info: NewPathInfo): void;
  commitPaths(items: ReadonlyArray<{ temp: string; info: NewPathInfo }>): void;
  removeUnregistered(paths: readonly string[]): void;
  replaceValidPath(temp: string, p: string, narHash: string): void;
  markUltimate(paths: readonly string[]): void;
  setSignatures(p: string, sigs: readonly string[]): void;
  addToStore(src: string, name?: string): Promise<string>;
  addTextToStore(name: string, text: string, references: readonly string[]): Promise<string>;

  // Temporary roots and locks.
  addTempRoots(paths: Iterable<string>): void;
  releaseTempRoots(): void;
  pathLocks(): PathLocks;
  withWriteLock<T>(fn: () => T): T;

  // What the collector reads and deletes (src/gc).
  readSnapshot<T>(fn: (snap: ReferenceSnapshot) => T): T;
  tempRootBatches(): TempRootBatch[];
  pathLockRows(paths?: readonly string[]): LockRow[];
  referrersOfRows(ids: readonly number[]): RefRow[];
  invalidateRows(ids: readonly number[]): void;
  removeDeadProcessRows(locks: readonly LockRow[], owners: ReadonlyArray<{ pid: number; start: string }>): { locks: number; owners: boolean[] };

  // Releases.
  listReleases(): Release[];
  releaseRootRows(): ReleaseRootRow[];
  addRelease(name: string, outputs: readonly ReleaseOutput[], source?: string): { created: boolean };
  deprecateRelease(name: string): boolean;
  removeRelease(name: string): boolean;

  // Verification.
  verify(opts?: { checkContents?: boolean; paths?: readonly string[]; onProgress?: (done: number, total: number, bytes: number) => void }): Promise<VerifyReport>;
  strayTemporaries(): string[];
}
