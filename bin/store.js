#!/usr/bin/env -S HEPSTORE_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} NODE_EXTRA_CA_CERTS= node
// Node.js would parse NODE_EXTRA_CA_CERTS (a whole system bundle, often) before this file runs,
// ~40 ms on every command: the line above starts it without, and src/net/http.ts reads the file
// only for the first HTTPS request.
import { writeSync } from 'node:fs';

if (!process.features.require_module) {
  // The store loads some of its modules on first use with require (src/store/local-store.ts).
  writeSync(2, `error: hepstore needs a Node.js that can require an ES module, 20.19 or later (this is ${process.version})\n`);
  process.exit(1);
} else if (process.argv.length === 3 && process.argv[2] === '--version') {
  // Nothing else to load (nor a stream to set up for one line).
  const { VERSION } = await import('../dist/src/version.js');
  try {
    writeSync(1, `hepstore ${VERSION}\n`);
  } catch {
    process.stdout.write(`hepstore ${VERSION}\n`);
  }
} else {
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
}
