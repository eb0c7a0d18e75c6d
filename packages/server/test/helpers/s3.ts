/**
 * S3 test harness: a real S3-compatible server (s3rver) behind a front that verifies
 * AWS SigV4 on every request, as S3 does — header-signed SDK requests and pre-signed
 * query URLs alike — by recomputing the signature with @smithy/signature-v4 from what
 * actually arrived. s3rver itself does not check V4 signatures, so without this front a
 * test could not tell a good URL from a tampered one.
 *
 * The front checks (AWS SigV4 / S3 REST authentication):
 * - the signature over method, path, query (minus X-Amz-Signature) and the signed headers;
 * - credential scope: our access key, region, service "s3";
 * - pre-signed URLs: X-Amz-Date + X-Amz-Expires against the injected clock; a PUT must
 *   sign `content-length` (harness policy: our stores always do);
 * - header-signed requests: X-Amz-Date within 15 minutes of real time, and the body
 *   against x-amz-content-sha256;
 * - a PUT carries Content-Length and a body of exactly that length.
 * Failures answer like S3 (403 SignatureDoesNotMatch / AccessDenied XML) and are recorded
 * in `rejections`; accepted requests are forwarded to s3rver without their signature.
 *
 * s3rver runs in a child process started with `--openssl-legacy-provider`: its
 * ListObjectsV2 continuation tokens use DES, which Node 20's OpenSSL 3 only has in the
 * legacy provider (so paging works with no vitest configuration). One child per test
 * process, one bucket per harness; the child exits when the test process does.
 *
 * s3rver quirk: it lists in directory-walk order, so a key like `a-b` (0x2d) comes after
 * `a/…` (0x2f), unlike S3's byte order; with paging it may then skip it. Tests that
 * check order should not mix `-` or `.` siblings with `/` under one prefix.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { type Clock, systemClock } from '@noah-backup/core/clock';

/** A running harness. */
export interface S3Harness {
  /** The verifying front (give this to the store as its endpoint). */
  endpoint: string;
  /** s3rver directly, unauthenticated: for tests that tamper with objects. */
  rawEndpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A `s3://` blob store URL for this bucket (credentials in the userinfo). */
  storeUrl: string;
  /** Every request the front refused: S3 error code and HTTP status. */
  rejections: { method: string; code: string; status: number }[];
  /** Every request the front forwarded: method, path and query parameter names. */
  forwarded: { method: string; path: string; params: string[] }[];
  close(): Promise<void>;
}

const REGION = 'us-east-1'; // s3rver's continuation tokens only accept us-east-1
const MAX_SKEW_MS = 15 * 60_000; // S3: RequestTimeTooSkewed beyond 15 minutes
const MAX_BODY = 256 << 20;
const AUTH_QUERY = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);

// ---- s3rver in a child process ----

const CHILD = `
const fs = require('node:fs');
const S3rver = require(process.argv[1]);
const dir = process.argv[2];
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
server.run().then((a) => process.stdout.write(JSON.stringify({ port: a.port }) + '\\n'),
  (e) => { console.error(e); process.exit(1); });
process.stdin.on('end', () => { fs.rmSync(dir, { recursive: true, force: true }); process.exit(0); });
process.stdin.resume();
`;

let shared: Promise<{ rawEndpoint: string; child: ChildProcess }> | undefined;

function startS3rver(): Promise<{ rawEndpoint: string; child: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'noah-s3rver-'));
  const main = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD, main, dir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.unref();
  // The child exits when our end of its stdin closes, i.e. when this process ends.
  for (const s of [child.stdin, child.stdout]) (s as unknown as { unref?(): void }).unref?.();
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`s3rver exited early (${code})`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const { port } = JSON.parse(line) as { port: number };
        resolve({ rawEndpoint: `http://127.0.0.1:${port}`, child });
      }
    });
  });
}

// ---- SigV4 verification ----

/** SHA-256 (or HMAC-SHA256 when given a secret) for @smithy/signature-v4, from node:crypto. */
export class Sha256 {
  private h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBuf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {}
}

function toBuf(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

type Query = Record<string, string | string[]>;

function parseQuery(raw: string): [string, string][] {
  if (!raw) return [];
  return raw.split('&').map((part) => {
    const i = part.indexOf('=');
    const k = i < 0 ? part : part.slice(0, i);
    const v = i < 0 ? '' : part.slice(i + 1);
    return [decodeURIComponent(k), decodeURIComponent(v)];
  });
}

function toQuery(pairs: [string, string][]): Query {
  const q: Query = {};
  for (const [k, v] of pairs) {
    const cur = q[k];
    q[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return q;
}

function parseAmzDate(s: string | undefined): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  if (!m) return null;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface Refusal {
  status: number;
  code: string;
  message: string;
}

const MISMATCH: Refusal = {
  status: 403,
  code: 'SignatureDoesNotMatch',
  message: 'The request signature we calculated does not match the signature you provided.',
};

interface Ctx {
  signer: SignatureV4;
  clock: Clock;
  accessKeyId: string;
}

/** Credential scope: `<key id>/<yyyymmdd>/<region>/s3/aws4_request` (AWS SigV4). */
function checkScope(ctx: Ctx, credential: string | undefined, date: Date): Refusal | null {
  const parts = (credential ?? '').split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request')
    return { status: 400, code: 'AuthorizationQueryParametersError', message: 'bad Credential' };
  if (parts[0] !== ctx.accessKeyId)
    return { status: 403, code: 'InvalidAccessKeyId', message: 'unknown access key' };
  if (parts[2] !== REGION || parts[3] !== 's3')
    return { status: 400, code: 'AuthorizationQueryParametersError', message: 'bad scope' };
  if (parts[1] !== date.toISOString().slice(0, 10).replace(/-/g, '')) return MISMATCH;
  return null;
}

/** The signed headers' values exactly as they arrived; null when one is missing. */
function signedHeaderValues(req: IncomingMessage, names: string[]): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = req.headers[n];
    if (v === undefined) return null;
    out[n] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}

/** AWS SigV4 query authentication (pre-signed URLs). */
async function verifyPresigned(
  ctx: Ctx,
  req: IncomingMessage,
  path: string,
  pairs: [string, string][],
): Promise<Refusal | null> {
  const get = (k: string) => pairs.find(([n]) => n === k)?.[1];
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256')
    return { status: 400, code: 'AuthorizationQueryParametersError', message: 'bad algorithm' };
  const date = parseAmzDate(get('X-Amz-Date'));
  const expires = Number(get('X-Amz-Expires'));
  const signature = get('X-Amz-Signature') ?? '';
  const signedList = get('X-Amz-SignedHeaders') ?? '';
  if (!date || !Number.isInteger(expires) || expires < 1 || expires > 604800)
    return {
      status: 400,
      code: 'AuthorizationQueryParametersError',
      message: 'bad date or expiry',
    };
  const scope = checkScope(ctx, get('X-Amz-Credential'), date);
  if (scope) return scope;
  const now = ctx.clock.now().getTime();
  if (now > date.getTime() + expires * 1000)
    return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
  if (date.getTime() > now + MAX_SKEW_MS)
    return { status: 403, code: 'AccessDenied', message: 'Request is not valid yet' };
  const names = signedList.split(';');
  if (!names.includes('host')) return MISMATCH;
  if (req.method === 'PUT' && !names.includes('content-length'))
    return {
      status: 403,
      code: 'AccessDenied',
      message: 'content-length must be signed (harness)',
    };
  const headers = signedHeaderValues(req, names);
  if (!headers) return MISMATCH;
  const signed = await ctx.signer.presign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path,
      query: toQuery(pairs.filter(([k]) => !AUTH_QUERY.has(k))),
      headers,
      // S3 pre-signed URLs sign the literal payload hash UNSIGNED-PAYLOAD; the signer
      // uses it for any body that is not bytes.
      body: { unsigned: true },
    },
    {
      signingDate: date,
      expiresIn: expires,
      signingRegion: REGION,
      signingService: 's3',
      signableHeaders: new Set(names),
      unhoistableHeaders: new Set(names),
    },
  );
  const ok =
    signed.query?.['X-Amz-SignedHeaders'] === signedList &&
    sameText(String(signed.query['X-Amz-Signature']), signature);
  return ok ? null : MISMATCH;
}

/** AWS SigV4 Authorization header (SDK requests). */
async function verifyHeader(
  ctx: Ctx,
  req: IncomingMessage,
  path: string,
  pairs: [string, string][],
  body: Buffer,
): Promise<Refusal | null> {
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      req.headers.authorization ?? '',
    );
  if (!m)
    return { status: 400, code: 'AuthorizationHeaderMalformed', message: 'bad Authorization' };
  const [, credential, signedList = '', signature = ''] = m;
  const date = parseAmzDate(req.headers['x-amz-date'] as string | undefined);
  if (!date) return { status: 403, code: 'AccessDenied', message: 'missing x-amz-date' };
  const scope = checkScope(ctx, credential, date);
  if (scope) return scope;
  if (Math.abs(systemClock.now().getTime() - date.getTime()) > MAX_SKEW_MS)
    return { status: 403, code: 'RequestTimeTooSkewed', message: 'request time too skewed' };
  const names = signedList.split(';');
  const headers = signedHeaderValues(req, names);
  if (!headers || !names.includes('host')) return MISMATCH;
  const signed = await ctx.signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path,
      query: toQuery(pairs),
      headers,
      body,
    },
    {
      signingDate: date,
      signingRegion: REGION,
      signingService: 's3',
      signableHeaders: new Set(names),
    },
  );
  const expected = String(signed.headers.authorization);
  if (
    !sameText(
      expected,
      `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${signedList}, Signature=${signature}`,
    )
  )
    return MISMATCH;
  const sha = req.headers['x-amz-content-sha256'];
  if (
    typeof sha === 'string' &&
    /^[0-9a-f]{64}$/.test(sha) &&
    createHash('sha256').update(body).digest('hex') !== sha
  )
    return { status: 400, code: 'XAmzContentSHA256Mismatch', message: 'body hash mismatch' };
  return null;
}

// ---- the front ----

function refuse(res: ServerResponse, method: string, r: Refusal): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${r.code}</Code><Message>${r.message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
  res.writeHead(r.status, { 'content-type': 'application/xml', connection: 'close' });
  res.end(method === 'HEAD' ? undefined : xml);
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
    req.on('close', () => {
      if (!req.complete) resolve(null); // the client died mid-request
    });
  });
}

async function handle(
  ctx: Ctx,
  raw: URL,
  req: IncomingMessage,
  res: ServerResponse,
  log: Pick<S3Harness, 'rejections' | 'forwarded'>,
): Promise<void> {
  const method = req.method ?? 'GET';
  const reject = (r: Refusal) => {
    log.rejections.push({ method, code: r.code, status: r.status });
    refuse(res, method, r);
  };
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const path = qi < 0 ? url : url.slice(0, qi);
  const pairs = parseQuery(qi < 0 ? '' : url.slice(qi + 1));
  if (method === 'PUT' && req.headers['content-length'] === undefined)
    return reject({
      status: 411,
      code: 'MissingContentLength',
      message: 'You must provide the Content-Length HTTP header.',
    });
  const body = await readBody(req);
  if (body === null) return; // aborted: S3 stores nothing
  const presigned = pairs.some(([k]) => k === 'X-Amz-Algorithm');
  let refusal: Refusal | null;
  if (presigned && req.headers.authorization === undefined)
    refusal = await verifyPresigned(ctx, req, path, pairs);
  else if (!presigned && req.headers.authorization !== undefined)
    refusal = await verifyHeader(ctx, req, path, pairs, body);
  else
    refusal = {
      status: 403,
      code: 'AccessDenied',
      message: 'exactly one authentication mechanism is required',
    };
  if (refusal) return reject(refusal);
  if (body.length !== Number(req.headers['content-length'] ?? body.length))
    return reject({
      status: 400,
      code: 'IncompleteBody',
      message: 'body length differs from Content-Length',
    });

  // Forward without the signature: s3rver only stores.
  log.forwarded.push({ method, path, params: pairs.map(([k]) => k) });
  const headers: Record<string, string | string[] | undefined> = {
    ...req.headers,
    host: raw.host,
    'content-length': String(body.length),
  };
  for (const h of [
    'authorization',
    'x-amz-date',
    'x-amz-content-sha256',
    'x-amz-security-token',
    'connection',
    'transfer-encoding',
  ])
    delete headers[h];
  const rest = pairs.filter(([k]) => !AUTH_QUERY.has(k) && k !== 'X-Amz-Content-Sha256');
  const qs = rest.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  await new Promise<void>((resolve) => {
    const up = httpRequest(
      { host: raw.hostname, port: raw.port, method, path: qs ? `${path}?${qs}` : path, headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        r.on('end', resolve);
        r.on('error', resolve);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
      resolve();
    });
    up.end(body);
  });
}

/**
 * Starts a fresh bucket on the shared s3rver and a verifying front for it.
 * @param opts.clock - the clock pre-signed URL expiry is checked against (give the store the same)
 * @returns the harness; `close()` stops the front (the bucket stays until the process ends)
 * @example
 * const s3 = await startS3Harness({ clock });
 * const store = await createBlobStore(s3.storeUrl, { publicUrl: 'http://unused', clock, maxObjectSize });
 */
export async function startS3Harness(opts: { clock?: Clock } = {}): Promise<S3Harness> {
  shared ??= startS3rver();
  const { rawEndpoint } = await shared;
  const bucket = `noah-${randomBytes(6).toString('hex')}`;
  const made = await fetch(`${rawEndpoint}/${bucket}`, { method: 'PUT' });
  if (!made.ok) throw new Error(`s3rver: cannot create bucket (${made.status})`);
  const credentials = {
    accessKeyId: `AKTEST${randomBytes(5).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  const ctx: Ctx = {
    signer: new SignatureV4({
      credentials,
      region: REGION,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false,
    }),
    clock: opts.clock ?? systemClock,
    accessKeyId: credentials.accessKeyId,
  };
  const log: Pick<S3Harness, 'rejections' | 'forwarded'> = { rejections: [], forwarded: [] };
  const raw = new URL(rawEndpoint);
  const server = createServer((req, res) => {
    handle(ctx, raw, req, res, log).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const storeUrl =
    `s3://${encodeURIComponent(credentials.accessKeyId)}:${encodeURIComponent(credentials.secretAccessKey)}@${bucket}` +
    `?region=${REGION}&forcePathStyle=true&endpoint=${encodeURIComponent(endpoint)}`;
  return {
    endpoint,
    rawEndpoint,
    bucket,
    region: REGION,
    credentials,
    storeUrl,
    ...log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
