import fs from 'node:fs';
import path from 'node:path';
import type { Command } from './command.js';
import { printJson } from './command.js';
import { StoreError } from '../errors.js';
import { generateKeyPair } from '../cache/trust/signing.js';

const keygen: Command = {
  usage: 'store keygen NAME [--secret-key-file FILE] [--public-key-file FILE] [--json]',
  positionals: { min: 1, max: 1, says: 'takes exactly one NAME', hint: 'e.g. store keygen cache.example.org-1' },
  summary:
    'Make an ed25519 key pair for signing store paths. Prints the public key ("NAME:base64"); writes the secret key to --secret-key-file (default NAME.sec, mode 0600) and the public key to --public-key-file (default NAME.pub).',
  flags: {
    'secret-key-file': { kind: 'string', description: 'where to write the secret key (default NAME.sec); it must not exist' },
    'public-key-file': { kind: 'string', description: 'where to write the public key (default NAME.pub)' },
    json: { kind: 'boolean', description: 'print {name, publicKey, secretKeyFile, publicKeyFile}' },
  },
  async run(args, ctx) {
    const name = args.positionals[0];
    const { secretKey, publicKey } = generateKeyPair(name);
    const secFile = path.resolve(ctx.cwd, (args.flags['secret-key-file'] as string | undefined) ?? `${name}.sec`);
    const pubFile = path.resolve(ctx.cwd, (args.flags['public-key-file'] as string | undefined) ?? `${name}.pub`);
    try {
      fs.writeFileSync(secFile, secretKey + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      throw new StoreError('IO', `cannot write the secret key to ${secFile}: ${(e as Error).message}`, { hint: 'an existing key file is never overwritten; choose another name or remove it' });
    }
    fs.writeFileSync(pubFile, publicKey + '\n');
    if (args.flags.json) printJson(ctx, { name, publicKey, secretKeyFile: secFile, publicKeyFile: pubFile });
    else {
      ctx.stdout.write(publicKey + '\n');
      ctx.stderr.write(`secret key written to ${secFile}; add the public key to "trustedPublicKeys" in the etc/hepstore.json of stores that should trust it\n`);
    }
    return 0;
  },
};
export default keygen;
