/**
 * BlobStore contract (stores/blob.ts), run against every backend: the fs store served by
 * a real Fastify app on loopback, and the S3 store on s3rver behind a front that verifies
 * AWS SigV4. Uploads and downloads are real HTTP requests to the pre-signed URLs, so the
 * client's view — which must not differ between backends — is what is tested.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { manualClock } from '@noah-backup/core/clock';
import type { BlobStore } from '../src/stores/blob.ts';
import { blobStoreKinds, openTestBlobStore, type TestBlobStore } from './helpers/blob.ts';

const MAX = 64 * 1024;

/** PUT with an explicit Content-Length through node:http, which sends exactly what it is told. */
function rawPut(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  opts: { abort?: boolean } = {},
): Promise<number | 'aborted'> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'PUT', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve('aborted'));
    if (opts.abort) {
      // The client dies mid-upload: part of the body, then a reset connection.
      req.write(body, () => req.destroy());
    } else req.end(body);
  });
}

function withParam(url: string, name: string, edit: (v: string) => string): string {
  const u = new URL(url);
  const v = u.searchParams.get(name);
  if (v === null) throw new Error(`no ${name} in URL`);
  u.searchParams.set(name, edit(v));
  return u.href;
}

/** Flips one character of the URL's signature (fs `sig`, S3 `X-Amz-Signature`). */
function tamperSignature(url: string): string {
  const name = new URL(url).searchParams.has('sig') ? 'sig' : 'X-Amz-Signature';
  return withParam(url, name, (v) => (v[0] === 'a' ? 'b' : 'a') + v.slice(1));
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(ch);
      c.close();
    },
  });
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

describe.each(blobStoreKinds)('BlobStore contract: %s', (kind) => {
  let t: TestBlobStore;
  let store: BlobStore;
  const clock = manualClock(Date.parse('2026-06-01T12:00:00Z'));

  beforeEach(async () => {
    t = await openTestBlobStore(kind, { clock, maxSize: MAX, listPageSize: 2 });
    store = t.store;
  });
  afterEach(async () => {
    await t.cleanup();
  });

  async function upload(key: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const put = await store.presignPut(key, { size: bytes.length, expiresInSec: 900 });
    const res = await fetch(put.url, {
      method: 'PUT',
      body: bytes,
      headers: { ...put.headers, 'content-length': String(bytes.length) },
    });
    expect(res.status).toBe(200);
  }

  test('kind names the backend; ping answers', async () => {
    expect(store.kind).toBe(kind);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  test('pre-signed PUT of exactly size bytes, then head and pre-signed GET return them', async () => {
    const bytes = new Uint8Array(randomBytes(3000));
    const put = await store.presignPut('u/one', { size: bytes.length, expiresInSec: 900 });
    expect(put.expiresAt.getTime()).toBe(clock.now().getTime() + 900_000);
    const res = await fetch(put.url, {
      method: 'PUT',
      body: bytes,
      headers: { ...put.headers, 'content-length': String(bytes.length) },
    });
    expect(res.status).toBe(200);

    const info = await store.head('u/one');
    expect(info?.key).toBe('u/one');
    expect(info?.size).toBe(bytes.length);
    expect(info?.lastModified).toBeInstanceOf(Date);

    const get = await store.presignGet('u/one', { expiresInSec: 300 });
    expect(get.expiresAt.getTime()).toBe(clock.now().getTime() + 300_000);
    const got = await fetch(get.url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-length')).toBe(String(bytes.length));
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
  });

  test('a streamed body with explicit Content-Length, and an empty object', async () => {
    const a = new Uint8Array(randomBytes(1000));
    const b = new Uint8Array(randomBytes(2500));
    const put = await store.presignPut('u/stream', { size: 3500, expiresInSec: 60 });
    const res = await fetch(put.url, {
      method: 'PUT',
      body: streamOf([a, b]),
      duplex: 'half',
      headers: { ...put.headers, 'content-length': '3500' },
    } as RequestInit);
    expect(res.status).toBe(200);
    const got = await fetch((await store.presignGet('u/stream', { expiresInSec: 60 })).url);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(new Uint8Array([...a, ...b]));

    await upload('u/empty', new Uint8Array(0));
    expect((await store.head('u/empty'))?.size).toBe(0);
  });

  test('objects are write-once: a replayed or second upload URL never replaces one', async () => {
    const first = new Uint8Array(randomBytes(500));
    const put = await store.presignPut('u/once', { size: 500, expiresInSec: 900 });
    const send = (url: string, headers: Record<string, string>, bytes: Uint8Array) =>
      rawPut(url, { ...headers, 'content-length': String(bytes.length) }, bytes);
    // fs: 409 {code: conflict}; S3: 412 PreconditionFailed (If-None-Match: *).
    const refused = kind === 'fs' ? 409 : 412;
    expect(await send(put.url, put.headers, first)).toBe(200);
    expect(await send(put.url, put.headers, new Uint8Array(randomBytes(500)))).toBe(refused);
    const fresh = await store.presignPut('u/once', { size: 500, expiresInSec: 900 });
    expect(await send(fresh.url, fresh.headers, new Uint8Array(randomBytes(500)))).toBe(refused);
    if (kind === 's3') {
      // The condition is signed: a client cannot drop it.
      const { 'if-none-match': _, ...rest } = put.headers;
      expect(await send(put.url, rest, new Uint8Array(randomBytes(500)))).toBe(403);
    }
    const got = await fetch((await store.presignGet('u/once', { expiresInSec: 60 })).url);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(first);
  });

  test('two PUTs racing on one upload URL: exactly one is stored', async () => {
    const put = await store.presignPut('u/race', { size: 2000, expiresInSec: 900 });
    const bodies = [new Uint8Array(randomBytes(2000)), new Uint8Array(randomBytes(2000))];
    const h = { ...put.headers, 'content-length': '2000' };
    const statuses = await Promise.all(bodies.map((b) => rawPut(put.url, h, b)));
    expect([...statuses].sort()).toEqual([200, kind === 'fs' ? 409 : 412]);
    const winner = bodies[statuses.indexOf(200)]!;
    const got = await fetch((await store.presignGet('u/race', { expiresInSec: 60 })).url);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(winner);
  });

  test('a tampered signature is refused with 403 and stores nothing', async () => {
    const bytes = new Uint8Array(randomBytes(100));
    const put = await store.presignPut('u/tamper', { size: 100, expiresInSec: 60 });
    const res = await fetch(tamperSignature(put.url), {
      method: 'PUT',
      body: bytes,
      headers: put.headers,
    });
    expect(res.status).toBe(403);
    expect(await store.head('u/tamper')).toBeNull();

    await upload('u/tamper', bytes);
    const get = await store.presignGet('u/tamper', { expiresInSec: 60 });
    expect((await fetch(tamperSignature(get.url))).status).toBe(403);
  });

  test('an expired URL is refused with 403', async () => {
    const bytes = new Uint8Array(randomBytes(10));
    const put = await store.presignPut('u/late', { size: 10, expiresInSec: 60 });
    const get = await store.presignGet('u/late', { expiresInSec: 60 });
    clock.advance(61_000);
    const res = await fetch(put.url, { method: 'PUT', body: bytes, headers: put.headers });
    expect(res.status).toBe(403);
    expect(await store.head('u/late')).toBeNull();

    await upload('u/late', bytes);
    expect((await fetch(get.url)).status).toBe(403);
    const fresh = await store.presignGet('u/late', { expiresInSec: 60 });
    expect((await fetch(fresh.url)).status).toBe(200);
  });

  test('a Content-Length other than the signed size is refused and stores nothing', async () => {
    const put = await store.presignPut('u/len', { size: 100, expiresInSec: 60 });
    const h = put.headers;
    // Shorter and longer bodies, each with a matching (but unsigned) Content-Length.
    const shorter = await rawPut(put.url, { ...h, 'content-length': '99' }, new Uint8Array(99));
    const longer = await rawPut(put.url, { ...h, 'content-length': '101' }, new Uint8Array(101));
    expect(shorter).toBeGreaterThanOrEqual(400);
    expect(shorter).toBeLessThan(500);
    expect(longer).toBeGreaterThanOrEqual(400);
    expect(longer).toBeLessThan(500);
    expect(await store.head('u/len')).toBeNull();
  });

  test('a body that ends short of Content-Length (client dies) or runs past it stores nothing', async () => {
    const put = await store.presignPut('u/cut', { size: 1000, expiresInSec: 60 });
    const h = { ...put.headers, 'content-length': '1000' };
    expect(await rawPut(put.url, h, new Uint8Array(400), { abort: true })).toBe('aborted');
    expect(await store.head('u/cut')).toBeNull();

    // fetch refuses to send more than the declared length and resets the connection.
    const longer = fetch(put.url, {
      method: 'PUT',
      body: streamOf([new Uint8Array(600), new Uint8Array(401)]),
      duplex: 'half',
      headers: h,
    } as RequestInit);
    await expect(longer).rejects.toThrow();
    const shorter = fetch(put.url, {
      method: 'PUT',
      body: streamOf([new Uint8Array(999)]),
      duplex: 'half',
      headers: h,
    } as RequestInit);
    await expect(shorter).rejects.toThrow();
    expect(await store.head('u/cut')).toBeNull();
    expect(await keys(store, '')).toEqual([]);
  });

  test('sizes above maxObjectSize are neither signed nor accepted', async () => {
    await expect(store.presignPut('u/big', { size: MAX + 1, expiresInSec: 60 })).rejects.toThrow(
      RangeError,
    );
    const put = await store.presignPut('u/big', { size: MAX, expiresInSec: 60 });
    const status = await rawPut(
      put.url,
      { ...put.headers, 'content-length': String(MAX + 1) },
      new Uint8Array(MAX + 1),
    );
    expect([400, 403, 413]).toContain(status);
    expect(await store.head('u/big')).toBeNull();
  });

  test('a URL for key A cannot write key B, nor be used with another method', async () => {
    const bytes = new Uint8Array(randomBytes(20));
    const put = await store.presignPut('u/key-a', { size: 20, expiresInSec: 60 });
    const toB = put.url.replace('/u/key-a?', '/u/key-b?');
    expect(toB).not.toBe(put.url);
    expect((await fetch(toB, { method: 'PUT', body: bytes, headers: put.headers })).status).toBe(
      403,
    );
    expect(await store.head('u/key-a')).toBeNull();
    expect(await store.head('u/key-b')).toBeNull();

    // A PUT URL does not serve GETs, and a GET URL does not accept PUTs.
    await upload('u/key-a', bytes);
    expect((await fetch(put.url)).status).toBe(403);
    const get = await store.presignGet('u/key-a', { expiresInSec: 60 });
    expect((await fetch(get.url, { method: 'PUT', body: bytes })).status).toBe(403);
    const got = await fetch((await store.presignGet('u/key-a', { expiresInSec: 60 })).url);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
  });

  test('head of a missing key is null; GET of a missing object is 404', async () => {
    expect(await store.head('u/missing')).toBeNull();
    const get = await store.presignGet('u/missing', { expiresInSec: 60 });
    expect((await fetch(get.url)).status).toBe(404);
  });

  test('delete is idempotent', async () => {
    await expect(store.delete('u/never')).resolves.toBeUndefined();
    await upload('u/gone', new Uint8Array(5));
    await store.delete('u/gone');
    expect(await store.head('u/gone')).toBeNull();
    await expect(store.delete('u/gone')).resolves.toBeUndefined();
    expect(await keys(store, '')).toEqual([]);
  });

  test('retire empties a key and keeps it refusing PUTs; idempotent; delete frees it', async () => {
    const bytes = new Uint8Array(randomBytes(700));
    const used = await store.presignPut('u/retired', { size: 700, expiresInSec: 900 });
    const unused = await store.presignPut('u/never', { size: 700, expiresInSec: 900 });
    const send = (p: typeof used) =>
      rawPut(p.url, { ...p.headers, 'content-length': '700' }, bytes);
    expect(await send(used)).toBe(200);
    await store.retire('u/retired');
    await store.retire('u/never'); // no object yet
    await store.retire('u/never');
    for (const [key, p] of [
      ['u/retired', used],
      ['u/never', unused],
    ] as const) {
      expect((await store.head(key))?.size).toBe(0);
      // fs: 409 conflict; S3: 412 (If-None-Match: *).
      expect([409, 412]).toContain(await send(p));
      expect((await store.head(key))?.size).toBe(0);
      await store.delete(key);
      expect(await store.head(key)).toBeNull();
    }
    await expect(store.retire('../x')).rejects.toThrow(TypeError);
  });

  // An incremental backup's packs (docs/API.md "Incremental backups"): many URLs signed
  // at once, PUT concurrently, and dropped one by one when no backup needs them.
  test('objects signed and stored together stay independent of each other', async () => {
    const n = 24;
    const objects = Array.from({ length: n }, (_, i) => ({
      key: `p/${String(i).padStart(2, '0')}`,
      bytes: new Uint8Array(randomBytes(100 + i)),
    }));
    const puts = await Promise.all(
      objects.map((o) => store.presignPut(o.key, { size: o.bytes.length, expiresInSec: 900 })),
    );
    const statuses = await Promise.all(
      objects.map((o, i) =>
        rawPut(
          puts[i]!.url,
          { ...puts[i]!.headers, 'content-length': String(o.bytes.length) },
          o.bytes,
        ),
      ),
    );
    expect(statuses).toEqual(Array(n).fill(200));
    for (const [i, o] of objects.entries()) {
      if (i % 3 === 0) await store.retire(o.key);
      else if (i % 3 === 1) await store.delete(o.key);
    }
    for (const [i, o] of objects.entries()) {
      const size = (await store.head(o.key))?.size ?? null;
      expect(size).toBe([0, null, o.bytes.length][i % 3]);
      if (i % 3 !== 2) continue;
      const got = await fetch((await store.presignGet(o.key, { expiresInSec: 60 })).url);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(o.bytes);
    }
    expect(await keys(store, 'p/')).toEqual(
      objects.filter((_, i) => i % 3 !== 1).map((o) => o.key),
    );
  });

  test('list pages through every object under a prefix, in key order', async () => {
    // S3 page size is 2 here, so seven objects take four pages.
    const names = ['u/a/1', 'u/a/2', 'u/b', 'u/c_1', 'u/c_2', 'u/d', 'v/x'];
    for (const k of [...names].reverse()) await upload(k, new Uint8Array(names.indexOf(k) + 1));
    expect(await keys(store, '')).toEqual(names);
    // S3: four pages means three requests that carried a ContinuationToken.
    const continued = () => t.s3?.forwarded.filter((r) => r.params.includes('continuation-token'));
    if (t.s3) expect(continued()).toHaveLength(3);
    expect(await keys(store, 'u/')).toEqual(names.slice(0, 6));
    expect(await keys(store, 'u/c')).toEqual(['u/c_1', 'u/c_2']);
    expect(await keys(store, 'w/')).toEqual([]);
    const infos = [];
    for await (const i of store.list('u/a/')) infos.push(i);
    expect(infos.map((i) => [i.key, i.size])).toEqual([
      ['u/a/1', 1],
      ['u/a/2', 2],
    ]);
  });

  test('invalid keys and arguments are refused before any I/O', async () => {
    for (const bad of [
      '../etc/passwd',
      'a/../b',
      '/abs',
      'a//b',
      'a/',
      'UPPER',
      'a.b',
      '',
      'a\0b',
      'x'.repeat(256),
    ])
      await expect(store.presignPut(bad, { size: 1, expiresInSec: 60 })).rejects.toThrow(TypeError);
    await expect(store.head('../x')).rejects.toThrow(TypeError);
    await expect(store.delete('a/../../x')).rejects.toThrow(TypeError);
    expect(() => store.list('../')).toThrow(TypeError);
    await expect(store.presignGet('u/x', { expiresInSec: 0 })).rejects.toThrow(RangeError);
    await expect(store.presignPut('u/x', { size: -1, expiresInSec: 60 })).rejects.toThrow(
      RangeError,
    );
    await expect(store.presignPut('u/x', { size: 1.5, expiresInSec: 60 })).rejects.toThrow(
      TypeError,
    );
  });
});
