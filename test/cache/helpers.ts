/** Shared by the cache tests: a small closure, keys, stores at one root in sequence, a loopback HTTP server. */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { LocalStore } from '../../src/store/local-store.js';
import { generateKeyPair, parseSecretKey, addSignatures, type SecretKey } from '../../src/cache/trust/signing.js';
import * as assert from 'uvu/assert';
import { placeWithReferences, runCliAsync, tmpDir, writeTree, type CliResult } from '../helpers.js';

export interface Keys {
  secret: SecretKey;
  secretText: string;
  publicKey: string;
}

export function makeKeys(name = 'test-key-1'): Keys {
  const { secretKey, publicKey } = generateKeyPair(name);
  return { secret: parseSecretKey(secretKey), secretText: secretKey, publicKey };
}

/** A working directory with an expression file, a signing key and a root for stores. */
export interface World {
  dir: string;
  root: string;
  keys: Keys;
  keyFile: string;
}

export function world(label: string, env: string, keyName: string): World {
  const dir = tmpDir(label);
  writeTree(dir, { 'env.ts': env });
  const keys = makeKeys(keyName);
  const keyFile = path.join(dir, `${keyName}.sec`);
  fs.writeFileSync(keyFile, keys.secretText);
  return { dir, root: sharedRoot(), keys, keyFile };
}

/** `store ARGS...` in the world's directory, on its store. */
export async function cli(w: World, args: string[]): Promise<CliResult> {
  return runCliAsync(args, { storeRoot: w.root, cwd: w.dir });
}

/** Like cli(), failing the test unless the command succeeds; its stdout. */
export async function ok(w: World, args: string[]): Promise<string> {
  const r = await cli(w, args);
  assert.is(r.status, 0, `store ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A root directory for stores that will live there one after another. */
export function sharedRoot(): string {
  return path.join(tmpDir('share'), 'root');
}

export function writeConfig(root: string, config: object): void {
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'hepstore.json'), JSON.stringify(config));
}

/**
 * top -> mid -> leaf, and top -> data (a `store add`, content-addressed). Signed with `keys`
 * (data is left unsigned: content-addressed paths need none).
 */
export async function makeClosure(store: LocalStore, keys?: Keys): Promise<{ top: string; mid: string; leaf: string; data: string; all: string[] }> {
  const src = path.join(tmpDir('data'), 'calib');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'table.txt'), 'calibration 1.02\n');
  const data = await store.addToStore(src, 'calib-2024');
  const leaf = (await placeWithReferences(store, 'leaf-1.0', { lib: { 'libleaf.so': 'leaf bytes\n' }, bin: { leaf: { exec: '#!/bin/sh\necho leaf\n' } } }, [])).path;
  const mid = (await placeWithReferences(store, 'mid-2.1', { 'use.txt': `uses ${leaf}\n`, link: { link: `${leaf}/lib/libleaf.so` } }, [leaf])).path;
  const top = (await placeWithReferences(store, 'top-3.0', { 'env.txt': `mid=${mid} data=${data}\n` }, [mid, data])).path;
  if (keys) for (const p of [leaf, mid, top]) store.setSignatures(p, addSignatures(store.pathInfo(p), [], [keys.secret]));
  return { top, mid, leaf, data, all: [data, leaf, mid, top].sort() };
}

/** What a store holds: its valid paths with narHashes, and the entries of its store directory. */
export function snapshot(root: string): { valid: Array<[string, string]>; entries: string[] } {
  const store = new LocalStore(root);
  try {
    const valid = store.allValidPaths().map((p) => [p, store.pathInfo(p).narHash] as [string, string]);
    return { valid, entries: fs.readdirSync(store.storeDir).sort() };
  } finally {
    store.close();
  }
}

/** A static file server on loopback: GET and HEAD read `dir`, PUT writes (temp + rename). */
export async function startServer(dir: string, opts: { allowPut?: boolean } = {}): Promise<{ url: string; close: () => Promise<void>; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(`${req.method} ${rel}`);
    const file = path.join(dir, rel);
    if (!file.startsWith(dir + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    if (req.method === 'PUT') {
      if (!opts.allowPut) {
        res.writeHead(405).end();
        return;
      }
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const temp = `${file}.part-${Math.random().toString(36).slice(2)}`;
      const out = fs.createWriteStream(temp);
      req.pipe(out);
      out.on('finish', () => {
        fs.renameSync(temp, file);
        res.writeHead(201).end();
      });
      out.on('error', () => res.writeHead(500).end());
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': st.size });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
