/**
 * The bubblewrap sandbox: fresh namespaces, no network unless fixed-output, and a file system
 * in which only the input closure, the build directory, the outputs and the declared host
 * paths exist. Outputs are written into a scratch directory mounted as the store directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sharedLibraries } from '../host/libraries.js';
import { SANDBOX_BUILD_DIR } from './environment.js';

const BWRAP_CANDIDATES = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap'];

export function findBwrap(): string | undefined {
  return BWRAP_CANDIDATES.find((p) => fs.existsSync(p));
}

let defaultPaths: string[] | undefined;

/** /bin/sh and what it needs to run: the default of `sandboxPaths`. */
export function defaultSandboxPaths(): string[] {
  defaultPaths ??= withLibraries(['/bin/sh']);
  return defaultPaths;
}

/** Host paths plus the shared libraries of those that are binaries. */
export function withLibraries(paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    if (!fs.existsSync(p)) continue;
    out.add(p);
    if (fs.statSync(p).isFile()) for (const lib of sharedLibraries(p)) out.add(lib);
  }
  return [...out].sort();
}

export interface SandboxSpec {
  bwrap: string;
  storeDir: string;
  /** Host directory mounted read-write as the store directory; outputs appear in it. */
  scratchStore: string;
  buildDir: string;
  /** Store paths visible read-only (the input closure). */
  inputs: readonly string[];
  /** Host paths visible read-only at the same place. */
  hostPaths: readonly string[];
  network: boolean;
  /** Directory for the synthetic /etc files. */
  etcDir: string;
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
    '--uid', '1000', '--gid', '100', '--hostname', 'localhost',
    '--die-with-parent', '--new-session',
    '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
    '--bind', s.scratchStore, s.storeDir,
  ];
  args.push(...inputMounts(s.inputs));
  for (const p of s.hostPaths) if (!p.startsWith(s.storeDir + '/')) args.push('--ro-bind', p, p);
  args.push('--ro-bind', path.join(s.etcDir, 'passwd'), '/etc/passwd', '--ro-bind', path.join(s.etcDir, 'group'), '/etc/group', '--ro-bind', path.join(s.etcDir, 'hosts'), '/etc/hosts');
  if (s.network) {
    for (const p of ['/etc/resolv.conf', '/etc/ssl/certs', '/etc/nsswitch.conf']) if (fs.existsSync(p)) args.push('--ro-bind', p, p);
  }
  args.push('--bind', s.buildDir, SANDBOX_BUILD_DIR, '--chdir', SANDBOX_BUILD_DIR, '--', ...command);
  return args;
}
