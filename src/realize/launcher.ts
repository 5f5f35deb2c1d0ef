/**
 * Starting builders cheaply. Forking the Node process costs milliseconds of main-thread time
 * per build; a long-lived /bin/sh that reads quoted commands on its stdin forks small and
 * reports each exit status on its stdout. Commands it cannot express (environment names that
 * are not shell identifiers) are spawned directly.
 */
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
  /** Stopped for running longer than `limits.timeoutMs`, or writing nothing for `limits.maxSilentMs`. */
  timedOut?: 'timeout' | 'silence';
}

export interface RunLimits {
  /** Milliseconds the command may run. */
  timeoutMs?: number;
  /** Milliseconds it may go without writing to its log. */
  maxSilentMs?: number;
}

export interface RunSpec {
  cmd: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** Builder output (stdout and stderr) goes to this file, which is truncated first. */
  logFile: string;
  /** Stop the command (and every process of its process group) past these. */
  limits?: RunLimits;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHELL = '/bin/sh';

function spawnDirect(spec: RunSpec): Promise<RunResult> {
  const limits = spec.limits && (spec.limits.timeoutMs || spec.limits.maxSilentMs) ? spec.limits : undefined;
  return new Promise((resolve) => {
    const fd = fs.openSync(spec.logFile, 'w');
    // With limits the command leads a process group of its own, so that stopping it stops
    // whatever it started too (a sandbox's bubblewrap takes its processes with it).
    const child = spawn(spec.cmd, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', fd, fd], detached: limits !== undefined });
    fs.closeSync(fd);
    let timedOut: RunResult['timedOut'];
    const stopWatching = limits ? watch(child, spec.logFile, limits, (why) => (timedOut ??= why)) : () => {};
    child.once('error', (error) => {
      stopWatching();
      resolve({ code: null, signal: null, error });
    });
    child.once('close', (code, signal) => {
      stopWatching();
      resolve(timedOut ? { code: null, signal, timedOut } : { code, signal });
    });
  });
}

/**
 * Poll the clock and the log's size; past a limit, kill the command's process group. The log
 * is the builder's only output, so its growing is what counts as not being silent.
 */
function watch(child: ChildProcess, logFile: string, limits: RunLimits, stopped: (why: 'timeout' | 'silence') => void): () => void {
  const start = Date.now();
  let lastOutput = start;
  let lastSize = 0;
  const step = Math.max(20, Math.min(250, ...[limits.timeoutMs, limits.maxSilentMs].filter((x): x is number => !!x).map((x) => x / 4)));
  const kill = (why: 'timeout' | 'silence') => {
    stopped(why);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const timer = setInterval(() => {
    const now = Date.now();
    let size = lastSize;
    try {
      size = fs.statSync(logFile).size;
    } catch {
      /* not there: nothing written */
    }
    if (size !== lastSize) {
      lastSize = size;
      lastOutput = now;
    }
    if (limits.timeoutMs && now - start >= limits.timeoutMs) kill('timeout');
    else if (limits.maxSilentMs && now - lastOutput >= limits.maxSilentMs) kill('silence');
  }, step);
  return () => clearInterval(timer);
}

export class Launcher {
  private sh?: ChildProcess;
  private readonly pending = new Map<number, (r: RunResult) => void>();
  private next = 0;
  private buffer = '';

  private shell(): ChildProcess {
    if (this.sh) return this.sh;
    const sh = spawn(SHELL, ['-s'], { env: {}, cwd: '/', stdio: ['pipe', 'pipe', 'ignore'] });
    sh.stdout!.setEncoding('utf8');
    sh.stdout!.on('data', (d: string) => {
      this.buffer += d;
      for (let i; (i = this.buffer.indexOf('\n')) >= 0; ) {
        const [kind, id, code] = this.buffer.slice(0, i).split(' ');
        this.buffer = this.buffer.slice(i + 1);
        if (kind !== 'E') continue;
        const n = Number(code);
        this.pending.get(Number(id))?.(n > 128 && n < 128 + 65 ? { code: null, signal: signalName(n - 128) } : { code: n, signal: null });
        this.pending.delete(Number(id));
      }
    });
    const fail = (error: Error) => {
      for (const r of this.pending.values()) r({ code: null, signal: null, error });
      this.pending.clear();
      this.sh = undefined;
    };
    sh.once('error', fail);
    sh.once('exit', () => fail(new Error('the build launcher exited')));
    sh.stdin!.on('error', () => {});
    this.sh = sh;
    return sh;
  }

  run(spec: RunSpec): Promise<RunResult> {
    // A command with limits is spawned directly: it must be stopped, process group and all.
    if (spec.limits?.timeoutMs || spec.limits?.maxSilentMs || !Object.keys(spec.env).every((k) => IDENT.test(k)) || !fs.existsSync(SHELL)) return spawnDirect(spec);
    if (!fs.existsSync(spec.cmd) && spec.cmd.includes('/')) {
      return Promise.resolve({ code: null, signal: null, error: Object.assign(new Error(`spawn ${spec.cmd} ENOENT`), { code: 'ENOENT' }) });
    }
    const id = this.next++;
    const exports = Object.entries(spec.env).map(([k, v]) => quote(`${k}=${v}`)).join(' ');
    // Exit code 127 from `cd` or `exec` means the builder could not be started.
    const line = `{ ( cd ${quote(spec.cwd)} || exit 127; export ${exports}; exec ${[spec.cmd, ...spec.args].map(quote).join(' ')} ) </dev/null >${quote(spec.logFile)} 2>&1; echo "E ${id} $?"; } &\n`;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.shell().stdin!.write(line);
    });
  }

  close(): void {
    this.sh?.stdin?.end();
    this.sh = undefined;
  }
}

const SIGNALS: Record<number, NodeJS.Signals> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };
function signalName(n: number): NodeJS.Signals {
  return SIGNALS[n] ?? 'SIGTERM';
}
