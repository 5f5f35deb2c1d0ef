/**
 * Realizing a build graph as every command that builds does it (`realize`, `env`, `shell`,
 * `profile install`, `release add`, `lock`, `verify --repair`): one table of flags — jobs, sandbox, binary caches
 * and their trust, fallback, limits, build logs — and one function that substitutes what the
 * configured caches have, builds the rest, signs, and shows progress.
 */
import type { FlagSpec, Parsed } from './args.js';
import type { Context } from './command.js';
import type { Progress } from './progress.js';
import { StoreError } from '../errors.js';
import { buildLimits, limitMs, networkTimeouts, type StoreConfig } from '../store/config.js';
import type { Store } from '../store/store.js';
import type { BuildGraph } from '../derivation/graph.js';
import type { RealizeOptions } from '../realize/realize.js';

/** What a binary cache's URL looks like. */
export const CACHE_URL = /^(file|https?):\/\//;

export const BUILD_FLAGS: FlagSpec = {
  jobs: { kind: 'string', short: 'j', description: 'builds at once (default: number of cores)', check: (v) => parseJobs(v) },
  'keep-failed': { kind: 'boolean', short: 'K', description: 'keep the build directory of a failed build' },
  'keep-going': { kind: 'boolean', short: 'k', description: 'go on with other builds after one fails' },
  'no-sandbox': { kind: 'boolean', description: 'build without the bubblewrap sandbox' },
  'print-build-logs': { kind: 'boolean', short: 'L', description: "print the builders' output as they write it, each line after the derivation's name" },
  substituters: { kind: 'strings', more: CACHE_URL, description: 'binary caches to fetch missing outputs from, instead of building (default: "substituters" of etc/hepstore.json)' },
  'no-substitute': { kind: 'boolean', description: 'build everything missing; ask no binary cache' },
  'no-require-sigs': { kind: 'boolean', description: 'accept substitutes without a signature by a trusted key' },
  'no-fallback': { kind: 'boolean', description: 'fail, rather than build, when a missing output cannot be substituted' },
  timeout: { kind: 'string', description: 'seconds a build may run before it is stopped (exit 101; 0: no limit; default: "buildTimeout" of etc/hepstore.json)', check: (v) => limitMs(v, '--timeout') },
  'max-silent-time': { kind: 'string', description: 'seconds a build may go without output before it is stopped (exit 101; 0: no limit; default: "maxSilentTime" of etc/hepstore.json)', check: (v) => limitMs(v, '--max-silent-time') },
};


/** The binary caches to ask: --substituters, else the store's "substituters"; none with --no-substitute. */
export function substituterUrls(args: Parsed, config: StoreConfig): string[] {
  if (args.flags['no-substitute']) return [];
  const given = (args.flags.substituters as string[] | undefined) ?? [];
  return given.length ? given : config.substituters ?? [];
}

export function parseJobs(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = v === 'auto' ? 0 : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new StoreError('USAGE', `-j takes a whole number (got '${v}')`);
  return n === 0 ? undefined : n;
}

/**
 * Realize a graph with the command line's build options and substituters, showing progress.
 * `extra`: what a caller adds of its own (verify --repair: the outputs to rebuild and replace,
 * keep going, and its own view of the events).
 */
export async function realizeGraph(store: Store, config: StoreConfig, graph: BuildGraph, args: Parsed, ctx: Context, extra: Pick<RealizeOptions, 'repair' | 'keepGoing' | 'onEvent'> = {}) {
  const substituters = substituterUrls(args, config);
  const [{ realize }, { openProgress }, { realizeDisplay }] = await Promise.all([import('../realize/realize.js'), import('./progress.js'), import('./realize-progress.js')]);
  const progress = await openProgress(ctx, args.flags);
  const display = realizeDisplay(progress, { printBuildLogs: Boolean(args.flags['print-build-logs']) });
  try {
    const substitute = substituters.length ? await substituter(store, config, substituters, !args.flags['no-require-sigs'], progress) : undefined;
    const onEvent: typeof display.onEvent = (e) => {
      if (e.type === 'substitute-failed' && !args.flags['no-fallback']) progress.message(`could not substitute ${e.path}: ${e.reason}${missCause(e)}; building it instead`);
      display.onEvent(e);
      extra.onEvent?.(e);
    };
    return await realize(store, graph, {
      jobs: parseJobs(args.flags.jobs) ?? config.maxJobs,
      sandbox: args.flags['no-sandbox'] ? false : config.sandbox,
      sandboxPaths: config.sandboxPaths,
      keepFailed: Boolean(args.flags['keep-failed']),
      keepGoing: extra.keepGoing ?? Boolean(args.flags['keep-going']),
      repair: extra.repair,
      check: args.flags['check-closure'] ? 'closure' : args.flags.check ? 'roots' : undefined,
      onEvent,
      buildLogs: Boolean(args.flags['print-build-logs']) || undefined,
      substitute,
      noFallback: Boolean(args.flags['no-fallback']),
      ...buildLimits(config, store.layout.configFile, { timeout: args.flags.timeout, maxSilentTime: args.flags['max-silent-time'] }),
      sign: await outputSigner(store, config),
    });
  } finally {
    display.close();
    progress.close();
  }
}

/**
 * Why a cache does not have a path, as far as the graph tells (a cache has no .drv files to
 * walk): an input that is missing too changes every path above it; a derivation whose inputs
 * were all found is the first that differs from what the caches hold.
 */
function missCause(e: { reason: string; name: string; location?: string; missingInput?: string }): string {
  if (!e.reason.startsWith('not in any binary cache')) return '';
  if (e.missingInput) return `; its input '${e.missingInput}' is not in the caches either, which changes the path of '${e.name}'`;
  return `; none of its inputs is missing, so '${e.name}'${e.location ? ` (${e.location})` : ''} itself differs from what the caches hold (or was never pushed)`;
}


/** realize()'s `sign` hook from the store's secretKeyFiles (the signing code loads only when some are configured). */
export async function outputSigner(store: Store, config: StoreConfig) {
  if (!config.secretKeyFiles?.length) return undefined;
  const keys = await import('../cache/trust/keys.js');
  return keys.outputSigner(config, store.layout.configFile);
}

/** The substitution hook for realize(): src/cache/binary/substitute.ts, its paths and bytes on the progress display. */
async function substituter(store: Store, config: StoreConfig, urls: string[], requireSigs: boolean, progress: Progress) {
  const [{ substitutePaths }, { configuredTrustedKeys }, { transferProgress }, { formatBytes }] = await Promise.all([
    import('../cache/binary/substitute.js'),
    import('../cache/trust/keys.js'),
    import('./realize-progress.js'),
    import('../gc/format.js'),
  ]);
  const trusted = configuredTrustedKeys(config);
  const timeouts = networkTimeouts(config, store.layout.configFile);
  return async (paths: string[]) => {
    const shown = transferProgress(progress, 'substitute', 'fetching');
    let r;
    try {
      r = await substitutePaths(store, paths, { substituters: urls, trusted, requireSigs, timeouts, onWarning: (m) => progress.message(`warning: ${m}`), onProgress: shown.onProgress });
    } finally {
      shown.end();
    }
    if (r.substituted.length) progress.message(`substituted ${r.substituted.length} path${r.substituted.length === 1 ? '' : 's'} (${formatBytes(r.bytes)} downloaded)`);
    return r.failed;
  };
}
