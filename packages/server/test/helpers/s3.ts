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
 * - a PUT carries Content-Length and a body of exactly that length, and one with
 *   `x-amz-checksum-sha256` a body of that SHA-256 (else 400 BadDigest, as S3);
 * - conditional writes: a PUT with `If-None-Match: *` to a key that has an object gets
 *   412 PreconditionFailed, as from S3 (s3rver ignores the condition, so the front checks
 *   it, one conditional PUT per key at a time).
 * - with `bucketConfig`, the bucket's policy, lifecycle, default encryption and public
 *   access block, which s3rver does not speak, are kept by the front as S3 keeps them
 *   (helpers/s3-bucket-config.ts).
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
import { createHash, randomBytes } from 'node:crypto';
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
import {
  AUTH_QUERY,
  parseQuery,
  REGION,
  type Refusal,
  Sha256,
  type VerifyContext,
  verifyHeader,
  verifyPresigned,
} from './s3-sigv4.ts';
import {
  answerBucketConfig,
  type BucketConfigStore,
  LOCAL_SUBRESOURCES,
  type LocalSubresource,
} from './s3-bucket-config.ts';

export { Sha256 } from './s3-sigv4.ts';

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
  /**
   * With `bucketConfig`: the policy, lifecycle, encryption and public access block the
   * front keeps for this bucket (helpers/s3-bucket-config.ts); null without.
   */
  bucketConfig: BucketConfigStore | null;
  /**
   * Faults to inject: with `refuseServerWrites`, every DELETE and every header-signed
   * PUT (the server's own writes, not the clients' pre-signed uploads) answers 503
   * ServiceUnavailable, as an S3 outage of writes would.
   */
  faults: HarnessFaults;
  close(): Promise<void>;
}

/** Faults the front injects (see {@link S3Harness.faults}). */
export interface HarnessFaults {
  refuseServerWrites: boolean;
  /** The next this many pre-signed PUTs answer 503 SlowDown and store nothing. */
  slowDownUploads?: number;
}

const MAX_BODY = 256 << 20;

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

// ---- the front ----

function refuse(res: ServerResponse, method: string, r: Refusal): void {
  const region = r.region ? `<Region>${r.region}</Region>` : '';
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${r.code}</Code><Message>${r.message}</Message>${region}<RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
  res.writeHead(r.status, {
    'content-type': 'application/xml',
    connection: 'close',
    ...(r.region ? { 'x-amz-bucket-region': r.region } : {}),
  });
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

/** S3 conditional write: the refusal when `If-None-Match` does not hold, else null. */
async function checkIfNoneMatch(
  raw: URL,
  path: string,
  value: string | string[],
): Promise<Refusal | null> {
  if (value !== '*')
    return { status: 501, code: 'NotImplemented', message: 'If-None-Match must be *' };
  const head = await httpStatus(raw, 'HEAD', path);
  return head === 200
    ? {
        status: 412,
        code: 'PreconditionFailed',
        message: 'At least one of the pre-conditions you specified did not hold',
      }
    : null;
}

function httpStatus(raw: URL, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: raw.hostname, port: raw.port, method, path }, (r) => {
      r.resume();
      r.on('end', () => resolve(r.statusCode ?? 0));
    })
      .once('error', reject)
      .end();
  });
}

/** Conditional PUTs in progress, by path: checked and stored one at a time per key. */
const conditionalPuts = new Map<string, Promise<void>>();

async function handle(
  ctx: VerifyContext,
  raw: URL,
  req: IncomingMessage,
  res: ServerResponse,
  log: Pick<S3Harness, 'rejections' | 'forwarded' | 'faults'>,
  local: { bucket: string; store: BucketConfigStore } | null = null,
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
  if (log.faults.refuseServerWrites && (method === 'DELETE' || (method === 'PUT' && !presigned)))
    return reject({
      status: 503,
      code: 'ServiceUnavailable',
      message: 'Service is unable to handle request.',
    });
  if (method === 'PUT' && presigned && (log.faults.slowDownUploads ?? 0) > 0) {
    log.faults.slowDownUploads! -= 1;
    return reject({ status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
  }
  if (body.length !== Number(req.headers['content-length'] ?? body.length))
    return reject({
      status: 400,
      code: 'IncompleteBody',
      message: 'body length differs from Content-Length',
    });
  // S3 flexible checksums: a PUT naming the body's SHA-256 stores nothing else.
  const sum = method === 'PUT' ? req.headers['x-amz-checksum-sha256'] : undefined;
  if (sum !== undefined && createHash('sha256').update(body).digest('base64') !== sum)
    return reject({
      status: 400,
      code: 'BadDigest',
      message: 'The SHA256 you specified did not match the calculated checksum.',
    });

  const sub = pairs.find(([k]) => k in LOCAL_SUBRESOURCES)?.[0] as LocalSubresource | undefined;
  if (
    local &&
    sub &&
    (path === `/${local.bucket}` || path === `/${local.bucket}/`) &&
    answerBucketConfig(local.store, sub, req, body, res)
  )
    return;

  const condition = method === 'PUT' ? req.headers['if-none-match'] : undefined;
  if (condition === undefined) return forward(raw, req, res, log, path, pairs, body);
  const previous = conditionalPuts.get(path) ?? Promise.resolve();
  const mine = previous.then(async () => {
    const failed = await checkIfNoneMatch(raw, path, condition);
    if (failed) return reject(failed);
    await forward(raw, req, res, log, path, pairs, body);
  });
  const settled = mine.catch(() => {});
  conditionalPuts.set(path, settled);
  await mine.finally(() => {
    if (conditionalPuts.get(path) === settled) conditionalPuts.delete(path);
  });
}

/** Forwards an accepted request to s3rver without its signature (s3rver only stores). */
async function forward(
  raw: URL,
  req: IncomingMessage,
  res: ServerResponse,
  log: Pick<S3Harness, 'rejections' | 'forwarded'>,
  path: string,
  pairs: [string, string][],
  body: Buffer,
): Promise<void> {
  const method = req.method ?? 'GET';
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
export async function startS3Harness(
  opts: { clock?: Clock; bucketConfig?: boolean } = {},
): Promise<S3Harness> {
  shared ??= startS3rver();
  const { rawEndpoint } = await shared;
  const bucket = `noah-${randomBytes(6).toString('hex')}`;
  const made = await fetch(`${rawEndpoint}/${bucket}`, { method: 'PUT' });
  if (!made.ok) throw new Error(`s3rver: cannot create bucket (${made.status})`);
  const credentials = {
    accessKeyId: `AKTEST${randomBytes(5).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  const ctx: VerifyContext = {
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
  const log: Pick<S3Harness, 'rejections' | 'forwarded' | 'faults'> = {
    rejections: [],
    forwarded: [],
    faults: { refuseServerWrites: false },
  };
  const raw = new URL(rawEndpoint);
  const bucketConfig: BucketConfigStore | null = opts.bucketConfig
    ? { documents: new Map(), puts: [] }
    : null;
  const local = bucketConfig ? { bucket, store: bucketConfig } : null;
  const server = createServer((req, res) => {
    handle(ctx, raw, req, res, log, local).catch(() => {
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
    bucketConfig,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
