/**
 * The bubblewrap sandbox: fresh namespaces, no network unless fixed-output, and a file system
 * in which only the input closure, the build directory, the outputs and the declared host
 * paths exist. Outputs are written into a scratch directory mounted as the store directory.
 *
 * The input closure is mounted by hepstore-sandbox-init (sandbox-init.c), which bwrap runs
 * first inside the sandbox: one bind per input on a tmpfs skeleton under an overlay whose upper
 * layer is the scratch directory (or, where the kernel refuses this user an overlay, on entries
 * made in the scratch directory), all made read-only at once. Without it (no C compiler when
 * hepstore was built, or a kernel without mount_setattr, before 5.12), each
 * input is bound through bwrap, which rereads /proc/self/mountinfo for every bind: the cost of
 * a build then grows with the square of its closure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sharedLibraries } from '../host/libraries.js';
import { SANDBOX_BUILD_DIR } from './environment.js';
import { removeTree } from '../archive/canonical.js';
import { StoreError } from '../errors.js';

const BWRAP_CANDIDATES = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap'];

export function findBwrap(): string | undefined {
  return BWRAP_CANDIDATES.find((p) => fs.existsSync(p));
}

/** Where hepstore-sandbox-init is inside the sandbox while it runs, and its scratch layout. */
const INIT_DIR = '/.hepstore';
const SANDBOX_UID = '1000';
const SANDBOX_GID = '100';

/** hepstore-sandbox-init and how it makes the store directory (see sandbox-init.c). */
export interface SandboxInit {
  path: string;
  mode: 'overlay' | 'direct';
}

let initChecked: SandboxInit | null | undefined;

/**
 * hepstore-sandbox-init, if it was built and can set up a sandbox here (checked once per
 * process by running it, with an overlay first); HEPSTORE_SANDBOX_INIT=0 turns it off, =overlay
 * or =direct allows only that way.
 */
export function findSandboxInit(bwrap: string): SandboxInit | undefined {
  if (initChecked !== undefined) return initChecked ?? undefined;
  initChecked = null;
  const init = fileURLToPath(new URL('./hepstore-sandbox-init', import.meta.url));
  if (process.env.HEPSTORE_SANDBOX_INIT === '0' || !fs.existsSync(init)) return undefined;
  const wanted = process.env.HEPSTORE_SANDBOX_INIT;
  for (const mode of ['overlay', 'direct'] as const) {
    if ((wanted === 'overlay' || wanted === 'direct') && wanted !== mode) continue;
    const scratch = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR || '/tmp'), 'hepstore-sandbox-check-'));
    try {
      const storeDir = path.join(scratch, 'store');
      const buildDir = path.join(scratch, 'build');
      fs.mkdirSync(storeDir);
      fs.mkdirSync(buildDir);
      prepareScratch(scratch, []);
      const args = bwrapArgs({ bwrap, storeDir, scratchStore: scratch, buildDir, inputs: [], hostPaths: [], network: false, init: { path: init, mode } }, ['/proc/self/exe', '--ok']);
      const r = spawnSync(bwrap, args, { encoding: 'utf8', timeout: 10_000 });
      if (r.status === 0 && r.stdout.includes('ok')) {
        initChecked = { path: init, mode };
        break;
      }
    } finally {
      removeTree(scratch);
    }
  }
  return initChecked ?? undefined;
}

/**
 * The scratch directory of a build with hepstore-sandbox-init: the names of the inputs, and
 * the overlay's upper layer (where the outputs appear) and work directory.
 */
export function prepareScratch(scratch: string, inputs: readonly string[]): void {
  fs.mkdirSync(path.join(scratch, 'upper'));
  fs.mkdirSync(path.join(scratch, 'work'));
  fs.writeFileSync(path.join(scratch, 'inputs'), inputs.map((p) => path.basename(p) + '\n').join(''));
}

/** Where a build's outputs appear on the host, in its scratch directory. */
export function scratchOutputs(scratch: string, init: boolean): string {
  return init ? path.join(scratch, 'upper') : scratch;
}

/** One path of `sandboxPaths`: `source` (a host path or a path in the store) seen at `inside`. */
export interface SandboxPath {
  inside: string;
  source: string;
}

/** `"/bin/sh"` (the host's, at the same place) or `"/bin/sh=/…/store/…-bash/bin/bash"` (as Nix's sandbox-paths). */
export function parseSandboxPath(entry: string): SandboxPath {
  const eq = entry.indexOf('=');
  const inside = eq < 0 ? entry : entry.slice(0, eq);
  const source = eq < 0 ? entry : entry.slice(eq + 1);
  if (!path.isAbsolute(inside) || !path.isAbsolute(source) || path.normalize(inside) === '/') {
    throw new StoreError('USAGE', `sandboxPaths entry '${entry}' is not PATH or PATH=SOURCE with absolute paths`, { hint: 'e.g. "/bin/sh" or "/bin/sh=/path/to/store/…-busybox/bin/busybox"' });
  }
  return { inside: path.normalize(inside), source: path.normalize(source) };
}

let defaultPaths: SandboxPath[] | undefined;

/** /bin/sh and what it needs to run: the default of `sandboxPaths`. */
export function defaultSandboxPaths(): SandboxPath[] {
  defaultPaths ??= withLibraries([{ inside: '/bin/sh', source: '/bin/sh' }]);
  return defaultPaths;
}

/** Host paths plus the shared libraries (at their own paths) of those that are binaries. */
export function withLibraries(paths: readonly SandboxPath[]): SandboxPath[] {
  const out = new Map<string, SandboxPath>();
  for (const p of paths) {
    if (!fs.existsSync(p.source)) continue;
    out.set(p.inside, p);
    if (fs.statSync(p.source).isFile()) for (const lib of sharedLibraries(p.source)) if (!out.has(lib)) out.set(lib, { inside: lib, source: lib });
  }
  return [...out.values()].sort((a, b) => (a.inside < b.inside ? -1 : a.inside > b.inside ? 1 : 0));
}

/**
 * Whether a build runs only what the store holds: its program (the builder, or the first
 * argument of a builtin that runs one) is a store path and it declares no host tool. Such a
 * build sees no host path at all, only store paths mapped by `sandboxPaths`.
 */
export function isHermetic(program: string | undefined, storeDir: string, hostTools: readonly string[]): boolean {
  return (program === undefined || program.startsWith(storeDir + '/')) && hostTools.length === 0;
}

export interface SandboxSpec {
  bwrap: string;
  storeDir: string;
  /** Host directory mounted read-write as the store directory; outputs appear in it. */
  scratchStore: string;
  buildDir: string;
  /** Store paths visible read-only (the input closure). */
  inputs: readonly string[];
  /** Paths visible read-only (host paths, or files of the store mapped elsewhere). */
  hostPaths: readonly SandboxPath[];
  network: boolean;
  /** Directory for the synthetic /etc files (none: no /etc at all). */
  etcDir?: string;
  /** hepstore-sandbox-init, to mount the inputs (the scratch directory made by prepareScratch). */
  init?: SandboxInit;
}

/** The synthetic /etc/passwd, group and hosts of the sandbox, written once per realize. */
export function writeSandboxEtc(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'passwd'), 'root:x:0:0:root:/build:/noshell\nbuilder:x:1000:100:builder:/homeless-shelter:/noshell\nnobody:x:65534:65534:nobody:/:/noshell\n');
  fs.writeFileSync(path.join(dir, 'group'), 'root:x:0:\nbuilders:x:100:\nnogroup:x:65534:\n');
  fs.writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
}

/**
 * How each input appears. A directory or file is bound read-only. A store path that is a
 * symlink is made again inside the sandbox with the same target, so that it resolves in the
 * sandbox's own view: binding it would follow it on the host, to any host file (`ln -s /etc
 * $out`) or to the whole store directory.
 */
export function inputMounts(inputs: readonly string[]): string[] {
  const args: string[] = [];
  for (const p of inputs) {
    let target: string | undefined;
    try {
      target = fs.readlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
    }
    if (target === undefined) args.push('--ro-bind', p, p);
    else args.push('--symlink', target, p);
  }
  return args;
}

export function bwrapArgs(s: SandboxSpec, command: readonly string[]): string[] {
  const args = [
    '--unshare-user', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try',
    ...(s.network ? [] : ['--unshare-net']),
    // hepstore-sandbox-init mounts as root of the sandbox's user namespace (the overlay's work
    // directory needs CAP_DAC_OVERRIDE, mapping the builder's user to root CAP_SETFCAP), then
    // becomes the builder's user in a nested one, without capabilities.
    ...(s.init ? ['--uid', '0', '--gid', '0', '--cap-add', 'CAP_SYS_ADMIN', '--cap-add', 'CAP_DAC_OVERRIDE', '--cap-add', 'CAP_SETFCAP'] : ['--uid', SANDBOX_UID, '--gid', SANDBOX_GID]),
    '--hostname', 'localhost',
    '--die-with-parent', '--new-session',
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
  ];
  if (s.init) {
    args.push('--ro-bind', s.init.path, `${INIT_DIR}/init`, '--ro-bind', s.storeDir, `${INIT_DIR}/store`, '--bind', s.scratchStore, `${INIT_DIR}/out`, '--dir', `${INIT_DIR}/lower`, '--dir', s.storeDir);
  } else {
    args.push('--bind', s.scratchStore, s.storeDir, ...inputMounts(s.inputs));
  }
  for (const p of s.hostPaths) if (!p.inside.startsWith(s.storeDir + '/') && p.inside !== s.storeDir) args.push('--ro-bind', p.source, p.inside);
  if (s.etcDir) args.push('--ro-bind', path.join(s.etcDir, 'passwd'), '/etc/passwd', '--ro-bind', path.join(s.etcDir, 'group'), '/etc/group', '--ro-bind', path.join(s.etcDir, 'hosts'), '/etc/hosts');
  if (s.network) {
    for (const p of ['/etc/resolv.conf', '/etc/ssl/certs', '/etc/nsswitch.conf']) if (fs.existsSync(p)) args.push('--ro-bind', p, p);
  }
  args.push('--bind', s.buildDir, SANDBOX_BUILD_DIR, '--chdir', SANDBOX_BUILD_DIR, '--');
  if (s.init) args.push(`${INIT_DIR}/init`, s.init.mode, s.storeDir, SANDBOX_UID, SANDBOX_GID, '--');
  args.push(...command);
  return args;
}
