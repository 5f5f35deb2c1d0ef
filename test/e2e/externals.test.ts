/**
 * CMSSW externals from source (exprs/cmssw/externals.ts): zlib, FastJet and HepMC3 built from
 * Debian's upstream tarballs by the store's toolchain and CMake in the sandbox, their own tests
 * run by the builds; a C++ program linking FastJet and HepMC3 writes an event, reads it back and
 * clusters its particles into jets, and runs with nothing but the store; every program and
 * library has its interpreter and run paths in the store; no file of any output names /usr,
 * /lib or /build; and `realize --check` rebuilds them bit for bit.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO, runCliAsync, tmpDir, writeTree } from '../helpers.js';
import { findBwrap } from '../../src/realize/sandbox.js';

const canFetch = Boolean(process.env.HEPSTORE_MIRROR_DEBIAN) || spawnSync('apt-get', ['--version']).status === 0;

/** Final-state particles (px, py, pz, E; massless): two sprays of particles and one soft one. */
function particle(pt: number, eta: number, phi: number): [number, number, number, number] {
  const px = pt * Math.cos(phi);
  const py = pt * Math.sin(phi);
  const pz = pt * Math.sinh(eta);
  return [px, py, pz, Math.hypot(px, py, pz)];
}
const SPRAYS = [
  [particle(50, 0.1, 0.2), particle(30, 0.2, 0.3), particle(20, 0.05, 0.1)],
  [particle(40, -1.0, 3.0), particle(25, -1.1, 3.1)],
];
const SOFT = particle(1, 2.5, -1.5);
const PARTICLES = [...SPRAYS.flat(), SOFT];

const DEMO = `#include <fastjet/ClusterSequence.hh>
#include <HepMC3/GenEvent.h>
#include <HepMC3/GenParticle.h>
#include <HepMC3/GenVertex.h>
#include <HepMC3/ReaderAscii.h>
#include <HepMC3/WriterAscii.h>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

static const double particles[][4] = {
${PARTICLES.map((p) => `  {${p.map((x) => x.toPrecision(17)).join(', ')}},`).join('\n')}
};

int main() {
  using namespace HepMC3;
  GenEvent event(Units::GEV, Units::MM);
  auto beam1 = std::make_shared<GenParticle>(FourVector(0, 0, 6500, 6500), 2212, 4);
  auto beam2 = std::make_shared<GenParticle>(FourVector(0, 0, -6500, 6500), 2212, 4);
  auto vertex = std::make_shared<GenVertex>();
  vertex->add_particle_in(beam1);
  vertex->add_particle_in(beam2);
  for (auto &p : particles) vertex->add_particle_out(std::make_shared<GenParticle>(FourVector(p[0], p[1], p[2], p[3]), 211, 1));
  event.add_vertex(vertex);

  // Written in HepMC3's ASCII format and read back.
  std::stringstream text;
  {
    WriterAscii writer(text);
    writer.write_event(event);
    writer.close();
  }
  ReaderAscii reader(text);
  GenEvent back;
  reader.read_event(back);
  if (reader.failed()) return 1;

  std::vector<fastjet::PseudoJet> input;
  for (auto &p : back.particles())
    if (p->status() == 1) input.emplace_back(p->momentum().px(), p->momentum().py(), p->momentum().pz(), p->momentum().e());
  std::printf("read %zu particles, %zu final\\n", back.particles().size(), input.size());

  fastjet::ClusterSequence cs(input, fastjet::JetDefinition(fastjet::antikt_algorithm, 0.4));
  auto jets = fastjet::sorted_by_pt(cs.inclusive_jets(5.0));
  for (auto &j : jets) std::printf("jet pt=%.6f n=%zu\\n", j.pt(), j.constituents().size());
  return 0;
}
`;

const EXPR = `import { mkDerivation, path } from 'hepstore';
import externals from ${JSON.stringify(path.join(REPO, 'exprs', 'cmssw', 'externals.ts'))};

export const zlib = externals.zlib;
export const fastjet = externals.fastjet;
export const hepmc3 = externals.hepmc3;

/** Jets of a HepMC3 event, written and read back. */
export const demo = mkDerivation({
  pname: 'jets-demo', version: '1.0', src: path('./demo'), buildInputs: [fastjet, hepmc3],
  buildPhase: 'c++ -O2 -std=c++17 demo.cc -lfastjet -lHepMC3 -o jets-demo && ./jets-demo',
  installPhase: 'mkdir -p $out/bin && cp jets-demo $out/bin/',
});

export const all = [zlib, fastjet, hepmc3, demo];
`;

const dir = tmpDir('externals');
writeTree(dir, { 'default.ts': EXPR, demo: { 'demo.cc': DEMO } });
const root = path.join(dir, 'root');
const storeDir = path.join(root, 'store');
const file = path.join(dir, 'default.ts');
const bwrap = findBwrap();

/** Every file below a directory (symlinks left out). */
function filesOf(d: string): string[] {
  return fs.readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

function isElf(f: string): boolean {
  const b = Buffer.alloc(4);
  const fd = fs.openSync(f, 'r');
  try {
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === '\x7fELF';
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Strings of a file that name a path of the host: /usr, /lib, /lib64, /build outside store paths.
 * A path below a variable of a script or a CMake file (`$prefix/lib/…`, `${PACKAGE_PREFIX_DIR}/lib`)
 * is the package's own, not the host's.
 */
function hostPaths(f: string): string[] {
  const esc = storeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const text = fs.readFileSync(f).toString('latin1').replace(new RegExp(`${esc}/[0-9a-z]{32}-[\\x21-\\x39\\x3b-\\x7e]*`, 'g'), '');
  const found = [...text.matchAll(/\/(usr|lib|lib64|build)\/[\x21-\x7e]*/g)].filter((m) => !/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(text.slice(Math.max(0, m.index! - 64), m.index)));
  return [...new Set(found.map((m) => m[0]))];
}

let outs: Record<string, string> = {};

test('zlib, FastJet and HepMC3 from source with their tests; a program linking FastJet and HepMC3', async () => {
  if (!canFetch) {
    console.log('  (skipped: neither apt-get nor HEPSTORE_MIRROR_DEBIAN to fetch Debian packages)');
    return;
  }
  const t0 = Date.now();
  const r = await runCliAsync(['realize', '-j2', '--no-out-link', '--json', '--attr', 'all', file], { storeRoot: root });
  assert.is(r.status, 0, r.stderr);
  console.log(`  stdenv, toolchain, CMake, zlib, FastJet, HepMC3 and the program from a cold store: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const paths = (JSON.parse(r.stdout) as Array<{ outputs: Record<string, string> }>).map((x) => x.outputs.out);
  outs = { zlib: paths[0], fastjet: paths[1], hepmc3: paths[2], demo: paths[3] };
  assert.match(outs.zlib, /-zlib-1\.2\.13$/);
  assert.match(outs.fastjet, /-fastjet-3\.4\.0$/);
  assert.match(outs.hepmc3, /-hepmc3-3\.1\.2$/);

  // The packages' own tests ran in their builds, and passed.
  const log = async (p: string) => (await runCliAsync(['log', p], { storeRoot: root })).stdout;
  assert.match(await log(outs.zlib), /\*\*\* zlib shared test OK \*\*\*/);
  const fj = await log(outs.fastjet);
  assert.match(fj, /hepstore: running check phase/);
  assert.match(fj, /100% tests passed, 0 tests failed out of 1/);
  const hm = await log(outs.hepmc3);
  assert.match(hm, /100% tests passed, 0 tests failed out of [1-9]\d*/);
  // An out-of-tree CMake build (in build/), installed below $out.
  assert.match(hm, /Entering directory '[^']*\/source\/build'/);
  assert.ok(hm.includes(`-- Installing: ${outs.hepmc3}/lib/libHepMC3.so`), 'HepMC3 was installed below its output');

  for (const f of ['include/fastjet/ClusterSequence.hh', 'include/fastjet/config_auto.h', 'lib/libfastjet.so', 'lib/libfastjettools.so', 'lib/libfastjetplugins.so', 'bin/fastjet-config']) {
    assert.ok(fs.existsSync(path.join(outs.fastjet, f)), `fastjet has ${f}`);
  }
  for (const f of ['include/HepMC3/GenEvent.h', 'lib/libHepMC3.so', 'lib/libHepMC3search.so']) assert.ok(fs.existsSync(path.join(outs.hepmc3, f)), `hepmc3 has ${f}`);
  assert.equal(filesOf(outs.fastjet).filter((f) => f.endsWith('.la')), [], 'no libtool archives');

  // fastjet-config runs (its #! line is in the store) and names the store.
  const cfg = spawnSync(path.join(outs.fastjet, 'bin', 'fastjet-config'), ['--libs'], { encoding: 'utf8', env: {} });
  assert.is(cfg.status, 0, cfg.stderr);
  assert.match(cfg.stdout, new RegExp(`-L${outs.fastjet.replace(/[.+]/g, '\\$&')}/lib\\b.*-lfastjet`));

  // The program: the event read back, the jets of anti-kt R=0.4 as the two sprays (computed here).
  const prog = path.join(outs.demo, 'bin', 'jets-demo');
  const expected = SPRAYS.map((s) => ({ pt: Math.hypot(s.reduce((a, p) => a + p[0], 0), s.reduce((a, p) => a + p[1], 0)), n: s.length }));
  const check = (stdout: string) => {
    assert.match(stdout, new RegExp(`^read ${PARTICLES.length + 2} particles, ${PARTICLES.length} final$`, 'm'));
    const jets = [...stdout.matchAll(/^jet pt=([\d.]+) n=(\d+)$/gm)].map((m) => ({ pt: Number(m[1]), n: Number(m[2]) }));
    assert.is(jets.length, expected.length, stdout);
    jets.forEach((j, i) => {
      assert.is(j.n, expected[i].n, `jet ${i} constituents`);
      assert.ok(Math.abs(j.pt - expected[i].pt) < 1e-4, `jet ${i}: pt ${j.pt}, want ${expected[i].pt}`);
    });
  };
  if (bwrap) {
    // Nothing but the store: no /usr, no /lib, an empty environment.
    const run = spawnSync(bwrap, ['--unshare-all', '--die-with-parent', '--ro-bind', storeDir, storeDir, '--proc', '/proc', '--dev', '/dev', '--clearenv', prog], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    check(run.stdout);
  } else {
    const run = spawnSync('env', ['-i', prog], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    check(run.stdout);
  }
});

test('interpreters and run paths in the store; no host path or build directory in any output file', () => {
  if (!canFetch) return;
  let elves = 0;
  for (const [name, out] of Object.entries(outs)) {
    for (const f of filesOf(out)) {
      assert.equal(hostPaths(f), [], `${f} names host paths`);
      if (!isElf(f)) continue;
      elves++;
      const h = spawnSync('readelf', ['-ld', f], { encoding: 'utf8' });
      assert.is(h.status, 0, h.stderr);
      const interp = (h.stdout.match(/Requesting program interpreter: ([^\]]+)\]/) ?? [])[1];
      if (interp !== undefined) assert.ok(interp.startsWith(storeDir + '/') && interp.endsWith('/ld-linux-x86-64.so.2'), `${f}: interpreter ${interp}`);
      if (/\.so[.\d]*$/.test(f) || interp !== undefined) {
        const runpath = ((h.stdout.match(/\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]/) ?? [])[1] ?? '').split(':').filter(Boolean);
        assert.ok(runpath.length, `${f} has a run path`);
        for (const e of runpath) assert.ok(e.startsWith(storeDir + '/'), `${f}: run path entry outside the store: ${e}`);
      }
      if (name === 'demo') assert.ok(interp !== undefined, 'the program has an interpreter');
    }
  }
  // FastJet's three libraries, HepMC3's two, zlib's and the program.
  assert.ok(elves >= 7, `programs and libraries checked: ${elves}`);
});

test('realize --check: zlib, FastJet, HepMC3 and the program rebuilt bit for bit', async () => {
  if (!canFetch) return;
  const t1 = Date.now();
  // zlib, FastJet, HepMC3 and the program only: the toolchain's own check is e2e/toolchain's.
  const check = await runCliAsync(['realize', '-j2', '--check', '--no-out-link', '--attr', 'all', file], { storeRoot: root });
  assert.is(check.status, 0, check.stderr);
  assert.match(check.stderr, /checked 4 derivations: every rebuilt output is bit for bit the same/);
  console.log(`  realize --check of the packages and the program: ${((Date.now() - t1) / 1000).toFixed(0)} s`);
});

test('a CMSSW release with the real zlib, FastJet and HepMC3: shares their store paths, keeps them while it is a root', async () => {
  if (!canFetch) return;
  const rel = path.join(REPO, 'exprs', 'cmssw', 'release.ts');
  const add = await runCliAsync(['release', 'add', 'CMSSW_14_2_X', rel, '-A', 'CMSSW_14_2_X', '--arg', 'scale', '0', '--arg', 'real', '["zlib","fastjet","hepmc3"]', '-j2', '--json'], { storeRoot: root });
  assert.is(add.status, 0, add.stderr);
  // The release refers to the very paths built above (valid already, so not built again).
  const tops = (JSON.parse(add.stdout) as { outputs: string[] }).outputs;
  assert.is(tops.length, 2, 'cmssw-tools and python_tools');
  const infos = JSON.parse((await runCliAsync(['path-info', '-r', '--json', ...tops], { storeRoot: root })).stdout) as Array<{ path: string; references: string[] }>;
  const closure = infos.map((i) => i.path);
  for (const name of ['zlib', 'fastjet', 'hepmc3']) assert.ok(closure.includes(outs[name]), `the release's closure holds the real ${name}: ${outs[name]}`);
  // A synthetic package that cmsdist has depend on FastJet refers to the real one.
  const rivet = closure.find((p) => /-rivet-[^/]*$/.test(p));
  assert.ok(rivet, 'rivet is in the release');
  assert.ok(infos.find((i) => i.path === rivet)!.references.includes(outs.fastjet), 'rivet refers to the real FastJet');
  assert.ok(fs.readFileSync(rivet!, 'utf8').includes(outs.fastjet));

  // Kept by the release through gc; freed once it is removed.
  assert.is((await runCliAsync(['gc'], { storeRoot: root })).status, 0);
  for (const name of ['zlib', 'fastjet', 'hepmc3']) assert.ok(fs.existsSync(outs[name]), `gc keeps the release's ${name}`);
  assert.is((await runCliAsync(['release', 'rm', 'CMSSW_14_2_X'], { storeRoot: root })).status, 0);
  assert.is((await runCliAsync(['gc'], { storeRoot: root })).status, 0);
  for (const name of ['zlib', 'fastjet', 'hepmc3']) assert.not.ok(fs.existsSync(outs[name]), `gc frees ${name} once nothing roots it`);
});

test.run();
