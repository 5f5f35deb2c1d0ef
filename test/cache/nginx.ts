/**
 * A real binary cache for the tests: nginx with its WebDAV module (PUT), on loopback, with its
 * own prefix, configuration, logs and temporary directories in a fresh directory. Nothing of
 * the system's nginx configuration is read and no system service is touched.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tmpDir } from '../helpers.js';

/** The nginx binary ($NGINX, else on PATH or in the sbin directories), if it is installed with the DAV module. */
export function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'].filter(Boolean);
  const candidates = process.env.NGINX ? [process.env.NGINX] : dirs.map((d) => path.join(d, 'nginx'));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
    } catch {
      continue;
    }
    const v = spawnSync(c, ['-V'], { encoding: 'utf8' });
    if (`${v.stdout}${v.stderr}`.includes('--with-http_dav_module')) return c;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function config(prefix: string, port: number): string {
  // Workers of a master started as root would otherwise run as nobody, who cannot write the
  // (private) temporary directories; started as anyone else, nginx ignores `user` anyway.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  client_max_body_size 0;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${prefix}/html;
    location / {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
}

function probe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGTERM');
});

export interface Nginx {
  url: string;
  /** The directory nginx serves (and writes PUTs into). */
  root: string;
  /** Stop nginx and wait for it to exit. */
  close: () => Promise<void>;
}

function stop(child: ChildProcess): Promise<void> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Start nginx on a free loopback port, serving an empty directory with PUT allowed. */
export async function startNginx(binary: string): Promise<Nginx> {
  const prefix = tmpDir('nginx');
  for (const d of ['html', 'tmp']) fs.mkdirSync(path.join(prefix, d));
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), config(prefix, port));
    const child = spawn(binary, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      if (await probe(url)) return { url, root: path.join(prefix, 'html'), close: () => stop(child) };
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop(child);
    let log = '';
    try {
      log = fs.readFileSync(path.join(prefix, 'error.log'), 'utf8');
    } catch {
      /* none written */
    }
    lastError = `${stderr}${log}`.trim() || 'it did not answer within 10 s';
    if (!/Address already in use/.test(lastError)) break;
  }
  throw new Error(`nginx (${binary}) did not start: ${lastError}`);
}
