/**
 * Ed25519 signatures on path metadata, in Nix's textual key format: `name:base64`, the secret
 * key being the 64 bytes seed||public (as libsodium writes it), the public key 32 bytes.
 * The signed message ("fingerprint") covers the store path, narHash, narSize and the sorted
 * references: `1;<path>;<narHash>;<narSize>;<refs joined by ,>`.
 */
import fs from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { StoreError } from '../../errors.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface SecretKey {
  name: string;
  key: KeyObject;
  /** The matching public key in textual form. */
  publicKey: string;
}

export interface PublicKey {
  name: string;
  key: KeyObject;
}

/** What a signature covers. */
export interface SignedInfo {
  path: string;
  narHash: string;
  narSize: number;
  references: readonly string[];
}

function splitKey(text: string, what: string): [string, Buffer] {
  const t = text.trim();
  const i = t.indexOf(':');
  if (i <= 0) throw new StoreError('USAGE', `${what} '${t.slice(0, 40)}' is not of the form NAME:BASE64`);
  return [t.slice(0, i), Buffer.from(t.slice(i + 1), 'base64')];
}

function validKeyName(name: string): void {
  if (!/^[A-Za-z0-9._+-]+$/.test(name)) throw new StoreError('USAGE', `key name '${name}' may only hold letters, digits and . _ + -`);
}

/** A fresh key pair, both halves in textual form. */
export function generateKeyPair(name: string): { secretKey: string; publicKey: string } {
  validKeyName(name);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  void publicKey;
  return { secretKey: `${name}:${Buffer.concat([seed, pub]).toString('base64')}`, publicKey: `${name}:${pub.toString('base64')}` };
}

export function parseSecretKey(text: string): SecretKey {
  const [name, raw] = splitKey(text, 'secret key');
  if (raw.length === 32) throw new StoreError('USAGE', `'${name}' is a public key, where a secret key is wanted`, { hint: `sign with the secret half, ${name}.sec as \`store keygen ${name}\` wrote it; the public key (${name}.pub) goes into "trustedPublicKeys"` });
  if (raw.length !== 64) throw new StoreError('USAGE', `secret key '${name}' has ${raw.length} bytes, not 64`, { hint: 'make one with `store keygen NAME`' });
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  const pub = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url');
  if (!pub.equals(raw.subarray(32))) throw new StoreError('USAGE', `secret key '${name}' is corrupt: its public half does not match its seed`);
  return { name, key, publicKey: `${name}:${pub.toString('base64')}` };
}

export function parsePublicKey(text: string): PublicKey {
  const [name, raw] = splitKey(text, 'public key');
  if (raw.length !== 32) throw new StoreError('USAGE', `public key '${name}' has ${raw.length} bytes, not 32`);
  return { name, key: createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

export function readSecretKeyFile(file: string): SecretKey {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new StoreError('IO', `cannot read the secret key file ${file}: ${(e as Error).message}`);
  }
  return parseSecretKey(text);
}

export function fingerprint(info: SignedInfo): string {
  return `1;${info.path};${info.narHash};${info.narSize};${[...info.references].sort().join(',')}`;
}

export function signInfo(key: SecretKey, info: SignedInfo): string {
  return `${key.name}:${sign(null, Buffer.from(fingerprint(info)), key.key).toString('base64')}`;
}

/** Trusted keys by name (several keys may share a name). */
export type TrustedKeys = Map<string, PublicKey[]>;

export function trustedKeys(texts: readonly string[] = []): TrustedKeys {
  const m: TrustedKeys = new Map();
  for (const t of texts) {
    const k = parsePublicKey(t);
    (m.get(k.name) ?? m.set(k.name, []).get(k.name)!).push(k);
  }
  return m;
}

/** Whether one of `sigs` is a valid signature of `info` by a trusted key. */
export function hasTrustedSignature(info: SignedInfo, sigs: readonly string[], keys: TrustedKeys): boolean {
  if (keys.size === 0) return false;
  const msg = Buffer.from(fingerprint(info));
  for (const s of sigs) {
    const i = s.indexOf(':');
    if (i <= 0) continue;
    const candidates = keys.get(s.slice(0, i));
    if (!candidates) continue;
    const sig = Buffer.from(s.slice(i + 1), 'base64');
    if (sig.length !== 64) continue;
    for (const k of candidates) if (verify(null, msg, k.key, sig)) return true;
  }
  return false;
}

/**
 * The trust rule for a path that comes from elsewhere (a bundle, a binary cache): whoever
 * accepts it must be vouched for — signatures are not required, or one is by a trusted key.
 * A content-addressed path is accepted unvouched, since its contents prove its path; if that
 * proof then fails, it stands only if it is vouched for after all.
 */
export function vouchedFor(info: SignedInfo, sigs: readonly string[], keys: TrustedKeys, requireSigs: boolean): boolean {
  return !requireSigs || hasTrustedSignature(info, sigs, keys);
}

/** Whether a path from elsewhere may be fetched or imported (see vouchedFor). */
export function acceptable(info: SignedInfo & { ca?: string }, sigs: readonly string[], keys: TrustedKeys, requireSigs: boolean): boolean {
  return Boolean(info.ca) || vouchedFor(info, sigs, keys, requireSigs);
}

/**
 * Why `sigs` do not make a path trusted, for an error: who signed it and what to change —
 * a signer that is not trusted (add its public key to "trustedPublicKeys" in `configFile`),
 * or a trusted signer whose signature does not verify (the metadata was altered).
 */
export function untrustedReason(sigs: readonly string[], keys: TrustedKeys, configFile: string): string {
  const trusted = [...keys.keys()];
  const signers = [...new Set(sigs.map((s) => s.slice(0, Math.max(0, s.indexOf(':')))).filter(Boolean))];
  if (signers.length === 0) return `it is not signed (trusted keys: ${trusted.join(', ') || 'none'}; accept unsigned paths with --no-require-sigs)`;
  const known = signers.filter((n) => keys.has(n));
  const names = (list: string[]) => list.map((n) => `'${n}'`).join(', ');
  if (known.length) return `its signature${known.length > 1 ? 's' : ''} by ${names(known)} do${known.length > 1 ? '' : 'es'} not verify: its narHash, size or references were changed after signing, or the trusted key of that name is another`;
  return `it is signed by ${names(signers)}, which ${signers.length > 1 ? 'are' : 'is'} not trusted (trusted keys: ${trusted.join(', ') || 'none'}); to trust ${signers.length > 1 ? 'them' : 'it'}, add the public key ("${signers[0]}:…", printed by \`store keygen\` and kept in ${signers[0]}.pub) to "trustedPublicKeys" in ${configFile}`;
}

/** Add signatures by `keys` to `sigs` (a key's old signature is replaced). */
export function addSignatures(info: SignedInfo, sigs: readonly string[], keys: readonly SecretKey[]): string[] {
  const out = [...sigs];
  for (const k of keys) {
    const s = signInfo(k, info);
    const old = out.findIndex((x) => x.startsWith(`${k.name}:`));
    if (old >= 0) out[old] = s;
    else out.push(s);
  }
  return out;
}
