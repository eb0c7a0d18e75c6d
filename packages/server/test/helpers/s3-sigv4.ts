/**
 * AWS SigV4 verification for the S3 test harness (helpers/s3.ts): rebuilds the request
 * that arrived — method, path, query minus X-Amz-Signature, the signed headers' values —
 * and signs it again with @smithy/signature-v4 under the same date, scope and
 * credentials, then compares in constant time. Covers query authentication (pre-signed
 * URLs) and the Authorization header (SDK requests).
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SignatureV4 } from '@smithy/signature-v4';
import { type Clock, systemClock } from '@noah-backup/core/clock';

/** The only region the harness signs for (s3rver's continuation tokens accept no other). */
export const REGION = 'us-east-1';
const MAX_SKEW_MS = 15 * 60_000; // S3: RequestTimeTooSkewed beyond 15 minutes

/** Query parameters of AWS SigV4 query authentication. */
export const AUTH_QUERY = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);

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

export function parseQuery(raw: string): [string, string][] {
  if (!raw) return [];
  return raw.split('&').map((part) => {
    const i = part.indexOf('=');
    const k = i < 0 ? part : part.slice(0, i);
    const v = i < 0 ? '' : part.slice(i + 1);
    return [decodeURIComponent(k), decodeURIComponent(v)];
  });
}

export function toQuery(pairs: [string, string][]): Query {
  const q: Query = {};
  for (const [k, v] of pairs) {
    const cur = q[k];
    q[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return q;
}

export function parseAmzDate(s: string | undefined): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  if (!m) return null;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Refusal {
  status: number;
  code: string;
  message: string;
  /** The bucket's region, which S3 names (header and body) when a request is signed for another. */
  region?: string;
}

export const MISMATCH: Refusal = {
  status: 403,
  code: 'SignatureDoesNotMatch',
  message: 'The request signature we calculated does not match the signature you provided.',
};

export interface VerifyContext {
  signer: SignatureV4;
  clock: Clock;
  accessKeyId: string;
}

/** Credential scope: `<key id>/<yyyymmdd>/<region>/s3/aws4_request` (AWS SigV4). */
function checkScope(
  ctx: VerifyContext,
  credential: string | undefined,
  date: Date,
  header = false,
): Refusal | null {
  const parts = (credential ?? '').split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request')
    return { status: 400, code: 'AuthorizationQueryParametersError', message: 'bad Credential' };
  if (parts[0] !== ctx.accessKeyId)
    return { status: 403, code: 'InvalidAccessKeyId', message: 'unknown access key' };
  // A wrong region is answered as S3 answers it: the region expected, named.
  if (parts[2] !== REGION)
    return {
      status: 400,
      code: header ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError',
      message: `the region '${parts[2]}' is wrong; expecting '${REGION}'`,
      region: REGION,
    };
  if (parts[3] !== 's3')
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
export async function verifyPresigned(
  ctx: VerifyContext,
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
export async function verifyHeader(
  ctx: VerifyContext,
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
  const scope = checkScope(ctx, credential, date, true);
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
