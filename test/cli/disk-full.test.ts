/**
 * A full file system (a 20 MiB tmpfs): a build that writes more than fits fails with a message
 * naming the file system and what to free, and leaves nothing at its output path; `store gc`
 * frees space even when the disk is completely full (it first deletes var/gc-reserve); then
 * building works again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, tmpDir, writeTree, exists } from '../helpers.js';

// Writes MIB lines of 1 MiB with the shell's own echo; a full disk ends it with `exit WHEN_FULL`.
const fill = (mib: number, whenFull: number) =>
  `s=0123456789abcdef; i=0; while [ $i -lt 16 ]; do s=$s$s; i=$((i+1)); done; i=0; while [ $i -lt ${mib} ]; do echo "$s" >> $out || exit ${whenFull}; i=$((i+1)); done`;

const EXPR = `import { derivation } from 'hepstore';
export const big = derivation({ name: 'big', builder: '/bin/sh', args: ['-c', ${JSON.stringify(fill(6, 1))}] });
// Fills the disk and then succeeds: registering it is what fails.
export const fill = derivation({ name: 'fill', builder: '/bin/sh', args: ['-c', ${JSON.stringify(fill(40, 0))}] });
// Fills the disk and fails.
export const fillFail = derivation({ name: 'fill-fail', builder: '/bin/sh', args: ['-c', ${JSON.stringify(fill(40, 1))}] });
export const small = derivation({ name: 'small', builder: '/bin/sh', args: ['-c', 'echo small > $out'] });
`;

const STACK = /\n\s+at .*\(.*:\d+:\d+\)/;

function free(dir: string): number {
  const st = fs.statfsSync(dir);
  return st.bavail * st.bsize;
}

test('a full disk: builds fail with a message naming it, store gc frees space on a completely full disk, then building works', () => {
  const mnt = tmpDir('disk-full');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    console.log(`cannot mount a tmpfs here (${(m.stderr || m.error?.message || '').trim()}): skipping the full-disk test`);
    return;
  }
  try {
    const dir = tmpDir('disk-full-expr');
    writeTree(dir, { 'default.ts': EXPR });
    const root = path.join(mnt, 'root');
    const run = (args: string[]) => runCli(args, { storeRoot: root, cwd: dir });
    const outPath = (attr: string) => (JSON.parse(run(['eval', 'default.ts', '-A', attr, '--json']).stdout) as Array<{ outputs: { out: string } }>)[0].outputs.out;

    const big = run(['realize', 'default.ts', '-A', 'big', '--no-out-link']);
    assert.is(big.status, 0, big.stderr);
    assert.is(fs.statSync(path.join(root, 'var', 'gc-reserve')).size, 8 << 20, 'the reserve is made when the store is opened');

    for (const attr of ['fill', 'fillFail']) {
      const r = run(['realize', 'default.ts', '-A', attr, '--no-out-link']);
      assert.ok(r.status === 100 || r.status === 1, `${attr}: exit ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, `no space left on the file system mounted at ${mnt} (holding the store ${root}`);
      assert.match(r.stderr, /hint: free space on .*: run 'store gc'/);
      assert.not.match(r.stderr, STACK, `${attr}: no stack trace`);
      assert.not.match(r.stderr, /SqliteError/);
      assert.not.ok(exists(outPath(attr)), `${attr}: nothing is left at the output path`);
    }
    const verify = run(['verify', '--check-contents']);
    assert.is(verify.status, 0, verify.stderr);

    // Something else fills the disk completely: every command fails with the message, gc works.
    const filler = path.join(mnt, 'filler');
    const fd = fs.openSync(filler, 'w');
    try {
      const chunk = Buffer.alloc(1 << 16, 7);
      for (;;) fs.writeSync(fd, chunk);
    } catch (e) {
      assert.is((e as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    assert.ok(free(mnt) < 1 << 16);
    const blocked = run(['realize', 'default.ts', '-A', 'small', '--no-out-link']);
    assert.ok(blocked.status === 1 || blocked.status === 100, blocked.stderr);
    assert.match(blocked.stderr, `no space left on the file system mounted at ${mnt}`);
    assert.not.match(blocked.stderr, STACK);

    const gc = run(['gc', '--json']);
    assert.is(gc.status, 0, gc.stderr);
    const report = JSON.parse(gc.stdout) as { deleted: Array<{ path: string }> };
    assert.ok(report.deleted.some((d) => d.path === outPath('big')), 'the dead 6 MiB output is collected');
    assert.not.ok(exists(outPath('big')));
    assert.ok(free(mnt) >= 6 << 20, `gc freed the space (${free(mnt)} bytes free)`);
    assert.is(fs.statSync(path.join(root, 'var', 'gc-reserve')).size, 8 << 20, 'gc makes the reserve again');

    const small = run(['realize', 'default.ts', '-A', 'small', '--no-out-link']);
    assert.is(small.status, 0, small.stderr);
    assert.is(fs.readFileSync(small.stdout.trim(), 'utf8'), 'small\n');
    const after = run(['verify', '--check-contents']);
    assert.is(after.status, 0, after.stderr);
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test.run();
