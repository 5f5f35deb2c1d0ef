/**
 * The command line's parser (src/cli/args.ts): long and short options, `=` and attached values,
 * combined short flags, two-word options, list options that take the words of their kind and
 * leave the rest to the positionals, `--`, negative numbers, and the errors users meet.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgs, type FlagSpec } from '../../src/cli/args.js';
import { StoreError } from '../../src/errors.js';

const SPEC: FlagSpec = {
  recursive: { kind: 'boolean', short: 'r' },
  size: { kind: 'boolean', short: 's' },
  jobs: { kind: 'string', short: 'j' },
  attr: { kind: 'strings', short: 'A' },
  arg: { kind: 'pairs' },
  substituters: { kind: 'strings', more: /^(https?|file):\/\// },
};
const parse = (...argv: string[]) => parseArgs(argv, SPEC, 'test');

function fails(argv: string[], message: RegExp): void {
  try {
    parseArgs(argv, SPEC, 'test');
  } catch (e) {
    assert.instance(e, StoreError);
    assert.is((e as StoreError).code, 'USAGE');
    assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable(`${argv.join(' ')} is refused`);
}

test('long and short options, with = or an attached value, and positionals in any order', () => {
  assert.equal(parse('a', '--recursive', 'b', '-j', '4'), { positionals: ['a', 'b'], flags: { recursive: true, jobs: '4' } });
  assert.equal(parse('--jobs=2', 'x').flags, { jobs: '2' });
  assert.equal(parse('-j8', 'x'), { positionals: ['x'], flags: { jobs: '8' } });
  assert.equal(parse('-A', 'one', '--attr', 'two', '-Athree').flags, { attr: ['one', 'two', 'three'] });
});

test('combined short flags: -rs is -r -s; -rj4 and -rj 4 end with a value', () => {
  assert.equal(parse('-rs', 'p'), { positionals: ['p'], flags: { recursive: true, size: true } });
  assert.equal(parse('-rj4', 'p'), { positionals: ['p'], flags: { recursive: true, jobs: '4' } });
  assert.equal(parse('-rj', '4', 'p'), { positionals: ['p'], flags: { recursive: true, jobs: '4' } });
});

test('two-word options take the next two words, whatever they look like', () => {
  assert.equal(parse('--arg', 'scale', '0.5', 'f.ts', '--arg', 'n', '-1'), { positionals: ['f.ts'], flags: { arg: [['scale', '0.5'], ['n', '-1']] } });
  assert.equal(parse('--arg', 'flags', '-rs').flags, { arg: [['flags', '-rs']] });
  fails(['--arg', 'scale'], /'--arg' needs a name and a value/);
  fails(['--arg=scale', '1'], /'--arg' takes two words/);
});

test('a list option takes the following words of its kind and leaves the others', () => {
  assert.equal(parse('--substituters', 'http://a', 'file:///b', 'env.ts'), { positionals: ['env.ts'], flags: { substituters: ['http://a', 'file:///b'] } });
  assert.equal(parse('--substituters=http://a', 'http://b').positionals, ['http://b'], 'with = it takes one');
  assert.equal(parse('-A', 'x', 'y').positionals, ['y'], 'a list option without a pattern takes one word');
});

test('-- ends the options; negative numbers are words', () => {
  assert.equal(parse('-r', '--', '-s', '--jobs'), { positionals: ['-s', '--jobs'], flags: { recursive: true } });
  assert.equal(parse('-1', '-0.5').positionals, ['-1', '-0.5']);
});

test('unknown options, missing values and values given to switches are errors that name the command', () => {
  fails(['--bogus'], /unknown option '--bogus' for 'test'/);
  fails(['-x'], /unknown option '-x' for 'test'/);
  fails(['-rx'], /unknown option '-x' for 'test'/);
  fails(['--jobs'], /option '--jobs' needs a value/);
  fails(['--recursive=yes'], /option '--recursive' takes no value/);
});

test.run();
