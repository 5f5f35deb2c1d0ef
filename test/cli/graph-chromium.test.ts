/**
 * The picture `store graph` draws opens in a real browser: headless Chromium (Debian's
 * `chromium`) renders the html and the svg of a closure, and the screenshot shows its boxes —
 * the root's blue frame and the grey frames of the others — where a page without the graph
 * shows none.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { placeWithReferences, pseudoRandomBytes, runCli, tmpDir } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { findChromium, graphPixels, screenshot } from '../chromium.js';

const chromium = findChromium();

/** A closure as wide as an environment's: a top over `n` packages. */
async function wide(n: number): Promise<{ root: string; top: string }> {
  const root = path.join(tmpDir('graph-chromium-wide'), 'root');
  const s = new LocalStore(root);
  try {
    const pkgs: string[] = [];
    for (let i = 0; i < n; i++) pkgs.push((await placeWithReferences(s, `pkg${i}-1.${i}`, { x: pseudoRandomBytes(1_000 + 100 * i, `w${i}`) }, [])).path);
    const top = await placeWithReferences(s, 'wide-env', { x: pkgs.join(' ') }, pkgs);
    return { root, top: top.path };
  } finally {
    s.close();
  }
}

/** A closure of 25 paths: a top, 8 libraries, each with 2 data paths of its own, and a shared base. */
async function closure(): Promise<{ root: string; top: string }> {
  const root = path.join(tmpDir('graph-chromium'), 'root');
  const s = new LocalStore(root);
  try {
    const base = await placeWithReferences(s, 'base-1.0', { 'lib.so': pseudoRandomBytes(50_000, 'base') }, []);
    const libs: string[] = [];
    for (let i = 0; i < 8; i++) {
      const data = [];
      for (let j = 0; j < 2; j++) data.push((await placeWithReferences(s, `data-${i}-${j}`, { d: pseudoRandomBytes(2_000 * (j + 1), `d${i}${j}`) }, [])).path);
      const refs = [base.path, ...data];
      libs.push((await placeWithReferences(s, `lib${i}-2.${i}`, { x: refs.join(' '), blob: pseudoRandomBytes(10_000 * (i + 1), `l${i}`) }, refs)).path);
    }
    const top = await placeWithReferences(s, 'analysis-env', { x: libs.join(' ') }, libs);
    return { root, top: top.path };
  } finally {
    s.close();
  }
}

test('store graph --format html and svg: Chromium draws every box', async () => {
  if (!chromium) {
    console.log('  (skipped: chromium is not installed)');
    return;
  }
  const c = await closure();
  const dir = tmpDir('graph-shots');
  const blank = path.join(dir, 'blank.html');
  fs.writeFileSync(blank, '<!doctype html><html><body><p>no graph</p></body></html>');
  const none = screenshot(chromium, blank, path.join(dir, 'blank.png'));
  const textOnly = graphPixels(none);
  assert.ok(textOnly.frames < 200, `a page of text alone: ${textOnly.frames} pixels of that grey`);
  assert.is(textOnly.rootBox, 0);
  for (const format of ['html', 'svg']) {
    const file = path.join(dir, `closure.${format}`);
    const r = runCli(['graph', c.top, '--format', format, '-o', file], { storeRoot: c.root });
    assert.is(r.status, 0, r.stderr);
    const png = screenshot(chromium, file, path.join(dir, `${format}.png`));
    assert.is(png.width, 1600);
    const { frames, rootBox } = graphPixels(png);
    // Each box's frame is a hundred pixels or more: the boxes in view are thousands.
    assert.ok(frames > 1500, `${format}: ${frames} pixels of box frames`);
    // The html fits the whole closure to the width: the root's box is in view too.
    if (format === 'html') assert.ok(rootBox > 500, `${format}: ${rootBox} pixels of the root's box`);
  }
});

test('a closure too wide to fit the page opens at actual size with the root in view', async () => {
  if (!chromium) {
    console.log('  (skipped: chromium is not installed)');
    return;
  }
  const c = await wide(120);
  const dir = tmpDir('graph-shots-wide');
  const file = path.join(dir, 'wide.html');
  const r = runCli(['graph', c.top, '--format', 'html', '-o', file], { storeRoot: c.root });
  assert.is(r.status, 0, r.stderr);
  assert.match(fs.readFileSync(file, 'utf8'), '<input type="checkbox" id="actual" checked>');
  const png = screenshot(chromium, file, path.join(dir, 'wide.png'));
  const { frames, rootBox } = graphPixels(png);
  assert.ok(frames > 1500, `${frames} pixels of box frames`);
  assert.ok(rootBox > 500, `${rootBox} pixels of the root's box`);
});

test.run();
