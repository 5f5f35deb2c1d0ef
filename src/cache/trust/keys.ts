/** The keys a store is configured with (etc/hepstore.json: trustedPublicKeys, secretKeyFiles). */
import path from 'node:path';
import type { StoreConfig } from '../../store/config.js';
import { addSignatures, readSecretKeyFile, trustedKeys, type SecretKey, type SignedInfo, type TrustedKeys } from './signing.js';

export function configuredTrustedKeys(config: StoreConfig): TrustedKeys {
  return trustedKeys(config.trustedPublicKeys ?? []);
}

/** Secret keys from `files` (or the configured ones); relative names are relative to etc/. */
export function configuredSecretKeys(config: StoreConfig, configFile: string, files?: readonly string[]): SecretKey[] {
  return (files ?? config.secretKeyFiles ?? []).map((f) => readSecretKeyFile(path.resolve(path.dirname(configFile), f)));
}

/**
 * Signs what a build registers with the configured secret keys (realize's `sign` hook);
 * undefined when none is configured. The key files are read now, before anything is built.
 */
export function outputSigner(config: StoreConfig, configFile: string): ((info: SignedInfo) => string[]) | undefined {
  const keys = configuredSecretKeys(config, configFile);
  return keys.length ? (info) => addSignatures(info, [], keys) : undefined;
}
