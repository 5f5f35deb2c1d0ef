/** One error class for the whole tool: a stable code, a message naming the thing, a hint. */

export type ErrorCode =
  | 'USAGE'
  | 'INVALID_NAME'
  | 'INVALID_PATH'
  | 'NOT_IN_STORE'
  | 'NOT_VALID'
  | 'HOSTILE_ARCHIVE'
  | 'HASH_MISMATCH'
  | 'STILL_REFERENCED'
  | 'STORE_MISMATCH'
  | 'SCHEMA'
  | 'DATABASE'
  | 'IO'
  | 'VERIFY_FAILED'
  | 'EVAL'
  | 'IMPURE'
  | 'CYCLE'
  | 'BUILD_FAILED'
  | 'TIMEOUT'
  | 'NOT_DETERMINISTIC'
  | 'LOCKED'
  | 'DISK_FULL'
  | 'UNTRUSTED';

/** Exit codes follow Nix so that scripts carry over. */
const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  BUILD_FAILED: 100,
  TIMEOUT: 101,
  HASH_MISMATCH: 102,
  NOT_DETERMINISTIC: 104,
};

export class StoreError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly exitCode: number;
  /** "file:line" of the expression a mistake was found in, when the message already names it. */
  readonly location?: string;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; exitCode?: number; location?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT_CODES[code] ?? 1;
    if (options.location !== undefined) this.location = options.location;
  }
}

export function isStoreError(e: unknown, code?: ErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
