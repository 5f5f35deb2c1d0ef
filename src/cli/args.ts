/** The command line's parser: every command declares its flags; anything else is an error. */
import { parseArgs as nodeParseArgs } from 'node:util';
import { StoreError } from '../errors.js';

/** 'pairs': `--arg NAME VALUE`, two words each time, repeatable. */
export type FlagKind = 'boolean' | 'string' | 'strings' | 'pairs';

export interface FlagSpec {
  /**
   * `more`: a plural list option (`--substituters A B`) takes the following words that match it.
   * `check`: throws on a value the option cannot take (`-j four`), while the words are parsed,
   * so a wrong value is refused before anything runs.
   */
  [name: string]: { kind: FlagKind; short?: string; description?: string; more?: RegExp; check?: (value: string) => unknown };
}

export interface Parsed {
  positionals: string[];
  flags: Record<string, boolean | string | string[] | Array<[string, string]> | undefined>;
}

/**
 * Parse a command's words against its flags. The words are split by Node's `util.parseArgs`
 * (long options with `=`, short options with their value attached, `-rs` for `-r -s`, `--`);
 * this adds what it has no notion of: options of two words (`--arg NAME VALUE`), list options
 * that take the following words of their kind (`--substituters URL... FILE`), negative numbers
 * as positionals, and errors that name the command.
 */
export function parseArgs(argv: readonly string[], spec: FlagSpec, command: string): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [name, s] of Object.entries(spec)) options[name] = { type: s.kind === 'boolean' ? 'boolean' : 'string', ...(s.short ? { short: s.short } : {}) };
  const { tokens } = nodeParseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const unknown = (what: string) => new StoreError('USAGE', `unknown option '${what}' for '${command}'`, { hint: `see 'store ${command} --help'` });
  /** Words (by index in argv) already taken as values of a two-word or list option. */
  let takenThrough = -1;
  let lastPositionalIndex = -1;
  for (const t of tokens) {
    if (t.index <= takenThrough) continue;
    if (t.kind === 'option-terminator') {
      positionals.push(...argv.slice(t.index + 1));
      break;
    }
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    const raw = argv[t.index];
    // `-1`, `-0.5`: a negative number is a word, not options.
    if (/^-\d/.test(raw)) {
      if (lastPositionalIndex !== t.index) positionals.push(raw);
      lastPositionalIndex = t.index;
      continue;
    }
    const s = spec[t.name];
    if (!s) throw unknown(t.rawName.startsWith('--') ? `--${t.name}` : t.rawName);
    const name = t.name;
    const inline = t.inlineValue === true;
    if (s.kind === 'boolean') {
      if (t.value !== undefined) throw new StoreError('USAGE', `option '--${name}' takes no value`);
      flags[name] = true;
      continue;
    }
    if (s.kind === 'pairs') {
      if (inline) throw new StoreError('USAGE', `option '--${name}' takes two words, a name and a value`, { hint: `e.g. --${name} scale 0.01` });
      if (t.index + 2 >= argv.length) throw new StoreError('USAGE', `option '--${name}' needs a name and a value`, { hint: `e.g. --${name} scale 0.01` });
      const list = (flags[name] as Array<[string, string]> | undefined) ?? [];
      list.push([argv[t.index + 1], argv[t.index + 2]]);
      takenThrough = t.index + 2;
      flags[name] = list;
      continue;
    }
    if (t.value === undefined) throw new StoreError('USAGE', `option '--${name}' needs a value`);
    s.check?.(t.value);
    // A value attached to a short option (`-j4`) or after `=` is in this word; otherwise the next.
    takenThrough = t.inlineValue === false ? t.index + 1 : t.index;
    if (s.kind === 'string') flags[name] = t.value;
    else {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(t.value);
      // `--substituters a b c FILE`: a list option given without '=' also takes the following
      // words of its kind (cache URLs), and leaves the rest (FILE) to the positionals.
      if (t.inlineValue === false && s.more) {
        while (takenThrough + 1 < argv.length && !argv[takenThrough + 1].startsWith('-') && s.more.test(argv[takenThrough + 1])) list.push(argv[++takenThrough]);
      }
      flags[name] = list;
    }
  }
  return { positionals, flags };
}

export function helpText(usage: string, summary: string, spec: FlagSpec): string {
  const lines = [`usage: ${usage}`, '', summary];
  const opts = Object.entries(spec).filter(([, s]) => s.description);
  if (opts.length) {
    lines.push('', 'options:');
    for (const [name, s] of opts) {
      const flag = `${s.short ? `-${s.short}, ` : ''}--${name}${s.kind === 'boolean' ? '' : s.kind === 'pairs' ? ' NAME VALUE' : ' VALUE'}`;
      lines.push(`  ${flag.padEnd(28)} ${s.description}`);
    }
  }
  return lines.join('\n');
}
