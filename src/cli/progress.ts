/**
 * Progress of long operations, for every command that has any. Three ways to show it:
 *  - a terminal (stderr is a TTY): a line per activity (counts, bytes, rate, ETA), redrawn in
 *    place by progress-tty.ts, which loads the terminal library only then;
 *  - `--json`: one JSON object per line on stderr for each event (see README, "Progress");
 *  - otherwise (a pipe, a file, or `--quiet`): nothing.
 * Messages (warnings, `-L` build output) are printed in every case, above the progress lines
 * on a terminal. Lower layers report through plain callbacks; only this module turns them
 * into output.
 */
import type { FlagSpec, Parsed } from './args.js';
import type { ActivityState } from './progress-format.js';

export type { ActivityState };

export const PROGRESS_FLAGS: FlagSpec = {
  quiet: { kind: 'boolean', description: 'show no progress (messages and results are still printed)' },
};

export interface Activity {
  update(s: Partial<ActivityState>): void;
  /** Done: the line goes (on a terminal); a last event with the final counts (--json). */
  end(): void;
}

export interface Progress {
  readonly mode: 'off' | 'tty' | 'json';
  /** An activity, `id` naming it in JSON events and `label` on the terminal. */
  activity(id: string, label: string, unit: string): Activity;
  /** A line for people (a warning, a line of build output): above the progress on a terminal. */
  message(line: string): void;
  /** A machine-readable event: written with --json, dropped otherwise. */
  event(name: string, fields: Record<string, unknown>): void;
  close(): void;
}

/** The terminal renderer (progress-tty.ts) implements this. */
export interface Renderer {
  add(label: string, state: ActivityState): { changed(): void; remove(): void };
  message(line: string): void;
  stop(): void;
}

export interface ProgressStreams {
  stderr: NodeJS.WriteStream;
}

/** Milliseconds between two JSON 'progress' events of one activity. */
const JSON_INTERVAL_MS = 250;

/**
 * The progress display for a command's flags: `--quiet` (nothing), `--json` (events on
 * stderr), else a terminal display when stderr is a TTY, else nothing.
 */
export async function openProgress(ctx: ProgressStreams, flags: Parsed['flags'], env: NodeJS.ProcessEnv = process.env): Promise<Progress> {
  const stderr = ctx.stderr;
  if (flags.quiet) return offProgress(stderr);
  if (flags.json) return jsonProgress(stderr);
  if (!stderr.isTTY || env.TERM === 'dumb') return offProgress(stderr);
  const { ttyRenderer } = await import('./progress-tty.js');
  const color = env.NO_COLOR === undefined || env.NO_COLOR === '' ? (stderr.hasColors?.() ?? false) : false;
  return ttyProgress(ttyRenderer(stderr, { color }));
}

function offProgress(stderr: NodeJS.WriteStream): Progress {
  return {
    mode: 'off',
    activity: () => ({ update() {}, end() {} }),
    message: (line) => stderr.write(line + '\n'),
    event() {},
    close() {},
  };
}

function jsonProgress(stderr: NodeJS.WriteStream): Progress {
  const write = (o: Record<string, unknown>) => stderr.write(JSON.stringify(o) + '\n');
  return {
    mode: 'json',
    activity(id, _label, unit) {
      const st: ActivityState = { done: 0, unit };
      let last = 0;
      let pending = false;
      const emit = (event: string) => {
        last = Date.now();
        pending = false;
        const { names: _n, ...rest } = st;
        write({ event, activity: id, ...rest });
      };
      return {
        update(s) {
          Object.assign(st, s);
          if (Date.now() - last >= JSON_INTERVAL_MS) emit('progress');
          else pending = true;
        },
        end() {
          if (pending) emit('progress');
          emit('end');
        },
      };
    },
    message: (line) => write({ event: 'message', text: line }),
    event: (name, fields) => write({ event: name, ...fields }),
    close() {},
  };
}

function ttyProgress(r: Renderer): Progress {
  return {
    mode: 'tty',
    activity(_id, label, unit) {
      const st: ActivityState = { done: 0, unit };
      let line: ReturnType<Renderer['add']> | undefined;
      return {
        update(s) {
          Object.assign(st, s);
          // Shown from the first update that has something to do.
          if (!line && (st.total === 0 && !st.running)) return;
          if (!line) line = r.add(label, st);
          line.changed();
        },
        end() {
          line?.remove();
          line = undefined;
        },
      };
    },
    message: (l) => r.message(l),
    event() {},
    close: () => r.stop(),
  };
}
