/**
 * Debian packages as derivations. A pinned set (written by `npm run exprs:debian`, see
 * src/debian/) names each package's exact version, pool file and SHA256; here each becomes
 *
 * - a fixed-output fetch of the .deb: `apt-get download NAME=VERSION` from the host's
 *   configured archive where apt exists, else the pool file below the `debian` mirror the
 *   store's configuration names (`"mirrors": {"debian": [URL]}` in etc/hepstore.json, or
 *   HEPSTORE_MIRROR_DEBIAN). Only the SHA256 decides its store path, so both ways give the
 *   same path;
 * - an unpacked package (./debian-unpack.mjs, run by the bootstrap tools' node with their tar,
 *   xz and patchelf — nothing of the host): /usr merged into the top of the output, symlinks and
 *   ELF interpreters and run paths pointing into the store — libc6 and its loader included —
 *   so that nothing is taken from the host at run time but the kernel.
 *
 * Debian allows dependency cycles (libc6 and libgcc-s1 need each other); the generator records
 * them, and each cycle is unpacked as one store path that all its members name.
 */
import { fileURLToPath } from 'node:url';
import { derivation, type Drv } from './drv.js';
import { fetchurl } from './fetchurl.js';
import { sourcePath } from './path.js';
import { bootstrapTools } from './bootstrap.js';

const UNPACK_SCRIPT = fileURLToPath(new URL('../../../src/expr/debian-unpack.mjs', import.meta.url));

export interface Pin {
  version: string;
  arch: string;
  /** The pool file below the archive's root. */
  filename: string;
  sha256: string;
  size: number;
  /** Names of the packages of the set it depends on. */
  depends: string[];
}

export interface PinnedSet {
  /** The command that regenerates the file. */
  command: string;
  arch: string;
  roots: string[];
  /** Packages that need each other, unpacked together. */
  cycles: string[][];
  packages: Record<string, Pin>;
}

/** A version as a store name allows it: no epoch, other characters replaced. */
export function storeVersion(v: string): string {
  return v.replace(/^\d+:/, '').replace(/[^A-Za-z0-9+._?=-]/g, '_');
}

/** The .deb of one pinned package, as a fixed-output derivation. */
export function fetchDeb(name: string, pin: Pin, command: string): Drv {
  const spec = pin.arch === 'all' ? `${name}=${pin.version}` : `${name}:${pin.arch}=${pin.version}`;
  return fetchurl({
    name: `${name}_${storeVersion(pin.version)}_${pin.arch}.deb`,
    urls: [`apt:${spec}`, `mirror://debian/${pin.filename}`],
    integrity: `sha256-${Buffer.from(pin.sha256, 'hex').toString('base64')}`,
    hint: `${name} ${pin.version} may be gone from the archive (superseded by a newer version): regenerate the package set with\n  ${command}`,
  });
}

export interface DebianSourceFile {
  /** The source package, e.g. `zlib`. */
  source: string;
  /** Its version, epoch included, e.g. `1:1.2.13.dfsg-1`. */
  version: string;
  /** A file of it, e.g. the upstream tarball `zlib_1.2.13.dfsg.orig.tar.bz2`. */
  file: string;
  /** Its SHA256 (hex), as the archive's Sources index lists it. */
  sha256: string;
}

/** The pool directory of a source package: pool/main/z/zlib, pool/main/libx/libxml2. */
export function sourcePoolDir(source: string): string {
  return `pool/main/${source.startsWith('lib') ? source.slice(0, 4) : source[0]}/${source}`;
}

/**
 * One file of a Debian source package (an upstream `*.orig.tar.*`), fixed-output by its SHA256:
 * through the host's apt (`apt-source:`: the source indices of the archives it uses, read into a
 * private apt state) or below the `debian` mirror the store's configuration names.
 */
export function fetchDebianSource(f: DebianSourceFile): Drv {
  return fetchurl({
    name: f.file,
    urls: [`apt-source:${f.source}=${f.version}/${f.file}`, `mirror://debian/${sourcePoolDir(f.source)}/${f.file}`],
    integrity: `sha256-${Buffer.from(f.sha256, 'hex').toString('base64')}`,
    hint: `${f.file} of ${f.source} ${f.version} may be gone from the archive: pin a version it serves (apt-cache showsrc ${f.source})`,
  });
}

/** The names of `roots` and of every package of the set they need, sorted. */
export function closureNames(set: PinnedSet, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    if (!set.packages[n]) throw new Error(`'${n}' is not in the package set (regenerate it with\n  ${set.command})`);
    seen.add(n);
    stack.push(...set.packages[n].depends);
  }
  return [...seen].sort();
}

export interface DebianPackagesOptions {
  /**
   * Packages to unpack as one store path, besides the set's cycles: e.g. an interpreter and
   * its standard library, which Debian splits, so that its bytecode can be compiled with it.
   */
  groups?: string[][];
  /** The tools that unpack and relocate them (default: the store's bootstrap tools). */
  tools?: Drv;
  /**
   * The package of the set whose `bin/bash` scripts' `#!/bin/sh` runs. Debian's /bin/sh (dash,
   * Essential) is in no package's dependencies, so without this such scripts (egrep, zcat,
   * xzgrep) name the host's /bin/sh, which a sandboxed build does not have. The shell's own
   * closure keeps /bin/sh (it cannot depend on itself).
   */
  shell?: string;
}

/** Every package of the set as an unpacked, store-relocated derivation, by Debian name. */
export function debianPackages(set: PinnedSet, opts: DebianPackagesOptions = {}): Record<string, Drv> {
  if (opts.shell !== undefined && !set.packages[opts.shell]) throw new Error(`debianPackages: the shell '${opts.shell}' is not in the package set`);
  // Cycles and groups, overlapping ones joined; a group's key is its first member, its store
  // name all members joined with '+'.
  const group = new Map<string, string[]>();
  for (const g of [...set.cycles, ...(opts.groups ?? [])]) {
    for (const m of g) if (!set.packages[m]) throw new Error(`debianPackages: '${m}' of group [${g.join(', ')}] is not in the package set`);
    const members = [...new Set(g.flatMap((m) => group.get(m) ?? [m]))].sort();
    for (const m of members) group.set(m, members);
  }
  const membersOf = (key: string) => group.get(key) ?? [key];
  const keyOf = (name: string) => membersOf(name)[0];
  const drvs = new Map<string, Drv>();
  const closures = new Map<string, string[]>();

  /** Keys of every group this one needs, nearest first (breadth-first, names sorted per level). */
  const closureOf = (key: string): string[] => {
    let c = closures.get(key);
    if (c) return c;
    const seen = new Set<string>([key]);
    const order: string[] = [];
    let level = [key];
    while (level.length) {
      const next = new Set<string>();
      for (const k of level) {
        for (const m of membersOf(k)) {
          for (const d of set.packages[m].depends) {
            const dk = keyOf(d);
            if (!seen.has(dk)) next.add(dk);
          }
        }
      }
      level = [...next].sort();
      for (const k of level) seen.add(k);
      order.push(...level);
    }
    closures.set(key, (c = order));
    return c;
  };

  const build = (key: string): Drv => {
    let d = drvs.get(key);
    if (d) return d;
    // The bootstrap's node runs the unpacker, with its tar, xz and patchelf.
    const tools = opts.tools ?? bootstrapTools();
    const members = membersOf(key);
    const deps = closureOf(key).map(build);
    const shellKey = opts.shell === undefined ? undefined : keyOf(opts.shell);
    const binSh = shellKey !== undefined && shellKey !== key && !closureOf(shellKey).includes(key) ? { binSh: `${build(shellKey)}/bin/bash` } : {};
    d = derivation({
      name: `${members.join('+')}-${storeVersion(set.packages[members[0]].version)}`,
      builder: `${tools}/bin/node`,
      args: [sourcePath(UNPACK_SCRIPT, { name: 'debian-unpack.mjs' })],
      env: {
        debs: members.map((m) => fetchDeb(m, set.packages[m], set.command)),
        closure: deps,
        patchelf: `${tools}/bin/patchelf`,
        PATH: `${tools}/bin`,
        ...binSh,
      },
    });
    drvs.set(key, d);
    return d;
  };

  const out: Record<string, Drv> = {};
  for (const name of Object.keys(set.packages).sort()) {
    Object.defineProperty(out, name, { enumerable: true, get: () => build(keyOf(name)) });
  }
  return out;
}
