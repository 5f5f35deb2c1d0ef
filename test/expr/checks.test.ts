import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tmpDir, writeTree } from '../helpers.js';
import { LocalStore } from '../../src/store/local-store.js';
import { closest } from '../../src/expr/check.js';

const HEAD = `import { derivation, mkDerivation, packageSet, stdenvNoCC, buildEnv, fetchurl, path } from 'hepstore';\n`;

/**
 * `store realize` of an expression with one mistake: exit 1 at evaluation, the message names
 * the file and the line of the mistake, with a code frame, and nothing is built or added.
 */
function refused(body: string, line: number, message: RegExp, frame: string): string {
  const dir = writeTree(tmpDir('checks'), { 'default.ts': HEAD + body, src: { f: 'x' } });
  const root = path.join(tmpDir('checks-store'), 'root');
  const file = path.join(dir, 'default.ts');
  const r = runCli(['realize', 'default.ts'], { storeRoot: root, cwd: dir });
  assert.is(r.status, 1, `exit code (stderr: ${r.stderr})`);
  assert.is(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:\\d+: `), r.stderr);
  assert.match(r.stderr, message);
  assert.ok(r.stderr.includes(`\n    ${frame}`), `code frame '${frame}' in:\n${r.stderr}`);
  assert.match(r.stderr, /\n\s*\^\n/, 'a caret under the place');
  assert.not.match(r.stderr, /\n\s+at .*\(/, 'no stack trace');
  if (fs.existsSync(root)) {
    const s = new LocalStore(root);
    try {
      assert.equal(s.allValidPaths(), [], 'nothing was built or added');
    } finally {
      s.close();
    }
  }
  assert.not.ok(fs.existsSync(path.join(dir, 'result')), 'no out-link');
  return r.stderr;
}

test('closest: near misses of known names, nothing for unrelated words', () => {
  const keys = ['installPhase', 'buildInputs', 'version', 'src'];
  assert.is(closest('instalPhase', keys), 'installPhase');
  assert.is(closest('buildinputs', keys), 'buildInputs');
  assert.is(closest('verison', keys), 'version');
  assert.is(closest('configureFlags', keys), undefined);
});

test("a package set's self.zlbi (a typo) names the attribute, the package that asked and the line", () => {
  const err = refused(
    `export default packageSet({
  zlib: () => mkDerivation({ stdenv: stdenvNoCC, pname: 'zlib', version: '1.3', installPhase: 'mkdir $out' }),
  root: (self) =>
    mkDerivation({ stdenv: stdenvNoCC, pname: 'root', version: '6.30', installPhase: 'mkdir $out',
      buildInputs: [self.zlbi] }),
}).root;
`,
    6,
    /package 'root' asks for 'zlbi', which the package set does not have \(did you mean zlib\?\)/,
    `      buildInputs: [self.zlbi] }),`,
  );
  assert.match(err, /while evaluating package 'root'/);
});

test('buildInputs: [undefined] is refused, not dropped', () => {
  refused(
    `const pkgs: Record<string, any> = {};
export default mkDerivation({ stdenv: stdenvNoCC, pname: 'root', version: '6.30', installPhase: 'mkdir $out',
  buildInputs: [pkgs.zlib] });
`,
    4,
    /mkDerivation 'root': buildInputs\[0\] is undefined, not a derivation or a path/,
    `  buildInputs: [pkgs.zlib] });`,
  );
});

test("instalPhase: an unknown argument, with 'did you mean installPhase?'", () => {
  refused(
    `export default mkDerivation({
  stdenv: stdenvNoCC,
  pname: 'root',
  version: '6.30',
  instalPhase: 'mkdir $out',
});
`,
    6,
    /mkDerivation 'root' has no argument 'instalPhase' \(did you mean installPhase\?\)/,
    `  instalPhase: 'mkdir $out',`,
  );
});

test("version: 1.3 and buildInputs: 'notalist' are the wrong types", () => {
  refused(
    `export default mkDerivation({ stdenv: stdenvNoCC, pname: 'root', installPhase: 'mkdir $out',
  version: 1.3 });
`,
    3,
    /version must be a string, not a number \(1\.3\)/,
    `  version: 1.3 });`,
  );
  refused(
    `export default mkDerivation({ stdenv: stdenvNoCC, pname: 'root', version: '1', installPhase: 'mkdir $out',
  buildInputs: 'notalist' });
`,
    3,
    /buildInputs must be an array, not a string \("notalist"\)/,
    `  buildInputs: 'notalist' });`,
  );
});

test('an object in a template string ("[object Object]") is refused where it would reach the build', () => {
  refused(
    `const opts = { prefix: '/opt' };
export default mkDerivation({ stdenv: stdenvNoCC, pname: 'root', version: '1',
  installPhase: \`mkdir -p $out; echo \${opts} > $out/x\` });
`,
    4,
    /installPhase of derivation 'root-1' contains '\[object Object\]': an object was turned into a string/,
    '  installPhase: `mkdir -p $out; echo ${opts} > $out/x` });',
  );
  refused(
    `const deps = { zlib: 'z' };
export default derivation({ name: 'x', builder: '/bin/sh',
  args: ['-c', \`echo \${deps} > $out\`] });
`,
    4,
    /args\[1\] of derivation 'x' contains '\[object Object\]'/,
    "  args: ['-c', `echo ${deps} > $out`] });",
  );
});

test('derivation, buildEnv, fetchurl and path refuse unknown keys, undefined inputs and wrong types', () => {
  refused(
    `export default derivation({ name: 'x', builder: '/bin/sh',
  buidler: '/bin/sh' });
`,
    3,
    /derivation 'x' has no argument 'buidler' \(did you mean builder\?\)/,
    `  buidler: '/bin/sh' });`,
  );
  refused(
    `const pkgs: Record<string, any> = {};
export default derivation({ name: 'x', builder: '/bin/sh', args: ['-c', 'echo > $out'],
  env: { dep: pkgs.zlib } });
`,
    4,
    /env\.dep of derivation 'x' is undefined/,
    `  env: { dep: pkgs.zlib } });`,
  );
  refused(
    `const pkgs: Record<string, any> = {};
export default buildEnv({ name: 'view',
  paths: [pkgs.root] });
`,
    4,
    /buildEnv 'view': paths\[0\] is undefined, not a package/,
    `  paths: [pkgs.root] });`,
  );
  refused(
    `export default fetchurl({ url: 'https://example.org/x.tar.gz',
  sha256: 'abc' });
`,
    3,
    /fetchurl has no argument 'sha256'/,
    `  sha256: 'abc' });`,
  );
  refused(
    `const dirs: Record<string, any> = {};
export default mkDerivation({ stdenv: stdenvNoCC, pname: 'p', version: '1', installPhase: 'mkdir $out',
  src: path(dirs.source) });
`,
    4,
    /path\(\) takes a file name \(a string or a URL\), not undefined/,
    `  src: path(dirs.source) });`,
  );
});

test('mkDerivation: UPPER_CASE keys and phases of its own are build variables, exactly as given in env', () => {
  const dir = tmpDir('checks-env');
  const root = path.join(tmpDir('checks-env-store'), 'root');
  const drvOf = (args: string): string => {
    fs.writeFileSync(path.join(dir, 'default.ts'), `${HEAD}export default mkDerivation({ stdenv: stdenvNoCC, pname: 'p', version: '1', installPhase: 'mkdir -p $out', ${args} });\n`);
    const r = runCli(['eval', 'default.ts', '--json'], { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as Array<{ drvPath: string }>)[0].drvPath;
  };
  const on = drvOf(`MY_FLAG: 'on'`);
  assert.is.not(on, drvOf(`MY_FLAG: 'off'`), 'the key reaches the derivation');
  assert.is(on, drvOf(`env: { MY_FLAG: 'on' }`), 'as the same variable as in env');
  const extra = drvOf(`phases: ['install', 'extra'], extraPhase: 'true'`);
  assert.is(extra, drvOf(`phases: ['install', 'extra'], env: { extraPhase: 'true' }`));
  assert.is.not(extra, drvOf(`phases: ['install', 'extra'], extraPhase: 'false'`));
  // A phase of its own not named in phases is refused like any unknown key.
  refused(
    `export default mkDerivation({ stdenv: stdenvNoCC, pname: 'p', version: '1', installPhase: 'mkdir $out',
  extraPhase: 'true' });
`,
    3,
    /mkDerivation 'p' has no argument 'extraPhase'/,
    `  extraPhase: 'true' });`,
  );
});

test.run();
