/**
 * Binary caches: a directory of plain files that any static file server can serve.
 *
 *   hepstore-cache-info            StoreDir and Priority
 *   <hashpart>.narinfo             one per store path (see narinfo.ts)
 *   nar/<nix32 fileHash>.tar[.gz]  the canonical archives, possibly compressed
 *
 * `file:///dir` reads and writes a local directory (writes go to a temporary name and are
 * renamed into place); `http(s)://host/prefix` reads with GET and writes with PUT (as nginx's
 * WebDAV module accepts with `dav_methods PUT; create_full_put_path on;`).
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { StoreError } from '../../errors.js';
import { contentLength, keepAliveAgent, readLimited, request, type Timeouts } from '../../net/http.js';

/** The most a metadata file (narinfo, cache-info) may hold: real ones are a few hundred bytes. */
export const MAX_METADATA_BYTES = 1 << 20;

export interface CacheOptions {
  /** Connect and stall timeouts of HTTP requests (net/http.ts has the defaults). */
  timeouts?: Timeouts;
}

export interface BinaryCache {
  readonly url: string;
  /** A small file (at most MAX_METADATA_BYTES, else an error), or undefined if the cache does not have it. */
  read(rel: string): Promise<Buffer | undefined>;
  /** A file as a stream, or undefined if the cache does not have it. */
  open(rel: string): Promise<Readable | undefined>;
  exists(rel: string): Promise<boolean>;
  write(rel: string, data: Buffer): Promise<void>;
  /** Upload a local file; `move` allows taking it (the caller no longer needs it). */
  writeFile(rel: string, localFile: string, opts?: { move?: boolean }): Promise<void>;
}

function cacheError(url: string, what: string, why: string): StoreError {
  return new StoreError('IO', `binary cache ${url}: ${what}: ${why}`, { hint: 'check the URL and that the cache is reachable' });
}

class FileCache implements BinaryCache {
  constructor(readonly url: string, private readonly dir: string) {}

  private file(rel: string): string {
    return path.join(this.dir, rel);
  }

  async read(rel: string): Promise<Buffer | undefined> {
    const stream = await this.open(rel);
    if (!stream) return undefined;
    try {
      return await readLimited(stream, MAX_METADATA_BYTES, rel);
    } catch (e) {
      throw cacheError(this.url, `reading ${rel}`, (e as Error).message);
    }
  }

  async open(rel: string): Promise<Readable | undefined> {
    const f = this.file(rel);
    try {
      const fh = await fs.promises.open(f, 'r');
      return fh.createReadStream({ highWaterMark: 1 << 20 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw cacheError(this.url, `reading ${rel}`, (e as Error).message);
    }
  }

  async exists(rel: string): Promise<boolean> {
    try {
      await fs.promises.access(this.file(rel));
      return true;
    } catch {
      return false;
    }
  }

  private temp(rel: string): string {
    const f = this.file(rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    return `${f}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  async write(rel: string, data: Buffer): Promise<void> {
    const t = this.temp(rel);
    try {
      await fs.promises.writeFile(t, data);
      await fs.promises.rename(t, this.file(rel));
    } catch (e) {
      await fs.promises.rm(t, { force: true });
      throw cacheError(this.url, `writing ${rel}`, (e as Error).message);
    }
  }

  async writeFile(rel: string, localFile: string, opts: { move?: boolean } = {}): Promise<void> {
    const t = this.temp(rel);
    try {
      if (opts.move) {
        try {
          await fs.promises.rename(localFile, t);
        } catch {
          await fs.promises.copyFile(localFile, t);
        }
      } else await fs.promises.copyFile(localFile, t);
      await fs.promises.rename(t, this.file(rel));
    } catch (e) {
      await fs.promises.rm(t, { force: true });
      throw cacheError(this.url, `writing ${rel}`, (e as Error).message);
    }
  }
}

class HttpCache implements BinaryCache {
  private readonly agent: http.Agent;

  constructor(readonly url: string, private readonly timeouts?: Timeouts) {
    this.agent = keepAliveAgent(url);
  }

  private target(rel: string): URL {
    return new URL(rel.split('/').map(encodeURIComponent).join('/'), this.url.endsWith('/') ? this.url : this.url + '/');
  }

  private async request(method: string, rel: string, body?: Buffer | Readable, length?: number): Promise<http.IncomingMessage> {
    const headers: http.OutgoingHttpHeaders = {};
    if (length !== undefined) headers['content-length'] = length;
    try {
      return await request(this.target(rel), { method, agent: this.agent, headers, body, timeouts: this.timeouts });
    } catch (e) {
      throw cacheError(this.url, `${method} ${rel}`, (e as Error).message);
    }
  }

  async open(rel: string): Promise<Readable | undefined> {
    const res = await this.request('GET', rel);
    if (res.statusCode === 404 || res.statusCode === 403 || res.statusCode === 410) {
      res.resume();
      return undefined;
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw cacheError(this.url, `GET ${rel}`, `HTTP ${res.statusCode}`);
    }
    return res;
  }

  async read(rel: string): Promise<Buffer | undefined> {
    const res = (await this.open(rel)) as http.IncomingMessage | undefined;
    if (!res) return undefined;
    const length = contentLength(res);
    try {
      if (length !== undefined && length > MAX_METADATA_BYTES) throw new Error(`${rel} is larger than the limit of ${MAX_METADATA_BYTES} bytes (Content-Length ${length})`);
      return await readLimited(res, MAX_METADATA_BYTES, rel);
    } catch (e) {
      res.destroy();
      throw cacheError(this.url, `GET ${rel}`, (e as Error).message);
    }
  }

  async exists(rel: string): Promise<boolean> {
    const res = await this.request('HEAD', rel);
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404 || res.statusCode === 403 || res.statusCode === 410) return false;
    throw cacheError(this.url, `HEAD ${rel}`, `HTTP ${res.statusCode}`);
  }

  private async put(rel: string, body: Buffer | Readable, length: number): Promise<void> {
    const res = await this.request('PUT', rel, body, length);
    res.resume();
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) {
      throw cacheError(this.url, `PUT ${rel}`, `HTTP ${res.statusCode}`);
    }
  }

  async write(rel: string, data: Buffer): Promise<void> {
    await this.put(rel, data, data.length);
  }

  async writeFile(rel: string, localFile: string): Promise<void> {
    const size = (await fs.promises.stat(localFile)).size;
    await this.put(rel, fs.createReadStream(localFile, { highWaterMark: 1 << 20 }), size);
  }
}

export function openBinaryCache(url: string, opts: CacheOptions = {}): BinaryCache {
  if (url.startsWith('file://')) {
    let dir: string;
    try {
      dir = fileURLToPath(url);
    } catch (e) {
      throw new StoreError('USAGE', `'${url}' is not a valid file:// URL: ${(e as Error).message}`);
    }
    return new FileCache(url, dir);
  }
  if (url.startsWith('http://') || url.startsWith('https://')) return new HttpCache(url, opts.timeouts);
  if (url.startsWith('/')) return new FileCache(`file://${url}`, url);
  throw new StoreError('USAGE', `unsupported binary cache URL '${url}'`, { hint: 'use file:///path/to/dir or http(s)://host/prefix' });
}
