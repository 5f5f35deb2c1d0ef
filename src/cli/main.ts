/** Entry point: global options, then dispatch to one command module, loaded on demand. */
import { StoreError } from '../errors.js';
import { helpText, parseArgs } from './args.js';
import type { Command, Context } from './command.js';
import { resolveStoreRoot } from '../store/root.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  realize: { summary: 'evaluate an expression file and build or find its outputs', load: async () => (await import('./realize.js')).default },
  init: { summary: 'make a directory ready for an expression of your own: env.ts, tsconfig.json, editor types', load: async () => (await import('./init.js')).default },
  eval: { summary: 'print the .drv and output paths of an expression file without building', load: async () => (await import('./eval.js')).default },
  log: { summary: 'print the build log of a store path', load: async () => (await import('./log.js')).default },
  'show-derivation': { summary: 'print .drv files as JSON', load: async () => (await import('./show-derivation.js')).default },
  add: { summary: 'copy a file or tree into the store by content', load: async () => (await import('./add.js')).default },
  'path-info': { summary: 'show narHash, narSize, references and referrers of store paths', load: async () => (await import('./path-info.js')).default },
  verify: { summary: 'check that every valid path exists (and, with --check-contents, is unmodified)', load: async () => (await import('./verify.js')).default },
  'hash-path': { summary: "print the SRI hash of a path's canonical archive", load: async () => (await import('./hash-path.js')).default },
  'hash-file': { summary: "print the SRI hash of a file's contents (what fetchurl's integrity is)", load: async () => (await import('./hash-file.js')).default },
  prefetch: { summary: 'download a file into the store and print its path and the integrity for fetchurl', load: async () => (await import('./prefetch.js')).default },
  dump: { summary: 'write the canonical archive of a path to stdout', load: async () => (await import('./dump.js')).default },
  restore: { summary: 'restore a canonical archive from stdin into a new directory', load: async () => (await import('./restore.js')).default },
  gc: { summary: 'delete the store paths no root keeps alive (--dry-run: show what and how much)', load: async () => (await import('./gc.js')).default },
  optimise: { summary: 'hard-link identical files across store paths, and print the space saved', load: async () => (await import('./optimise.js')).default },
  roots: { summary: 'list GC roots with their age and the bytes only they keep alive', load: async () => (await import('./roots.js')).default },
  why: { summary: 'show the chains of references from roots to a store path', load: async () => (await import('./why.js')).default },
  'why-depends': { summary: 'show the chain of references from one path to another, and the files holding each', load: async () => (await import('./why-depends.js')).default },
  tree: { summary: 'show the closure of a path as a tree with its own and closure sizes', load: async () => (await import('./tree.js')).default },
  graph: { summary: 'draw the closure of a path with sizes: dot, or self-contained svg or html', load: async () => (await import('./graph.js')).default },
  delete: { summary: 'delete particular store paths if nothing live needs them', load: async () => (await import('./delete.js')).default },
  profile: { summary: 'profiles: install, remove, list, rollback, switch, delete-older-than, keep-last', load: async () => (await import('./profile.js')).default },
  release: { summary: 'named releases kept as GC roots: add, deprecate, rm, list', load: async () => (await import('./release.js')).default },
  export: { summary: 'write store paths and their closure to a bundle file', load: async () => (await import('./export.js')).default },
  import: { summary: 'import a bundle, checking hashes, closure and signatures', load: async () => (await import('./import.js')).default },
  keygen: { summary: 'make an ed25519 key pair for signing store paths', load: async () => (await import('./keygen.js')).default },
  sign: { summary: 'sign valid store paths with a secret key', load: async () => (await import('./sign.js')).default },
  push: { summary: 'upload store paths and their closure to a binary cache', load: async () => (await import('./push.js')).default },
  diff: { summary: 'compare two closures: packages added, removed, changed, and why', load: async () => (await import('./diff.js')).default },
  env: { summary: 'realize an environment and print the variables that activate it (sh, csh, json)', load: async () => (await import('./env.js')).default },
  shell: { summary: 'realize an environment and run a shell or a command inside it', load: async () => (await import('./shell.js')).default },
  lock: { summary: 'realize an expression file and print a lock file of its outputs and narHashes', load: async () => (await import('./lock.js')).default },
};


/** The exit status of a program killed by SIGPIPE (128 + 13), as `yes | head` leaves it. */
export const BROKEN_PIPE_STATUS = 141;

const guardedStreams = new WeakSet<NodeJS.WriteStream>();

/**
 * `stream`, set to end the process quietly once its reader has gone (`store path-info -r … |
 * head -1`): the rest of the output has nowhere to go, and that is no error of the command.
 */
export function guarded(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (guardedStreams.has(stream)) return stream;
  guardedStreams.add(stream);
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(BROKEN_PIPE_STATUS);
    throw e;
  });
  return stream;
}

function isBrokenPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'EPIPE' || (e as NodeJS.ErrnoException)?.code === 'ERR_STREAM_DESTROYED';
}

function usage(): string {
  const lines = ['usage: store [--store DIR] COMMAND [ARGS...]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(16)} ${c.summary}`);
  lines.push('', "The store root is --store DIR, else $STORE_ROOT, else $XDG_DATA_HOME/hepstore.", "Run 'store COMMAND --help' for a command's options.");
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let storeFlag: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--store') storeFlag = argv[++i];
    else if (a.startsWith('--store=')) storeFlag = a.slice('--store='.length);
    else break;
  }
  const name = argv[i];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    guarded(process.stdout).write(usage() + '\n');
    return name === undefined ? 1 : 0;
  }
  if (name === '--version') {
    guarded(process.stdout).write(`hepstore ${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) throw new StoreError('USAGE', `unknown command '${name}'`, { hint: "run 'store --help' for the list of commands" });
  const cmd = await entry.load();
  const rest = argv.slice(i + 1);
  if (rest.includes('--help') || rest.includes('-h')) {
    guarded(process.stdout).write(helpText(cmd.usage, cmd.summary, cmd.flags) + '\n');
    return 0;
  }
  // --store may also come after the command name.
  const args = parseArgs(rest, { ...cmd.flags, store: { kind: 'string' } }, name);
  const words = cmd.positionals;
  if (words && (args.positionals.length < words.min || (words.max !== undefined && args.positionals.length > words.max))) {
    throw new StoreError('USAGE', `store ${name} ${words.says}`, words.hint ? { hint: words.hint } : {});
  }
  const storeRoot = resolveStoreRoot((args.flags.store as string | undefined) ?? storeFlag);
  delete args.flags.store;
  let opened: Store | undefined;
  const ctx: Context = {
    storeRoot,
    async store(opts) {
      // Loaded lazily: commands that need no store never open SQLite.
      if (!opened) {
        opened = new (await import('../store/local-store.js')).LocalStore(storeRoot, opts);
        const lost = opts?.recover ? undefined : opened.databaseLoss();
        if (lost) process.stderr.write(`warning: ${lost}; run \`store verify --recover\` (nothing is deleted until then)\n`);
      }
      return opened;
    },
    // Each stream is set up on first use (a pipe loads the networking code).
    get stdout() {
      return guarded(process.stdout);
    },
    get stderr() {
      return guarded(process.stderr);
    },
    cwd: process.cwd(),
  };
  try {
    return await cmd.run(args, ctx);
  } catch (err) {
    // The one place where a full file system (ENOSPC, SQLITE_FULL, however wrapped) becomes a
    // message naming it and what to free; other SQLite errors are said in terms of the store.
    throw explainSqliteError((await import('../store/disk-full.js')).diskFullError(err, storeRoot), storeRoot);
  } finally {
    opened?.close();
  }
}

/** An error from SQLite itself, said in terms of the store (which file, what to do). */
function explainSqliteError(err: unknown, storeRoot: string): unknown {
  const code = (err as { code?: unknown })?.code;
  if (err instanceof StoreError || typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const dbFile = `${storeRoot}/var/db/store.sqlite`;
  const why = (err as Error).message;
  if (code.startsWith('SQLITE_READONLY')) {
    return new StoreError('DATABASE', `cannot change the store database ${dbFile}: it is read-only here (${why})`, {
      cause: err,
      hint: 'this command writes to the store: run it where the store is writable (path-info, verify, gc --dry-run, roots and why only read)',
    });
  }
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError('DATABASE', `the store database ${dbFile} is damaged (${why})`, {
      cause: err,
      hint: 'run `store verify --recover`: it moves the file aside and rebuilds the database from the objects in the store directory',
    });
  }
  return new StoreError('DATABASE', `the store database ${dbFile}: ${why} (${code})`, { cause: err });
}

export function reportError(err: unknown): number {
  // Output cut short by its reader (a pipe into head): nothing to say, and nowhere to say it.
  if (isBrokenPipe(err)) return BROKEN_PIPE_STATUS;
  guarded(process.stderr);
  if (err instanceof StoreError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  const e = err as NodeJS.ErrnoException;
  // A system call that failed (a read-only file system, a permission) says what and where in
  // its message; a stack trace is only for what the code did not expect.
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && typeof e.syscall === 'string') {
    process.stderr.write(`error: ${e.message}\n`);
    if (e.code === 'EROFS' || e.code === 'EACCES' || e.code === 'EPERM') process.stderr.write('hint: this command writes to the store or its var/ directory; run it where they are writable\n');
    return 1;
  }
  process.stderr.write(`error: ${e?.stack ?? String(err)}\n`);
  return 1;
}
