/**
 * The S3 test harness must prove something: its front verifies AWS SigV4 like S3, so a
 * pre-signed URL that was tampered with, moved to another key, used too late or with
 * another Content-Length than signed is refused; and header-signed SDK requests with a
 * wrong secret or a body that does not match x-amz-content-sha256 are refused too.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { manualClock } from '@noah-backup/core/clock';
import { createBlobStore } from '../src/blob/index.ts';
import type { BlobStore } from '../src/stores/blob.ts';
import { BlobStoreUnavailableError } from '../src/stores/blob.ts';
import { type S3Harness, Sha256, startS3Harness } from './helpers/s3.ts';

const clock = manualClock(Date.parse('2026-03-01T08:00:00Z'));
let h: S3Harness;
let store: BlobStore;

beforeAll(async () => {
  h = await startS3Harness({ clock });
  store = await createBlobStore(h.storeUrl, {
    publicUrl: 'http://unused.invalid',
    clock,
    maxObjectSize: 1 << 20,
  });
});
afterAll(async () => {
  await store.close?.();
  await h.close();
});

/** PUT through node:http so the Content-Length header is exactly what we say. */
function put(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'PUT', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What s3rver holds, read directly (no front). */
async function rawObject(key: string): Promise<number | Uint8Array> {
  const res = await fetch(`${h.rawEndpoint}/${h.bucket}/${key}`);
  return res.ok ? new Uint8Array(await res.arrayBuffer()) : res.status;
}

function lastRejection(): string | undefined {
  return h.rejections.at(-1)?.code;
}

describe('pre-signed PUT URLs', () => {
  const body = new TextEncoder().encode('0123456789');

  test('the URL as signed is accepted and reaches s3rver', async () => {
    const p = await store.presignPut('ok/1', { size: 10, expiresInSec: 60 });
    const signed = new URL(p.url).searchParams.get('X-Amz-SignedHeaders')?.split(';');
    expect(signed).toContain('content-length');
    expect(signed).toContain('if-none-match');
    expect(p.headers).toEqual({ 'if-none-match': '*' });
    const res = await put(p.url, { ...p.headers, 'content-length': '10' }, body);
    expect(res.status).toBe(200);
    expect(await rawObject('ok/1')).toEqual(body);
  });

  test('a tampered signature is SignatureDoesNotMatch', async () => {
    const p = await store.presignPut('t/sig', { size: 10, expiresInSec: 60 });
    const u = new URL(p.url);
    const sig = u.searchParams.get('X-Amz-Signature') ?? '';
    u.searchParams.set('X-Amz-Signature', (sig[0] === '0' ? '1' : '0') + sig.slice(1));
    const res = await put(u.href, { ...p.headers, 'content-length': '10' }, body);
    expect(res.status).toBe(403);
    expect(res.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(await rawObject('t/sig')).toBe(404);
  });

  test('the same URL pointed at another key is SignatureDoesNotMatch', async () => {
    const p = await store.presignPut('t/key-a', { size: 10, expiresInSec: 60 });
    const res = await put(
      p.url.replace('/t/key-a?', '/t/key-b?'),
      { ...p.headers, 'content-length': '10' },
      body,
    );
    expect(res.status).toBe(403);
    expect(lastRejection()).toBe('SignatureDoesNotMatch');
    expect(await rawObject('t/key-b')).toBe(404);
  });

  test('a longer X-Amz-Expires than signed is SignatureDoesNotMatch', async () => {
    const p = await store.presignPut('t/exp', { size: 10, expiresInSec: 60 });
    const u = new URL(p.url);
    u.searchParams.set('X-Amz-Expires', '604800');
    expect((await put(u.href, { ...p.headers, 'content-length': '10' }, body)).status).toBe(403);
    expect(lastRejection()).toBe('SignatureDoesNotMatch');
  });

  test('an expired URL is AccessDenied, by the injected clock', async () => {
    const p = await store.presignPut('t/late', { size: 10, expiresInSec: 60 });
    clock.advance(60_000); // exactly at expiry: still valid
    expect((await put(p.url, { ...p.headers, 'content-length': '10' }, body)).status).toBe(200);
    clock.advance(1_000);
    const res = await put(p.url, { ...p.headers, 'content-length': '10' }, body);
    expect(res.status).toBe(403);
    expect(res.text).toContain('<Code>AccessDenied</Code>');
    expect(res.text).toContain('expired');
  });

  test('a Content-Length other than signed is SignatureDoesNotMatch', async () => {
    const p = await store.presignPut('t/len', { size: 10, expiresInSec: 60 });
    const short = await put(p.url, { ...p.headers, 'content-length': '9' }, body.subarray(0, 9));
    const long = await put(p.url, { ...p.headers, 'content-length': '11' }, new Uint8Array(11));
    expect([short.status, long.status]).toEqual([403, 403]);
    expect(h.rejections.slice(-2).map((r) => r.code)).toEqual([
      'SignatureDoesNotMatch',
      'SignatureDoesNotMatch',
    ]);
    expect(await rawObject('t/len')).toBe(404);
  });

  test('a PUT without Content-Length is MissingContentLength (411)', async () => {
    const p = await store.presignPut('t/chunked', { size: 10, expiresInSec: 60 });
    const res = await put(p.url, { ...p.headers, 'transfer-encoding': 'chunked' }, body);
    expect(res.status).toBe(411);
    expect(await rawObject('t/chunked')).toBe(404);
  });

  test('a PUT URL that does not sign content-length is refused (harness policy)', async () => {
    const client = new S3Client({
      region: h.region,
      endpoint: h.endpoint,
      forcePathStyle: true,
      credentials: h.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const url = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: h.bucket, Key: 't/unsized' }),
      {
        expiresIn: 60,
        signingDate: clock.now(),
      },
    );
    client.destroy();
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect((await put(url, { 'content-length': '10' }, body)).status).toBe(403);
    expect(lastRejection()).toBe('AccessDenied');
  });

  test('a request without any signature is AccessDenied', async () => {
    const res = await put(`${h.endpoint}/${h.bucket}/t/anon`, { 'content-length': '10' }, body);
    expect(res.status).toBe(403);
    expect(await rawObject('t/anon')).toBe(404);
  });
});

describe('header-signed requests (SDK)', () => {
  test('a wrong secret is refused; the store reports BlobStoreUnavailableError without secrets', async () => {
    const wrong = { ...h.credentials, secretAccessKey: 'not-the-secret' };
    const bad = await createBlobStore(h.storeUrl, {
      publicUrl: 'http://unused.invalid',
      maxObjectSize: 1024,
      credentials: wrong,
    });
    const err = await bad.head('ok/1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobStoreUnavailableError);
    expect(String((err as Error).message)).toContain('403');
    expect(String((err as Error).message)).not.toContain(h.credentials.secretAccessKey);
    expect(lastRejection()).toBe('SignatureDoesNotMatch');
    await expect(bad.ping()).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    await bad.close?.();
    // The right secret passes the same check.
    expect((await store.head('ok/1'))?.size).toBe(10);
  });

  test('a body that does not match x-amz-content-sha256 is refused', async () => {
    const signer = new SignatureV4({
      credentials: h.credentials,
      region: h.region,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const url = new URL(`${h.endpoint}/${h.bucket}/t/hash`);
    const signedBody = 'signed body';
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-length': String(signedBody.length),
        'x-amz-content-sha256': createHash('sha256').update(signedBody).digest('hex'),
      },
    });
    const headers = signed.headers as Record<string, string>;
    const other = await put(url.href, headers, new TextEncoder().encode('other body!'));
    expect(other.status).toBe(400);
    expect(lastRejection()).toBe('XAmzContentSHA256Mismatch');
    const same = await put(url.href, headers, new TextEncoder().encode(signedBody));
    expect(same.status).toBe(200);
    expect(await rawObject('t/hash')).toEqual(new TextEncoder().encode(signedBody));
  });
});

describe('S3 store specifics', () => {
  test('a key prefix keeps objects under it, and list strips it', async () => {
    const url = h.storeUrl.replace(`@${h.bucket}?`, `@${h.bucket}/tenant-1/?`);
    const prefixed = await createBlobStore(url, {
      publicUrl: 'http://unused.invalid',
      clock,
      maxObjectSize: 1024,
    });
    const p = await prefixed.presignPut('u/x', { size: 3, expiresInSec: 60 });
    const body3 = new Uint8Array([1, 2, 3]);
    expect((await put(p.url, { ...p.headers, 'content-length': '3' }, body3)).status).toBe(200);
    expect(await rawObject('tenant-1/u/x')).toEqual(new Uint8Array([1, 2, 3]));
    const listed = [];
    for await (const i of prefixed.list('')) listed.push(i.key);
    expect(listed).toEqual(['u/x']);
    await prefixed.delete('u/x');
    expect(await rawObject('tenant-1/u/x')).toBe(404);
    await prefixed.close?.();
  });

  test('sse=AES256 makes the encryption header a signed header the PUT must carry', async () => {
    const sse = await createBlobStore(`${h.storeUrl}&sse=AES256`, {
      publicUrl: 'http://unused.invalid',
      clock,
      maxObjectSize: 1024,
    });
    const p = await sse.presignPut('sse/1', { size: 2, expiresInSec: 60 });
    expect(p.headers).toEqual({ 'if-none-match': '*', 'x-amz-server-side-encryption': 'AES256' });
    expect(new URL(p.url).searchParams.get('X-Amz-SignedHeaders')).toContain(
      'x-amz-server-side-encryption',
    );
    const without = { 'if-none-match': '*', 'content-length': '2' };
    expect((await put(p.url, without, new Uint8Array(2))).status).toBe(403);
    const ok = await put(p.url, { ...p.headers, 'content-length': '2' }, new Uint8Array(2));
    expect(ok.status).toBe(200);
    await sse.close?.();
  });

  test('an unreachable endpoint or missing bucket is BlobStoreUnavailableError, naming no URL', async () => {
    const down = await createBlobStore(
      `s3://noah-nowhere?region=us-east-1&forcePathStyle=true&endpoint=${encodeURIComponent('http://127.0.0.1:9')}`,
      { publicUrl: 'http://unused.invalid', maxObjectSize: 1024, credentials: h.credentials },
    );
    const err = await down.head('a/b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobStoreUnavailableError);
    expect((err as Error).message).not.toMatch(/http:|127\.0\.0\.1/);
    await down.close?.();

    const noBucket = await createBlobStore(
      h.storeUrl.replace(`@${h.bucket}?`, '@noah-no-such-bucket?'),
      {
        publicUrl: 'http://unused.invalid',
        maxObjectSize: 1024,
      },
    );
    await expect(noBucket.ping()).rejects.toThrow(/NoSuchBucket/);
    await noBucket.close?.();
  });
});
