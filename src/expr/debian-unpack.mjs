/**
 * Builder of a Debian package in the store (run by the bootstrap tools' node, with their tar and
 * xz on PATH and $patchelf their patchelf: nothing of the host):
 *
 * 1. Unpack the data archive of each .deb in $debs (a cycle of packages is one store path).
 * 2. Merge /usr into the top: usr/bin and bin both become $out/bin, as on a merged-/usr system.
 * 3. Absolute symlinks point into the store: to this output, or to the dependency that holds
 *    the target ($closure: every package this one needs, directly or not).
 * 4. ELF files find everything in the store: the interpreter becomes the store's dynamic
 *    loader, and the run path lists exactly the directories that hold the libraries each file
 *    needs, so nothing is looked up on the host.
 * 5. Scripts' #! lines name interpreters in the store.
 * 6. Python sources that name a file of the installed system in a string literal (Debian
 *    moves package data to /usr/share and /etc, e.g. matplotlib's mpl-data) name it in the
 *    store instead, where a package of the closure holds it.
 * 7. Python sources are compiled to bytecode (hash-based, so valid whatever the time stamps;
 *    PYTHONHASHSEED=0 and one process, so the same bytes every time), with the interpreter of
 *    this output or of the closure: Debian compiles them when installing, and an interpreter
 *    would otherwise compile them at every start — or, run by root, write them into the store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const out = process.env.out;
const debs = (process.env.debs ?? '').split(' ').filter(Boolean);
const closure = (process.env.closure ?? '').split(' ').filter(Boolean);
// The command that runs patchelf.
const patchelf = (process.env.patchelf ?? '').split(' ').filter(Boolean);
/** What `#!/bin/sh` runs when the package's closure has no /bin/sh (Debian's Essential dash is undeclared). */
const binSh = process.env.binSh || undefined;
// Unpacked inside the output, so that merging is renaming within one file system.
const stage = path.join(out, '.unpack');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['pipe', 'inherit', 'inherit'], ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  return r;
}

/** The members of an ar archive (a .deb is one): name → [offset, size]. */
function arMembers(buf, file) {
  if (buf.toString('latin1', 0, 8) !== '!<arch>\n') throw new Error(`${file} is not a Debian package (no ar header)`);
  const members = new Map();
  let off = 8;
  while (off + 60 <= buf.length) {
    const name = buf.toString('latin1', off, off + 16).trim().replace(/\/$/, '');
    const size = parseInt(buf.toString('latin1', off + 48, off + 58).trim(), 10);
    if (!Number.isFinite(size) || off + 60 + size > buf.length) throw new Error(`${file} is truncated or corrupt`);
    members.set(name, [off + 60, size]);
    off += 60 + size + (size % 2);
  }
  return members;
}

function unpack(deb) {
  const buf = fs.readFileSync(deb);
  const members = arMembers(buf, deb);
  const data = [...members.keys()].find((n) => n.startsWith('data.tar'));
  if (!data) throw new Error(`${deb} has no data archive`);
  const [off, size] = members.get(data);
  const flag = { 'data.tar.xz': '-J', 'data.tar.gz': '-z', 'data.tar.bz2': '-j', 'data.tar.zst': '--zstd', 'data.tar': null }[data];
  if (flag === undefined) throw new Error(`${deb}: unknown data archive ${data}`);
  run('tar', ['-x', ...(flag ? [flag] : []), '--no-same-owner', '--delay-directory-restore', '-f', '-', '-C', stage], { input: buf.subarray(off, off + size), maxBuffer: 1 << 30 });
}

/** Move src into dest, merging directories; two different files at one path are an error. */
function merge(src, dest) {
  const d = fs.lstatSync(dest, { throwIfNoEntry: false });
  if (!d) {
    fs.renameSync(src, dest);
    return;
  }
  const s = fs.lstatSync(src);
  if (s.isDirectory() && d.isDirectory()) {
    for (const e of fs.readdirSync(src).sort()) merge(path.join(src, e), path.join(dest, e));
    fs.rmdirSync(src);
    return;
  }
  if (s.isSymbolicLink() && d.isSymbolicLink() && fs.readlinkSync(src) === fs.readlinkSync(dest)) return;
  throw new Error(`two files at ${path.relative(out, dest)} once /usr is merged`);
}

/** A path inside the package as the merged layout has it: /usr/lib/x → lib/x. */
function merged(abs) {
  const rel = abs.replace(/^\/+/, '');
  return rel === 'usr' ? '' : rel.startsWith('usr/') ? rel.slice(4) : rel;
}

/** Where a path of the installed system is in the store: this output first, then the closure. */
function locate(rel) {
  for (const root of [out, ...closure]) {
    const p = path.join(root, rel);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield [p, e];
  }
}

const unresolved = [];

function fixSymlinks() {
  for (const [p, e] of walk(out)) {
    if (!e.isSymbolicLink()) continue;
    const target = fs.readlinkSync(p);
    if (!target.startsWith('/')) {
      // A relative link to another package's file (python3 -> python3.11, libfoo.so ->
      // libfoo.so.1) stays as it is: it resolves in an environment that holds both (buildEnv).
      // One that climbed out of usr/ (../../lib/x from usr/lib/) climbs one level less.
      if (fs.existsSync(p)) continue;
      const rel = path.relative(out, p);
      const meant = merged(path.posix.resolve(path.posix.dirname('/usr/' + rel), target));
      const climbsOut = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target)).startsWith('../');
      if (fs.existsSync(path.join(out, meant))) relink(p, path.join(out, meant));
      else if (climbsOut) {
        const where = locate(meant);
        if (where) relink(p, where);
        else unresolved.push(`${rel} -> ${target}`);
      }
      continue;
    }
    if (target.startsWith('/nix/') || target.startsWith(path.dirname(out) + '/')) continue;
    const where = locate(merged(target));
    if (where) relink(p, where);
    else unresolved.push(`${path.relative(out, p)} -> ${target}`);
  }
}

function relink(p, where) {
  fs.unlinkSync(p);
  fs.symlinkSync(where.startsWith(out + '/') || where === out ? path.relative(path.dirname(p), where) || '.' : where, p);
}

/** The interpreter and needed libraries of an ELF file, or undefined for anything else. */
function elfInfo(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64);
    if (fs.readSync(fd, head, 0, 64, 0) < 64 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    if (head[4] !== 2 || head[5] !== 1) return undefined; // 64-bit little-endian only
    const type = head.readUInt16LE(16);
    if (type !== 2 && type !== 3) return undefined; // executables and shared objects
    const buf = fs.readFileSync(file);
    const phoff = Number(buf.readBigUInt64LE(32));
    const phentsize = buf.readUInt16LE(54);
    const phnum = buf.readUInt16LE(56);
    const loads = [];
    let interp;
    let dyn;
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      const t = buf.readUInt32LE(o);
      const offset = Number(buf.readBigUInt64LE(o + 8));
      const vaddr = Number(buf.readBigUInt64LE(o + 16));
      const filesz = Number(buf.readBigUInt64LE(o + 32));
      if (t === 1) loads.push({ offset, vaddr, filesz });
      if (t === 3) interp = buf.toString('latin1', offset, offset + filesz).replace(/\0.*$/s, '');
      if (t === 2) dyn = { offset, filesz };
    }
    const needed = [];
    if (dyn) {
      let strtab;
      const offsets = [];
      for (let o = dyn.offset; o + 16 <= dyn.offset + dyn.filesz; o += 16) {
        const tag = Number(buf.readBigInt64LE(o));
        const val = Number(buf.readBigUInt64LE(o + 8));
        if (tag === 0) break;
        if (tag === 1) offsets.push(val);
        if (tag === 5) strtab = val;
      }
      const seg = loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
      if (seg) {
        const base = strtab - seg.vaddr + seg.offset;
        for (const n of offsets) needed.push(buf.toString('latin1', base + n, buf.indexOf(0, base + n)));
      }
    }
    return { interp, needed };
  } finally {
    fs.closeSync(fd);
  }
}

/** Shared-library file names → the directory holding them, in this output then the closure. */
function libraryIndex() {
  const index = new Map();
  for (const root of [out, ...closure]) {
    for (const top of ['lib', 'lib64']) {
      const dir = path.join(root, top);
      if (!fs.existsSync(dir)) continue;
      for (const [p, e] of walk(dir)) {
        if (!/\.so(\.|$)/.test(e.name)) continue;
        if (!index.has(e.name)) index.set(e.name, path.dirname(p));
      }
    }
  }
  return index;
}

const LOADER = 'ld-linux-x86-64.so.2';

function patchElves() {
  const index = libraryIndex();
  const loaderDir = index.get(LOADER);
  const loader = loaderDir && path.join(loaderDir, LOADER);
  // Files that need the same change are patched by one patchelf run (it takes many files): a
  // package's gconv modules, or a Python extension's dozens of libraries, cost one process.
  const batches = new Map();
  for (const [p, e] of walk(out)) {
    if (!e.isFile()) continue;
    const info = elfInfo(p);
    if (!info) continue;
    const args = [];
    if (info.interp) {
      if (!loader) throw new Error(`${path.relative(out, p)} needs a dynamic loader and no package of the closure has ${LOADER}`);
      args.push('--set-interpreter', fs.realpathSync(loader));
    }
    const dirs = [];
    for (const lib of info.needed) {
      if (lib === LOADER) continue;
      const dir = index.get(lib);
      if (!dir) {
        unresolved.push(`${path.relative(out, p)} needs ${lib}`);
        continue;
      }
      if (!dirs.includes(dir)) dirs.push(dir);
    }
    if (dirs.length) args.push('--set-rpath', dirs.join(':'));
    if (!args.length) continue;
    const mode = fs.statSync(p).mode;
    fs.chmodSync(p, mode | 0o200);
    const key = args.join('\0');
    if (!batches.has(key)) batches.set(key, { args, files: [] });
    batches.get(key).files.push(p);
  }
  let patched = 0;
  for (const { args, files } of batches.values()) {
    for (let i = 0; i < files.length; i += 256) run(patchelf[0], [...patchelf.slice(1), ...args, ...files.slice(i, i + 256)]);
    patched += files.length;
  }
  console.log(`patched ${patched} ELF files`);
}

function fixShebangs() {
  for (const top of ['bin', 'sbin', 'lib/cgi-bin']) {
    const dir = path.join(out, top);
    if (!fs.existsSync(dir)) continue;
    for (const [p, e] of walk(dir)) {
      if (!e.isFile()) continue;
      const fd = fs.openSync(p, 'r');
      const head = Buffer.alloc(256);
      const n = fs.readSync(fd, head, 0, 256, 0);
      fs.closeSync(fd);
      const first = head.toString('latin1', 0, n).split('\n')[0];
      const m = /^#!\s*(\/\S+)(.*)$/.exec(first);
      if (!m || m[1].startsWith(path.dirname(out) + '/')) continue;
      const where = locate(merged(m[1])) ?? (binSh && merged(m[1]) === 'bin/sh' ? binSh : undefined);
      if (!where) {
        unresolved.push(`${path.relative(out, p)} runs ${m[1]}`);
        continue;
      }
      const text = fs.readFileSync(p);
      fs.writeFileSync(p, Buffer.concat([Buffer.from(`#!${where}${m[2]}`, 'latin1'), text.subarray(Buffer.byteLength(first, 'latin1'))]));
    }
  }
}

function fixPythonPaths() {
  const lib = path.join(out, 'lib');
  if (!fs.existsSync(lib)) return;
  const literal = /(['"])(\/(?:usr|etc|var|opt)\/[^'"\s:*?]*)\1/g;
  let changed = 0;
  for (const [p, e] of walk(lib)) {
    if (!e.isFile() || !e.name.endsWith('.py')) continue;
    const text = fs.readFileSync(p, 'latin1');
    if (!/['"]\/(usr|etc|var|opt)\//.test(text)) continue;
    const next = text.replace(literal, (all, quote, abs) => {
      // Only a particular file or data directory (usr/share/matplotlib/mpl-data), not a
      // search directory of the system (/usr/lib, /usr/include, /usr/lib/x86_64-linux-gnu).
      const rel = merged(abs).replace(/\/+$/, '');
      const where = locate(rel);
      if (!where) return all;
      const specific = fs.statSync(where).isFile() || rel.split('/').length >= 3;
      return specific ? `${quote}${where}${quote}` : all;
    });
    if (next !== text) {
      fs.writeFileSync(p, next, 'latin1');
      changed++;
    }
  }
  if (changed) console.log(`relocated paths in ${changed} Python files`);
}

function compileBytecode() {
  const lib = path.join(out, 'lib');
  if (!fs.existsSync(lib)) return;
  const dirs = fs.readdirSync(lib).filter((d) => /^python3(\.\d+)?$/.test(d)).map((d) => path.join(lib, d));
  if (!dirs.length) return;
  const python = [out, ...closure].map((r) => path.join(r, 'bin', 'python3.11')).find((p) => fs.lstatSync(p, { throwIfNoEntry: false })?.isFile());
  if (!python) return;
  // -f: the interpreter's own start-up imports must not leave time-stamped files that compileall
  // would take as up to date (and the interpreter writes none of its own).
  const r = spawnSync(python, ['-m', 'compileall', '-q', '-f', '-j', '1', '--invalidation-mode', 'unchecked-hash', ...dirs], {
    env: { PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1', LC_ALL: 'C.UTF-8', PATH: process.env.PATH },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.error) throw r.error;
  // Files that are not Python 3 (test data, Python 2 leftovers) do not compile; they stay as they are.
  const failed = (r.stdout.match(/^\*\*\* Error compiling/gm) ?? []).length;
  console.log(`compiled Python bytecode in ${dirs.map((d) => path.relative(out, d)).join(', ')}${failed ? ` (${failed} files are not Python 3 and stay uncompiled)` : ''}`);
}

fs.mkdirSync(stage, { recursive: true });
for (const deb of debs) unpack(deb);
for (const top of fs.readdirSync(stage).sort()) {
  if (top === 'usr') {
    for (const e of fs.readdirSync(path.join(stage, 'usr')).sort()) merge(path.join(stage, 'usr', e), path.join(out, e));
  } else merge(path.join(stage, top), path.join(out, top));
}
fs.rmSync(stage, { recursive: true });
fixSymlinks();
patchElves();
fixShebangs();
fixPythonPaths();
compileBytecode();
if (unresolved.length) console.log(`left pointing outside the store (not in this package's closure):\n  ${unresolved.join('\n  ')}`);
