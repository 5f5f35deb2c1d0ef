import type { Command, Context } from './command.js';
import { printJson } from './command.js';
import { BUILD_FLAGS, realizeGraph, substituterUrls } from './realize-graph.js';
import { count } from '../gc/format.js';
import { resolveInstallable } from './resolve.js';
import { networkTimeouts, readStoreConfig } from '../store/config.js';
import { openProgress, PROGRESS_FLAGS } from './progress.js';

const verify: Command = {
  usage: 'store verify [PATH...] [--check-contents] [--repair [--substituters URL...] [--no-require-sigs] [--no-substitute] [--no-fallback] [-j N] [--no-sandbox] [-L]] [--recover] [--quiet] [--json]',
  summary:
    'Check that every valid path (or the closure of the given PATHs) exists on disk; with --check-contents, re-hash each one against its recorded narHash. With --repair, fetch a good copy of each missing or modified path from the binary caches, or else rebuild it from its derivation (in the sandbox) and put it back if it comes out with the registered narHash. Exits 1 if anything is (still) missing or modified. With --recover, register every object of the store directory that the database does not list (after a lost, truncated or damaged database), in one transaction.',
  flags: {
    'check-contents': { kind: 'boolean', description: 're-hash every path and compare with its narHash' },
    repair: { kind: 'boolean', description: 'replace missing or modified paths with verified copies from the binary caches, or by rebuilding them' },
    recover: { kind: 'boolean', description: 'rebuild a lost or damaged database from the objects in the store directory (re-hashed, references re-scanned, derivers from the .drv files)' },
    json: { kind: 'boolean', description: 'print the report as JSON (stdout), and progress as JSON lines (stderr)' },
    // --repair fetches and rebuilds as realize does: its caches, trust, jobs, sandbox, limits.
    ...BUILD_FLAGS,
    ...PROGRESS_FLAGS,
  },
  async run(args, ctx) {
    if (args.flags.recover) return recover(args.flags.json === true, ctx);
    const store = await ctx.store();
    const paths = args.positionals.length ? store.queryClosure(args.positionals.map((a) => resolveInstallable(store, a, ctx.cwd))) : undefined;
    const progress = await openProgress(ctx, args.flags);
    const checking = progress.activity('verify', 'checking', 'paths');
    let report;
    try {
      report = await store.verify({ checkContents: Boolean(args.flags['check-contents']), paths, onProgress: (done, total, bytes) => checking.update({ done, total, ...(args.flags['check-contents'] ? { bytes } : {}) }) });
    } catch (e) {
      progress.close();
      throw e;
    } finally {
      checking.end();
    }
    const unreadable = report.unreadable ?? [];
    const bad = [...report.missing, ...report.modified.map((m) => m.path), ...unreadable.map((u) => u.path)];
    const repaired: string[] = [];
    const unrepaired: Array<{ path: string; reason: string }> = [];
    try {
      if (args.flags.repair && bad.length) {
        const config = readStoreConfig(store.layout.configFile);
        const urls = substituterUrls(args, config);
        // First a verified copy from a binary cache, else a rebuild from the path's derivation.
        const notFetched = new Map<string, string>(bad.map((p) => [p, args.flags['no-substitute'] ? 'no binary cache asked (--no-substitute)' : 'no binary cache configured']));
        if (urls.length) {
          const { substitutePaths } = await import('../cache/binary/substitute.js');
          const { configuredTrustedKeys } = await import('../cache/trust/keys.js');
          const { transferProgress } = await import('./realize-progress.js');
          const shown = transferProgress(progress, 'substitute', 'fetching');
          const r = await substitutePaths(store, bad, {
            substituters: urls,
            trusted: configuredTrustedKeys(config),
            requireSigs: !args.flags['no-require-sigs'],
            repair: true,
            timeouts: networkTimeouts(config, store.layout.configFile),
            onWarning: (m) => progress.message(`warning: ${m}`),
            onProgress: shown.onProgress,
          }).finally(() => shown.end());
          for (const p of bad) {
            const why = r.failed.get(p);
            if (why === undefined) {
              repaired.push(p);
              notFetched.delete(p);
            } else notFetched.set(p, why);
          }
        }
        if (notFetched.size && args.flags['no-fallback']) {
          for (const [p, fetchWhy] of notFetched) unrepaired.push({ path: p, reason: `not fetched (${fetchWhy}), and not rebuilt (--no-fallback)` });
        } else if (notFetched.size) {
          const [{ repairByRebuilding }, { configuredTrustedKeys }, { hasTrustedSignature }] = await Promise.all([import('../realize/repair.js'), import('../cache/trust/keys.js'), import('../cache/trust/signing.js')]);
          const keys = configuredTrustedKeys(config);
          // The rebuild has realize's own progress display.
          progress.close();
          const r = await repairByRebuilding(store, [...notFetched.keys()], {
            // A .drv this store did not write is built from only if a trusted key signed it.
            signed: (info) => hasTrustedSignature(info, info.sigs, keys),
            build: (graph, extra) => realizeGraph(store, config, graph, args, ctx, extra),
          });
          repaired.push(...r.repaired);
          for (const [p, fetchWhy] of notFetched) {
            const buildWhy = r.failed.get(p);
            if (buildWhy !== undefined) unrepaired.push({ path: p, reason: `not fetched (${fetchWhy}), not rebuilt: ${buildWhy}` });
          }
        }
      }
    } finally {
      progress.close();
    }
    const fixed = new Set(repaired);
    const ok = bad.every((p) => fixed.has(p));
    if (args.flags.json) {
      printJson(ctx, { ok, ...report, ...(args.flags.repair ? { repaired, unrepaired } : {}) });
    } else {
      for (const p of report.missing) ctx.stderr.write(`path '${p}' is missing from disk\n`);
      for (const m of report.modified) {
        ctx.stderr.write(`path '${m.path}' was modified!\n  expected: ${m.expected} (${m.expectedSize} bytes)\n  got:      ${m.actual} (${m.actualSize} bytes)\n`);
      }
      for (const u of unreadable) ctx.stderr.write(`path '${u.path}' cannot be read: ${u.error}\n`);
      if (report.modified.length) {
        const { sharesFiles } = await import('../store/optimise.js');
        const shared = report.modified.filter((m) => sharesFiles(m.path)).length;
        if (shared) ctx.stderr.write(`note: ${shared === 1 ? 'a modified path shares' : `${shared} modified paths share`} files with other paths (hard links of 'store optimise'): a change to a shared file shows in every path that has it${args.flags.repair ? '' : "; 'store verify --check-contents --repair' gives each its own good copy"}\n`);
      }
      for (const p of repaired) ctx.stderr.write(`repaired '${p}'\n`);
      for (const u of unrepaired) ctx.stderr.write(`cannot repair '${u.path}': ${u.reason}\n`);
      const what = args.flags['check-contents'] ? 'checked the contents of' : 'checked';
      ctx.stderr.write(`${what} ${count(report.checked, 'path')}: ${report.missing.length} missing, ${report.modified.length} modified${unreadable.length ? `, ${unreadable.length} unreadable` : ''}${args.flags.repair ? `, ${repaired.length} repaired` : ''}\n`);
    }
    return ok ? 0 : 1;
  },
};
export default verify;

/** `store verify --recover`: rebuild the database from the objects on disk. */
async function recover(json: boolean, ctx: Context): Promise<number> {
  const store = await ctx.store({ recover: true });
  const [{ recoverDatabase }, { withGcLock }] = await Promise.all([import('../realize/recover.js'), import('../gc/lock.js')]);
  const r = await withGcLock(store, () => recoverDatabase(store), (holder) => ctx.stderr.write(`waiting for a garbage collection (pid ${holder}) to finish\n`));
  if (json) {
    printJson(ctx, { ok: r.skipped.length === 0, present: r.present, alreadyValid: r.alreadyValid, registered: r.registered.map((i) => i.path), skipped: r.skipped, movedAside: r.movedAside });
  } else {
    if (r.movedAside) ctx.stderr.write(`moved the unreadable database to ${r.movedAside}\n`);
    for (const s of r.skipped) ctx.stderr.write(`not registered: '${s.path}': ${s.why}\n`);
    ctx.stderr.write(`recovered ${r.registered.length} paths of ${r.present} in the store directory (${r.alreadyValid} were already valid${r.skipped.length ? `, ${r.skipped.length} not registered` : ''}); signatures are not recovered\n`);
  }
  return r.skipped.length ? 1 : 0;
}
