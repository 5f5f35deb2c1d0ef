/**
 * `builtin:fetchurl`: get one file, trying its URLs in order: http, https and file URLs;
 * `mirror://NAME/PATH`, resolved through the store's configured mirrors; `apt:NAME=VERSION`,
 * one exact Debian package fetched by the host's `apt-get download` from the host's configured
 * archive; and `apt-source:SOURCE=VERSION/FILE`, one file of a Debian source package through the
 * host's apt (both skipped where apt-get is missing, or HEPSTORE_APT_GET is set empty). The caller checks the content hash, so how the
 * file was fetched never changes what lands in the store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { StoreError } from '../errors.js';
import { fetchSchemeOf, type FetchSchemeName } from '../derivation/builtins.js';
import { getFollowing, type Timeouts } from '../net/http.js';

export type Mirrors = Record<string, string[]>;

export interface FetchOptions {
  log: (line: string) => void;
  mirrors?: Mirrors;
  /** Printed when every URL failed (e.g. how to pin something the archive still serves). */
  hint?: string;
  /** Connect and stall timeouts of http(s) downloads. */
  timeouts?: Timeouts;
  /** Bytes of an http(s) download so far, and its size when the server gives one (Content-Length). */
  onBytes?: (bytes: number, total: number | undefined) => void;
}

class Skip extends Error {}

/** The URLs a mirror:// URL stands for: HEPSTORE_MIRROR_<NAME> first, then the configured ones. */
export function mirrorUrls(url: string, mirrors: Mirrors = {}): string[] {
  const m = /^mirror:\/\/([^/]+)\/(.*)$/.exec(url);
  if (!m) throw new StoreError('BUILD_FAILED', `malformed mirror URL '${url}'`);
  const fromEnv = (process.env[`HEPSTORE_MIRROR_${m[1].toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] ?? '').split(/\s+/).filter(Boolean);
  return [...fromEnv, ...(mirrors[m[1]] ?? [])].map((base) => `${base.replace(/\/+$/, '')}/${m[2]}`);
}

function findProgram(name: string, searchPath: string): string | undefined {
  for (const d of searchPath.split(':').filter(Boolean)) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

async function fetchHttp(url: string, dest: string, o: FetchOptions): Promise<void> {
  const res = await getFollowing(url, o.timeouts);
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
  }
  let bytes = 0;
  const length = Number(res.headers['content-length']);
  const total = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  o.onBytes?.(0, total);
  res.on('data', (c: Buffer) => {
    bytes += c.length;
    o.onBytes?.(bytes, total);
  });
  await pipeline(res, fs.createWriteStream(dest, { mode: 0o644, highWaterMark: 1 << 20 }));
  o.log(`fetched ${bytes} bytes`);
}

/** `apt:NAME=VERSION` (or NAME:ARCH=VERSION): apt-get download into a private directory. */
async function fetchApt(spec: string, dest: string, o: FetchOptions): Promise<void> {
  // HEPSTORE_APT_GET names the program; set to the empty string, it turns apt off.
  const chosen = process.env.HEPSTORE_APT_GET;
  if (chosen === '') throw new Skip('apt is turned off (HEPSTORE_APT_GET is empty)');
  const aptGet = chosen ?? findProgram('apt-get', process.env.PATH ?? '/usr/bin:/bin');
  if (!aptGet) throw new Skip('apt-get is not installed');
  const dir = fs.mkdtempSync(`${dest}.apt-`);
  try {
    // apt drops privileges to _apt for downloads; a private directory it cannot enter only
    // makes it warn, so let it in.
    fs.chmodSync(dir, 0o755);
    const out: string[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      const p = spawn(aptGet, ['download', '-q', spec], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
      p.stdout.on('data', (d) => out.push(String(d)));
      p.stderr.on('data', (d) => out.push(String(d)));
      p.on('error', reject);
      p.on('close', (c) => resolve(c ?? 1));
    });
    for (const l of out.join('').split('\n').filter(Boolean)) o.log(`apt-get: ${l}`);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.deb'));
    if (code !== 0 || files.length !== 1) {
      const why = out.join('').split('\n').find((l) => l.startsWith('E:')) ?? `apt-get exited with ${code}`;
      throw new Error(why.replace(/^E:\s*/, ''));
    }
    fs.renameSync(path.join(dir, files[0]), dest);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], opts: { cwd?: string; log?: (line: string) => void } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const out: string[] = [];
    const p = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    p.stdout.on('data', (d) => out.push(String(d)));
    p.stderr.on('data', (d) => out.push(String(d)));
    p.on('error', reject);
    p.on('close', (c) => resolve({ code: c ?? 1, out: out.join('') }));
  });
}

/**
 * `apt-source:SOURCE=VERSION/FILE`: one file of a Debian source package (an upstream tarball,
 * `zlib=1:1.2.13.dfsg-1/zlib_1.2.13.dfsg.orig.tar.bz2`) through the host's apt: source indices
 * of the archives the host's apt already uses (its `deb` entries, as `deb-src`) are read into a
 * private apt state directory — the host's own apt state is not touched — and the file is
 * downloaded by apt from the first archive that has it, checked against the index's SHA256.
 */
async function fetchAptSource(spec: string, dest: string, o: FetchOptions): Promise<void> {
  const m = /^([a-z0-9][a-z0-9+.-]*)=([^/]+)\/([^/]+)$/.exec(spec);
  if (!m) throw new Error(`malformed apt-source URL (want apt-source:SOURCE=VERSION/FILE): ${spec}`);
  const [, source, version, file] = m;
  const chosen = process.env.HEPSTORE_APT_GET;
  if (chosen === '') throw new Skip('apt is turned off (HEPSTORE_APT_GET is empty)');
  const aptGet = chosen ?? findProgram('apt-get', process.env.PATH ?? '/usr/bin:/bin');
  if (!aptGet) throw new Skip('apt-get is not installed');
  const bin = path.dirname(aptGet);
  const aptCache = path.join(bin, 'apt-cache');
  const helper = ['/usr/lib/apt/apt-helper', path.join(bin, '..', 'lib', 'apt', 'apt-helper')].find((p) => fs.existsSync(p));
  if (!helper) throw new Skip('apt-helper is not installed');
  const targets = await run(aptGet, ['indextargets', '--format', '$(REPO_URI) $(RELEASE) $(COMPONENT)', 'Created-By: Packages']);
  const repos = [...new Set(targets.out.split('\n').filter((l) => /^\S+ \S+ \S+$/.test(l)))].sort();
  if (targets.code !== 0 || repos.length === 0) throw new Skip('the host\'s apt has no archive configured');
  const dir = fs.mkdtempSync(`${dest}.apt-`);
  try {
    fs.chmodSync(dir, 0o755);
    for (const d of ['state/lists/partial', 'cache/archives/partial', 'parts', 'download']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'sources.list'), repos.map((r) => `deb-src ${r}\n`).join(''));
    const aptOpts = ['-o', `Dir::State=${dir}/state`, '-o', `Dir::Cache=${dir}/cache`, '-o', `Dir::Etc::SourceList=${dir}/sources.list`, '-o', `Dir::Etc::SourceParts=${dir}/parts`, '-o', 'Debug::NoLocking=1'];
    o.log(`apt: reading the source indices of ${repos.length} archives`);
    const update = await run(aptGet, [...aptOpts, '-q', 'update']);
    if (update.code !== 0) throw new Error(`apt-get update failed: ${update.out.split('\n').find((l) => l.startsWith('E:')) ?? update.code}`);
    const show = await run(aptCache, [...aptOpts, 'showsrc', '--only-source', source]);
    // Each archive that lists the version has a stanza; its Directory is below that archive.
    const stanzas = show.out.split(/\n\n+/).filter((st) => new RegExp(`^Version: ${version.replace(/[.+]/g, '\\$&')}$`, 'm').test(st));
    if (stanzas.length === 0) throw new Error(`the archives have no source package ${source} ${version}`);
    const found = stanzas.flatMap((st) => {
      const directory = (/^Directory: (\S+)$/m.exec(st) ?? [])[1];
      const sums = (/^Checksums-Sha256:\n((?: .*\n?)*)/m.exec(st) ?? [])[1] ?? '';
      const sha = sums.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[2] === file)?.[0];
      return directory && sha ? [{ directory, sha }] : [];
    });
    if (found.length === 0) throw new Error(`source package ${source} ${version} has no file ${file}`);
    const bases = [...new Set(repos.map((r) => r.split(' ')[0].replace(/\/+$/, '')))];
    const tries = [...new Set(found.flatMap(({ directory, sha }) => bases.map((b) => `${b}/${directory}/${file} ${sha}`)))];
    const errors: string[] = [];
    for (const t of tries) {
      const [url, sha] = t.split(' ');
      const target = path.join(dir, 'download', file);
      const r = await run(helper, ['-q', 'download-file', url, target, `SHA256:${sha}`]);
      if (r.code === 0 && fs.existsSync(target)) {
        o.log(`apt: fetched ${file} of ${source} ${version}`);
        fs.renameSync(target, dest);
        return;
      }
      errors.push(r.out.split('\n').find((l) => l.startsWith('E:'))?.replace(/^E:\s*/, '') ?? `apt-helper exited with ${r.code}`);
    }
    throw new Error(errors.join('; '));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** How each scheme of fetchurl's registry (derivation/builtins.ts) is fetched. */
const FETCHERS: Record<FetchSchemeName, (url: string, dest: string, o: FetchOptions) => Promise<void>> = {
  http: (url, dest, o) => fetchHttp(url, dest, o),
  https: (url, dest, o) => fetchHttp(url, dest, o),
  file: async (url, dest) => fs.copyFileSync(fileURLToPath(new URL(url)), dest),
  apt: (url, dest, o) => fetchApt(url.slice('apt:'.length), dest, o),
  'apt-source': (url, dest, o) => fetchAptSource(url.slice('apt-source:'.length), dest, o),
  mirror: async (url, dest, o) => {
    const urls = mirrorUrls(url, o.mirrors);
    const name = /^mirror:\/\/([^/]+)/.exec(url)![1];
    if (urls.length === 0) throw new Skip(`no '${name}' mirror is configured (set "mirrors": {"${name}": [URL]} in the store's etc/hepstore.json, or HEPSTORE_MIRROR_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')})`);
    const errors: string[] = [];
    for (const u of urls) {
      try {
        o.log(`fetching ${u}`);
        return await fetchOne(u, dest, o);
      } catch (e) {
        errors.push(`${u}: ${(e as Error).message}`);
      }
    }
    throw new Error(errors.join('; '));
  },
};

async function fetchOne(url: string, dest: string, o: FetchOptions): Promise<void> {
  const scheme = fetchSchemeOf(url);
  if (scheme === undefined) throw new Error('unsupported scheme');
  return FETCHERS[scheme.name](url, dest, o);
}

export async function fetchToFile(urls: string | string[], dest: string, o: FetchOptions): Promise<void> {
  const list = typeof urls === 'string' ? [urls] : urls;
  const failures: string[] = [];
  for (const url of list) {
    o.log(`fetching ${url}`);
    try {
      await fetchOne(url, dest, o);
      return;
    } catch (e) {
      fs.rmSync(dest, { force: true });
      const why = `cannot fetch '${url}': ${(e as Error).message}`;
      o.log(e instanceof Skip ? `skipping '${url}': ${(e as Error).message}` : why);
      failures.push(e instanceof Skip ? `skipped '${url}': ${(e as Error).message}` : why);
    }
  }
  throw new StoreError('BUILD_FAILED', failures.join('\n'), { hint: o.hint, exitCode: 100 });
}
