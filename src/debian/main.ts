/**
 * `npm run exprs:debian -- [-o FILE] [--without NAME,...] [--arch ARCH] [--packages FILE] [--types-from MODULE] NAME...`
 *
 * Resolves the dependency closure of the named Debian packages from apt's metadata (the
 * host's apt lists, or a Packages file given with --packages) and writes a pinned, hashed
 * package set for debianPackages (src/expr/debian.ts). --without leaves packages out that a
 * root depends on but does not need at run time (e.g. a compiler pulled in for building
 * extensions); what only they needed goes too. The bootstrap's tools relocate the packages
 * (src/expr/bootstrap.ts), so a set holds nothing but its roots' closure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseStanzas } from './control.js';
import { Index, resolveClosure, cycles, SKIPPED, ResolveError } from './resolve.js';
import { renderPinnedSet } from './render.js';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`error: ${msg}\n`);
  process.stderr.write('usage: npm run exprs:debian -- [-o FILE] [--without NAME,...] [--arch ARCH] [--packages FILE] [--types-from MODULE] NAME...\n');
  process.exit(msg ? 2 : 0);
}

/**
 * Every version the host's configured archive offers: apt's own Packages lists (each
 * decompressed by apt), not `apt-cache dumpavail`, which shows one candidate per package — a
 * locally installed build that the archive does not have, when there is one.
 */
function aptPackageLists(): string {
  const env = { ...process.env, LC_ALL: 'C' };
  let files: string[] = [];
  try {
    files = execFileSync('apt-get', ['indextargets', '--format', '$(FILENAME)', 'Created-By: Packages'], { encoding: 'utf8', env })
      .split('\n')
      // In apt's order (that of its sources): of two lists with the same version, the first wins.
      .filter((f) => f && fs.existsSync(f));
  } catch {
    /* an apt without indextargets */
  }
  if (files.length === 0) return execFileSync('apt-cache', ['dumpavail'], { encoding: 'utf8', maxBuffer: 1 << 30, env });
  return files.map((f) => execFileSync('/usr/lib/apt/apt-helper', ['cat-file', f], { encoding: 'utf8', maxBuffer: 1 << 30, env })).join('\n');
}

function main(argv: string[]): void {
  let out: string | undefined;
  let arch: string | undefined;
  let packagesFile: string | undefined;
  let typesFrom: string | undefined;
  const without: string[] = [];
  const roots: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '-o' || a === '--output') out = value();
    else if (a === '--arch') arch = value();
    else if (a === '--packages') packagesFile = value();
    else if (a === '--types-from') typesFrom = value();
    else if (a === '--without') without.push(...value().split(',').filter(Boolean));
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else roots.push(a);
  }
  if (roots.length === 0) usage('name at least one package');
  const base = process.env.INIT_CWD ?? process.cwd();
  arch ??= execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const text = packagesFile ? fs.readFileSync(path.resolve(base, packagesFile), 'utf8') : aptPackageLists();
  const index = new Index(parseStanzas(text), arch);
  const sortedRoots = [...new Set(roots)].sort();
  const sortedWithout = [...new Set(without)].sort();
  let pkgs;
  try {
    pkgs = resolveClosure(index, sortedRoots, new Set([...SKIPPED, ...sortedWithout]));
  } catch (e) {
    if (e instanceof ResolveError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const outRel = out === undefined ? undefined : path.relative(process.cwd(), path.resolve(base, out));
  const command = ['npm run exprs:debian --', ...(outRel ? ['-o', outRel] : []), ...(sortedWithout.length ? ['--without', sortedWithout.join(',')] : []), ...(typesFrom ? ['--types-from', typesFrom] : []), ...sortedRoots].join(' ');
  const text2 = renderPinnedSet({ command, arch, roots: sortedRoots, without: sortedWithout, cycles: cycles(pkgs), packages: pkgs, typesFrom });
  if (out === undefined) process.stdout.write(text2);
  else {
    const file = path.resolve(base, out);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file + '.tmp', text2);
    fs.renameSync(file + '.tmp', file);
    process.stderr.write(`wrote ${outRel}: ${pkgs.length} packages\n`);
  }
}

main(process.argv.slice(2));
