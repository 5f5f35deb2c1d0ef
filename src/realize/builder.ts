/**
 * Building one derivation: a fresh build directory, the clean environment, the builder run
 * (in the sandbox where there is one), then each output canonicalised, hashed and scanned for
 * references in one pass. The caller holds the output locks and registers the result.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { canonicaliseTree, pathExists, removeTree } from '../archive/canonical.js';
import { listTree } from '../archive/walk.js';
import { sha256 } from '../hash/sha256.js';
import { toSRI } from '../hash/sri.js';
import { isFixedOutput } from '../derivation/derivation.js';
import { BUILDENV, builtinFor, FETCHURL, UNPACK_DEB } from '../derivation/builtins.js';
import type { BuildNode } from '../derivation/graph.js';
import type { NewPathInfo } from '../store/local-store.js';
import { diskFullNote } from '../store/disk-full.js';
import { ownedName } from '../store/process.js';
import { hashAndScan } from './scan.js';
import { buildEnvironment, SANDBOX_BUILD_DIR } from './environment.js';
import { bwrapArgs, isHermetic, prepareScratch, scratchOutputs, type SandboxInit, type SandboxPath } from './sandbox.js';
import { fetchToFile, type Mirrors } from './fetch.js';
import type { Timeouts } from '../net/http.js';
import { linkEnvironment, parseEnvSpec } from './buildenv.js';
import { unpackDebs } from './unpack-deb.js';
import { followLog } from './follow-log.js';
import { Launcher, type RunLimits, type RunResult } from './launcher.js';
import type { Semaphore } from '../limit.js';
import { dependencyOrder, GraphCycle } from '../graph.js';

const LOG_TAIL_LINES = 25;

export interface BuilderSettings {
  storeDir: string;
  buildsDir: string;
  logDir: string;
  /**
   * bwrap binary and host paths, or undefined to build without a sandbox; `init` is
   * hepstore-sandbox-init where it works here (sandbox.ts).
   */
  sandbox?: {
    bwrap: string;
    /** Host paths (`sandboxPaths`, default /bin/sh): for builds that are not hermetic (isHermetic). */
    hostPaths: readonly SandboxPath[];
    /** Store files mapped by `sandboxPaths`, for every build, and the closure they need. */
    storePaths: readonly SandboxPath[];
    storeClosure: readonly string[];
    etcDir: string;
    init?: SandboxInit;
  };
  keepFailed: boolean;
  cores: number;
  launcher: Launcher;
  /** Bounds the builder processes running at once (-j); preparing and registering are not counted. */
  slots: Semaphore;
  /** Bounds the downloads running at once: they wait on the network, not on a core, so -j does not count them. */
  fetchSlots: Semaphore;
  /** Where mirror:// URLs of fetches point (the store's configuration). */
  mirrors?: Mirrors;
  /** Connect and stall timeouts of downloads (the store's configuration). */
  timeouts?: Timeouts;
  /** --timeout and --max-silent-time: a builder process past either is stopped (exit 101). */
  limits?: RunLimits;
}

export interface BuildTask {
  node: BuildNode;
  /** Store paths the build may see and refer to: the closure of its inputs. */
  inputClosure: readonly string[];
  /**
   * Rebuild beside the valid outputs and compare with them (narHash by path). The rebuilt
   * copies are discarded, except that once every output compares equal, those named in `keep`
   * are moved to the given temporary names (in the store, for `store verify --repair`).
   */
  check?: { expected: Record<string, string>; keep?: Record<string, string> };
  /** What the build is doing, for a progress display (none of it changes the build). */
  report?: BuildReport;
  /** Among builds waiting for a slot, higher goes first (the scheduler's longest chain first). */
  priority?: number;
}

export interface BuildReport {
  /** The build holds a slot from `held` true to false: a builder process (-j), or a download. */
  slot?: (held: boolean, kind: 'build' | 'fetch') => void;
  /** Bytes of a download so far, and its size when the server gives one. */
  download?: (bytes: number, total: number | undefined) => void;
  /** Each line of the build's output as it is written (`store realize -L`). */
  log?: (line: string) => void;
}

/** `fn` in a slot of `slots`, told to `report` (kind `kind`) while it holds it. */
function inSlot<T>(slots: Semaphore, task: BuildTask, kind: 'build' | 'fetch', fn: () => Promise<T>): Promise<T> {
  const { report, priority = 0 } = task;
  if (!report?.slot) return slots.with(fn, priority);
  return slots.with(async () => {
    report.slot!(true, kind);
    try {
      return await fn();
    } finally {
      report.slot!(false, kind);
    }
  }, priority);
}

export interface BuiltOutput extends NewPathInfo {
  /** Where the output is now (its final path, or a scratch copy when checking). */
  location: string;
}

export function logPath(logDir: string, drvPath: string): string {
  return path.join(logDir, `${path.basename(drvPath)}.log`);
}

function tail(file: string, n: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '').slice(-n).join('\n');
  } catch {
    return '';
  }
}


/**
 * A failed build's error. `space`: where the build wrote; if that file system is (nearly) full
 * now — before the failed build's files are removed — the message says so and the hint says
 * what to free (a builder reports a full disk only in its log).
 */
function failure(node: BuildNode, why: string, log: string, opts: { keptDir?: string; hint?: string; space?: { dir: string; storeDir: string } } = {}): StoreError {
  const { keptDir } = opts;
  const lines = tail(log, LOG_TAIL_LINES);
  const where = node.location ? ` (defined at ${node.location})` : '';
  const msg = [`builder for '${node.drvPath}'${where} ${why}`];
  if (lines) msg.push(`last ${LOG_TAIL_LINES} log lines:`, ...lines.split('\n').map((l) => `  > ${l}`));
  msg.push(`full log: ${log}`);
  if (keptDir) msg.push(`note: keeping build directory '${keptDir}'`);
  const full = opts.space && diskFullNote(opts.space.dir, path.dirname(opts.space.storeDir));
  if (full) msg.push(full.note);
  return new StoreError('BUILD_FAILED', msg.join('\n'), { hint: full?.hint ?? opts.hint ?? (keptDir ? undefined : 'rerun with --keep-failed to keep the build directory') });
}

export async function runBuild(task: BuildTask, s: BuilderSettings): Promise<BuiltOutput[]> {
  const { node } = task;
  const { drv } = node;
  // Builtins are dispatched through the registry, which refuses one made for another version.
  const builtin = builtinFor(drv, `derivation '${node.drvPath}'${node.location ? ` (defined at ${node.location})` : ''}`);
  // Asynchronous file-system calls run on libuv's threads, leaving this one to schedule.
  // Named after this process, so that `store gc` can tell a killed build's directory; one kept
  // by --keep-failed is renamed to `kept` (which gc leaves alone) when the build has failed.
  const top = await fs.promises.mkdtemp(path.join(s.buildsDir, ownedName(drv.name)));
  const kept = s.keepFailed ? path.join(s.buildsDir, `${drv.name}-kept-${path.basename(top).slice(path.basename(top).lastIndexOf('.') + 1)}`) : undefined;
  // A check keeps its own log: the log of the build that made the valid outputs stays.
  const log = task.check ? logPath(s.logDir, node.drvPath).replace(/\.log$/, '.check.log') : logPath(s.logDir, node.drvPath);
  const sandboxed = s.sandbox !== undefined && builtin !== FETCHURL;
  // Where each output is written: its final path, or the scratch store (sandbox, or checking).
  const useScratch = sandboxed || task.check !== undefined;
  const buildDir = useScratch ? path.join(top, 'build') : top;
  const scratch = path.join(top, 'store');
  const init = sandboxed ? s.sandbox!.init : undefined;
  // What the build can see of the store: its input closure, and what sandboxPaths maps.
  const extra = sandboxed ? s.sandbox!.storeClosure : [];
  const visible = extra.length ? [...new Set([...task.inputClosure, ...extra])].sort() : task.inputClosure;
  if (useScratch) await Promise.all([fs.promises.mkdir(buildDir, { mode: 0o700 }), fs.promises.mkdir(scratch)]);
  else await fs.promises.chmod(top, 0o700);
  if (init) prepareScratch(scratch, visible);
  const outputsDir = scratchOutputs(scratch, init !== undefined);
  // Builtins that run no program write only to the scratch store: they can be checked without the sandbox.
  if (task.check !== undefined && !sandboxed && builtin !== FETCHURL && builtin !== UNPACK_DEB) {
    await removeBuildDir(top);
    throw new StoreError('USAGE', `cannot rebuild '${node.drvPath}' beside its valid outputs without the sandbox: the build would write over them`, {
      hint: 'install bubblewrap (Debian package bubblewrap) and do not pass --no-sandbox',
    });
  }
  const written = (p: string) => (useScratch ? path.join(outputsDir, path.basename(p)) : p);
  const space = { dir: top, storeDir: s.storeDir };
  const outputs = Object.entries(drv.outputs);
  if (!task.check) for (const [, o] of outputs) if (pathExists(o.path)) removeTree(o.path); // stale, unregistered leftovers
  let ok = false;
  const report = task.report;
  // A line for the log file, and for -L.
  const say = (l: string) => {
    fs.appendFileSync(log, l + '\n');
    report?.log?.(l);
  };
  try {
    if (builtin === FETCHURL) {
      const target = written(outputs[0][1].path);
      fs.writeFileSync(log, '');
      try {
        const urls = drv.env.urls !== undefined ? drv.env.urls.split(' ').filter(Boolean) : drv.env.url;
        await inSlot(s.fetchSlots, task, 'fetch', () => fetchToFile(urls, target, { log: say, mirrors: s.mirrors, timeouts: s.timeouts, hint: drv.env.hint || undefined, onBytes: report?.download }));
        if (drv.env.executable === '1') fs.chmodSync(target, 0o755);
      } catch (e) {
        fs.appendFileSync(log, `${(e as Error).message}\n`);
        throw failure(node, 'failed to fetch', log, { hint: (e as StoreError).hint, space });
      }
    } else if (builtin === UNPACK_DEB) {
      fs.writeFileSync(log, '');
      try {
        if (outputs.length !== 1 || !drv.outputs.out) throw new StoreError('BUILD_FAILED', `${UNPACK_DEB.builder} makes exactly one output, 'out'`);
        const debs = visibleStorePaths(drv.env.debs, task.inputClosure, s.storeDir, UNPACK_DEB.builder);
        await inSlot(s.slots, task, 'build', () => unpackDebs(debs, written(drv.outputs.out.path), { log: say }));
      } catch (e) {
        fs.appendFileSync(log, `${(e as Error).message}\n${(e as StoreError).hint ? `hint: ${(e as StoreError).hint}\n` : ''}`);
        throw failure(node, 'could not unpack its packages', log);
      }
    } else {
      let command = [drv.builder, ...drv.args];
      // builtin:buildenv links the environment here, then runs its args (if any) as the builder.
      let runLog = log;
      if (builtin === BUILDENV) {
        fs.writeFileSync(log, '');
        try {
          if (outputs.length !== 1 || !drv.outputs.out) throw new StoreError('BUILD_FAILED', `${BUILDENV.builder} makes exactly one output, 'out'`);
          const spec = parseEnvSpec(drv.env.__buildEnv);
          await inSlot(s.slots, task, 'build', async () => linkEnvironment(spec, written(drv.outputs.out.path), { storeDir: s.storeDir, visible: task.inputClosure, log: say }));
        } catch (e) {
          fs.appendFileSync(log, `${(e as Error).message}\n${(e as StoreError).hint ? `hint: ${(e as StoreError).hint}\n` : ''}`);
          throw failure(node, 'could not link the environment', log, { space });
        }
        command = [...drv.args];
        runLog = path.join(top, 'builder.log');
      }
      const env = buildEnvironment(drv, { storeDir: s.storeDir, buildDir: sandboxed ? SANDBOX_BUILD_DIR : buildDir, cores: s.cores });
      let cmd = command[0];
      let args = command.slice(1);
      if (command.length === 0) {
        // Nothing more to run.
      } else if (sandboxed) {
        const tools = hostToolPaths(drv.env.__hostTools);
        const hermetic = isHermetic(command[0], s.storeDir, tools);
        const hostPaths = [...(hermetic ? [] : s.sandbox!.hostPaths), ...tools.map((p) => ({ inside: p, source: p })), ...s.sandbox!.storePaths];
        args = bwrapArgs(
          { bwrap: s.sandbox!.bwrap, storeDir: s.storeDir, scratchStore: scratch, buildDir, inputs: visible, hostPaths, network: isFixedOutput(drv), etcDir: s.sandbox!.etcDir, init },
          command,
        );
        cmd = s.sandbox!.bwrap;
      }
      const r: RunResult =
        command.length === 0
          ? { code: 0, signal: null }
          : await inSlot(s.slots, task, 'build', async () => {
              // Emptied first (the launcher truncates it too): no line of an earlier attempt is shown.
              if (report?.log) fs.writeFileSync(runLog, '');
              const stop = report?.log ? followLog(runLog, report.log) : undefined;
              try {
                return await s.launcher.run({ cmd, args, env, cwd: buildDir, logFile: runLog, limits: s.limits });
              } finally {
                stop?.();
              }
            });
      if (runLog !== log && fs.existsSync(runLog)) fs.appendFileSync(log, fs.readFileSync(runLog));
      if (r.error) {
        fs.appendFileSync(log, `cannot run builder '${drv.builder}': ${r.error.message}\n`);
        throw failure(node, `could not start: ${r.error.message}`, log);
      }
      if (r.timedOut) {
        const limit = r.timedOut === 'timeout' ? s.limits!.timeoutMs! : s.limits!.maxSilentMs!;
        const secs = `${+(limit / 1000).toFixed(3)} second${limit === 1000 ? '' : 's'}`;
        const f = failure(node, r.timedOut === 'timeout' ? `timed out after ${secs}` : `timed out after ${secs} of silence`, log, { keptDir: kept });
        throw new StoreError('TIMEOUT', f.message, { hint: r.timedOut === 'timeout' ? 'give it longer with --timeout SECONDS (0: no limit)' : 'give it longer with --max-silent-time SECONDS (0: no limit), or make the build print progress' });
      }
      if (r.code !== 0) {
        throw failure(node, r.signal ? `was killed by ${r.signal}` : `failed with exit code ${r.code}`, log, { keptDir: kept, space });
      }
    }
    const results: BuiltOutput[] = [];
    const candidates = new Set([...visible, ...outputs.map(([, o]) => o.path)]);
    for (const [name, o] of outputs) {
      const at = written(o.path);
      if (!pathExists(at)) throw failure(node, `did not produce output '${name}' (expected at ${o.path})`, log, { keptDir: kept, space });
      let location = at;
      if (sandboxed && !task.check) {
        fs.renameSync(at, o.path);
        location = o.path;
      }
      canonicaliseTree(location);
      const h = await hashAndScan(location, candidates);
      const info: BuiltOutput = { path: o.path, location, narHash: h.narHash, narSize: h.narSize, references: h.references, deriver: node.drvPath, ultimate: true };
      if (isFixedOutput(drv)) {
        checkFixedOutput(node, location, h.digest, log);
        if (h.references.some((r) => r !== o.path)) throw failure(node, `is fixed-output, but its output refers to other store paths: ${h.references.join(', ')}`, log);
        info.references = [];
        info.ca = `${o.hashAlgo === 'r:sha256' ? 'nar' : 'flat'}:${toSRI(Buffer.from(o.hash, 'hex'))}`;
      }
      results.push(info);
    }
    checkOutputCycles(node, results);
    if (task.check) {
      compareWithValid(node, results, task.check.expected, kept);
      for (const r of results) {
        const dest = task.check.keep?.[r.path];
        if (dest === undefined) continue;
        fs.renameSync(r.location, dest);
        r.location = dest;
      }
    }
    ok = true;
    return results;
  } finally {
    if (!ok && !task.check) for (const [, o] of outputs) if (pathExists(o.path)) removeTree(o.path);
    if (ok || !kept) await removeBuildDir(top);
    else await fs.promises.rename(top, kept).catch(() => undefined); // else gc removes it once this process is gone
  }
}

/** Build directories are normally writable: try the plain removal first. */
async function removeBuildDir(dir: string): Promise<void> {
  try {
    await fs.promises.rm(dir, { recursive: true, force: true });
  } catch {
    removeTree(dir);
  }
}

/** The space-separated paths of `list`, each of which must be inside the build's input closure. */
function visibleStorePaths(list: string | undefined, closure: readonly string[], storeDir: string, builder: string): string[] {
  const paths = (list ?? '').split(' ').filter(Boolean);
  if (paths.length === 0) throw new StoreError('BUILD_FAILED', `${builder} was given no files`);
  const visible = new Set(closure);
  for (const p of paths) {
    const slash = p.indexOf('/', storeDir.length + 1);
    const top = slash < 0 ? p : p.slice(0, slash);
    if (!p.startsWith(storeDir + '/') || !visible.has(top)) throw new StoreError('BUILD_FAILED', `${builder}: '${p}' is not in the store paths this build may read (its inputs)`);
  }
  return paths;
}

function hostToolPaths(json: string | undefined): string[] {
  if (!json) return [];
  const tools = JSON.parse(json) as Array<{ path: string; paths: string[] }>;
  return tools.flatMap((t) => [t.path, ...t.paths]);
}

function checkFixedOutput(node: BuildNode, location: string, narDigest: Buffer, log: string): void {
  const [o] = Object.values(node.drv.outputs);
  const wanted = Buffer.from(o.hash, 'hex');
  let got: Buffer;
  if (o.hashAlgo === 'r:sha256') got = narDigest;
  else {
    const st = fs.lstatSync(location);
    if (!st.isFile()) throw failure(node, 'is a flat fixed-output derivation but its output is not a regular file', log);
    got = sha256(fs.readFileSync(location));
  }
  if (!got.equals(wanted)) {
    const where = node.location ? `\n  defined at: ${node.location}` : '';
    throw new StoreError(
      'HASH_MISMATCH',
      `hash mismatch in fixed-output derivation '${node.drvPath}':\n  wanted: ${toSRI(wanted)}\n  got:    ${toSRI(got)}${where}`,
      { hint: `if the new content is what you want, change the hash${node.location ? ` at ${node.location}` : ''} to ${toSRI(got)}` },
    );
  }
}

function checkOutputCycles(node: BuildNode, results: BuiltOutput[]): void {
  const own = new Set(results.map((r) => r.path));
  const refs = new Map(results.map((r) => [r.path, r.references.filter((x) => own.has(x) && x !== r.path)]));
  try {
    dependencyOrder(own, (p) => refs.get(p)!);
  } catch (e) {
    if (e instanceof GraphCycle) throw new StoreError('BUILD_FAILED', `outputs of '${node.drvPath}' refer to each other in a cycle: ${e.cycle.join(' -> ')}`);
    throw e;
  }
}

function compareWithValid(node: BuildNode, results: BuiltOutput[], expected: Record<string, string>, keptDir: string | undefined): void {
  const differ = results.filter((r) => expected[r.path] !== undefined && expected[r.path] !== r.narHash);
  if (differ.length === 0) return;
  const lines = [`derivation '${node.drvPath}' may not be deterministic:`];
  for (const r of differ) {
    lines.push(`  output '${r.path}' differs (valid: ${expected[r.path]}, rebuilt: ${r.narHash})`);
    const files = differingFiles(r.path, r.location);
    if (files.length) lines.push(`    files that differ: ${files.slice(0, 20).join(', ')}${files.length > 20 ? ` and ${files.length - 20} more` : ''}`);
  }
  if (keptDir) lines.push(`note: keeping the rebuilt outputs in '${path.dirname(results[0].location)}'`);
  throw new StoreError('NOT_DETERMINISTIC', lines.join('\n'), { hint: 'compare the two builds (e.g. with diffoscope) to find the source of nondeterminism' });
}

/** Files (archive entry names) whose type, mode, contents or target differ between two trees. */
export function differingFiles(a: string, b: string): string[] {
  const la = listTree(a);
  const lb = listTree(b);
  const mb = new Map(lb.map((e) => [e.name, e]));
  const out: string[] = [];
  for (const e of la) {
    const f = mb.get(e.name);
    mb.delete(e.name);
    if (!f || f.type !== e.type || f.executable !== e.executable || f.target !== e.target) out.push(e.name);
    else if (e.type === 'file' && (e.size !== f.size || !fs.readFileSync(e.abs).equals(fs.readFileSync(f.abs)))) out.push(e.name);
  }
  out.push(...mb.keys());
  return out.sort();
}
