/**
 * What an evaluation read, for the evaluation cache (src/eval/eval-cache.ts): the evaluator
 * installs a recorder while an expression runs; the API notes the inputs it takes in ways no
 * file-system wrapper sees (the archive hash of a `path()`), and runs its own bookkeeping
 * (the host-tool identity cache, hashing a tree) unrecorded. Without a recorder both are no-ops.
 */

/** One observation: calling `fn` with `args` gave a result whose digest is `value`. */
export interface RecordedRead {
  fn: string;
  args: unknown[];
  value: string;
}

export interface InputRecorder {
  note(read: RecordedRead): void;
  /** Run `fn` with nothing it does recorded (nor counted as untracked). */
  unrecorded<T>(fn: () => T): T;
}

let recorder: InputRecorder | undefined;

export function setInputRecorder(r: InputRecorder | undefined): void {
  recorder = r;
}

export function noteRead(read: RecordedRead): void {
  recorder?.note(read);
}

export function unrecorded<T>(fn: () => T): T {
  return recorder ? recorder.unrecorded(fn) : fn();
}
