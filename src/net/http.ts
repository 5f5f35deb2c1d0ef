/**
 * The one place where HTTP requests are made (binary caches and builtin:fetchurl): every
 * request has a connect timeout and a stall timeout (no byte in either direction for that
 * long), bodies are read with a size limit, and streams can be cut at a byte count. Errors
 * are plain one-line messages; callers add the URL and what they were doing.
 *
 * Extra certificate authorities: Node.js reads NODE_EXTRA_CA_CERTS while it starts, before
 * any command runs, and parsing a system bundle there costs ~40 ms on every command. The
 * `store` launcher (bin/store.js) therefore starts Node.js with it empty and hands the file on
 * as HEPSTORE_NODE_EXTRA_CA_CERTS; HTTPS requests here trust it as Node.js would have, read
 * only when the first one is made.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { Transform, type Readable } from 'node:stream';

export interface Timeouts {
  /** Milliseconds to resolve the host name and open the connection. */
  connectMs: number;
  /** Milliseconds without a byte sent or received before a request is given up. */
  stalledMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 20_000, stalledMs: 60_000 };

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: Buffer | Readable;
  agent?: http.Agent;
  timeouts?: Timeouts;
}

const seconds = (ms: number) => `${+(ms / 1000).toFixed(3)} s`;

let extraCa: { ca?: string[] } | undefined;

/**
 * `{ ca }` with Node.js's own authorities and those of the file the launcher handed on (see
 * above), or `{}` when there is none or Node.js has read NODE_EXTRA_CA_CERTS itself. A file
 * that cannot be read is ignored with a warning, as Node.js does.
 */
export function extraCertificates(): { ca?: string[] } {
  if (extraCa) return extraCa;
  const file = process.env.NODE_EXTRA_CA_CERTS ? undefined : process.env.HEPSTORE_NODE_EXTRA_CA_CERTS;
  extraCa = {};
  if (file) {
    try {
      const pem = fs.readFileSync(file, 'utf8');
      const certs = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
      if (certs.length === 0) throw new Error('no certificate in it');
      extraCa = { ca: [...tls.rootCertificates, ...certs] };
    } catch (e) {
      process.emitWarning(`Ignoring extra certs from \`${file}\` (NODE_EXTRA_CA_CERTS), load failed: ${(e as Error).message}`);
    }
  }
  return extraCa;
}

/** An agent for `url`'s scheme that keeps connections open between requests. */
export function keepAliveAgent(url: string, maxSockets = 16): http.Agent {
  if (url.startsWith('https:')) return new https.Agent({ keepAlive: true, maxSockets, ...extraCertificates() });
  return new http.Agent({ keepAlive: true, maxSockets });
}

/**
 * Send one request; resolves with the response once its headers are in. The stall timeout
 * stays armed while the body is read: a body that stops flowing fails with a clear error.
 */
export function request(url: URL, o: RequestOptions = {}): Promise<http.IncomingMessage> {
  const { connectMs, stalledMs } = o.timeouts ?? DEFAULT_TIMEOUTS;
  const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!mod) return Promise.reject(new Error(`unsupported scheme '${url.protocol}'`));
  return new Promise((resolve, reject) => {
    let res: http.IncomingMessage | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (why: string) => {
      const err = new Error(why);
      if (res && !res.complete) res.destroy(err);
      req.destroy(err);
    };
    const tlsOptions = mod === https && !o.agent ? extraCertificates() : {};
    const req = mod.request(url, { method: o.method ?? 'GET', agent: o.agent, headers: o.headers, ...tlsOptions }, (r) => {
      res = r;
      // Readers see errors through their iterator or pipeline; one that stopped reading must
      // not crash the process when the connection fails afterwards.
      r.on('error', () => {});
      resolve(r);
    });
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => fail(`could not connect within ${seconds(connectMs)} (connectTimeout)`), connectMs);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.setTimeout(stalledMs, () => fail(res ? `the response stalled: no data for ${seconds(stalledMs)} (stalledTimeout)` : `no response within ${seconds(stalledMs)} (stalledTimeout)`));
    req.on('close', () => clearTimeout(connectTimer));
    req.on('error', (e) => reject(new Error(describe(e))));
    const body = o.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    }
  });
}

/** A short message for a network error (Node's own name the code, e.g. ECONNREFUSED). */
export function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { errors?: Error[] };
  if (err?.errors?.length) return describe(err.errors[0]);
  const msg = err?.message || String(e);
  return msg.replace(/[\x00-\x1f\x7f]+/g, ' ');
}

/** A response's Content-Length, if it sent one. */
export function contentLength(res: http.IncomingMessage): number | undefined {
  const v = res.headers['content-length'];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Read a whole stream into memory, failing (and stopping the stream) past `max` bytes. */
export async function readLimited(stream: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream) {
      n += (c as Buffer).length;
      if (n > max) throw new Error(`${what} is larger than the limit of ${max} bytes`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    stream.destroy();
    throw e;
  }
  return Buffer.concat(chunks, n);
}

/** A pass-through stream that fails with `tooMuch()` as soon as more than `max` bytes have gone through. */
export function byteLimit(max: number, tooMuch: () => Error): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) cb(tooMuch());
      else cb(null, chunk);
    },
  });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** GET `url`, following up to `max` redirects (to http or https only); the final response, whatever its status. */
export async function getFollowing(url: string, timeouts: Timeouts | undefined, max = 10): Promise<http.IncomingMessage> {
  let u = new URL(url);
  for (let i = 0; ; i++) {
    const res = await request(u, { timeouts });
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return res;
    res.resume();
    if (i >= max) throw new Error(`more than ${max} redirects`);
    u = new URL(location, u);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`redirected to an unsupported scheme (${u.protocol})`);
  }
}
