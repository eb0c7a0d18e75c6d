/**
 * Storage per user on /metrics (src/metrics-storage.ts): `noah_user_stored_bytes` and
 * `noah_user_stored_objects` are histograms over the users holding objects, and
 * `noah_objects_stored` the total. The distribution is one query over every object, so
 * scrapes never wait for it after the first: it is re-read at most every
 * STORAGE_TTL_MS, in the background. The real server on SQLite, the store's method
 * counted as it is called through.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { STORAGE_TTL_MS, USER_BYTES_BUCKETS } from '../src/metrics-storage.ts';
import type { MetadataStore } from '../src/stores/metadata.ts';
import { freshKey, freshPubkey } from './helpers/metadata.ts';
import { buildPeer, startTestServer, type TestServer } from './helpers/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
});
afterAll(() => srv?.close());

async function backup(userId: string, version: 1 | 2, size: number) {
  const objectKey = freshKey('b/obj');
  const now = srv.clock.now();
  await srv.metadata.createPendingUpload({
    objectKey,
    userId,
    version,
    declaredSize: size,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 60_000),
  });
  await srv.metadata.completeUpload({ userId, objectKey, version, size, now });
}

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

it('exports the per-user distribution, read once per STORAGE_TTL_MS and never waited for again', async () => {
  const [a, b, c] = await Promise.all(
    [1, 2, 3].map(() => srv.metadata.upsertUser(freshPubkey(), srv.clock.now())),
  );
  await backup(a!.id, 1, 3000); // ≤ 4 KiB
  await backup(b!.id, 1, 10_000);
  await backup(b!.id, 2, 10_000); // 20,000 bytes: above 16 KiB, within 64 KiB
  await srv.metadata.upsertUser(freshPubkey(), srv.clock.now()); // no objects: not counted
  let reads = 0;
  const counted: MetadataStore = {
    ...srv.metadata,
    storageDistribution: (bounds) => {
      reads++;
      return srv.metadata.storageDistribution(bounds);
    },
  };
  const app = await buildPeer(srv, { metadata: counted });
  try {
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const scrape = async () => (await fetch(`${url}/metrics`)).text();
    let text = await scrape();
    expect(text).toContain('# TYPE noah_user_stored_bytes histogram');
    expect(USER_BYTES_BUCKETS.slice(0, 3)).toEqual([4096, 16384, 65536]);
    expect(value(text, 'noah_user_stored_bytes_bucket{le="4096"}')).toBe(1);
    expect(value(text, 'noah_user_stored_bytes_bucket{le="16384"}')).toBe(1);
    expect(value(text, 'noah_user_stored_bytes_bucket{le="65536"}')).toBe(2);
    expect(value(text, 'noah_user_stored_bytes_bucket{le="+Inf"}')).toBe(2);
    expect(value(text, 'noah_user_stored_bytes_sum')).toBe(23_000);
    expect(value(text, 'noah_user_stored_bytes_count')).toBe(2);
    expect(value(text, 'noah_user_stored_objects_bucket{le="1"}')).toBe(1);
    expect(value(text, 'noah_user_stored_objects_bucket{le="2"}')).toBe(2);
    expect(value(text, 'noah_objects_stored')).toBe(3);
    await Promise.all(Array.from({ length: 5 }, scrape));
    expect(reads).toBe(1);

    await backup(c!.id, 1, 100);
    srv.clock.advance(STORAGE_TTL_MS);
    // Stale figures answer at once while the new reading runs.
    text = await scrape();
    expect(value(text, 'noah_user_stored_bytes_count')).toBe(2);
    // The new reading is a scan of the stores: on a loaded machine it can outlast
    // expect.poll's default second.
    await expect
      .poll(async () => value(await scrape(), 'noah_user_stored_bytes_count'), { timeout: 20_000 })
      .toBe(3);
    expect(reads).toBe(2);
  } finally {
    app.server.closeAllConnections();
    await app.close();
  }
});
