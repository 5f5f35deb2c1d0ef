/** What every command module exports, and the context main.ts hands it. */
import type { FlagSpec, Parsed } from './args.js';
import type { OpenOptions } from '../store/local-store.js';
import type { Store } from '../store/store.js';

export interface Context {
  storeRoot: string;
  /**
   * Opens the store on first use (commands that need no store never pay for it). `gc`: to
   * collect garbage, possibly on a full disk (see src/store/local-store.ts).
   */
  store(opts?: OpenOptions): Promise<Store>;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  cwd: string;
}

/**
 * How many words besides its options a command takes, and what it says when given another
 * count (`store gc takes no arguments`): checked before the command runs or opens the store.
 */
export interface PositionalSpec {
  min: number;
  /** None: no upper bound. */
  max?: number;
  /** The message after `store NAME `. */
  says: string;
  hint?: string;
}

export interface Command {
  usage: string;
  summary: string;
  flags: FlagSpec;
  /** None: the command checks its words itself (sub-commands: profile, release; verify takes any). */
  positionals?: PositionalSpec;
  /** Returns the exit code. */
  run(args: Parsed, ctx: Context): Promise<number>;
}

export function printJson(ctx: Context, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
