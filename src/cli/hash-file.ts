import type { Command } from './command.js';
import { StoreError } from '../errors.js';
import { FILE_HASH_TYPES, hashFile, type FileHashType } from '../hash/file.js';

const hashFileCmd: Command = {
  usage: 'store hash-file FILE... [--type sha256|sha512] [--size]',
  positionals: { min: 1, says: 'needs at least one FILE' },
  summary: "Print the hash of each file's contents as an SRI string: what fetchurl's `integrity` of that file is (flat, not the archive hash-path prints).",
  flags: {
    type: { kind: 'string', description: 'sha256 (default; what fetchurl takes) or sha512' },
    size: { kind: 'boolean', description: 'also print the file size in bytes' },
  },
  async run(args, ctx) {
    const type = (args.flags.type as string | undefined) ?? 'sha256';
    if (!FILE_HASH_TYPES.includes(type as FileHashType)) throw new StoreError('USAGE', `--type takes ${FILE_HASH_TYPES.join(' or ')} (got '${type}')`);
    for (const f of args.positionals) {
      const h = await hashFile(f, type as FileHashType);
      ctx.stdout.write(args.flags.size ? `${h.integrity} ${h.size}\n` : `${h.integrity}\n`);
    }
    return 0;
  },
};
export default hashFileCmd;
