/**
 * Progress on a terminal, and none elsewhere: `store realize` of a fetchurl download served
 * slowly on loopback, then `store push` to a loopback HTTP cache that answers slowly, run in a
 * tmux pane (a real pseudo-terminal) whose screen is captured while they run; the same run
 * through pipes; `--json` events; `--quiet`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { CLI, pseudoRandomBytes, runCliAsync, tmpDir } from '../helpers.js';

const FILE = pseudoRandomBytes(1_500_000, 'progress');
const sri = (b: Buffer) => `sha256-${createHash('sha256').update(b).digest('base64')}`;
const TMUX = ['/usr/bin/tmux', '/bin/tmux'].find((p) => fs.existsSync(p));

/**
 * Loopback: GET /files/data.bin sends FILE in 48 KiB pieces every 100 ms (about 3 s in all);
 * /cache/ is a binary cache (GET, HEAD, PUT) whose PUTs are answered after `putDelayMs`, and
 * whose archives are sent as slowly.
 */
async function serve(cacheDir: string, putDelayMs = 1500) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x').pathname;
    const slowly = (body: Buffer) => {
      res.writeHead(200, { 'content-length': body.length });
      let at = 0;
      const timer = setInterval(() => {
        const piece = body.subarray(at, at + 48 * 1024);
        at += piece.length;
        if (piece.length) res.write(piece);
        if (at >= body.length) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(timer));
    };
    if (url === '/files/data.bin') return slowly(FILE);
    if (!url.startsWith('/cache/')) return void res.writeHead(404).end();
    const file = path.join(cacheDir, url.slice('/cache/'.length));
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, Buffer.concat(chunks));
        setTimeout(() => res.writeHead(201).end(), putDelayMs);
      });
      return;
    }
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    const body = fs.readFileSync(file);
    if (req.method === 'GET' && url.startsWith('/cache/nar/')) return slowly(body);
    res.writeHead(200, { 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function project(base: string): string {
  const dir = tmpDir('progress-expr');
  fs.writeFileSync(
    path.join(dir, 'default.ts'),
    `import { fetchurl } from 'hepstore';\nexport default fetchurl({ url: '${base}/files/data.bin', integrity: '${sri(FILE)}' });\n`,
  );
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Run `script` (sh) in a detached tmux session of 200x50 and capture its screen every 50 ms
 * until it prints DONE; returns every distinct screen seen.
 */
async function inTmux(script: string, env: Record<string, string>, timeoutMs = 90_000): Promise<string[]> {
  const dir = tmpDir('progress-tmux');
  const sock = path.join(dir, 'sock');
  const file = path.join(dir, 'run.sh');
  fs.writeFileSync(file, `${script}\necho DONE\nsleep 600\n`);
  const tmux = (...args: string[]) => spawnSync(TMUX!, ['-S', sock, ...args], { encoding: 'utf8', env: { ...process.env, ...env, TERM: 'xterm-256color' } });
  const exports = Object.entries(env).map(([k, v]) => `${k}='${v}'`).join(' ');
  const started = tmux('new-session', '-d', '-x', '200', '-y', '50', `env ${exports} sh ${file}`);
  assert.is(started.status, 0, started.stderr);
  const screens: string[] = [];
  try {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const cap = tmux('capture-pane', '-p', '-J');
      if (cap.status === 0 && screens[screens.length - 1] !== cap.stdout) screens.push(cap.stdout);
      if (/^DONE$/m.test(cap.stdout) || Date.now() > until) break;
      await sleep(50);
    }
  } finally {
    tmux('kill-server');
  }
  return screens;
}

const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

test('on a terminal: realize shows the download (counts, bytes, rate, ETA), push its paths and bytes; piped: no progress at all', async () => {
  if (!TMUX) {
    console.log('  skipped: tmux is not installed (Debian package tmux)');
    return;
  }
  const cacheDir = tmpDir('progress-cache');
  const srv = await serve(cacheDir);
  try {
    const dir = project(srv.base);
    const root = path.join(tmpDir('progress-store'), 'root');
    const node = `${sh(process.execPath)} ${sh(CLI)}`;
    const screens = await inTmux(
      [
        `cd ${sh(dir)}`,
        `${node} realize default.ts || echo REALIZE FAILED`,
        `${node} push --to ${srv.base}/cache --compression none ./result || echo PUSH FAILED`,
        // Deleted, and substituted from the cache.
        `P=$(readlink result); rm result; ${node} delete "$P" >/dev/null || echo DELETE FAILED`,
        `${node} realize default.ts --substituters ${srv.base}/cache --no-require-sigs || echo SUBSTITUTE FAILED`,
      ].join('\n'),
      { STORE_ROOT: root, NO_COLOR: '1' },
    );
    const all = screens.join('\n----\n');
    assert.ok(/^DONE$/m.test(screens[screens.length - 1]), `the commands did not finish:\n${screens[screens.length - 1]}`);
    assert.not.match(all, /FAILED/, all);
    // The download: files done/total, bytes of the total in binary units, a rate, an ETA.
    const download = screens.flatMap((s) => s.split('\n')).filter((l) => l.startsWith('[downloading]'));
    assert.ok(download.length > 0, `no download line seen:\n${all}`);
    assert.ok(
      download.some((l) => /0\/1 files, 1 running +\d+(\.\d+)? (KiB|MiB)\/1\.43 MiB +\d+(\.\d+)? (B|KiB|MiB)\/s +ETA \d+:\d\d/.test(l)),
      `no download line with counts, bytes, rate and ETA:\n${download.join('\n')}`,
    );
    if (process.env.SHOW_SCREENS) console.log(all);
    const push = screens.flatMap((s) => s.split('\n')).filter((l) => l.startsWith('[pushing]'));
    assert.ok(
      push.some((l) => /\d\/1 paths +\d+(\.\d+)? (KiB|MiB)\/1\.43 MiB .*ETA \d+:\d\d/.test(l)),
      `no push line with counts, bytes and ETA:\n${push.join('\n') || all}`,
    );
    const fetching = screens.flatMap((s) => s.split('\n')).filter((l) => l.startsWith('[fetching]'));
    assert.ok(
      fetching.some((l) => /0\/1 paths +\d+(\.\d+)? (KiB|MiB)\/1\.43 MiB +\d+(\.\d+)? (B|KiB|MiB)\/s +ETA \d+:\d\d/.test(l)),
      `no substitution line with counts, bytes, rate and ETA:\n${fetching.join('\n') || all}`,
    );
    // Gone once done: the last screen has the results and no progress line.
    const last = screens[screens.length - 1];
    assert.not.match(last, /^\[(downloading|building|pushing|fetching)\]/m, last);
    assert.match(last, /pushed 1 path \(/);
    assert.match(last, /substituted 1 path \(1\.43 MiB downloaded\)/);

    // The same through pipes (a fresh store and cache): nothing of the progress display.
    const root2 = path.join(tmpDir('progress-store'), 'root');
    const realize = await runCliAsync(['realize', 'default.ts'], { storeRoot: root2, cwd: dir });
    assert.is(realize.status, 0, realize.stderr);
    const pushed = await runCliAsync(['push', '--to', `file://${tmpDir('progress-cache2')}`, path.join(dir, 'result')], { storeRoot: root2, cwd: dir });
    assert.is(pushed.status, 0, pushed.stderr);
    for (const r of [realize, pushed]) {
      assert.not.match(r.stderr, /\x1b|\r|ETA|\[(downloading|building|pushing)\]/);
      assert.not.match(r.stdout, /\x1b|\r|ETA/);
    }
    assert.match(realize.stdout, /^\S+-data\.bin\n$/);
    assert.is(realize.stderr, '');
  } finally {
    await srv.close();
  }
});

test('--quiet: no progress on a terminal either', async () => {
  if (!TMUX) {
    console.log('  skipped: tmux is not installed (Debian package tmux)');
    return;
  }
  const srv = await serve(tmpDir('progress-cache'));
  try {
    const dir = project(srv.base);
    const root = path.join(tmpDir('progress-store'), 'root');
    const screens = await inTmux(`cd ${sh(dir)}\n${sh(process.execPath)} ${sh(CLI)} realize --quiet default.ts || echo REALIZE FAILED`, { STORE_ROOT: root });
    const all = screens.join('\n----\n');
    assert.match(screens[screens.length - 1], /-data\.bin$/m);
    assert.not.match(all, /FAILED|ETA|\[(downloading|building)\]/);
  } finally {
    await srv.close();
  }
});

test('--json: progress events as JSON lines on stderr, the result on stdout as before', async () => {
  const cacheDir = tmpDir('progress-cache');
  const srv = await serve(cacheDir, 0);
  try {
    const dir = project(srv.base);
    const root = path.join(tmpDir('progress-store'), 'root');
    const r = await runCliAsync(['realize', 'default.ts', '--json', '--no-out-link'], { storeRoot: root, cwd: dir });
    assert.is(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.is(result.length, 1);
    const out = result[0].outputs.out as string;
    const events = r.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const names = events.map((e) => e.event);
    assert.equal(events.find((e) => e.event === 'plan'), { event: 'plan', toBuild: 1, drvs: 1 });
    assert.ok(names.indexOf('build-queued') < names.indexOf('build-running'), names.join(' '));
    const downloads = events.filter((e) => e.event === 'download');
    assert.ok(downloads.length >= 2, `few download events: ${downloads.length}`);
    assert.ok(downloads.every((e) => e.total === FILE.length && typeof e.bytes === 'number'));
    assert.is(downloads[downloads.length - 1].bytes, FILE.length);
    assert.ok(events.some((e) => e.event === 'progress' && e.activity === 'download' && typeof e.bytes === 'number'));
    assert.ok(events.some((e) => e.event === 'build-done' && e.built === true));
    assert.ok(events.some((e) => e.event === 'end' && e.activity === 'build' && e.done === 1 && e.total === 1));

    const p = await runCliAsync(['push', '--to', `${srv.base}/cache`, out, '--json'], { storeRoot: root, cwd: dir });
    assert.is(p.status, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).pushed, [out]);
    const pe = p.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const end = pe.find((e) => e.event === 'end' && e.activity === 'push');
    assert.equal(end, { event: 'end', activity: 'push', done: 1, unit: 'paths', total: 1, bytes: end!.bytes, totalBytes: end!.totalBytes });
    assert.ok((end!.bytes as number) > FILE.length && end!.bytes === end!.totalBytes);
  } finally {
    await srv.close();
  }
});

test('-L prints the builders\' output as it is written, after the derivation\'s name; without it, nothing', async () => {
  const dir = tmpDir('progress-logs');
  fs.writeFileSync(
    path.join(dir, 'default.ts'),
    `import { derivation } from 'hepstore';\nexport default derivation({ name: 'talks', builder: '/bin/sh', args: ['-c', 'echo first line; echo second line >&2; echo done > $out'] });\n`,
  );
  const root = path.join(tmpDir('progress-store'), 'root');
  const r = await runCliAsync(['realize', '-L', 'default.ts', '--no-out-link'], { storeRoot: root, cwd: dir });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, 'talks> first line\ntalks> second line\n');
  assert.match(r.stdout, /-talks\n$/);
  const quiet = await runCliAsync(['realize', 'default.ts', '--no-out-link'], { storeRoot: path.join(tmpDir('progress-store'), 'root'), cwd: dir });
  assert.is(quiet.status, 0, quiet.stderr);
  assert.is(quiet.stderr, '');
  const json = await runCliAsync(['realize', '-L', '--json', 'default.ts', '--no-out-link'], { storeRoot: path.join(tmpDir('progress-store'), 'root'), cwd: dir });
  assert.is(json.status, 0, json.stderr);
  const logs = json.stderr.trimEnd().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'log');
  assert.equal(logs.map((e) => [e.name, e.line]), [['talks', 'first line'], ['talks', 'second line']]);
});

test.run();
