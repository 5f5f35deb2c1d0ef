/**
 * The standard environment of `mkDerivation` builds: a shell and the utilities a build script
 * expects — bash, coreutils, sed, grep, gawk, findutils, diffutils, tar, gzip, bzip2, xz, patch
 * and make — each a store path unpacked from a pinned Debian package by the bootstrap
 * (bootstrap.ts), so a package's store path depends only on its expression and pinned inputs,
 * never on the machine that evaluates or builds it.
 *
 * `hostStdenv()` is the other choice, made explicit: the host's /bin/sh and programs, for a site
 * that wants them (their identities go into every hash; `--pure` refuses them).
 */
import { once } from './context.js';
import { derivation, type Drv } from './drv.js';
import { debianPackages } from './debian.js';
import { BOOTSTRAP_SET } from './bootstrap.js';
import { tool, type HostTool } from './host.js';

/** The Debian packages of the stdenv, in PATH order. */
export const STDENV_PACKAGES = ['coreutils', 'findutils', 'diffutils', 'sed', 'grep', 'gawk', 'tar', 'gzip', 'bzip2', 'xz-utils', 'patch', 'make', 'bash'] as const;

/** The programs of the host stdenv (and of builds that take host tools without naming them). */
export const DEFAULT_HOST_TOOLS = [
  'mkdir', 'ln', 'cp', 'mv', 'rm', 'rmdir', 'cat', 'chmod', 'ls', 'touch', 'install', 'head', 'tail', 'sort', 'tr', 'cut',
  'wc', 'basename', 'dirname', 'env', 'sed', 'grep', 'find', 'xargs', 'tar', 'gzip', 'diff', 'cmp', 'true', 'false', 'test', 'expr',
];

export interface Stdenv {
  readonly name: string;
  /** The shell that runs build scripts (an absolute path: in the store, or the host's for hostStdenv). */
  readonly shell: string;
  /** Directories put on PATH, in order, joined with ':' ('' for none). */
  readonly path: string;
  /** Its packages by Debian name (none for hostStdenv). */
  readonly packages: Readonly<Record<string, Drv>>;
  /** Host programs it brings (hostStdenv only). */
  readonly hostTools: readonly HostTool[];
}

function storeStdenv(): Stdenv {
  return once('stdenv', () => {
    const debs = debianPackages(BOOTSTRAP_SET);
    const packages: Record<string, Drv> = {};
    for (const n of STDENV_PACKAGES) packages[n] = debs[n];
    // The names scripts call that Debian leaves to its alternatives system: awk and sh.
    const shell = `${packages.bash}/bin/bash`;
    const links = derivation({
      name: 'stdenv-links',
      builder: shell,
      args: ['-ec', `"$coreutils/bin/mkdir" -p "$out/bin"; "$coreutils/bin/ln" -s "$gawk/bin/gawk" "$out/bin/awk"; "$coreutils/bin/ln" -s "$bash/bin/bash" "$out/bin/sh"`],
      env: { coreutils: packages.coreutils, gawk: packages.gawk, bash: packages.bash },
    });
    return {
      name: 'stdenv',
      shell,
      path: [`${links}/bin`, ...STDENV_PACKAGES.map((n) => `${packages[n]}/bin`)].join(':'),
      packages,
      hostTools: [],
    };
  });
}

/**
 * The store's stdenv. Its members are made on first use, during an evaluation (so the store
 * directory is known): `stdenv.shell`, `stdenv.path`, `stdenv.packages.coreutils`.
 */
export const stdenv: Stdenv = {
  get name() {
    return storeStdenv().name;
  },
  get shell() {
    return storeStdenv().shell;
  },
  get path() {
    return storeStdenv().path;
  },
  get packages() {
    return storeStdenv().packages;
  },
  get hostTools() {
    return storeStdenv().hostTools;
  },
};

/** A stdenv of host programs: /bin/sh and `tools` (default DEFAULT_HOST_TOOLS) from the host's PATH. */
export function hostStdenv(tools: ReadonlyArray<string | HostTool> = DEFAULT_HOST_TOOLS): Stdenv {
  return {
    name: 'host',
    shell: tool('/bin/sh').path,
    path: '',
    packages: {},
    hostTools: [tool('/bin/sh'), ...tools.map((t) => (typeof t === 'string' ? tool(t) : t))],
  };
}

/** `a` itself, or the store's stdenv. */
export function stdenvOf(a: Stdenv | undefined): Stdenv {
  return a ?? storeStdenv();
}
