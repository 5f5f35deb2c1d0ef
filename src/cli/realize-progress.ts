/**
 * realize()'s events on the progress display: a line for the builds (built/total, how many
 * hold a build slot now, and their names), one for the downloads of builtin:fetchurl (bytes,
 * rate, ETA), and transferProgress for substitution from binary caches, push, export and import. With -L, each
 * line of builder output is printed as `name> line`.
 */
import type { RealizeEvent } from '../realize/realize.js';
import type { TransferProgress } from '../cache/binary/transfer.js';
import type { Progress } from './progress.js';

export interface RealizeDisplay {
  onEvent(e: RealizeEvent): void;
  close(): void;
}

/** Milliseconds between two JSON 'download' events of one derivation. */
const JSON_DOWNLOAD_MS = 250;

export function realizeDisplay(progress: Progress, opts: { printBuildLogs?: boolean } = {}): RealizeDisplay {
  const builds = progress.activity('build', 'building', 'built');
  const downloads = progress.activity('download', 'downloading', 'files');
  let total = 0;
  let built = 0;
  // Derivations holding a build slot now (not those queued for one).
  const running = new Map<string, string>();
  const fetching = new Map<string, { bytes: number; total?: number }>();
  let fetchedFiles = 0;
  let fetchedBytes = 0;
  let knownTotalBytes = 0;
  let downloadsSeen = 0;
  const lastJson = new Map<string, number>();
  const showBuilds = () => builds.update({ done: built, total, running: running.size, names: [...running.values()] });
  const showDownloads = () => {
    let bytes = fetchedBytes;
    let totalBytes = knownTotalBytes;
    let unknown = false;
    for (const f of fetching.values()) {
      bytes += f.bytes;
      if (f.total === undefined) unknown = true;
      else totalBytes += f.total;
    }
    downloads.update({ done: fetchedFiles, total: downloadsSeen, running: fetching.size, names: undefined, bytes, totalBytes: unknown ? undefined : totalBytes });
  };
  const ev = (name: string, e: { drvPath: string; name: string }, more: Record<string, unknown> = {}) => progress.event(name, { drvPath: e.drvPath, name: e.name, ...more });
  return {
    onEvent(e) {
      switch (e.type) {
        case 'plan':
          total = e.toBuild;
          progress.event('plan', { toBuild: e.toBuild, drvs: e.drvs });
          showBuilds();
          break;
        case 'start':
          ev('build-queued', e);
          break;
        case 'slot':
          if (e.kind === 'build') {
            if (e.held) running.set(e.drvPath, e.name);
            else running.delete(e.drvPath);
            showBuilds();
          } else if (e.held) {
            downloadsSeen++;
            fetching.set(e.drvPath, { bytes: 0 });
            showDownloads();
          } else {
            const f = fetching.get(e.drvPath);
            fetching.delete(e.drvPath);
            if (f) {
              fetchedFiles++;
              fetchedBytes += f.bytes;
              knownTotalBytes += f.total ?? f.bytes;
            }
            showDownloads();
          }
          ev(e.held ? 'build-running' : 'build-slot-released', e, { kind: e.kind });
          break;
        case 'download': {
          const f = fetching.get(e.drvPath);
          if (f) {
            f.bytes = e.bytes;
            f.total = e.total;
          }
          showDownloads();
          const now = Date.now();
          if (progress.mode === 'json' && (now - (lastJson.get(e.drvPath) ?? 0) >= JSON_DOWNLOAD_MS || e.bytes === e.total)) {
            lastJson.set(e.drvPath, now);
            ev('download', e, { bytes: e.bytes, ...(e.total === undefined ? {} : { total: e.total }) });
          }
          break;
        }
        case 'log':
          if (progress.mode === 'json') ev('log', e, { line: e.line });
          else if (opts.printBuildLogs) progress.message(`${e.name}> ${e.line}`);
          break;
        case 'done':
          running.delete(e.drvPath);
          if (e.built) built++;
          ev('build-done', e, { built: e.built });
          showBuilds();
          break;
        case 'failed':
          running.delete(e.drvPath);
          ev('build-failed', e, { error: e.error.message });
          showBuilds();
          break;
        case 'waiting':
          if (progress.mode === 'json') ev('waiting', e, { holder: e.holder });
          else progress.message(`waiting for another process (pid ${e.holder}) to finish building '${e.name}'`);
          break;
        case 'substitute-failed':
          progress.event('substitute-failed', { path: e.path, name: e.name, reason: e.reason });
          break;
      }
    },
    close() {
      builds.end();
      downloads.end();
    },
  };
}

/** Paths and bytes of a transfer (substitution, push, export, import) as an activity of `progress`. */
export function transferProgress(progress: Progress, id: string, label: string): { onProgress: (p: TransferProgress) => void; end: () => void } {
  const a = progress.activity(id, label, 'paths');
  return {
    onProgress: (p) => a.update({ done: p.donePaths, total: p.totalPaths, bytes: p.doneBytes, totalBytes: p.totalBytes }),
    end: () => a.end(),
  };
}
