/**
 * The terminal side of progress.ts: one line per activity, redrawn in place by cli-progress
 * (its MultiBar keeps the lines at the bottom, prints messages above them and clears them at
 * the end). Loaded only when stderr is a terminal and progress is on.
 */
import cliProgress from 'cli-progress';
import type { Renderer } from './progress.js';
import { estimate, formatLine, RateMeter, type ActivityState } from './progress-format.js';

/** Redraws a second at most this often: the library's timer, and a forced redraw when a synchronous loop starves it. */
const FPS = 10;
const FORCED_REDRAW_MS = 250;

interface Line {
  label: string;
  state: ActivityState;
  bytes: RateMeter;
  items: RateMeter;
  bar: cliProgress.SingleBar;
}

export function ttyRenderer(stream: NodeJS.WriteStream, opts: { color: boolean }): Renderer {
  const render = (l: Line) => {
    const byteRate = l.state.bytes !== undefined ? l.bytes.perSecond() : undefined;
    return formatLine(l.label, l.state, byteRate, estimate(l.state, byteRate, l.items.perSecond()), { color: opts.color, width: stream.columns || 100 });
  };
  const multi = new cliProgress.MultiBar({
    stream,
    fps: FPS,
    clearOnComplete: true,
    hideCursor: false,
    linewrap: false,
    gracefulExit: true,
    format: (_options, _params, payload: { line: Line }) => render(payload.line),
  });
  let lastDraw = Date.now();
  multi.on('redraw-post', () => (lastDraw = Date.now()));
  const redraw = () => multi.update();
  const lines = new Set<Line>();
  let stopped = false;
  return {
    add(label, state) {
      const l: Line = { label, state, bytes: new RateMeter(), items: new RateMeter(), bar: undefined as unknown as cliProgress.SingleBar };
      l.bar = multi.create(1, 0, { line: l });
      lines.add(l);
      return {
        changed() {
          if (l.state.bytes !== undefined) l.bytes.sample(l.state.bytes);
          l.items.sample(l.state.done);
          // The library redraws on a timer; a loop that does not yield would starve it.
          if (Date.now() - lastDraw >= FORCED_REDRAW_MS) redraw();
        },
        remove() {
          if (!lines.delete(l) || stopped) return;
          multi.remove(l.bar);
        },
      };
    },
    message(line) {
      if (stopped || lines.size === 0) {
        stream.write(line + '\n');
        return;
      }
      multi.log(line + '\n');
      redraw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
  };
}
