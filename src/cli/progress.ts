/** A one-line progress display on a terminal (built/total, running builds, elapsed); silent otherwise. */
import type { RealizeEvent } from '../build/realize.js';

export function progressReporter(stream: NodeJS.WriteStream, enabled: boolean): { onEvent: (e: RealizeEvent) => void; close: () => void } {
  const t0 = Date.now();
  let total = 0;
  let done = 0;
  const running = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const draw = () => {
    if (!enabled) return;
    const names = [...running].slice(0, 3).join(', ') + (running.size > 3 ? `, +${running.size - 3}` : '');
    const line = `[${done}/${total} built, ${running.size} running, ${((Date.now() - t0) / 1000).toFixed(1)}s] ${names}`;
    const cols = stream.columns || 100;
    const out = line.length > cols - 1 ? line.slice(0, cols - 2) + '…' : line;
    if (out !== last) stream.write(`\r\x1b[K${out}`);
    last = out;
  };
  const clear = () => {
    if (enabled && last) stream.write('\r\x1b[K');
    last = '';
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'plan':
          total = e.toBuild;
          if (enabled && total > 0) timer = setInterval(draw, 100);
          break;
        case 'start':
          running.add(e.name);
          break;
        case 'done':
          running.delete(e.name);
          if (e.built) done++;
          break;
        case 'failed':
          running.delete(e.name);
          clear();
          break;
        case 'waiting':
          clear();
          stream.write(`waiting for another process (pid ${e.holder}) to finish building '${e.name}'\n`);
          break;
      }
      draw();
    },
    close() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}
