// The Debian packages that tests build from (the bootstrap's and the toolchain's pinned sets, and
// the source files that exprs/source/ fetches with fetchDebianSource) as a local mirror, so
// that no test reaches the network: the files are fetched once with the host's apt (into
// $XDG_CACHE_HOME/hepstore/test-mirror, checked against their SHA256) and tests read them from
// there through a file:// mirror, with apt turned off.
//
//   node test/debian-mirror.mjs   prints the mirror's URL (or nothing when it cannot be made)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const SETS = ['set.ts', 'toolchain.ts', 'build-tools.ts'].map((f) => path.join(root, 'src', 'expr', 'bootstrap', f));

/** name, spec for apt, pool file and SHA256 of every package of the pinned sets. */
export function pins(files = SETS) {
  const out = [];
  const re = /^ {4}"([^"]+)": \{ version: "([^"]+)", arch: "([^"]+)", filename: "([^"]+)", sha256: "([0-9a-f]{64})"/gm;
  for (const f of files) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(re)) {
      const [, name, version, arch, filename, sha256] = m;
      out.push({ name, spec: arch === 'all' ? `${name}=${version}` : `${name}:${arch}=${version}`, filename, sha256 });
    }
  }
  return out;
}

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Files of Debian source packages that expressions of exprs/source/ fetch (fetchDebianSource). */
export function sourcePins(dir = path.join(root, 'exprs', 'source')) {
  const out = [];
  const re = /fetchDebianSource\(\{\s*source: '([^']+)',\s*version: '([^']+)',\s*file: '([^']+)',\s*sha256: '([0-9a-f]{64})'/g;
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.ts')).sort() : []) {
    for (const m of fs.readFileSync(path.join(dir, f), 'utf8').matchAll(re)) {
      const [, source, version, file, sha] = m;
      const pool = `pool/main/${source.startsWith('lib') ? source.slice(0, 4) : source[0]}/${source}/${file}`;
      out.push({ url: `apt-source:${source}=${version}/${file}`, filename: pool, sha256: sha });
    }
  }
  return out;
}

/** Fetch source files with hepstore's own fetcher (dist/, built by `npm run build`) through apt. */
function fetchSources(dir, wanted) {
  const fetcher = path.join(root, 'dist', 'src', 'realize', 'fetch.js');
  if (!fs.existsSync(fetcher)) return 'dist/ is not built';
  for (const p of wanted) {
    const dest = path.join(dir, p.filename);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const script = `import { fetchToFile } from ${JSON.stringify(fetcher)}; await fetchToFile(${JSON.stringify(p.url)}, ${JSON.stringify(dest + '.tmp')}, { log: () => {} });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    if (r.status !== 0 || sha256(dest + '.tmp') !== p.sha256) {
      fs.rmSync(dest + '.tmp', { force: true });
      return `cannot fetch ${p.url}: ${(r.stderr || '').trim().split('\n').pop()}`;
    }
    fs.renameSync(dest + '.tmp', dest);
  }
  return undefined;
}

/** Make (or complete) the mirror; returns its file:// URL, or undefined with the reason on stderr. */
export function ensureMirror(dir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'hepstore', 'test-mirror', 'debian'), sets = SETS) {
  const wanted = pins(sets).filter((p) => {
    const f = path.join(dir, p.filename);
    return !(fs.existsSync(f) && sha256(f) === p.sha256);
  });
  if (wanted.length) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hepstore-debs-'));
    fs.chmodSync(tmp, 0o755);
    try {
      const r = spawnSync('apt-get', ['download', '-q', ...wanted.map((p) => p.spec)], { cwd: tmp, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
      if (r.error || r.status !== 0) {
        process.stderr.write(`test mirror: apt-get download failed: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}\n`);
        return undefined;
      }
      const got = fs.readdirSync(tmp);
      for (const p of wanted) {
        const file = got.find((f) => f.startsWith(`${p.name}_`) && sha256(path.join(tmp, f)) === p.sha256);
        if (!file) {
          process.stderr.write(`test mirror: apt-get did not give ${p.spec} with the pinned SHA256\n`);
          return undefined;
        }
        fs.mkdirSync(path.dirname(path.join(dir, p.filename)), { recursive: true });
        fs.copyFileSync(path.join(tmp, file), path.join(dir, p.filename));
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  const sources = sourcePins().filter((p) => {
    const f = path.join(dir, p.filename);
    return !(fs.existsSync(f) && sha256(f) === p.sha256);
  });
  if (sources.length) {
    const why = fetchSources(dir, sources);
    // The .deb files are there; only the tests that build from source will miss these.
    if (why) process.stderr.write(`test mirror: source files: ${why}\n`);
  }
  return `file://${dir}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const url = ensureMirror();
  if (url) process.stdout.write(url + '\n');
}
