/**
 * Property test of the whole incremental loop in memory (FORMAT.md §8.7–8.9): random
 * wallets changed over random days — pages rewritten, databases grown, shrunk, added,
 * removed, page sizes changed, files changed — backed up with random policy parameters.
 * After each backup both slots restore, from only the packs either references, in any
 * pack order, to the exact bytes of their day, and the plan keeps its promises.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompactionParams } from '../src/incremental/plan.ts';
import type { Manifest } from '../src/incremental/types.ts';
import { backup, contentOf, type Device, restore, type Wallet } from './incremental-model.ts';
import { fixedRandom } from './v2-helpers.ts';

type Op =
  | { op: 'pages'; db: number; pages: number[]; seed: number }
  | { op: 'grow'; db: number; n: number; seed: number }
  | { op: 'shrink'; db: number; n: number; seed: number }
  | { op: 'file'; name: number; size: number; seed: number }
  | { op: 'remove'; name: number }
  | { op: 'database'; name: number; pageSize: number; n: number; seed: number };

const NAMES = ['wallet.sqlite', 'data/a.db', 'data/b', 'cfg.json', 'data/x/y.bin', 'z'];

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('pages' as const),
      db: fc.nat(),
      pages: fc.array(fc.nat(), { maxLength: 40 }),
      seed: fc.nat(),
    }),
  },
  fc.record({
    op: fc.constant('grow' as const),
    db: fc.nat(),
    n: fc.integer({ min: 1, max: 60 }),
    seed: fc.nat(),
  }),
  fc.record({
    op: fc.constant('shrink' as const),
    db: fc.nat(),
    n: fc.integer({ min: 1, max: 60 }),
    seed: fc.nat(),
  }),
  fc.record({
    op: fc.constant('file' as const),
    name: fc.nat(NAMES.length - 1),
    size: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(70_000)),
    seed: fc.nat(),
  }),
  fc.record({ op: fc.constant('remove' as const), name: fc.nat(NAMES.length - 1) }),
  fc.record({
    op: fc.constant('database' as const),
    name: fc.nat(NAMES.length - 1),
    pageSize: fc.constantFrom(512, 1024),
    n: fc.integer({ min: 1, max: 150 }),
    seed: fc.nat(),
  }),
);

const arbParams: fc.Arbitrary<CompactionParams> = fc.record({
  garbageThreshold: fc.double({ min: 0, max: 1, noNaN: true }),
  rewriteBudget: fc.double({ min: 0, max: 4, noNaN: true }),
  fullChangeRatio: fc.double({ min: 0, max: 1, noNaN: true }),
  maxPacks: fc.integer({ min: 1, max: 40 }),
  packTarget: fc.constantFrom(65_536, 131_072),
});

/** Whether `path` can hold a file or database now: no other entry is its parent or child. */
function free(w: Wallet, path: string): boolean {
  for (const p of [...w.files.keys(), ...w.databases.keys()])
    if (p !== path && (p.startsWith(`${path}/`) || path.startsWith(`${p}/`))) return false;
  return true;
}

function apply(w: Wallet, o: Op): void {
  const dbs = [...w.databases.keys()];
  const page = (size: number, seed: number) => fixedRandom(seed + 1)(size);
  if (o.op === 'pages' || o.op === 'grow' || o.op === 'shrink') {
    const db = dbs.length ? w.databases.get(dbs[o.db % dbs.length]!)! : undefined;
    if (!db) return;
    if (o.op === 'pages')
      for (const [i, p] of o.pages.entries())
        db.pages[p % db.pages.length] = page(db.pageSize, o.seed + i);
    if (o.op === 'grow') for (let i = 0; i < o.n; i++) db.pages.push(page(db.pageSize, o.seed + i));
    if (o.op === 'shrink') db.pages.length = Math.max(1, db.pages.length - o.n);
    return;
  }
  const path = NAMES[o.name]!;
  if (o.op === 'remove') {
    w.files.delete(path);
    w.databases.delete(path);
    return;
  }
  if (!free(w, path)) return;
  w.files.delete(path);
  w.databases.delete(path);
  if (o.op === 'file') w.files.set(path, page(o.size, o.seed));
  else
    w.databases.set(path, {
      pageSize: o.pageSize,
      pages: Array.from({ length: o.n }, (_, i) => page(o.pageSize, o.seed + i)),
    });
}

const clone = (w: Wallet): Wallet => ({
  files: new Map([...w.files].map(([p, f]) => [p, f.slice()])),
  databases: new Map(
    [...w.databases].map(([p, d]) => [
      p,
      { pageSize: d.pageSize, pages: d.pages.map((x) => x.slice()) },
    ]),
  ),
});

describe('the incremental loop, in memory (property)', () => {
  it('both slots restore to their day, exactly, whatever changes and parameters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbOp, { minLength: 1, maxLength: 8 }),
        fc.array(fc.array(arbOp, { maxLength: 6 }), { minLength: 1, maxLength: 6 }),
        arbParams,
        fc.nat(),
        async (setup, days, params, orderSeed) => {
          const w: Wallet = {
            files: new Map(),
            databases: new Map([
              ['wallet.sqlite', { pageSize: 512, pages: [new Uint8Array(512)] }],
            ]),
          };
          for (const o of setup) apply(w, o);
          const device: Device = { cache: new Map(), store: new Map(), written: 0 };
          let previous: { manifest: Manifest; wallet: Wallet } | undefined;
          for (const [d, ops] of [[], ...days].entries()) {
            for (const o of ops) apply(w, o);
            const prevManifest = device.manifest;
            const { plan, manifest } = await backup(w, device, params);
            // The plan's promises.
            const prevPacks = prevManifest?.packs.length ?? 0;
            expect([...plan.kept, ...plan.dropped].sort((a, b) => a - b)).toEqual([
              ...Array(prevPacks).keys(),
            ]);
            expect(plan.rewritten.every((i) => plan.dropped.includes(i))).toBe(true);
            if (d === 0) expect(plan.reason).toBe('no_previous');
            if (!plan.full)
              expect(plan.rewrittenBytes).toBeLessThanOrEqual(
                params.rewriteBudget * plan.changedBytes + 1e-6,
              );
            for (const p of plan.packs) {
              expect(p.items.length).toBeGreaterThan(0);
              const big = p.items.length === 1 && p.items[0]!.type === 'file';
              if (!big) expect(p.plainSize).toBeLessThanOrEqual(params.packTarget);
            }
            // The server keeps only packs a slot references.
            const live = new Set(
              [...manifest.packs, ...(previous?.manifest.packs ?? [])].map((p) => p.key),
            );
            for (const k of [...device.store.keys()]) if (!live.has(k)) device.store.delete(k);
            // Both slots restore, packs in a shuffled order.
            for (const slot of [{ manifest, wallet: w }, previous]) {
              if (!slot) continue;
              const order = [...slot.manifest.packs.keys()].sort(
                (a, b) => ((a * 7919 + orderSeed) % 101) - ((b * 7919 + orderSeed) % 101),
              );
              const { files, pageDigests } = await restore(slot.manifest, device.store, order);
              const { want, got } = contentOf(slot.wallet, slot.manifest, files);
              expect(got).toEqual(want);
              if (slot.manifest === manifest)
                for (const [i, digests] of pageDigests)
                  expect(
                    Buffer.from(digests).equals(
                      Buffer.from(device.cache.get(manifest.entries[i]!.path)!.digests),
                    ),
                  ).toBe(true);
            }
            previous = { manifest, wallet: clone(w) };
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
