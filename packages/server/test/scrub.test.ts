/**
 * The scrub (src/scrub.ts, docs/OPERATIONS.md "Scrub") on both blob stores: an intact
 * store has no finding; an object altered in place (fs: the file; S3: behind the
 * front's back) or lost is found, counted in /metrics and logged; an object stored
 * without a checksum gets the one read; each run reads the least recently read first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '@noah-backup/core/clock';
import { createMetrics, type Metrics } from '../src/metrics.ts';
import { scrub, scrubShare } from '../src/scrub.ts';
import type { MetadataStore } from '../src/stores/metadata.ts';
import {
  alterObject,
  blobStoreKinds,
  openTestBlobStore,
  type TestBlobStore,
} from './helpers/blob.ts';
import { openTestMetadataStore } from './helpers/metadata.ts';
import { sha256, storeBackup } from './helpers/scrub.ts';

describe.each(blobStoreKinds)('scrub: %s', (kind) => {
  const clock = manualClock(Date.parse('2026-06-01T12:00:00Z'));
  let t: TestBlobStore;
  let metadata: MetadataStore;
  let closeMetadata: () => Promise<void>;
  let metrics: Metrics;
  const logged: Record<string, unknown>[] = [];
  const logger = {
    info: () => {},
    warn: () => {},
    error: (o: Record<string, unknown>) => {
      logged.push(o);
    },
  } as never;

  beforeEach(async () => {
    t = await openTestBlobStore(kind, { clock });
    ({ store: metadata, cleanup: closeMetadata } = await openTestMetadataStore('sqlite'));
    metrics = createMetrics({ metadata, clock });
    logged.length = 0;
  });
  afterEach(async () => {
    await closeMetadata();
    await t.cleanup();
  });

  const deps = () => ({ metadata, blobs: t.store, clock, metrics, logger });
  const metric = async (name: string) =>
    (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith(name));

  it('finds an altered and a lost object, counts and logs them; an intact store is clean', async () => {
    const a = await storeBackup(metadata, t.store, clock.now(), 4000);
    const b = await storeBackup(metadata, t.store, clock.now(), 3000);
    const c = await storeBackup(metadata, t.store, clock.now(), 2000);
    expect(await scrub(deps())).toEqual({ checked: 3, filled: 0, findings: [] });

    const flipped = Uint8Array.from(a.bytes);
    flipped[100]! ^= 0x80;
    await alterObject(t, a.objectKey, flipped);
    await alterObject(t, b.objectKey, b.bytes.subarray(1));
    await t.store.delete(c.objectKey);
    const r = await scrub(deps());
    expect(r.checked).toBe(3);
    expect(new Set(r.findings)).toEqual(
      new Set([
        { objectKey: a.objectKey, userId: a.userId, reason: 'checksum' },
        { objectKey: b.objectKey, userId: b.userId, reason: 'size' },
        { objectKey: c.objectKey, userId: c.userId, reason: 'missing' },
      ]),
    );
    expect((await metric('noah_scrub_mismatches_total{')).sort()).toEqual([
      'noah_scrub_mismatches_total{reason="checksum"} 1',
      'noah_scrub_mismatches_total{reason="missing"} 1',
      'noah_scrub_mismatches_total{reason="size"} 1',
    ]);
    expect(await metric('noah_scrub_objects_total ')).toEqual(['noah_scrub_objects_total 6']);
    expect(logged.map((l) => `${l.reason} ${l.objectKey} ${l.userId}`).sort()).toEqual(
      r.findings.map((f) => `${f.reason} ${f.objectKey} ${f.userId}`).sort(),
    );
  });

  it('fills a missing checksum from what it reads, then checks against it', async () => {
    const a = await storeBackup(metadata, t.store, clock.now(), 1500, { record: false });
    expect((await metadata.getObjectChecksums([a.objectKey]))[0]?.sha256).toBeNull();
    expect(await scrub(deps())).toMatchObject({ checked: 1, filled: 1, findings: [] });
    expect((await metadata.getObjectChecksums([a.objectKey]))[0]?.sha256).toBe(sha256(a.bytes));
    const flipped = Uint8Array.from(a.bytes);
    flipped[0]! ^= 1;
    await alterObject(t, a.objectKey, flipped);
    clock.advance(1000);
    expect((await scrub(deps())).findings).toEqual([
      { objectKey: a.objectKey, userId: a.userId, reason: 'checksum' },
    ]);
  });

  it('a daily share reads the least recently read, so each object is read within the period', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 5; i++)
      keys.push((await storeBackup(metadata, t.store, clock.now(), 100 + i)).objectKey);
    const limit = scrubShare(5, 3);
    expect(limit).toBe(2);
    const seen = new Set<string>();
    for (let day = 0; day < 3; day++) {
      const before = await metadata.listScrubDue(limit);
      expect((await scrub(deps(), { limit })).checked).toBe(limit);
      for (const r of before) seen.add(r.objectKey);
      clock.advance(86_400_000);
    }
    expect([...seen].sort()).toEqual([...keys].sort());
  });
});
