/** The progress display in-process: line format, NO_COLOR, modes, and realize's running count. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { estimate, formatDuration, formatLine, RateMeter } from '../../src/cli/progress-format.js';
import { openProgress, type ActivityState, type Progress } from '../../src/cli/progress.js';
import { realizeDisplay } from '../../src/cli/realize-progress.js';
import type { RealizeEvent } from '../../src/realize/realize.js';

/** A stream that says it is a terminal (or not), and keeps what is written. */
function fakeStream(tty: boolean): NodeJS.WriteStream & { text(): string } {
  let out = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  }) as unknown as NodeJS.WriteStream & { text(): string };
  Object.assign(w, { isTTY: tty, columns: 120, rows: 40, hasColors: () => true, text: () => out });
  return w;
}

const COLOUR = /\x1b\[[0-9;]*m/;

test('a line: counts, bytes in binary units, rate, ETA; cut to the width; colour only when asked', () => {
  const st: ActivityState = { done: 1, total: 3, unit: 'paths', bytes: 1536, totalBytes: 3 * 1048576 };
  const line = formatLine('pushing', st, 2048, 75, {});
  assert.is(line, '[pushing] 1/3 paths  1.50 KiB/3.00 MiB  2.00 KiB/s  ETA 1:15');
  assert.not.match(line, COLOUR);
  assert.match(formatLine('pushing', st, 2048, 75, { color: true }), COLOUR);
  assert.is(formatLine('building', { done: 0, total: 2, unit: 'built', running: 1, names: ['root'] }, undefined, undefined), '[building] 0/2 built, 1 running: root  ETA -:--');
  const cut = formatLine('building', { done: 0, unit: 'built', running: 5, names: ['a'.repeat(80), 'b', 'c', 'd', 'e'] }, undefined, undefined, { width: 40 });
  assert.is(cut.length, 39);
  assert.ok(cut.endsWith('…'));
  assert.is(formatDuration(3725), '1:02:05');
  assert.is(estimate({ done: 0, unit: 'x', bytes: 100, totalBytes: 1100 }, 100, undefined), 10);
  assert.is(estimate({ done: 2, total: 4, unit: 'x' }, undefined, 1), 2);
  const m = new RateMeter();
  m.sample(0, 1000);
  m.sample(500, 2000);
  assert.is(m.perSecond(2000), 500);
});

test('a terminal with NO_COLOR: the line drawn in place and cleared, with no colour codes', async () => {
  for (const [env, coloured] of [[{ NO_COLOR: '1' }, false], [{}, true]] as const) {
    const stream = fakeStream(true);
    const progress = await openProgress({ stderr: stream }, {}, { ...env });
    assert.is(progress.mode, 'tty');
    const a = progress.activity('push', 'pushing', 'paths');
    a.update({ done: 0, total: 2, bytes: 0, totalBytes: 2048 });
    await new Promise((r) => setTimeout(r, 300));
    a.update({ done: 1, bytes: 1024 });
    progress.message('warning: a message');
    a.end();
    progress.close();
    const text = stream.text();
    assert.match(text, /\[pushing\]/);
    assert.match(text, /1\/2 paths/);
    assert.match(text, /warning: a message\n/);
    assert.is(COLOUR.test(text), coloured, JSON.stringify(text));
  }
});

test('not a terminal, or --quiet: no progress, messages only; --json: events as JSON lines', async () => {
  for (const [tty, flags] of [[false, {}], [true, { quiet: true }]] as const) {
    const stream = fakeStream(tty);
    const progress = await openProgress({ stderr: stream }, flags, {});
    assert.is(progress.mode, 'off');
    const a = progress.activity('gc', 'deleting', 'paths');
    a.update({ done: 1, total: 2 });
    progress.event('x', {});
    progress.message('hello');
    a.end();
    progress.close();
    assert.is(stream.text(), 'hello\n');
  }
  const stream = fakeStream(true);
  const progress = await openProgress({ stderr: stream }, { json: true }, {});
  const a = progress.activity('gc', 'deleting', 'paths');
  a.update({ done: 1, total: 2, bytes: 10 });
  a.update({ done: 2, bytes: 20 });
  a.end();
  const lines = stream.text().trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines, [
    { event: 'progress', activity: 'gc', done: 1, unit: 'paths', total: 2, bytes: 10 },
    { event: 'progress', activity: 'gc', done: 2, unit: 'paths', total: 2, bytes: 20 },
    { event: 'end', activity: 'gc', done: 2, unit: 'paths', total: 2, bytes: 20 },
  ]);
});

test('realize: "running" counts the builds that hold a build slot, not those queued for one', () => {
  const updates = new Map<string, ActivityState>();
  const progress: Progress = {
    mode: 'tty',
    activity: (id, _label, unit) => {
      const st: ActivityState = { done: 0, unit };
      return { update: (s) => updates.set(id, Object.assign(st, s)), end() {} };
    },
    message() {},
    event() {},
    close() {},
  };
  const d = realizeDisplay(progress);
  const e = (i: number) => ({ drvPath: `/s/${i}.drv`, name: `b${i}` });
  const events: RealizeEvent[] = [
    { type: 'plan', toBuild: 4, drvs: 4 },
    { type: 'start', ...e(1) },
    { type: 'start', ...e(2) },
    { type: 'start', ...e(3) },
    { type: 'slot', ...e(1), held: true, kind: 'build' },
    { type: 'slot', ...e(4), held: true, kind: 'fetch' },
    { type: 'download', ...e(4), bytes: 10, total: 100 },
  ];
  for (const ev of events) d.onEvent(ev);
  assert.is(updates.get('build')!.running, 1);
  assert.equal(updates.get('build')!.names, ['b1']);
  assert.equal({ ...updates.get('download') }, { done: 0, unit: 'files', total: 1, running: 1, names: undefined, bytes: 10, totalBytes: 100 });
  d.onEvent({ type: 'slot', ...e(1), held: false, kind: 'build' });
  d.onEvent({ type: 'slot', ...e(2), held: true, kind: 'build' });
  d.onEvent({ type: 'done', ...e(1), built: true });
  assert.is(updates.get('build')!.running, 1);
  assert.equal(updates.get('build')!.names, ['b2']);
  assert.is(updates.get('build')!.done, 1);
  d.onEvent({ type: 'slot', ...e(4), held: false, kind: 'fetch' });
  assert.equal({ ...updates.get('download') }, { done: 1, unit: 'files', total: 1, running: 0, names: undefined, bytes: 10, totalBytes: 100 });
});

test.run();
