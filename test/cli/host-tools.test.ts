import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { runCli, tmpDir, writeTree } from '../helpers.js';

interface HostDep {
  kind: string;
  name: string;
  path: string;
  version: string | null;
  hash: string | null;
  askedAt?: string;
  usedBy: Array<{ name: string; drvPath: string; location?: string; as: string }>;
}
interface EvalRecord {
  attr: string;
  drvPath: string;
  outputs: Record<string, string>;
  hostTools: HostDep[];
}

/**
 * Line 2 asks for a host tool; line 3 runs it as a builder; line 4 has a host path as its
 * builder and uses line 3's output; line 5 is a download of a local file (builtin:fetchurl),
 * which uses nothing of the host.
 */
function setup() {
  const dir = tmpDir('host-tools');
  const data = 'calibration 1.02\n';
  writeTree(dir, { 'data.txt': data });
  const sri = 'sha256-' + createHash('sha256').update(data).digest('base64');
  const url = pathToFileURL(path.join(dir, 'data.txt')).href;
  const file = path.join(dir, 'env.ts');
  fs.writeFileSync(
    file,
    `import { derivation, host, fetchurl } from 'hepstore';
const cat = host.tool('cat');
export const dep = derivation({ name: 'dep-1.0', builder: cat, args: ['/dev/null'] });
export const top = derivation({ name: 'top-1.0', builder: '/bin/sh', args: ['-c', \`read x < \${dep}; echo "$x" > $out\`] });
export const data = fetchurl({ url: '${url}', integrity: '${sri}' });
export default { dep, top, data };
`,
  );
  const root = path.join(tmpDir('host-tools-store'), 'root');
  const cli = (args: string[]) => runCli(args, { storeRoot: root, cwd: dir });
  return { dir, file, root, cli, data };
}

function built(root: string): string[] {
  const logs = path.join(root, 'var', 'log');
  return fs.existsSync(logs) ? fs.readdirSync(logs) : [];
}

test('store eval --json lists, per root, every host tool and host-path builder of its closure, with file:line', () => {
  const { file, cli } = setup();
  const r = cli(['eval', 'env.ts', '--json']);
  assert.is(r.status, 0, r.stderr);
  const records = JSON.parse(r.stdout) as EvalRecord[];
  const by = Object.fromEntries(records.map((x) => [x.attr, x]));
  assert.equal(Object.keys(by).sort(), ['data', 'dep', 'top']);

  // dep: the host tool cat, run as its builder.
  assert.is(by.dep.hostTools.length, 1);
  const cat = by.dep.hostTools[0];
  assert.is(cat.kind, 'tool');
  assert.is(cat.name, 'cat');
  assert.match(cat.path, /\/cat$/);
  assert.type(cat.version, 'string');
  assert.match(cat.hash!, /^sha256-/);
  assert.is(cat.askedAt, `${file}:2`);
  assert.equal(cat.usedBy, [{ name: 'dep-1.0', drvPath: by.dep.drvPath, location: `${file}:3`, as: 'builder' }]);

  // top: cat through its input, and its own builder /bin/sh (a host path, in no hash).
  assert.equal(
    by.top.hostTools.map((t) => [t.kind, t.name, t.askedAt]),
    [
      ['tool', 'cat', `${file}:2`],
      ['builder', 'sh', `${file}:4`],
    ],
  );
  const sh = by.top.hostTools[1];
  assert.equal([sh.path, sh.version, sh.hash], ['/bin/sh', null, null]);
  assert.equal(sh.usedBy, [{ name: 'top-1.0', drvPath: by.top.drvPath, location: `${file}:4`, as: 'builder' }]);
  assert.equal(by.top.hostTools[0].usedBy.map((u) => u.name), ['dep-1.0']);

  // data: a download uses nothing of the host.
  assert.equal(by.data.hostTools, []);
});

test('--pure refuses a closure with host tools, naming the derivations and the lines that asked; exit 1, nothing built', () => {
  const { file, root, cli } = setup();
  const outs = Object.fromEntries((JSON.parse(cli(['eval', 'env.ts', '--json']).stdout) as EvalRecord[]).map((x) => [x.attr, x.outputs.out]));
  for (const args of [
    ['realize', 'env.ts', '-A', 'top', '--pure', '--no-out-link'],
    ['eval', 'env.ts', '-A', 'top', '--pure'],
    ['lock', 'env.ts', '-A', 'top', '--pure'],
    ['env', 'env.ts', '-A', 'top', '--pure'],
    ['shell', 'env.ts', '-A', 'top', '--hermetic', '-c', 'true'],
    ['profile', 'install', 'env.ts', '-A', 'top', '--pure'],
    ['release', 'add', 'R1', 'env.ts', '-A', 'top', '--pure'],
  ]) {
    const r = cli(args);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, '', args.join(' '));
    assert.match(r.stderr, /pure mode: 2 derivations/, args.join(' '));
    assert.ok(r.stderr.includes(`dep-1.0 (${file}:3): its builder `), r.stderr);
    assert.ok(r.stderr.includes(`(host.tool at ${file}:2)`), r.stderr);
    assert.ok(r.stderr.includes(`top-1.0 (${file}:4): its builder /bin/sh is a host program`), r.stderr);
    assert.match(r.stderr, /hint: .*stdenv.*host\.tool/);
  }
  assert.equal(built(root), [], 'nothing was built');
  assert.not.ok(fs.existsSync(outs.top));
  assert.not.ok(fs.existsSync(outs.dep));
});

test('"pure": true in etc/hepstore.json refuses host tools as --pure does; a closure without any passes', () => {
  const { file, root, cli, data } = setup();
  // Without --pure or the setting, host tools are allowed (the evaluation succeeds).
  assert.is(cli(['eval', 'env.ts', '-A', 'dep']).status, 0);
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'hepstore.json'), JSON.stringify({ pure: true }));
  for (const args of [
    ['realize', 'env.ts', '-A', 'dep', '--no-out-link'],
    ['eval', 'env.ts', '-A', 'dep'],
  ]) {
    const r = cli(args);
    assert.is(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(`pure mode: 1 derivation in what ${file} names uses programs of the host:\n  dep-1.0 (${file}:3)`), r.stderr);
  }
  assert.equal(built(root), []);
  // A download of a local file is pure: realized under the setting and with --pure.
  const ok = cli(['realize', 'env.ts', '-A', 'data', '--no-out-link']);
  assert.is(ok.status, 0, ok.stderr);
  assert.is(fs.readFileSync(ok.stdout.trim(), 'utf8'), data);
  const ok2 = cli(['realize', 'env.ts', '-A', 'data', '--pure', '--no-out-link']);
  assert.is(ok2.status, 0, ok2.stderr);
  assert.is(ok2.stdout, ok.stdout);
  assert.is(cli(['eval', 'env.ts', '-A', 'data', '--pure']).status, 0);
});

test.run();
