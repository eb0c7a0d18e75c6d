/**
 * fs BlobStore specifics beyond the contract: the HTTP statuses and JSON error codes of
 * its signed URLs, streaming of any content type, what an aborted upload leaves behind,
 * temp-file sweeping by the injected clock, S3 key order, and logs free of signatures.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { manualClock } from '@noah-backup/core/clock';
import { createFsBlobStore, type FsBlobStore } from '../src/blob/fs.ts';

const T0 = Date.parse('2026-05-01T00:00:00Z');
let dir: string;
let secret: Uint8Array;
let clock: ReturnType<typeof manualClock>;
let app: FastifyInstance;
let base: string;
let logs: string;
let store: FsBlobStore;

/** Serves a store built with `max` and returns a signer store (same dir and secret) with a larger limit. */
async function serve(max: number): Promise<void> {
  logs = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  const serving = await createFsBlobStore({
    dir,
    publicUrl: 'http://127.0.0.1',
    clock,
    maxObjectSize: max,
    signingSecret: secret,
  });
  app = Fastify({ forceCloseConnections: true, logger: { level: 'info', stream: sink } });
  await app.register(serving.routes);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  store = await createFsBlobStore({
    dir,
    publicUrl: base,
    clock,
    maxObjectSize: 1 << 20,
    signingSecret: secret,
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-fsblob-'));
  secret = new Uint8Array(randomBytes(32));
  clock = manualClock(T0);
  await serve(1000);
});
afterEach(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

function rawPut(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  abort = false,
): Promise<{ status: number; json: Record<string, unknown> } | 'aborted'> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'PUT', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }),
      );
    });
    req.on('error', () => resolve('aborted'));
    if (abort) req.write(body, () => req.destroy());
    else req.end(body);
  });
}

async function tempFiles(): Promise<string[]> {
  const all = (await readdir(dir, { recursive: true })) as string[];
  return all.filter((p) => p.split('/').at(-1)?.startsWith('.tmp-'));
}

describe('signed URL responses', () => {
  test('URLs are <publicUrl>/blob/<key>?exp&size&sig with the clock-based expiry', async () => {
    const p = await store.presignPut('u/a', { size: 5, expiresInSec: 900 });
    const u = new URL(p.url);
    expect(`${u.origin}${u.pathname}`).toBe(`${base}/blob/u/a`);
    expect(u.searchParams.get('exp')).toBe(String(T0 / 1000 + 900));
    expect(u.searchParams.get('size')).toBe('5');
    expect(u.searchParams.get('sig')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.headers).toEqual({});
  });

  test('error statuses and codes follow S3: 403, 403, 411, 400, 413, 404', async () => {
    const p = await store.presignPut('u/a', { size: 10, expiresInSec: 60 });
    const bad = new URL(p.url);
    bad.searchParams.set('size', '11'); // a signed field changed
    expect(await rawPut(bad.href, { 'content-length': '11' }, new Uint8Array(11))).toMatchObject({
      status: 403,
      json: { code: 'signature_invalid' },
    });
    expect(
      await rawPut(p.url, { 'transfer-encoding': 'chunked' }, new Uint8Array(10)),
    ).toMatchObject({
      status: 411,
      json: { code: 'size_mismatch' },
    });
    const mismatch = await rawPut(p.url, { 'content-length': '9' }, new Uint8Array(9));
    expect(mismatch).toMatchObject({ status: 400, json: { code: 'size_mismatch' } });
    expect(typeof (mismatch as { json: Record<string, unknown> }).json.request_id).toBe('string');

    // Signed by an instance with a larger limit than the serving one (1000 bytes).
    const big = await store.presignPut('u/big', { size: 2000, expiresInSec: 60 });
    expect(await rawPut(big.url, { 'content-length': '2000' }, new Uint8Array(2000))).toMatchObject(
      {
        status: 413,
        json: { code: 'payload_too_large' },
      },
    );

    clock.advance(61_000);
    expect(await rawPut(p.url, { 'content-length': '10' }, new Uint8Array(10))).toMatchObject({
      status: 403,
      json: { code: 'url_expired' },
    });
    const get = await store.presignGet('u/none', { expiresInSec: 60 });
    const res = await fetch(get.url);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'backup_not_found' });
    expect(await store.head('u/a')).toBeNull();
    expect(await store.head('u/big')).toBeNull();
  });

  test('paths outside the key alphabet are refused before touching the disk', async () => {
    await writeFile(join(dir, 'secret'), 'x');
    for (const path of ['/blob/..%2fsecret', '/blob/u/../secret', '/blob/.tmp-1-ab', '/blob/U/A'])
      expect((await fetch(`${base}${path}?exp=9999999999&sig=x`)).status).toBeGreaterThanOrEqual(
        400,
      );
  });

  test('any content type, or none, is streamed through unparsed', async () => {
    const body = new TextEncoder().encode('{"not": "parsed"');
    for (const [i, ct] of [
      'application/json',
      'text/plain',
      'application/octet-stream',
      '',
    ].entries()) {
      const p = await store.presignPut(`ct/${i}`, { size: body.length, expiresInSec: 60 });
      const headers: Record<string, string> = { 'content-length': String(body.length) };
      if (ct) headers['content-type'] = ct;
      expect(await rawPut(p.url, headers, body)).toMatchObject({ status: 200 });
      const got = await fetch((await store.presignGet(`ct/${i}`, { expiresInSec: 60 })).url);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(body);
    }
  });
});

describe('durability and cleanup', () => {
  test('a client dying mid-upload leaves no object and no temp file', async () => {
    const p = await store.presignPut('u/cut', { size: 1000, expiresInSec: 60 });
    expect(await rawPut(p.url, { 'content-length': '1000' }, new Uint8Array(300), true)).toBe(
      'aborted',
    );
    await vi.waitFor(async () => expect(await tempFiles()).toEqual([]), { timeout: 5000 });
    expect(await store.head('u/cut')).toBeNull();
  });

  test('an upload is a new file with mtime = the injected clock', async () => {
    const p = await store.presignPut('u/t', { size: 3, expiresInSec: 60 });
    expect(await rawPut(p.url, { 'content-length': '3' }, new Uint8Array(3))).toMatchObject({
      status: 200,
    });
    expect((await store.head('u/t'))?.lastModified.getTime()).toBe(T0);
    expect((await stat(join(dir, 'u', 't'))).mode & 0o777).toBe(0o600);
  });

  test('temp files older than an hour (by the clock) are swept; newer ones are kept', async () => {
    await mkdir(join(dir, 'u'), { recursive: true });
    const old = `.tmp-${T0 - 3600_000}-00aa`;
    const fresh = `.tmp-${T0 - 60_000}-00bb`;
    await writeFile(join(dir, 'u', old), 'x');
    await writeFile(join(dir, 'u', fresh), 'x');
    expect(await store.sweepTemp()).toBe(1);
    expect((await tempFiles()).map((p) => p.split('/').at(-1))).toEqual([fresh]);
    clock.advance(3600_000);
    // list sweeps on its way, and never shows temp files.
    const keys = [];
    for await (const i of store.list('')) keys.push(i.key);
    expect(keys).toEqual([]);
    expect(await tempFiles()).toEqual([]);
  });

  test('delete removes emptied parent directories but not the root', async () => {
    const p = await store.presignPut('a/b/c', { size: 1, expiresInSec: 60 });
    expect(await rawPut(p.url, { 'content-length': '1' }, new Uint8Array(1))).toMatchObject({
      status: 200,
    });
    await store.delete('a/b/c');
    expect(await readdir(dir)).toEqual([]);
    await store.ping();
  });
});

describe('list', () => {
  test('orders keys by bytes as S3 does ("a-b" < "a/c" < "a_d")', async () => {
    for (const k of ['a_d', 'a/c', 'a-b', 'a/c-1', 'b/x/y']) {
      const p = await store.presignPut(k, { size: 1, expiresInSec: 60 });
      expect(await rawPut(p.url, { 'content-length': '1' }, new Uint8Array(1))).toMatchObject({
        status: 200,
      });
    }
    const keys = [];
    for await (const i of store.list('')) keys.push(i.key);
    expect(keys).toEqual(['a-b', 'a/c', 'a/c-1', 'a_d', 'b/x/y']);
    const under = [];
    for await (const i of store.list('a/c')) under.push(i.key);
    expect(under).toEqual(['a/c', 'a/c-1']);
  });
});

describe('logs', () => {
  test('never contain the signature or the query string', async () => {
    const p = await store.presignPut('u/log', { size: 4, expiresInSec: 60 });
    await rawPut(p.url, { 'content-length': '4' }, new Uint8Array(4));
    await rawPut(p.url, { 'content-length': '3' }, new Uint8Array(3));
    const g = await store.presignGet('u/log', { expiresInSec: 60 });
    await (await fetch(g.url)).arrayBuffer();
    await (await fetch(`${g.url}x`)).arrayBuffer();
    const sigs = [p.url, g.url].map((u) => new URL(u).searchParams.get('sig') ?? 'missing');
    expect(logs).toContain('/blob/u/log');
    for (const s of sigs) expect(logs).not.toContain(s);
    expect(logs).not.toContain('sig=');
    expect(logs).not.toContain('exp=');
  });
});

describe('options', () => {
  test('a relative dir, bad publicUrl or short secret is refused', async () => {
    const ok = { dir, publicUrl: 'http://x', maxObjectSize: 1 };
    await expect(createFsBlobStore({ ...ok, dir: 'rel/dir' })).rejects.toThrow(TypeError);
    await expect(createFsBlobStore({ ...ok, publicUrl: 'ftp://x' })).rejects.toThrow(TypeError);
    await expect(createFsBlobStore({ ...ok, publicUrl: 'http://x/?q=1' })).rejects.toThrow(
      TypeError,
    );
    await expect(createFsBlobStore({ ...ok, signingSecret: new Uint8Array(16) })).rejects.toThrow(
      RangeError,
    );
  });

  test('URLs signed with another secret are refused; a trailing slash in publicUrl is dropped', async () => {
    const other = await createFsBlobStore({
      dir,
      publicUrl: `${base}/`,
      clock,
      maxObjectSize: 100,
    });
    const p = await other.presignPut('u/x', { size: 1, expiresInSec: 60 });
    expect(p.url.startsWith(`${base}/blob/u/x?`)).toBe(true);
    expect(await rawPut(p.url, { 'content-length': '1' }, new Uint8Array(1))).toMatchObject({
      status: 403,
    });
  });
});

describe('ranges', () => {
  test('a GET with Range answers 206 with the bytes and Content-Range, as S3 does', async () => {
    const body = new Uint8Array(randomBytes(500));
    const p = await store.presignPut('r/a', { size: body.length, expiresInSec: 60 });
    expect(await rawPut(p.url, { 'content-length': '500' }, body)).toMatchObject({ status: 200 });
    const url = (await store.presignGet('r/a', { expiresInSec: 60 })).url;
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(body);
    for (const [range, start, end] of [
      ['bytes=100-', 100, 499],
      ['bytes=0-0', 0, 0],
      ['bytes=490-10000', 490, 499],
      ['bytes=-20', 480, 499],
    ] as const) {
      const res = await fetch(url, { headers: { range } });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/500`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(body.subarray(start, end + 1));
    }
    // Past the end: 416 with the size; several ranges, other units or nonsense: the whole object.
    const past = await fetch(url, { headers: { range: 'bytes=500-' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */500');
    expect(await past.json()).toMatchObject({ code: 'range_not_satisfiable' });
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3', 'bytes=x-'])
      expect((await fetch(url, { headers: { range } })).status, range).toBe(200);
  });
});
