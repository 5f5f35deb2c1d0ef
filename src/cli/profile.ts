import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { Profile, isManifestOnly, packageName, readManifest, storeName, type ManifestElement } from '../profile/profiles.js';
import { writeGeneration } from '../profile/generation.js';
import { formatDate, parseAge } from '../gc/format.js';
import { REALIZE_FLAGS, realizeArg } from './realize-file.js';
import { resolveInstallable } from './resolve.js';

const SUBCOMMANDS = 'install|remove|list|rollback|switch|delete-older-than|keep-last|diff-closures';

const profile: Command = {
  usage: `store profile ${SUBCOMMANDS} [ARGS] [--profile NAME]`,
  summary: [
    'Profiles and their generations, as in Nix. Each change makes a new generation: an environment (a buildEnv of the installed packages, with',
    'manifest.json inside) that the profile link leads to, so <profile>/bin on PATH runs them (see store env --profile NAME).',
    'Every generation is a GC root until deleted; the current one is never deleted.',
    '  install FILE|PATH...     add store paths, or the outputs of realizing FILE (replacing older versions of the same package)',
    '  remove NAME|PATH...      remove elements by name or store path',
    '  list                     generations (current marked) and the current elements',
    '  rollback                 switch to the previous generation',
    '  switch N                 switch to generation N',
    '  delete-older-than AGE    delete generations older than AGE (30d, 12h…), keeping the current one and the newest older one',
    '  keep-last N              keep the N newest generations (and the current one)',
    '  diff-closures            for each generation, what changed in its closure since the one before: versions and sizes',
  ].join('\n'),
  flags: {
    profile: { kind: 'string', short: 'p', description: 'profile name (default: default); profiles are per user under var/profiles/per-user/USER/' },
    ...REALIZE_FLAGS,
    'dry-run': { kind: 'boolean', description: 'delete-older-than / keep-last: print what would be deleted' },
    json: { kind: 'boolean', description: 'print JSON' },
  },
  async run(args, ctx) {
    const [sub, ...rest] = args.positionals;
    if (!sub) throw new StoreError('USAGE', `store profile needs a subcommand: ${SUBCOMMANDS}`);
    const store = await ctx.store();
    const prof = new Profile(store.layout, (args.flags.profile as string | undefined) ?? 'default');
    const json = Boolean(args.flags.json);
    const dryRun = Boolean(args.flags['dry-run']);
    const describe = (n: number, p: string) => `${prof.name}: generation ${n} -> ${p}`;
    const currentPath = () => prof.generations().find((g) => g.current)?.path;
    const changeElements = async (edit: (elements: ManifestElement[]) => ManifestElement[]) =>
      prof.locked(store, async () => {
        const before = readManifest(currentPath());
        const { path: p, manifest, unlinked } = await writeGeneration(store, { version: 1, elements: edit(before.elements) });
        for (const u of unlinked) ctx.stderr.write(`note: '${u}' is a file, not a directory: it is in the profile's manifest but adds nothing to its bin/\n`);
        const gen = prof.createGeneration(p);
        return { gen, manifest };
      });
    const report = (gen: { number: number; path: string }, elements: ManifestElement[]) => {
      if (json) printJson(ctx, { profile: prof.link, generation: gen.number, path: gen.path, elements });
      else ctx.stdout.write(describe(gen.number, gen.path) + '\n');
    };
    switch (sub) {
      case 'install': {
        if (rest.length === 0) throw new StoreError('USAGE', 'store profile install needs FILE or PATH arguments');
        const added: ManifestElement[] = [];
        for (const a of rest) for (const r of await realizeArg(store, a, args, ctx)) added.push({ name: storeName(r.path), path: r.path, source: r.source });
        const replaced = (e: ManifestElement) => added.some((x) => packageName(x.name) === packageName(e.name));
        const { gen, manifest } = await changeElements((els) => [...els.filter((e) => !replaced(e)), ...added]);
        report(gen, manifest.elements);
        return 0;
      }
      case 'remove': {
        if (rest.length === 0) throw new StoreError('USAGE', 'store profile remove needs NAME or PATH arguments');
        const { gen, manifest } = await changeElements((els) => {
          const keep = els.filter((e) => !rest.some((r) => r === e.name || r === packageName(e.name) || r === e.path || safeResolve(r) === e.path));
          if (keep.length === els.length) throw new StoreError('USAGE', `profile '${prof.name}' has no element ${rest.map((r) => `'${r}'`).join(', ')}`, { hint: `see 'store profile list'` });
          return keep;
        });
        report(gen, manifest.elements);
        return 0;
      }
      case 'list': {
        const gens = prof.generations();
        const cur = gens.find((g) => g.current);
        const elements = cur ? readManifestSafe(cur.path) : [];
        if (json) {
          printJson(ctx, { profile: prof.link, current: cur?.number ?? null, generations: gens.map((g) => ({ number: g.number, path: g.path, time: g.time, current: g.current })), elements });
          return 0;
        }
        if (gens.length === 0) {
          ctx.stdout.write(`profile '${prof.name}' has no generations yet ('store profile install FILE' makes one)\n`);
          return 0;
        }
        const lines = gens.map((g) => `${String(g.number).padStart(4)}   ${formatDate(g.time)}   ${g.path}${g.current ? '   (current)' : ''}${isManifestOnly(g.path) ? '   (manifest only)' : ''}`);
        lines.push('', `elements of generation ${cur?.number ?? '?'}:`, ...elements.map((e) => `  ${e.name}  ${e.path}`));
        ctx.stdout.write(lines.join('\n') + '\n');
        return 0;
      }
      case 'rollback': {
        const g = await prof.locked(store, () => prof.rollback());
        if (json) printJson(ctx, { profile: prof.link, generation: g.number, path: g.path });
        else ctx.stdout.write(`switched ${describe(g.number, g.path)}\n`);
        return 0;
      }
      case 'switch': {
        const n = Number(rest[0]);
        if (rest.length !== 1 || !Number.isInteger(n) || n < 1) throw new StoreError('USAGE', 'store profile switch takes a generation number N');
        await prof.locked(store, () => prof.switchTo(n));
        const g = prof.generations().find((x) => x.number === n)!;
        if (json) printJson(ctx, { profile: prof.link, generation: g.number, path: g.path });
        else ctx.stdout.write(`switched ${describe(g.number, g.path)}\n`);
        return 0;
      }
      case 'delete-older-than':
      case 'keep-last': {
        if (rest.length !== 1) throw new StoreError('USAGE', sub === 'keep-last' ? 'store profile keep-last takes a number N' : 'store profile delete-older-than takes an AGE, e.g. 30d');
        const deleted = await prof.locked(store, () => {
          if (sub === 'keep-last') {
            const n = Number(rest[0]);
            if (!Number.isInteger(n) || n < 0) throw new StoreError('USAGE', `keep-last takes a whole number (got '${rest[0]}')`);
            return prof.keepLast(n, dryRun);
          }
          return prof.deleteOlderThan(Math.floor(Date.now() / 1000) - parseAge(rest[0]), dryRun);
        });
        if (json) printJson(ctx, { profile: prof.link, dryRun, deleted, remaining: prof.generations().map((g) => g.number) });
        else {
          const verb = dryRun ? 'would delete' : 'deleted';
          ctx.stdout.write(deleted.length ? `${verb} generations ${deleted.join(', ')} of profile '${prof.name}'\n` : `no generations of profile '${prof.name}' to delete\n`);
          if (deleted.length && !dryRun) ctx.stdout.write("run 'store gc' to free what only they kept alive\n");
        }
        return 0;
      }
      case 'diff-closures': {
        if (rest.length) throw new StoreError('USAGE', 'store profile diff-closures takes no arguments (use --profile NAME)');
        const { generationDiffs, formatGenerationDiffs } = await import('./profile-diff.js');
        const gens = prof.generations();
        store.addTempRoots(gens.map((g) => g.path));
        const diffs = generationDiffs(store, gens.filter((g) => store.isValid(g.path)));
        if (json) printJson(ctx, { profile: prof.link, diffs });
        else if (gens.length < 2) ctx.stdout.write(`profile '${prof.name}' has ${gens.length === 0 ? 'no generations' : 'one generation'}: nothing to compare\n`);
        else ctx.stdout.write(formatGenerationDiffs(diffs));
        return 0;
      }
      default:
        throw new StoreError('USAGE', `unknown profile subcommand '${sub}'`, { hint: `use one of ${SUBCOMMANDS}` });
    }

    function safeResolve(a: string): string | undefined {
      try {
        return resolveInstallable(store, a, ctx.cwd);
      } catch {
        return undefined;
      }
    }
  },
};

function readManifestSafe(p: string): ManifestElement[] {
  try {
    return readManifest(p).elements;
  } catch {
    return [];
  }
}

export default profile;
