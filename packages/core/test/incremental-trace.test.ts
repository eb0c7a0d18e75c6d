/**
 * The compaction policy (FORMAT.md §8.9) over 30 real days of a wallet's page changes:
 * a 100 MB WAL-mode database of 4 KiB pages (`payments` with a random-key index), about
 * 1,040 of 24,900 pages changed a day, scattered uniformly. Goals, as in the design's
 * simulation, with zstd's measured ratio of 0.845 on that database:
 * - sent: every day's new packs ≤ 2× the day's changed pages;
 * - stored: the packs either slot references ≤ 1.5× one full backup, every day;
 * and no full backup after the first.
 *
 * fixtures/page-trace.bin holds the trace as unsigned LEB128 varints: the first day's
 * page count, the number of days, then per day its page count, the number of changed
 * pages, and the changed page numbers (from 1, increasing) as gaps (page − previous − 1).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifest } from '../src/incremental/build.ts';
import { decodeManifest, encodeManifest } from '../src/incremental/manifest.ts';
import { DEFAULT_COMPACTION, planBackup } from '../src/incremental/plan.ts';
import { restorePlan } from '../src/incremental/restore-plan.ts';
import type { TreeEntry } from '../src/incremental/tree.ts';
import type { Manifest, ManifestPack } from '../src/incremental/types.ts';
import { fieldReader } from '../src/incremental/varint.ts';
import { v2CiphertextSize } from '../src/v2/size.ts';
import { digest } from './incremental-helpers.ts';

const PAGE = 4096;
const ZSTD_RATIO = 0.845;

function loadTrace(): { initial: number; days: { pages: number; changed: number[] }[] } {
  const r = fieldReader(
    readFileSync(join(import.meta.dirname, 'fixtures', 'page-trace.bin')),
    (rule) => new Error(rule),
  );
  const initial = r.varint();
  const days = Array.from({ length: r.varint() }, () => {
    const pages = r.varint();
    let page = 0;
    const changed = Array.from({ length: r.varint() }, () => (page += r.varint() + 1));
    return { pages, changed };
  });
  expect(r.remaining()).toBe(0);
  return { initial, days };
}

const tree = (pageCount: number, changed: number[], day: number): TreeEntry[] => [
  {
    type: 'database',
    path: 'wallet.sqlite',
    pageSize: PAGE,
    pageCount,
    digest: digest(day),
    changed,
  },
];

describe('compaction policy over 30 days of a real wallet (FORMAT.md §8.9)', () => {
  it('sends ≤ 2× the changed pages and stores ≤ 1.5× a full backup, every day', () => {
    const { initial, days } = loadTrace();
    expect(days.length).toBe(30);
    let n = 0;
    const write = (plainSize: number): ManifestPack => ({
      key: `b/${(n++).toString(16).padStart(32, '0')}`,
      size: v2CiphertextSize(Math.round(plainSize * ZSTD_RATIO)),
      sha256: digest(n & 0xff),
      plainSize,
    });
    const first = tree(initial, [], 0);
    const firstPlan = planBackup(undefined, first);
    expect(firstPlan).toMatchObject({ full: true, reason: 'no_previous' });
    let manifest: Manifest = buildManifest(
      undefined,
      first,
      firstPlan,
      firstPlan.packs.map((p) => write(p.plainSize)),
    );
    const sent: number[] = [];
    const stored: number[] = [];
    for (const [d, day] of days.entries()) {
      const today = tree(day.pages, day.changed, d + 1);
      const plan = planBackup(manifest, today);
      expect(plan.full, `day ${d + 1}`).toBe(false);
      const next = buildManifest(
        manifest,
        today,
        plan,
        plan.packs.map((p) => write(p.plainSize)),
      );
      // Sent: the new packs, compressed, against the day's changed pages.
      const newBytes = plan.packs.reduce((s, p) => s + p.plainSize, 0);
      sent.push((newBytes * ZSTD_RATIO) / (day.changed.length * PAGE));
      // Stored: every pack either slot references, against one full compressed backup.
      const slots = new Map([...manifest.packs, ...next.packs].map((p) => [p.key, p.plainSize]));
      const total = [...slots.values()].reduce((s, x) => s + x, 0);
      stored.push(total / (day.pages * PAGE));
      // Every page has exactly one place, and the manifest round-trips.
      expect(restorePlan(next).length).toBe(next.packs.length);
      const bytes = encodeManifest(next);
      expect(Buffer.compare(encodeManifest(decodeManifest(bytes)), bytes)).toBe(0);
      manifest = next;
    }
    expect(Math.max(...sent)).toBeLessThanOrEqual(2);
    expect(Math.max(...stored)).toBeLessThanOrEqual(1.5);
    // The policy does compact: without it, storage would grow by ~4 % a day.
    expect(stored[29]).toBeLessThan(1.5);
    expect(manifest.packs.length).toBeLessThan(DEFAULT_COMPACTION.maxPacks);
  });

  it('without compaction, storage passes the goal: the test can fail', () => {
    const { initial, days } = loadTrace();
    const params = { ...DEFAULT_COMPACTION, rewriteBudget: 0 };
    let n = 0;
    const write = (plainSize: number): ManifestPack => ({
      key: `b/${(n++).toString(16).padStart(32, '0')}`,
      size: v2CiphertextSize(plainSize),
      sha256: digest(1),
      plainSize,
    });
    const first = tree(initial, [], 0);
    const p0 = planBackup(undefined, first, params);
    let manifest = buildManifest(
      undefined,
      first,
      p0,
      p0.packs.map((p) => write(p.plainSize)),
    );
    let worst = 0;
    for (const [d, day] of days.entries()) {
      const today = tree(day.pages, day.changed, d + 1);
      const plan = planBackup(manifest, today, params);
      const next = buildManifest(
        manifest,
        today,
        plan,
        plan.packs.map((p) => write(p.plainSize)),
      );
      const slots = new Map([...manifest.packs, ...next.packs].map((p) => [p.key, p.plainSize]));
      worst = Math.max(worst, [...slots.values()].reduce((s, x) => s + x, 0) / (day.pages * PAGE));
      manifest = next;
    }
    expect(worst).toBeGreaterThan(1.5);
  });
});
