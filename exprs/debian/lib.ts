/**
 * Debian packages as derivations. A pinned set (written by `npm run exprs:debian`, see
 * src/debian/) names each package's exact version, pool file and SHA256; here each becomes
 *
 * - a fixed-output fetch of the .deb: `apt-get download NAME=VERSION` from the host's
 *   configured archive where apt exists, else the pool file below the `debian` mirror the
 *   store's configuration names (`"mirrors": {"debian": [URL]}` in etc/hepstore.json, or
 *   HEPSTORE_MIRROR_DEBIAN). Only the SHA256 decides its store path, so both ways give the
 *   same path;
 * - an unpacked package (./unpack.mjs): /usr merged into the top of the output, symlinks and
 *   ELF interpreters and run paths pointing into the store — libc6 and its loader included —
 *   so that nothing is taken from the host at run time but the kernel. The patchelf that does
 *   it is the set's own, unpacked unmodified beside the libraries it needs (the bootstrap).
 *
 * Debian allows dependency cycles (libc6 and libgcc-s1 need each other); the generator records
 * them, and each cycle is unpacked as one store path that all its members name.
 */
import { derivation, fetchurl, host, path, type Drv } from 'hepstore';

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

export interface DebianPackagesOptions {
  /**
   * Packages to unpack as one store path, besides the set's cycles: e.g. an interpreter and
   * its standard library, which Debian splits, so that its bytecode can be compiled with it.
   */
  groups?: string[][];
}

/** Every package of the set as an unpacked, store-relocated derivation, by Debian name. */
export function debianPackages(set: PinnedSet, opts: DebianPackagesOptions = {}): Record<string, Drv> {
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
  const node = host.tool(process.execPath);
  const tools = [host.tool('tar'), host.tool('xz')];
  const script = path('./unpack.mjs');
  const PATH = [...new Set(tools.map((t) => t.path.replace(/\/[^/]+$/, '')))].join(':');

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

  // patchelf from the set itself, unpacked as it is with the libraries it needs and run through
  // their loader: no host patchelf, and no host program but node, tar and xz, goes into a package.
  if (!set.packages.patchelf) throw new Error(`this package set has no patchelf, which relocates its packages: regenerate it with\n  ${set.command}`);
  const bootstrapMembers = [...new Set([...membersOf(keyOf('patchelf')), ...closureOf(keyOf('patchelf')).flatMap(membersOf)])].sort();
  const bootstrap = derivation({
    name: `patchelf-bootstrap-${storeVersion(set.packages.patchelf.version)}`,
    builder: node,
    args: [script],
    env: { debs: bootstrapMembers.map((m) => fetchDeb(m, set.packages[m], set.command)), bootstrap: true, tools, PATH },
  });
  const patchelf = `${bootstrap}/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path ${bootstrap}/lib/x86_64-linux-gnu ${bootstrap}/bin/patchelf`;

  const build = (key: string): Drv => {
    let d = drvs.get(key);
    if (d) return d;
    const members = membersOf(key);
    const deps = closureOf(key).map(build);
    d = derivation({
      name: `${members.join('+')}-${storeVersion(set.packages[members[0]].version)}`,
      builder: node,
      args: [script],
      env: {
        debs: members.map((m) => fetchDeb(m, set.packages[m], set.command)),
        closure: deps,
        patchelf,
        tools,
        PATH,
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
