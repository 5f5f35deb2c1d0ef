export { listTree, entryPath, type TreeEntry, type EntryType } from './walk.js';
export { canonicaliseTree, removeTree, makeWritable, pathExists, STORE_MTIME } from './canonical.js';
export { packPath, hashPath, dumpPath, type NarInfo, type DumpOptions } from './dump.js';
export { restoreArchive } from './restore.js';
