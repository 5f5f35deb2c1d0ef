/**
 * Following a build log while the builder writes it (`store realize -L`): the builder's output
 * goes straight to its log file, so the file is read from where it was last read, every
 * `intervalMs`, and each complete line is handed on; what is left at the end, once stopped.
 */
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export function followLog(file: string, onLine: (line: string) => void, intervalMs = 100): () => void {
  let pos = 0;
  let partial = '';
  const decoder = new StringDecoder('utf8');
  const read = () => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return; // not there yet
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < pos) pos = 0; // truncated: written anew
      while (pos < size) {
        const buf = Buffer.alloc(Math.min(size - pos, 1 << 16));
        const n = fs.readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        const lines = (partial + decoder.write(buf.subarray(0, n))).split('\n');
        partial = lines.pop()!;
        for (const l of lines) onLine(l);
      }
    } finally {
      fs.closeSync(fd);
    }
  };
  const timer = setInterval(read, intervalMs);
  return () => {
    clearInterval(timer);
    read();
    if (partial) onLine(partial);
    partial = '';
  };
}
