/** A thread of restoreRanges (restore-pool.ts): restores the ranges it is sent, in order. */
import { parentPort } from 'node:worker_threads';
import { restoreArchiveFromFile } from './restore.js';
import { serialiseError, type RangeReply, type RangeToRestore } from './restore-pool.js';

const port = parentPort!;
port.on('message', (m: RangeToRestore & { id: number }) => {
  let reply: RangeReply;
  try {
    const r = restoreArchiveFromFile(m.file, m.start, m.length, m.dest);
    reply = { id: m.id, narHash: r.narHash, narSize: r.narSize, digest: r.digest };
  } catch (err) {
    reply = { id: m.id, error: serialiseError(err) };
  }
  port.postMessage(reply);
});
