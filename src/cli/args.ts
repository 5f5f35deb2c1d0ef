/** A small, strict argument parser: every command declares its flags; anything else is an error. */
import { StoreError } from '../errors.js';

/** 'pairs': `--arg NAME VALUE`, two words each time, repeatable. */
export type FlagKind = 'boolean' | 'string' | 'strings' | 'pairs';

export interface FlagSpec {
  /** `more`: a plural list option (`--substituters A B`) takes the following words that match it. */
  [name: string]: { kind: FlagKind; short?: string; description?: string; more?: RegExp };
}

export interface Parsed {
  positionals: string[];
  flags: Record<string, boolean | string | string[] | Array<[string, string]> | undefined>;
}

export function parseArgs(argv: readonly string[], spec: FlagSpec, command: string): Parsed {
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      name = byShort.get(arg.slice(1, 2));
      if (name === undefined) throw new StoreError('USAGE', `unknown option '${arg}' for '${command}'`, { hint: `see 'store ${command} --help'` });
      inline = arg.length > 2 ? arg.slice(2) : undefined;
    }
    if (name === undefined) {
      positionals.push(arg);
      continue;
    }
    const s = spec[name];
    if (!s) throw new StoreError('USAGE', `unknown option '--${name}' for '${command}'`, { hint: `see 'store ${command} --help'` });
    if (s.kind === 'boolean') {
      if (inline !== undefined) throw new StoreError('USAGE', `option '--${name}' takes no value`);
      flags[name] = true;
      continue;
    }
    if (s.kind === 'pairs') {
      if (inline !== undefined) throw new StoreError('USAGE', `option '--${name}' takes two words, a name and a value`, { hint: `e.g. --${name} scale 0.01` });
      if (i + 2 >= argv.length) throw new StoreError('USAGE', `option '--${name}' needs a name and a value`, { hint: `e.g. --${name} scale 0.01` });
      const list = (flags[name] as Array<[string, string]> | undefined) ?? [];
      list.push([argv[i + 1], argv[i + 2]]);
      i += 2;
      flags[name] = list;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new StoreError('USAGE', `option '--${name}' needs a value`);
      value = argv[++i];
    }
    if (s.kind === 'string') flags[name] = value;
    else {
      const list = (flags[name] as string[] | undefined) ?? [];
      list.push(value);
      // `--substituters a b c FILE`: a list option given without '=' also takes the following
      // words of its kind (cache URLs), and leaves the rest (FILE) to the positionals.
      if (inline === undefined && s.more) while (i + 1 < argv.length && !argv[i + 1].startsWith('-') && s.more.test(argv[i + 1])) list.push(argv[++i]);
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
