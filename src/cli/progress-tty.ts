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
  // The width cli-progress cuts lines to (its default when the stream does not say).
  const width = () => stream.columns || 80;
  const render = (l: Line) => {
    const byteRate = l.state.bytes !== undefined ? l.bytes.perSecond() : undefined;
    return formatLine(l.label, l.state, byteRate, estimate(l.state, byteRate, l.items.perSecond()), { color: opts.color, width: width() });
  };
  let lastDraw = Date.now();
  // One MultiBar while any line is shown; stopped (its lines cleared) when the last one goes,
  // so that nothing is left running, or drawn, between activities.
  let multi: cliProgress.MultiBar | undefined;
  const open = () => {
    if (multi) return multi;
    multi = new cliProgress.MultiBar({
      stream,
      fps: FPS,
      clearOnComplete: true,
      // Nothing of the terminal's settings is changed (the cursor, line wrapping: lines are cut
      // to its width instead), so an interrupted command leaves the terminal as it was; and no
      // signal handler is installed, so ^C stops the command as it always did.
      hideCursor: false,
      linewrap: true,
      gracefulExit: false,
      format: (_options, _params, payload: { line: Line }) => render(payload.line),
    });
    multi.on('redraw-post', () => (lastDraw = Date.now()));
    return multi;
  };
  const lines = new Set<Line>();
  const close = () => {
    multi?.stop();
    multi = undefined;
  };
  let stopped = false;
  return {
    add(label, state) {
      const l: Line = { label, state, bytes: new RateMeter(), items: new RateMeter(), bar: undefined as unknown as cliProgress.SingleBar };
      const m = open();
      l.bar = m.create(1, 0, { line: l });
      lines.add(l);
      return {
        changed() {
          if (l.state.bytes !== undefined) l.bytes.sample(l.state.bytes);
          l.items.sample(l.state.done);
          // The library redraws on a timer; a loop that does not yield would starve it.
          if (multi && Date.now() - lastDraw >= FORCED_REDRAW_MS) multi.update();
        },
        remove() {
          if (!lines.delete(l) || !multi) return;
          if (lines.size === 0) close();
          else multi.remove(l.bar);
        },
      };
    },
    message(line) {
      if (!multi) {
        stream.write(line + '\n');
        return;
      }
      multi.log(line + '\n');
      multi.update();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      lines.clear();
      close();
    },
  };
}
