/** The store's configuration file, `<root>/etc/hepstore.json`; every key is optional. */
import fs from 'node:fs';
import { StoreError } from '../errors.js';

export interface StoreConfig {
  /** Build in a bubblewrap sandbox when bwrap is installed (default true). */
  sandbox?: boolean;
  /**
   * Paths visible in the sandbox (as Nix's sandbox-paths): "PATH" is the host's PATH (with the
   * shared libraries of a binary), for builds whose builder is not a store path or that use
   * host tools; "PATH=SOURCE" shows SOURCE at PATH, and when SOURCE lies in a valid store path
   * it is shown to every build, with that store path's closure. Default: ["/bin/sh"].
   */
  sandboxPaths?: string[];
  /** Binary caches to substitute from, in order. */
  substituters?: string[];
  /** Public keys ("name:base64") whose signatures are trusted. */
  trustedPublicKeys?: string[];
  /** Secret key files used to sign what this store builds and pushes. */
  secretKeyFiles?: string[];
  /**
   * Refuse to evaluate or realize anything whose closure uses a host tool or a host program as
   * builder, as `--pure` does (default false).
   */
  pure?: boolean;
  /**
   * Bytes kept in var/gc-reserve for `store gc` to free on a full disk (as Nix's
   * gc-reserved-space; default 8 MiB, 0 for none).
   */
  gcReservedSpace?: number;
  /** Default for -j. */
  maxJobs?: number;
  /**
   * Where `mirror://NAME/…` URLs of fixed-output fetches point, tried in order, e.g.
   * { "debian": ["https://…/debian"] }. HEPSTORE_MIRROR_<NAME> (space-separated) adds to them.
   */
  mirrors?: Record<string, string[]>;
  /** Seconds to open a connection to a binary cache or a download's server (default 20). */
  connectTimeout?: number;
  /** Seconds without a byte on a connection before the request is given up (default 60). */
  stalledTimeout?: number;
  /** Seconds an evaluation may take before it is an error (default 300). */
  evalTimeout?: number;
  /** Seconds a builder may run before it is stopped (as Nix's timeout; default 0, no limit). */
  buildTimeout?: number;
  /** Seconds a builder may go without output before it is stopped (as Nix's max-silent-time; default 0, no limit). */
  maxSilentTime?: number;
  /**
   * Garbage collection keeps the .drv files of live outputs (as Nix's keep-derivations,
   * default true), so that `store diff`, `store log` and `verify --repair` still find them.
   */
  keepDerivations?: boolean;
  /** Garbage collection keeps the outputs of live .drv files (as Nix's keep-outputs, default false). */
  keepOutputs?: boolean;
}

export const DEFAULT_CONNECT_TIMEOUT = 20;
export const DEFAULT_STALLED_TIMEOUT = 60;
export const DEFAULT_EVAL_TIMEOUT = 300;

/** A duration in seconds from the configuration (or a flag): a positive number, else a usage error naming where it came from. */
export function seconds(value: unknown, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw new StoreError('USAGE', `${where} must be a positive number of seconds (got ${JSON.stringify(value)})`);
  }
  // Timers hold at most 2^31 - 1 ms (about 24 days).
  return Math.min(n, 2_000_000);
}

/** The network timeouts of a store's configuration, in milliseconds. */
export function networkTimeouts(config: StoreConfig, file: string): { connectMs: number; stalledMs: number } {
  return {
    connectMs: seconds(config.connectTimeout, DEFAULT_CONNECT_TIMEOUT, `"connectTimeout" in ${file}`) * 1000,
    stalledMs: seconds(config.stalledTimeout, DEFAULT_STALLED_TIMEOUT, `"stalledTimeout" in ${file}`) * 1000,
  };
}

/** The evaluation time limit in milliseconds: the flag's value, else the configuration's. */
export function evalTimeoutMs(config: StoreConfig, file: string, flag?: unknown): number {
  if (flag !== undefined) return seconds(flag, DEFAULT_EVAL_TIMEOUT, '--eval-timeout') * 1000;
  return seconds(config.evalTimeout, DEFAULT_EVAL_TIMEOUT, `"evalTimeout" in ${file}`) * 1000;
}

/** A build limit in milliseconds (undefined: none): a whole or decimal number of seconds, 0 for no limit. */
export function limitMs(value: unknown, where: string): number | undefined {
  const ok = typeof value === 'number' ? Number.isFinite(value) && value >= 0 : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value);
  if (!ok) throw new StoreError('USAGE', `${where} takes a number of seconds (got ${typeof value === 'string' ? `'${value}'` : JSON.stringify(value)})`);
  return Math.round(Math.min(Number(value), 2_000_000) * 1000) || undefined;
}

/**
 * --timeout and --max-silent-time, else the configuration's buildTimeout and maxSilentTime,
 * in milliseconds; undefined where there is no limit.
 */
export function buildLimits(config: StoreConfig, file: string, flags: { timeout?: unknown; maxSilentTime?: unknown }): { timeoutMs?: number; maxSilentMs?: number } {
  const pick = (flag: unknown, flagName: string, value: unknown, key: string) =>
    flag !== undefined ? limitMs(flag, flagName) : value !== undefined ? limitMs(value, `"${key}" in ${file}`) : undefined;
  return {
    timeoutMs: pick(flags.timeout, '--timeout', config.buildTimeout, 'buildTimeout'),
    maxSilentMs: pick(flags.maxSilentTime, '--max-silent-time', config.maxSilentTime, 'maxSilentTime'),
  };
}

/**
 * What garbage collection keeps besides the closures of the roots (and what `roots`, `why`
 * and `delete` count as alive): the configuration's keepDerivations (default true) and
 * keepOutputs (default false), each turned on by its flag.
 */
export function gcKeepOptions(config: StoreConfig, file: string, flags: Record<string, unknown>): { keepDerivations: boolean; keepOutputs: boolean } {
  const setting = (key: 'keepDerivations' | 'keepOutputs', fallback: boolean): boolean => {
    const v = config[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw new StoreError('USAGE', `"${key}" in ${file} must be true or false (got ${JSON.stringify(v)})`);
    return v;
  };
  return {
    keepDerivations: flags['keep-derivations'] === true || setting('keepDerivations', true),
    keepOutputs: flags['keep-outputs'] === true || setting('keepOutputs', false),
  };
}

export function readStoreConfig(file: string): StoreConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as StoreConfig;
  } catch (e) {
    throw new StoreError('USAGE', `the store configuration ${file} is not valid JSON: ${(e as Error).message}`, { hint: 'fix or remove the file' });
  }
}
