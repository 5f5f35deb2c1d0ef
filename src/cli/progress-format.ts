/**
 * What a progress line says: counts (done/total), bytes in binary units, the rate and an
 * estimate of the time left. Pure functions and a small rate estimator; the terminal is
 * progress-tty.ts's business.
 */
import { formatBytes } from '../gc/format.js';

export interface ActivityState {
  /** Items done (paths, builds, downloads) and how many in all, when known. */
  done: number;
  total?: number;
  /** What the items are, plural ("paths"). */
  unit: string;
  bytes?: number;
  totalBytes?: number;
  /** Items under way now (builds holding a build slot, downloads), and some of their names. */
  running?: number;
  names?: readonly string[];
}

/** Bytes (or items) per second over the last few seconds of samples. */
export class RateMeter {
  private samples: Array<[number, number]> = [];
  constructor(private readonly windowMs = 5000) {}

  sample(value: number, now = Date.now()): void {
    const last = this.samples[this.samples.length - 1];
    if (last && last[1] === value && now - last[0] < this.windowMs / 2) return;
    this.samples.push([now, value]);
    while (this.samples.length > 2 && now - this.samples[1][0] > this.windowMs) this.samples.shift();
  }

  /** Per second, or undefined until there are samples far enough apart. */
  perSecond(now = Date.now()): number | undefined {
    if (this.samples.length < 2) return undefined;
    const [t0, v0] = this.samples[0];
    const [t1, v1] = this.samples[this.samples.length - 1];
    // Nothing new for a while: the rate has fallen, whatever the window says.
    const span = Math.max(t1, now) - t0;
    if (span < 200) return undefined;
    return Math.max(0, (v1 - v0) / (span / 1000));
  }
}

/** 0:07, 12:34, 1:02:03. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Seconds left: from the byte rate when there are bytes to go, else from the item rate; undefined when unknown. */
export function estimate(st: ActivityState, byteRate: number | undefined, itemRate: number | undefined): number | undefined {
  if (st.totalBytes !== undefined && st.bytes !== undefined && byteRate) return (st.totalBytes - st.bytes) / byteRate;
  if (st.total !== undefined && itemRate) return (st.total - st.done) / itemRate;
  if (st.total !== undefined && st.done >= st.total) return 0;
  return undefined;
}

const STYLE = { label: '\x1b[1;34m', rate: '\x1b[32m', off: '\x1b[0m' };

/**
 * One line: `label  done/total unit[, N running: names]  bytes/total  rate/s  ETA m:ss`.
 * `color`: escape codes for the label and rate (never with NO_COLOR); `width`: the line is cut
 * to it (the terminal's columns).
 */
export function formatLine(label: string, st: ActivityState, byteRate: number | undefined, eta: number | undefined, opts: { color?: boolean; width?: number } = {}): string {
  const parts: string[] = [];
  let counts = `${st.done}${st.total !== undefined ? `/${st.total}` : ''} ${st.unit}`;
  if (st.running !== undefined) {
    counts += `, ${st.running} running`;
    if (st.names?.length) counts += `: ${st.names.slice(0, 3).join(', ')}${st.names.length > 3 ? `, +${st.names.length - 3}` : ''}`;
  }
  parts.push(counts);
  if (st.bytes !== undefined) parts.push(st.totalBytes !== undefined ? `${formatBytes(st.bytes)}/${formatBytes(st.totalBytes)}` : formatBytes(st.bytes));
  const rate = st.bytes !== undefined && byteRate !== undefined ? `${formatBytes(Math.round(byteRate))}/s` : undefined;
  if (rate) parts.push(rate);
  parts.push(`ETA ${eta === undefined || !Number.isFinite(eta) ? '-:--' : formatDuration(eta)}`);
  const head = `[${label}]`;
  let line = `${head} ${parts.join('  ')}`;
  // The width counts the colour codes too: the terminal library cuts lines to it as strings.
  const codes = STYLE.label.length + STYLE.off.length + (rate ? STYLE.rate.length + STYLE.off.length : 0);
  const room = opts.width && opts.width > 10 ? opts.width - 1 - (opts.color ? codes : 0) : Infinity;
  if (line.length > room) line = line.slice(0, room - 1) + '…';
  if (!opts.color) return line;
  line = line.replace(head, `${STYLE.label}${head}${STYLE.off}`);
  return rate && line.includes(`  ${rate}  `) ? line.replace(`  ${rate}  `, `  ${STYLE.rate}${rate}${STYLE.off}  `) : line;
}
