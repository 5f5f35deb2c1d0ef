import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { newStore, expectStoreError, placeWithReferences, rejectsStoreError } from '../helpers.js';
import { Profile, isManifestOnly, readManifest, MANIFEST_FILE, type Manifest } from '../../src/profile/profiles.js';
import { writeGeneration } from '../../src/profile/generation.js';
import { findRoots } from '../../src/gc/roots.js';
import { collectGarbage } from '../../src/gc/collect.js';
import type { LocalStore } from '../../src/store/local-store.js';
import { put } from '../gc/helpers.js';

const DAY = 86400;

/** A profile with generations 1..n pointing at fresh paths, their links backdated by `ages` days. */
async function withGenerations(store: LocalStore, ages: number[]): Promise<{ prof: Profile; paths: string[] }> {
  const prof = new Profile(store.layout, 'test', 'alice');
  const paths: string[] = [];
  const now = Date.now() / 1000;
  for (let i = 0; i < ages.length; i++) {
    const p = await put(store, `env-${i + 1}`);
    paths.push(p);
    const g = prof.createGeneration(p);
    fs.lutimesSync(g.link, now - ages[i] * DAY, now - ages[i] * DAY);
  }
  return { prof, paths };
}

test('generations: numbered links as in Nix, relative profile link, no new generation for the same target', async () => {
  const store = newStore();
  try {
    const prof = new Profile(store.layout);
    assert.is(prof.name, 'default');
    assert.ok(prof.link.startsWith(path.join(store.layout.profilesDir, 'per-user') + '/'), 'per-user default profile');
    const a = await put(store, 'a');
    const b = await put(store, 'b');
    assert.is(prof.createGeneration(a).number, 1);
    assert.is(prof.createGeneration(b).number, 2);
    assert.is(prof.createGeneration(b).number, 2, 'same target: no new generation');
    assert.is(fs.readlinkSync(prof.link), 'default-2-link');
    assert.is(fs.readlinkSync(path.join(prof.dir, 'default-1-link')), a);
    assert.equal(prof.generations().map((g) => [g.number, g.path, g.current]), [
      [1, a, false],
      [2, b, true],
    ]);
    const roots = findRoots(store).filter((r) => r.kind === 'profile');
    assert.equal(roots.map((r) => r.targets[0]).sort(), [a, b].sort(), 'every generation is a root');
  } finally {
    store.close();
  }
});

test('rollback goes to the highest generation below the current one; switch to any existing one', async () => {
  const store = newStore();
  try {
    const { prof, paths } = await withGenerations(store, [3, 2, 1]);
    prof.switchTo(1);
    expectStoreError(() => prof.rollback(), 'USAGE');
    prof.switchTo(3);
    assert.is(prof.rollback().number, 2);
    assert.is(prof.current(), 2);
    assert.is(fs.realpathSync(prof.link), fs.realpathSync(paths[1]));
    expectStoreError(() => prof.switchTo(7), 'USAGE');
    // A new generation after a rollback is max+1, as in Nix.
    assert.is(prof.createGeneration(await put(store, 'new')).number, 4);
  } finally {
    store.close();
  }
});

test('delete-older-than keeps the current generation and the newest one older than the cutoff (as Nix)', async () => {
  const store = newStore();
  try {
    const { prof } = await withGenerations(store, [50, 40, 35, 10, 1]);
    const cutoff = Date.now() / 1000 - 30 * DAY;
    assert.equal(prof.deleteOlderThan(cutoff, true), [1, 2], 'dry run');
    assert.is(prof.generations().length, 5);
    assert.equal(prof.deleteOlderThan(cutoff), [1, 2]);
    assert.equal(prof.generations().map((g) => g.number), [3, 4, 5]);
    // The current generation survives even when it is old.
    prof.switchTo(3);
    assert.equal(prof.deleteOlderThan(Date.now() / 1000), [4], 'everything is older than now: 5 is the newest older one, 3 is current');
    assert.equal(prof.generations().map((g) => g.number), [3, 5]);
  } finally {
    store.close();
  }
});

test('keep-last N keeps the N newest generations and the current one; the current one is never deleted', async () => {
  const store = newStore();
  try {
    const { prof } = await withGenerations(store, [5, 4, 3, 2, 1]);
    prof.switchTo(2);
    assert.equal(prof.keepLast(2), [1, 3]);
    assert.equal(prof.generations().map((g) => g.number), [2, 4, 5]);
    expectStoreError(() => prof.deleteGenerations([2]), 'USAGE');
    assert.equal(prof.keepLast(0), [4, 5]);
    assert.equal(prof.generations().map((g) => g.number), [2]);
  } finally {
    store.close();
  }
});

const exec = (s: string) => ({ exec: `#!/bin/sh\n${s}\n` });

/** A package with a program bin/NAME, referring to `refs`. */
async function pkg(store: LocalStore, name: string, refs: string[] = [], extra: Record<string, string> = {}): Promise<string> {
  const tool = name.replace(/-\d.*$/, '');
  return (await placeWithReferences(store, name, { bin: { [tool]: exec(`echo ${name}`) }, share: { [tool]: { refs: refs.join('\n') } }, ...extra }, refs)).path;
}

const manifestOf = (...paths: string[]): Manifest => ({ version: 1, elements: paths.map((p) => ({ name: path.basename(p).slice(33), path: p })) });

test('a generation is a buildEnv of the installed packages with manifest.json at its top; the same set gives the same path', async () => {
  const store = newStore();
  try {
    const lib = (await placeWithReferences(store, 'lib-1.0', { lib: { 'libx.so': 'x' } }, [])).path;
    const tool = await pkg(store, 'tool-2.0', [lib]);
    const other = await pkg(store, 'other-0.1');
    const g = await writeGeneration(store, manifestOf(tool, other));
    assert.ok(fs.statSync(g.path).isDirectory());
    // Merged bin/: one link per program, into the packages.
    assert.is(fs.realpathSync(path.join(g.path, 'bin', 'tool')), fs.realpathSync(path.join(tool, 'bin', 'tool')));
    assert.is(fs.realpathSync(path.join(g.path, 'bin', 'other')), fs.realpathSync(path.join(other, 'bin', 'other')));
    assert.ok(fs.lstatSync(path.join(g.path, MANIFEST_FILE)).isFile(), 'the manifest is a file of the generation');
    assert.equal(readManifest(g.path).elements.map((e) => e.path), [other, tool], 'sorted by name');
    assert.equal(store.pathInfo(g.path).references, [other, tool].sort(), 'references: the installed paths');
    assert.ok(store.queryClosure([g.path]).includes(lib), 'the closure has their dependencies');
    // Deterministic: the same set (in any order) is the same path; another set another one.
    assert.is((await writeGeneration(store, manifestOf(other, tool))).path, g.path);
    assert.is.not((await writeGeneration(store, manifestOf(tool))).path, g.path);
    assert.equal(g.unlinked, []);
  } finally {
    store.close();
  }
});

test('a generation: a package that is a file is in the manifest and closure but not linked; a collision is refused; a package manifest.json loses', async () => {
  const store = newStore();
  try {
    const file = (await placeWithReferences(store, 'notes-1.0', { data: 'x' }, [])).path;
    const single = await store.addTextToStore('single-1.0', 'just a file\n', []);
    const tool = await pkg(store, 'tool-2.0', [], { [MANIFEST_FILE]: '{"not":"ours"}' });
    const g = await writeGeneration(store, manifestOf(tool, single, file));
    assert.equal(g.unlinked, [single]);
    assert.ok(store.pathInfo(g.path).references.includes(single));
    assert.equal(readManifest(g.path).elements.map((e) => e.path).sort(), [tool, single, file].sort(), 'the profile manifest, not the package one');
    const clash = await pkg(store, 'tool-3.0');
    const e = await rejectsStoreError(writeGeneration(store, manifestOf(tool, clash)), 'USAGE');
    assert.match(e.message, 'bin/tool');
    assert.match(e.hint ?? '', 'store profile remove');
  } finally {
    store.close();
  }
});

test('gc keeps the closures of every generation; deleting generations frees what only they kept', async () => {
  const store = newStore();
  try {
    const prof = new Profile(store.layout, 'ana', 'bob');
    const lib = (await placeWithReferences(store, 'lib-1.0', { lib: { 'libx.so': 'x' } }, [])).path;
    const tool = await pkg(store, 'tool-2.0', [lib]);
    const other = await pkg(store, 'other-0.1');
    const g1 = await writeGeneration(store, manifestOf(tool));
    prof.createGeneration(g1.path);
    const g2 = await writeGeneration(store, manifestOf(other));
    prof.createGeneration(g2.path);
    assert.is(fs.readlinkSync(prof.link), 'ana-2-link');
    assert.is(fs.readlinkSync(path.join(prof.dir, 'ana-2-link')), g2.path, 'profile -> generation link -> environment');
    assert.is(fs.realpathSync(path.join(prof.link, 'bin', 'other')), fs.realpathSync(path.join(other, 'bin', 'other')));
    store.releaseTempRoots();
    assert.is((await collectGarbage(store)).deleted.length, 0, 'both generations keep their closures');
    prof.keepLast(1);
    const r = await collectGarbage(store);
    assert.equal(r.deleted.map((d) => d.path).sort(), [g1.path, tool, lib].sort());
    assert.ok(fs.existsSync(path.join(prof.link, 'bin', 'other')), 'the live generation is whole');
  } finally {
    store.close();
  }
});

test('a generation of the older kind (the manifest alone) can still be read, listed and rolled back to', async () => {
  const store = newStore();
  try {
    const prof = new Profile(store.layout, 'old', 'carol');
    const tool = await pkg(store, 'tool-2.0');
    const old = await store.addTextToStore('old-profile.json', JSON.stringify(manifestOf(tool)), [tool]);
    prof.createGeneration(old);
    const g = await writeGeneration(store, manifestOf(tool, await pkg(store, 'other-0.1')));
    prof.createGeneration(g.path);
    assert.ok(isManifestOnly(old));
    assert.not.ok(isManifestOnly(g.path));
    assert.equal(readManifest(old).elements.map((e) => e.path), [tool]);
    assert.is(prof.rollback().path, old);
    assert.equal(readManifest(prof.generations().find((x) => x.current)!.path).elements.map((e) => e.path), [tool]);
  } finally {
    store.close();
  }
});

test('profile names are checked', () => {
  const store = newStore();
  try {
    expectStoreError(() => new Profile(store.layout, '../escape'), 'USAGE');
  } finally {
    store.close();
  }
});

test.run();
