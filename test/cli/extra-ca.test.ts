/**
 * NODE_EXTRA_CA_CERTS: the `store` launcher starts Node.js without it (parsing it at start-up
 * costs every command) and hands it on; HTTPS requests still trust the authorities in it.
 * A loopback HTTPS server with a self-signed certificate (test/fixtures/tls) stands for a
 * binary cache or download host behind a private authority.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { CLI, FIXTURES, tmpDir } from '../helpers.js';

const TLS = path.join(FIXTURES, 'tls');
const CERT = path.join(TLS, 'cert.pem');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI as an installed `store` runs: the file itself, through its `#!` line. */
function launch(args: string[], env: NodeJS.ProcessEnv, viaNode = false): Promise<Run> {
  const full: NodeJS.ProcessEnv = { ...env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  return new Promise((resolve, reject) => {
    const child = viaNode ? spawn(process.execPath, [CLI, ...args], { env: full }) : spawn(CLI, args, { env: full });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function withServer(body: (url: string) => Promise<void>): Promise<void> {
  const server = https.createServer({ key: fs.readFileSync(path.join(TLS, 'key.pem')), cert: fs.readFileSync(CERT) }, (req, res) => {
    if (req.url === '/data.txt') res.end('served over https\n');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await body(`https://127.0.0.1:${(server.address() as AddressInfo).port}/data.txt`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STORE_ROOT: path.join(tmpDir('extra-ca'), 'root') };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.HEPSTORE_NODE_EXTRA_CA_CERTS;
  return env;
}

test('the launcher starts Node.js without NODE_EXTRA_CA_CERTS and hands the file on', async () => {
  const probe = path.join(tmpDir('extra-ca-probe'), 'probe.mjs');
  // The launcher's own #! line, on a script that prints what Node.js was started with.
  const shebang = fs.readFileSync(CLI, 'utf8').split('\n')[0];
  fs.writeFileSync(probe, `${shebang}\nconsole.log(JSON.stringify([process.env.NODE_EXTRA_CA_CERTS, process.env.HEPSTORE_NODE_EXTRA_CA_CERTS, process.argv.slice(2)]));\n`, { mode: 0o755 });
  const full = { ...baseEnv(), NODE_EXTRA_CA_CERTS: CERT, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` };
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(probe, ['a b', 'c'], { env: full });
    let s = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (s += d));
    child.on('error', reject);
    child.on('close', () => resolve(s));
  });
  assert.equal(JSON.parse(out), ['', CERT, ['a b', 'c']]);
});

test('a download from a host whose authority is in NODE_EXTRA_CA_CERTS works through the launcher', async () => {
  await withServer(async (url) => {
    const env = baseEnv();
    const without = await launch(['prefetch', url], env);
    assert.is.not(without.status, 0, 'a self-signed host is refused without the extra authority');
    assert.match(without.stderr, /certificate/i);

    const ok = await launch(['prefetch', url, '--json'], { ...env, NODE_EXTRA_CA_CERTS: CERT });
    assert.is(ok.status, 0, ok.stderr);
    const { path: stored } = JSON.parse(ok.stdout) as { path: string };
    assert.is(fs.readFileSync(stored, 'utf8'), 'served over https\n');

    // Started as `node bin/store.js`, Node.js reads the file itself: the same result.
    const direct = await launch(['prefetch', url, '--json'], { ...env, NODE_EXTRA_CA_CERTS: CERT }, true);
    assert.is(direct.status, 0, direct.stderr);
    assert.is((JSON.parse(direct.stdout) as { path: string }).path, stored);
  });
});

test('an unreadable NODE_EXTRA_CA_CERTS is ignored with a warning, as Node.js does', async () => {
  await withServer(async (url) => {
    const r = await launch(['prefetch', url], { ...baseEnv(), NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' });
    assert.is.not(r.status, 0);
    assert.match(r.stderr, /Ignoring extra certs from `\/nonexistent\/ca.pem`/);
    assert.match(r.stderr, /certificate/i);
  });
});

test.run();
