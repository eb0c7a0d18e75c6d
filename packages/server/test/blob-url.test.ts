/**
 * createBlobStore chooses and configures the backend from a URL (docs/OPERATIONS.md
 * "Configuration reference"); bad URLs fail clearly, without echoing credentials.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { manualClock } from '@noah-backup/core/clock';
import {
  createBlobStore,
  type FsBlobStore,
  redactUrl,
  type S3BlobStore,
} from '../src/blob/index.ts';

const opts = { publicUrl: 'https://backup.example.com', maxObjectSize: 1000 };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-bloburl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fs URLs', () => {
  test('file:///abs/dir and a bare absolute path open the fs store there', async () => {
    const a = (await createBlobStore(pathToFileURL(join(dir, 'a')).href, opts)) as FsBlobStore;
    expect(a.kind).toBe('fs');
    expect(a.dir).toBe(join(dir, 'a'));
    expect(typeof a.routes).toBe('function');
    const b = (await createBlobStore(join(dir, 'b'), opts)) as FsBlobStore;
    expect(b.dir).toBe(join(dir, 'b'));
    await b.ping();
    const p = await b.presignGet('u/x', { expiresInSec: 60 });
    expect(p.url.startsWith('https://backup.example.com/blob/u/x?')).toBe(true);
  });

  test('a relative path resolves against the working directory', async () => {
    const rel = join('.tmp', 'noah-bloburl-test');
    const s = (await createBlobStore(rel, opts)) as FsBlobStore;
    expect(s.dir).toBe(resolve(rel));
    await rm(s.dir, { recursive: true, force: true });
  });
});

describe('s3 URLs', () => {
  test('bucket, prefix, region, endpoint and path style come from the URL', async () => {
    const clock = manualClock(Date.parse('2026-01-02T03:04:05Z'));
    const s = (await createBlobStore(
      's3://AKIDEXAMPLE:wJalr%2Fsecret@noah-bucket/prod/eu?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A9000&forcePathStyle=true',
      { ...opts, clock },
    )) as S3BlobStore;
    expect(s.kind).toBe('s3');
    expect(s.bucket).toBe('noah-bucket');
    expect(s.prefix).toBe('prod/eu/');
    expect(s.routes).toBeUndefined();
    const p = await s.presignGet('u/x', { expiresInSec: 300 });
    const u = new URL(p.url);
    expect(`${u.origin}${u.pathname}`).toBe('http://127.0.0.1:9000/noah-bucket/prod/eu/u/x');
    expect(u.searchParams.get('X-Amz-Credential')).toBe(
      'AKIDEXAMPLE/20260102/eu-west-1/s3/aws4_request',
    );
    expect(u.searchParams.get('X-Amz-Date')).toBe('20260102T030405Z');
    expect(p.expiresAt.toISOString()).toBe('2026-01-02T03:09:05.000Z');
    await s.close?.();
  });

  test('virtual-hosted style is the default', async () => {
    const s = await createBlobStore('s3://noah-bucket?region=us-east-1', {
      ...opts,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    });
    const u = new URL((await s.presignGet('u/x', { expiresInSec: 60 })).url);
    expect(u.host).toBe('noah-bucket.s3.us-east-1.amazonaws.com');
    expect(u.pathname).toBe('/u/x');
    await s.close?.();
  });

  test('bad URLs are TypeErrors that name the problem and redact credentials', async () => {
    const cases: [string, RegExp][] = [
      ['s3://AK:topsecret@noah-bucket?colour=blue', /unknown parameter "colour"/],
      ['s3://AK:topsecret@noah-bucket?endpoint=localhost:9000', /endpoint must be an http/],
      ['s3://AK:topsecret@noah-bucket?forcePathStyle=yes', /forcePathStyle/],
      ['s3://AK:topsecret@noah-bucket?sse=aws:kms', /sse must be AES256/],
      ['s3://AK:topsecret@No_Bucket', /bucket/],
      ['s3://AK:topsecret@noah-bucket:9000', /port/],
      ['s3://AK@noah-bucket', /credentials/],
      ['ftp://AK:topsecret@host/dir', /unsupported scheme/],
      ['', /non-empty/],
    ];
    for (const [url, why] of cases) {
      const err = await createBlobStore(url, opts).catch((e: unknown) => e);
      expect(err, url).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(why);
      expect((err as Error).message).not.toContain('topsecret');
    }
  });

  test('redactUrl hides user and password only', () => {
    expect(redactUrl('s3://AK:SK@bucket/p?region=x')).toBe('s3://***@bucket/p?region=x');
    expect(redactUrl('s3://bucket/p')).toBe('s3://bucket/p');
  });
});
