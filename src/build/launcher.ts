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
}

export interface RunSpec {
  cmd: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** Builder output (stdout and stderr) goes to this file, which is truncated first. */
  logFile: string;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHELL = '/bin/sh';

function spawnDirect(spec: RunSpec): Promise<RunResult> {
  return new Promise((resolve) => {
    const fd = fs.openSync(spec.logFile, 'w');
    const child = spawn(spec.cmd, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
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
    if (!Object.keys(spec.env).every((k) => IDENT.test(k)) || !fs.existsSync(SHELL)) return spawnDirect(spec);
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
