/**
 * BlobStore checksums (stores/blob.ts, docs/API.md "Checksums"), run against every
 * backend: a PUT URL signed for a SHA-256 stores only a body with that digest (the fs
 * store hashes it as it streams in; S3 — here the SigV4 front standing in for it —
 * checks the signed `x-amz-checksum-sha256`), and `digest` re-reads what is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { manualClock } from '@noah-backup/core/clock';
import type { BlobStore } from '../src/stores/blob.ts';
import {
  alterObject,
  blobStoreKinds,
  openTestBlobStore,
  type TestBlobStore,
} from './helpers/blob.ts';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function put(
  store: BlobStore,
  key: string,
  bytes: Uint8Array<ArrayBuffer>,
  declared?: string,
): Promise<number> {
  const p = await store.presignPut(key, {
    size: bytes.length,
    expiresInSec: 900,
    ...(declared === undefined ? {} : { sha256: declared }),
  });
  const res = await fetch(p.url, {
    method: 'PUT',
    body: bytes,
    headers: { ...p.headers, 'content-length': String(bytes.length) },
  });
  await res.arrayBuffer();
  return res.status;
}

describe.each(blobStoreKinds)('BlobStore checksums: %s', (kind) => {
  let t: TestBlobStore;
  let store: BlobStore;
  const clock = manualClock(Date.parse('2026-06-01T12:00:00Z'));

  beforeEach(async () => {
    t = await openTestBlobStore(kind, { clock, maxSize: 1 << 20 });
    store = t.store;
  });
  afterEach(async () => {
    await t.cleanup();
  });

  test('a URL signed for a SHA-256 stores a body with that digest; digest reads it back', async () => {
    const bytes = new Uint8Array(randomBytes(300_000));
    expect(await put(store, 'c/good', bytes, sha256(bytes))).toBe(200);
    expect(await store.digest('c/good')).toEqual({ size: bytes.length, sha256: sha256(bytes) });
  });

  test('a body of the signed size but another digest is refused and nothing is stored', async () => {
    const bytes = new Uint8Array(randomBytes(1000));
    const other = new Uint8Array(randomBytes(1000));
    expect(await put(store, 'c/bad', other, sha256(bytes))).toBe(400);
    expect(await store.head('c/bad')).toBeNull();
    // The key is still free for the right body (no placeholder was left).
    expect(await put(store, 'c/bad', bytes, sha256(bytes))).toBe(200);
  });

  test('presignPut refuses a checksum that is not lowercase-hex SHA-256', async () => {
    for (const bad of ['', 'AB'.repeat(32), 'a'.repeat(63), 'g'.repeat(64)])
      await expect(
        store.presignPut('c/x', { size: 1, expiresInSec: 60, sha256: bad }),
      ).rejects.toThrow(TypeError);
  });

  test('digest sees what is stored now: an altered object, and null for a missing one', async () => {
    const bytes = new Uint8Array(randomBytes(5000));
    expect(await put(store, 'c/rot', bytes)).toBe(200);
    const altered = Uint8Array.from(bytes);
    altered[1234]! ^= 0x01;
    await alterObject(t, 'c/rot', altered);
    expect(await store.digest('c/rot')).toEqual({ size: 5000, sha256: sha256(altered) });
    expect(await store.digest('c/none')).toBeNull();
    expect(await store.checksum('c/none')).toBeNull();
  });

  test('checksum: what the store can tell without the server fetching the object', async () => {
    const bytes = new Uint8Array(randomBytes(2000));
    expect(await put(store, 'c/sum', bytes, sha256(bytes))).toBe(200);
    // fs reads its disk; S3 answers the checksum it verified at PUT, or none when the
    // service does not keep it (the test server): the caller then leaves it to the scrub.
    const got = await store.checksum('c/sum');
    if (kind === 'fs') expect(got).toBe(sha256(bytes));
    else expect([sha256(bytes), null]).toContain(got);
  });
});
