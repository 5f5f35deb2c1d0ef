/**
 * Debian control data: the stanzas of apt's package lists (RFC 822 style, as printed by
 * `apt-cache dumpavail` or stored in a repository's Packages file), dependency fields, and
 * dpkg's version order.
 */

export type Stanza = Record<string, string>;

/** Stanzas separated by blank lines; continuation lines (leading space) join their field. */
export function parseStanzas(text: string): Stanza[] {
  const out: Stanza[] = [];
  let cur: Stanza = {};
  let last: string | undefined;
  let any = false;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (any) out.push(cur);
      cur = {};
      last = undefined;
      any = false;
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (last !== undefined) cur[last] += '\n' + line.slice(1);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    cur[last] = line.slice(colon + 1).trim();
    any = true;
  }
  if (any) out.push(cur);
  return out;
}

export interface Relation {
  name: string;
  /** Architecture qualifier (`:any`, `:amd64`), without the colon. */
  arch?: string;
  op?: '<<' | '<=' | '=' | '>=' | '>>';
  version?: string;
}

/** `a (>= 1) | b, c:any` → [[a>=1, b], [c]]: a conjunction of alternatives. */
export function parseRelations(field: string | undefined): Relation[][] {
  if (!field) return [];
  return field
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean)
    .map((group) =>
      group.split('|').map((alt) => {
        const m = /^\s*([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>)?\s*$/.exec(alt);
        if (!m) throw new Error(`malformed relation '${alt.trim()}' in '${field}'`);
        const op = m[3] === '<' ? '<=' : m[3] === '>' ? '>=' : (m[3] as Relation['op']);
        return { name: m[1], arch: m[2], op, version: m[4] };
      }),
    );
}

function order(c: string): number {
  if (c === '~') return -1;
  if (c === '') return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !/[0-9]/.test(a[i])) || (j < b.length && !/[0-9]/.test(b[j]))) {
      const ac = i < a.length && !/[0-9]/.test(a[i]) ? a[i] : '';
      const bc = j < b.length && !/[0-9]/.test(b[j]) ? b[j] : '';
      const d = order(ac) - order(bc);
      if (d) return d;
      if (ac) i++;
      if (bc) j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]) && j < b.length && /[0-9]/.test(b[j])) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i])) return 1;
    if (j < b.length && /[0-9]/.test(b[j])) return -1;
    if (first) return first;
  }
  return 0;
}

/** dpkg's version order: epoch, then upstream version, then Debian revision. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(':');
    const epoch = colon >= 0 ? parseInt(v.slice(0, colon), 10) : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '' };
  };
  const x = split(a);
  const y = split(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision);
}

export function satisfies(version: string, r: Relation): boolean {
  if (!r.op || r.version === undefined) return true;
  const c = compareVersions(version, r.version);
  switch (r.op) {
    case '<<': return c < 0;
    case '<=': return c <= 0;
    case '=': return c === 0;
    case '>=': return c >= 0;
    case '>>': return c > 0;
  }
}
