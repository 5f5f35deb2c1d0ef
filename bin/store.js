#!/usr/bin/env node
import v8 from 'node:v8';

// Evaluating large package sets allocates many short-lived strings: a larger young
// generation means far fewer scavenges.
v8.setFlagsFromString('--max-semi-space-size=64');
const { main, reportError } = await import('../dist/src/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
    // A failed command does not wait for work it abandoned (an evaluation past its time limit).
    setTimeout(() => process.exit(), 250).unref();
  },
);
