/**
 * A time limit that holds even when the evaluation never yields: a thread that, past the
 * deadline, stops the JavaScript running on the main thread (which then goes on with its event
 * loop). Evaluations that wait (on a promise, a timer) are stopped earlier and more gently by
 * evaluate.ts's own timer; this one fires `graceMs` later, for the synchronous loops. If the
 * process exits with the error not yet reported, `message()` (when it returns one) is printed
 * and the exit status is 1.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * The thread's code, as a CommonJS string: it starts faster than a module file. When the time
 * is up and the evaluation has not finished (state 0 = running, 1 = stopped by this thread,
 * 2 = finished in time), it stops the main thread's JavaScript through the inspector protocol.
 */
const WORKER = `
const { workerData } = require('node:worker_threads');
const { state, ms } = workerData;
setTimeout(() => {
  if (Atomics.compareExchange(state, 0, 0, 1) !== 0) return;
  try {
    const session = new (require('node:inspector').Session)();
    session.connectToMainThread();
    session.post('Runtime.terminateExecution');
  } catch {
    process.kill(process.pid, 'SIGTERM');
  }
}, ms);
`;

export interface Watchdog {
  /** The evaluation finished (or failed) in time: the thread goes away. */
  stop(): void;
  /** Whether the thread stopped the main thread's JavaScript. */
  fired(): boolean;
}

export function startWatchdog(ms: number, message: () => string | undefined, graceMs = 1000): Watchdog {
  const state = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, { eval: true, workerData: { state, ms: ms + graceMs }, stdin: false, stdout: true, stderr: true });
  worker.unref();
  worker.on('error', () => {});
  const onExit = () => {
    const m = Atomics.load(state, 0) === 1 ? message() : undefined;
    if (m === undefined) return;
    fs.writeSync(2, `error: ${m}\n`);
    process.exitCode = 1;
  };
  process.on('exit', onExit);
  return {
    stop() {
      if (Atomics.compareExchange(state, 0, 0, 2) !== 0) return;
      process.off('exit', onExit);
      void worker.terminate();
    },
    fired: () => Atomics.load(state, 0) === 1,
  };
}
