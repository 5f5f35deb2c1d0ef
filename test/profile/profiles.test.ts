import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { newStore, expectStoreError } from '../helpers.js';
import { Profile, readManifest, writeManifest } from '../../src/profile/profiles.js';
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

test('a generation is a manifest whose references are the installed paths; deleting generations frees their paths', async () => {
  const store = newStore();
  try {
    const prof = new Profile(store.layout, 'ana', 'bob');
    const lib = await put(store, 'lib');
    const tool = await put(store, 'tool', [lib]);
    const other = await put(store, 'other');
    const m1 = await writeManifest(store, prof.name, { version: 1, elements: [{ name: 'tool', path: tool }] });
    const m2 = await writeManifest(store, prof.name, { version: 1, elements: [{ name: 'other', path: other }] });
    assert.equal(store.pathInfo(m1).references, [tool]);
    assert.equal(readManifest(m1).elements, [{ name: 'tool', path: tool }]);
    prof.createGeneration(m1);
    prof.createGeneration(m2);
    store.releaseTempRoots();
    assert.is((await collectGarbage(store)).deleted.length, 0, 'both generations keep their closures');
    prof.keepLast(1);
    const r = await collectGarbage(store);
    assert.equal(r.deleted.map((d) => d.path).sort(), [m1, tool, lib].sort());
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
