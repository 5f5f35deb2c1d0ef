/**
 * Space kept for the garbage collector (as Nix's gc-reserved-space): a file of real blocks,
 * `var/gc-reserve`, made when a store is opened. On a full disk every write fails, the
 * database's included, and the collector needs a few to take its lock and invalidate paths;
 * `store gc` deletes this file before it opens the database, and makes it again when done.
 */
import fs from 'node:fs';
import path from 'node:path';
import { nodeCrypto } from '../hash/crypto.js';
import { readStoreConfig } from './config.js';
import type { StoreLayout } from './root.js';

export const GC_RESERVE_FILE = 'gc-reserve';
export const DEFAULT_GC_RESERVE = 8 << 20;
const CHUNK = 1 << 20;

export function reservePath(layout: StoreLayout): string {
  return path.join(layout.varDir, GC_RESERVE_FILE);
}

/** The configured size (`gcReservedSpace` in etc/hepstore.json, bytes; 0 turns it off). */
export function reserveSize(layout: StoreLayout): number {
  let v: unknown;
  try {
    v = readStoreConfig(layout.configFile).gcReservedSpace;
  } catch {
    v = undefined; // a broken configuration is reported by the commands that read it
  }
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : DEFAULT_GC_RESERVE;
}

/**
 * Make the reserve file its full size if it is smaller. Never throws: on a full disk it keeps
 * what it could write. Written with data (not a sparse file, not zeros a file system could
 * compress away), at fixed offsets, so that processes doing it at once agree.
 */
export function ensureGcReserve(layout: StoreLayout, size = reserveSize(layout)): void {
  const file = reservePath(layout);
  try {
    if (fs.statSync(file).size >= size) return;
  } catch {
    if (size === 0) return;
  }
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o600);
    const have = fs.fstatSync(fd).size;
    const buf = nodeCrypto().randomBytes(CHUNK);
    for (let at = Math.floor(have / CHUNK) * CHUNK; at < size; at += CHUNK) fs.writeSync(fd, buf, 0, Math.min(CHUNK, size - at), at);
  } catch {
    /* a full disk (or read-only var/): keep what is there */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Delete the reserve, giving its space to the collector. Returns the bytes it held. */
export function releaseGcReserve(layout: StoreLayout): number {
  const file = reservePath(layout);
  try {
    const { size } = fs.statSync(file);
    fs.unlinkSync(file);
    return size;
  } catch {
    return 0;
  }
}
