/**
 * Recording what an evaluation reads, so that its result can be reused while those inputs are
 * unchanged (eval-cache.ts). While an expression runs, the file-system functions that read
 * (sync and promise forms), `process.env`, `process.cwd()` and the `os` queries record each
 * call as (function, arguments, digest of the result); checking a record calls the same
 * function again and compares digests. What cannot be checked that way — reading through a
 * file descriptor or a stream, the callback API, a child process, the network, a worker, the
 * clock or randomness — makes the evaluation untracked, and an untracked evaluation is never
 * cached.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setInputRecorder, type RecordedRead } from '../expr/record.js';
import { digest, ENV_KEYS, envKeys, failure, FS_READS, type CheckedInputs } from './check-inputs.js';

export interface EvalInputs extends CheckedInputs {
  /** The first thing the evaluation did that no record can check, if any: it must not be cached. */
  untracked?: string;
}

/** hepstore's own compiled code and its dependencies: the build identity of an entry covers them. */
const OWN_CODE = [fileURLToPath(new URL('../', import.meta.url)), fileURLToPath(new URL('../../../node_modules/', import.meta.url))];

/** Promise forms of FS_READS, recorded as the sync form (same arguments, same result). */
const PROMISE_READS: Record<string, string> = { readFile: 'readFileSync', stat: 'statSync', lstat: 'lstatSync', readdir: 'readdirSync', realpath: 'realpathSync', readlink: 'readlinkSync', access: 'accessSync' };
/** Reads through descriptors, streams, watchers or callbacks: not checkable. */
const FS_UNTRACKED = ['readFile', 'stat', 'lstat', 'readdir', 'realpath', 'readlink', 'access', 'exists', 'open', 'opendir', 'opendirSync', 'createReadStream', 'watch', 'watchFile', 'statfs', 'statfsSync', 'cp', 'cpSync'];
const PROMISE_UNTRACKED = ['open', 'opendir', 'watch', 'statfs', 'cp'];
const OS_READS = ['hostname', 'homedir', 'tmpdir', 'userInfo', 'release', 'type', 'version', 'machine', 'platform', 'arch', 'endianness', 'availableParallelism'];
const OS_UNTRACKED = ['cpus', 'totalmem', 'freemem', 'loadavg', 'uptime', 'networkInterfaces', 'getPriority'];
/** Built-in modules that reach processes, the network or other threads. */
const ESCAPES: Record<string, string[]> = {
  child_process: ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'],
  net: ['connect', 'createConnection'],
  http: ['request', 'get'],
  https: ['request', 'get'],
  http2: ['connect'],
  dns: ['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveTxt', 'resolveSrv', 'reverse'],
  dgram: ['createSocket'],
  tls: ['connect'],
  worker_threads: ['Worker'],
  cluster: ['fork'],
};

function plain(x: unknown): boolean {
  if (x === null || x === undefined) return true;
  const t = typeof x;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  if (t !== 'object' || Array.isArray(x) || Object.getPrototypeOf(x) !== Object.prototype) return false;
  return Object.values(x as object).every((v) => v === undefined || v === null || ['string', 'number', 'boolean'].includes(typeof v));
}

function readsForOpen(flags: unknown): boolean {
  if (flags === undefined || flags === null) return true;
  if (typeof flags === 'number') return (flags & 3) !== fs.constants.O_WRONLY;
  return /[r+]/.test(String(flags));
}

type AnyFn = (...a: unknown[]) => unknown;

/**
 * Record what runs until the returned `stop()`: every read above, while the API's own
 * bookkeeping (expr/record.ts `unrecorded`) and reads of the files in `ignore` are left out.
 */
export function startRecording(ignore: readonly string[] = []): { stop(): EvalInputs } {
  const reads: RecordedRead[] = [];
  const seen = new Set<string>();
  const env: Record<string, string | null> = {};
  let untracked: string | undefined;
  let paused = 0;
  const restores: Array<() => void> = [];
  const active = () => paused === 0;
  const markUntracked = (what: string) => {
    if (active()) untracked ??= what;
  };
  const note = (r: RecordedRead) => {
    if (!active()) return;
    const p = r.args[0];
    if (typeof p === 'string' && (OWN_CODE.some((d) => p.startsWith(d)) || ignore.includes(p))) return;
    const key = JSON.stringify([r.fn, r.args]);
    if (seen.has(key)) return;
    seen.add(key);
    reads.push(r);
  };
  /** The arguments as a record keeps them (the path made absolute), or undefined if they cannot be. */
  const recordable = (args: unknown[]): unknown[] | undefined => {
    let [p, ...rest] = args;
    if (p instanceof URL) p = p.protocol === 'file:' ? fileURLToPath(p) : undefined;
    else if (Buffer.isBuffer(p)) p = p.toString('utf8');
    if (typeof p !== 'string') return undefined;
    if (!path.isAbsolute(p)) note({ fn: 'cwd', args: [], value: digest('cwd', process.cwd()) });
    while (rest.length && rest[rest.length - 1] === undefined) rest.pop();
    if (!rest.every(plain)) return undefined;
    return [path.resolve(p), ...rest];
  };
  const patch = <T extends object>(obj: T, name: string, make: (real: AnyFn) => AnyFn) => {
    const o = obj as Record<string, unknown>;
    const d = Object.getOwnPropertyDescriptor(obj, name);
    // Only plain writable functions (crypto.getRandomValues is a getter, say: left alone).
    if (!d || !d.writable || typeof d.value !== 'function') return;
    const real = d.value as AnyFn;
    const wrapped = make(real);
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(real));
    o[name] = wrapped;
    restores.push(() => {
      o[name] = real;
    });
  };
  const untrackedCall = (what: string) => (real: AnyFn) =>
    function (this: unknown, ...args: unknown[]) {
      markUntracked(what);
      return real.apply(this, args);
    };

  for (const name of FS_READS) {
    patch(fs, name, (real) =>
      function (this: unknown, ...args: unknown[]) {
        if (!active()) return real.apply(this, args);
        const rec = recordable(args);
        if (!rec) {
          markUntracked(`fs.${name}`);
          return real.apply(this, args);
        }
        let result: unknown;
        try {
          result = real.apply(this, args);
        } catch (e) {
          note({ fn: name, args: rec, value: failure(e) });
          throw e;
        }
        note({ fn: name, args: rec, value: digest(name, result) });
        return result;
      },
    );
  }
  for (const [name, sync] of Object.entries(PROMISE_READS)) {
    patch(fs.promises, name, (real) =>
      function (this: unknown, ...args: unknown[]) {
        if (!active()) return real.apply(this, args);
        const rec = recordable(args);
        if (!rec) {
          markUntracked(`fs.promises.${name}`);
          return real.apply(this, args);
        }
        return (real.apply(this, args) as Promise<unknown>).then(
          (result) => {
            note({ fn: sync, args: rec, value: digest(sync, result) });
            return result;
          },
          (e) => {
            note({ fn: sync, args: rec, value: failure(e) });
            throw e;
          },
        );
      },
    );
  }
  for (const name of FS_UNTRACKED) patch(fs, name, untrackedCall(`fs.${name}`));
  for (const name of PROMISE_UNTRACKED) patch(fs.promises, name, untrackedCall(`fs.promises.${name}`));
  patch(fs, 'openSync', (real) =>
    function (this: unknown, ...args: unknown[]) {
      if (readsForOpen(args[1])) markUntracked('fs.openSync');
      return real.apply(this, args);
    },
  );
  for (const name of OS_READS) {
    patch(os, name, (real) =>
      function (this: unknown, ...args: unknown[]) {
        const result = real.apply(this, args);
        if (active()) {
          if (args.every(plain)) note({ fn: `os.${name}`, args, value: digest(`os.${name}`, result) });
          else markUntracked(`os.${name}`);
        }
        return result;
      },
    );
  }
  for (const name of OS_UNTRACKED) patch(os, name, untrackedCall(`os.${name}`));
  patch(process, 'cwd', (real) =>
    function (this: unknown) {
      const result = real.call(this);
      note({ fn: 'cwd', args: [], value: digest('cwd', result) });
      return result;
    },
  );
  patch(Math, 'random', untrackedCall('Math.random'));
  patch(crypto, 'randomBytes', untrackedCall('crypto.randomBytes'));
  patch(crypto, 'randomUUID', untrackedCall('crypto.randomUUID'));
  patch(crypto, 'randomInt', untrackedCall('crypto.randomInt'));
  patch(crypto, 'getRandomValues', untrackedCall('crypto.getRandomValues'));
  patch(globalThis, 'fetch', untrackedCall('fetch'));

  // The clock: Date.now(), Date() and new Date() without arguments.
  const RealDate = Date;
  globalThis.Date = new Proxy(RealDate, {
    apply(target, self, args) {
      markUntracked('Date()');
      return Reflect.apply(target, self, args);
    },
    construct(target, args, newTarget) {
      if (args.length === 0) markUntracked('new Date()');
      return Reflect.construct(target, args, newTarget === globalThis.Date ? target : newTarget);
    },
    get(target, key, receiver) {
      if (key === 'now') {
        return () => {
          markUntracked('Date.now()');
          return target.now();
        };
      }
      return Reflect.get(target, key, receiver);
    },
  });
  restores.push(() => {
    globalThis.Date = RealDate;
  });

  // Processes, network, threads: a module of these that is loaded is wrapped; one that the
  // expression loads (and so may use through bindings taken at import) makes it untracked.
  const loadedBefore = new Set((process as unknown as { moduleLoadList: string[] }).moduleLoadList);
  const exempt = new Set<string>();
  const require = createRequire(import.meta.url);
  const wrapEscapes = (only?: Set<string>) => {
    for (const [mod, fns] of Object.entries(ESCAPES)) {
      const entry = `NativeModule ${mod}`;
      if (only ? !only.has(entry) : !loadedBefore.has(entry)) continue;
      const m = require(`node:${mod}`) as Record<string, unknown>;
      for (const fn of fns) patch(m, fn, untrackedCall(`${mod}.${fn}`));
    }
  };
  wrapEscapes();

  // Environment variables: every name read, with its value.
  const realEnv = process.env;
  process.env = new Proxy(realEnv, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r);
      if (typeof k === 'string' && active() && !(k in env)) env[k] = typeof v === 'string' ? v : null;
      return v;
    },
    has(t, k) {
      const v = Reflect.has(t, k);
      if (typeof k === 'string' && active() && !(k in env)) env[k] = (Reflect.get(t, k) as string | undefined) ?? null;
      return v;
    },
    getOwnPropertyDescriptor(t, k) {
      if (typeof k === 'string' && active() && !(k in env)) env[k] = (Reflect.get(t, k) as string | undefined) ?? null;
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
    ownKeys(t) {
      if (active()) env[ENV_KEYS] = envKeys(t);
      return Reflect.ownKeys(t);
    },
  });
  restores.push(() => {
    process.env = realEnv;
  });
  syncBuiltinESMExports();

  setInputRecorder({
    note,
    unrecorded<T>(fn: () => T): T {
      const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
      const n = list.length;
      paused++;
      try {
        return fn();
      } finally {
        paused--;
        // Modules the API loaded for itself (child_process, to probe a host tool) are wrapped
        // from now on: an expression that uses them later is still seen.
        const fresh = new Set(list.slice(n).filter((e) => !loadedBefore.has(e)));
        for (const e of fresh) exempt.add(e);
        if (fresh.size) {
          wrapEscapes(fresh);
          syncBuiltinESMExports();
        }
      }
    },
  });

  return {
    stop(): EvalInputs {
      setInputRecorder(undefined);
      for (const r of restores.reverse()) r();
      syncBuiltinESMExports();
      const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
      for (const e of list) {
        const mod = e.startsWith('NativeModule ') ? e.slice('NativeModule '.length) : undefined;
        if (mod && mod in ESCAPES && !loadedBefore.has(e) && !exempt.has(e)) untracked ??= `the module node:${mod}`;
      }
      return { reads, env, ...(untracked ? { untracked } : {}) };
    },
  };
}
