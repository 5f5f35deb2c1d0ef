/**
 * What realizing a build graph takes (RealizeOptions), reports while it runs (RealizeEvent)
 * and gives (RealizeResult).
 */
import type { StoreError } from '../errors.js';

/** Downloads (builtin:fetchurl) at once, besides the -j builder processes. */
export const FETCHES = 6;

export interface RealizeOptions {
  jobs?: number;
  /** Build in the bubblewrap sandbox when bwrap is installed (default true). */
  sandbox?: boolean;
  sandboxPaths?: string[];
  keepFailed?: boolean;
  /**
   * Rebuild derivations whose outputs are valid and compare, bit for bit: the graph's roots
   * ('roots', as Nix's --check; their inputs are only built if missing), or every derivation
   * of the graph ('closure').
   */
  check?: 'roots' | 'closure';
  /**
   * Valid outputs whose contents are damaged (`store verify --repair`): rebuild their
   * derivations beside them and, if the rebuilt narHashes equal the registered ones, put the
   * copies in place (Store.replaceValidPath); otherwise fail as not deterministic and
   * leave them. Needs the sandbox, as --check does.
   */
  repair?: ReadonlySet<string>;
  keepGoing?: boolean;
  /** Milliseconds a builder process may run, and may go without output (Nix's timeout and max-silent-time); 0 or unset: no limit. */
  timeoutMs?: number;
  maxSilentMs?: number;
  onEvent?: (e: RealizeEvent) => void;
  /** Report each line of the builders' output as a 'log' event as it is written (`store realize -L`). */
  buildLogs?: boolean;
  /**
   * Fetch missing outputs (and their closures) from binary caches instead of building them
   * (src/cache/binary/substitute.ts). Returns, for each path it could not fetch, why.
   */
  substitute?: (paths: string[]) => Promise<Map<string, string>>;
  /** With `substitute`: fail instead of building what could not be substituted. */
  noFallback?: boolean;
  /**
   * Signatures for an output this run built, recorded when it is registered (the store's
   * secretKeyFiles, as Nix's secret-key-files signs locally built paths).
   */
  sign?: (info: { path: string; narHash: string; narSize: number; references: readonly string[] }) => string[];
}

export type RealizeEvent =
  | { type: 'plan'; toBuild: number; drvs: number }
  /** Taken up (queued for a build slot or a download; see 'slot'). */
  | { type: 'start'; drvPath: string; name: string }
  /** Holds a build slot (-j), or a download slot, from held true to held false. */
  | { type: 'slot'; drvPath: string; name: string; held: boolean; kind: 'build' | 'fetch' }
  /** Bytes of a download (builtin:fetchurl) so far, and its size when the server gives one. */
  | { type: 'download'; drvPath: string; name: string; bytes: number; total?: number }
  /** A line of a builder's output (with `buildLogs`). */
  | { type: 'log'; drvPath: string; name: string; line: string }
  | { type: 'done'; drvPath: string; name: string; built: boolean }
  | { type: 'failed'; drvPath: string; name: string; error: StoreError }
  | { type: 'waiting'; drvPath: string; name: string; holder: number }
  | {
      type: 'substitute-failed';
      path: string;
      reason: string;
      /** The derivation of the path, and where it was made. */
      name: string;
      location?: string;
      /**
       * An input derivation that could not be substituted either (a changed input changes every
       * path above it); none when all its inputs were found, so this one is the first missing.
       */
      missingInput?: string;
    };

export interface RealizeResult {
  /** Output paths of the requested roots, in the order asked for. */
  roots: Array<{ drvPath: string; attr: string; outputs: Record<string, string> }>;
  built: string[];
  checked: string[];
  /** Outputs replaced by a rebuild (opts.repair). */
  repaired: string[];
  /** Derivations whose missing outputs were all substituted instead of built. */
  substituted?: string[];
}
