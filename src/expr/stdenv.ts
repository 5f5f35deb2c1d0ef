/**
 * The standard environment of `mkDerivation` builds: a shell and the utilities a build script
 * expects — bash, coreutils, sed, grep, gawk, findutils, diffutils, tar, gzip, bzip2, xz, patch
 * and make — each a store path unpacked from a pinned Debian package by the bootstrap
 * (bootstrap.ts), so a package's store path depends only on its expression and pinned inputs,
 * never on the machine that evaluates or builds it.
 *
 * `stdenv` has a C/C++ toolchain too (`stdenv.cc`, cc.ts: cc, c++, ld first on PATH);
 * `stdenvNoCC` is the same without it, for packages that compile nothing: neither the
 * toolchain nor its 38 Debian packages are then in their closure or their hash.
 *
 * `hostStdenv()` is the other choice, made explicit: the host's /bin/sh and programs, for a site
 * that wants them (their identities go into every hash; `--pure` refuses them).
 */
import { once } from './context.js';
import { derivation, type Drv } from './drv.js';
import { debianPackages } from './debian.js';
import { BOOTSTRAP_SET } from './bootstrap.js';
import { tool, type HostTool } from './host.js';
import { ccWrapper } from './cc.js';

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
  /** The C/C++ toolchain (cc.ts) whose bin/ leads PATH, or null (stdenvNoCC, hostStdenv). */
  readonly cc: Drv | null;
}

export interface MakeStdenvOptions {
  /** With the C/C++ toolchain (default true). */
  cc?: boolean;
  /** The bootstrap tools that relocate its Debian packages (default: the store's). */
  tools?: Drv;
}

function baseStdenv(tools?: Drv): Stdenv {
  return once(`stdenv-nocc:${tools?.outPath ?? ''}`, () => {
    // Their scripts' #!/bin/sh (egrep, zcat, xzgrep) runs the stdenv's bash.
    const debs = debianPackages(BOOTSTRAP_SET, { shell: 'bash', ...(tools ? { tools } : {}) });
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
      name: 'stdenv-nocc',
      shell,
      path: [`${links}/bin`, ...STDENV_PACKAGES.map((n) => `${packages[n]}/bin`)].join(':'),
      packages,
      hostTools: [],
      cc: null,
    };
  });
}

/** A stdenv of the store: its shell and utilities, with the C/C++ toolchain unless `cc: false`. */
export function makeStdenv(opts: MakeStdenvOptions = {}): Stdenv {
  const base = baseStdenv(opts.tools);
  if (opts.cc === false) return base;
  return once(`stdenv:${opts.tools?.outPath ?? ''}`, () => {
    const cc = ccWrapper({ shell: base.shell, path: base.path, tools: opts.tools });
    return { ...base, name: 'stdenv', path: `${cc}/bin:${base.path}`, cc };
  });
}

function lazy(make: () => Stdenv): Stdenv {
  return {
    get name() {
      return make().name;
    },
    get shell() {
      return make().shell;
    },
    get path() {
      return make().path;
    },
    get packages() {
      return make().packages;
    },
    get hostTools() {
      return make().hostTools;
    },
    get cc() {
      return make().cc;
    },
  };
}

/**
 * The store's stdenv, with the C/C++ toolchain. Its members are made on first use, during an
 * evaluation (so the store directory is known): `stdenv.shell`, `stdenv.path`, `stdenv.cc`,
 * `stdenv.packages.coreutils`.
 */
export const stdenv: Stdenv = lazy(() => makeStdenv());

/** The store's stdenv without the C/C++ toolchain: for packages that compile nothing. */
export const stdenvNoCC: Stdenv = lazy(() => makeStdenv({ cc: false }));

/**
 * Only the store's shell (bash, with the libraries it needs) and nothing on PATH: for scripts
 * that use no utilities, e.g. an environment's postBuild and checks that run its own programs.
 * It needs 3 store paths where stdenvNoCC needs 25.
 */
export const shellOnlyStdenv: Stdenv = lazy(() =>
  once('stdenv-shell-only', () => {
    const bash = baseStdenv().packages.bash;
    return { name: 'stdenv-shell-only', shell: `${bash}/bin/bash`, path: '', packages: { bash }, hostTools: [], cc: null };
  }),
);

/** A stdenv of host programs: /bin/sh and `tools` (default DEFAULT_HOST_TOOLS) from the host's PATH. */
export function hostStdenv(tools: ReadonlyArray<string | HostTool> = DEFAULT_HOST_TOOLS): Stdenv {
  return {
    name: 'host',
    shell: tool('/bin/sh').path,
    path: '',
    packages: {},
    hostTools: [tool('/bin/sh'), ...tools.map((t) => (typeof t === 'string' ? tool(t) : t))],
    cc: null,
  };
}

/** `a` itself, or the store's stdenv without the toolchain (buildEnv's and zx's phases compile nothing). */
export function stdenvOf(a: Stdenv | undefined): Stdenv {
  return a ?? makeStdenv({ cc: false });
}
