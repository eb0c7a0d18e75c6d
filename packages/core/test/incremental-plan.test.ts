/**
 * The compaction policy and the next manifest (FORMAT.md §8.9): each rule on a small,
 * hand-made case. (The whole loop is property-tested in incremental-backup-model.test.ts,
 * the policy's goals in incremental-trace.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { buildManifest } from '../src/incremental/build.ts';
import { layoutPacks } from '../src/incremental/layout.ts';
import { manifestProblem } from '../src/incremental/manifest-rules.ts';
import {
  type BackupPlan,
  type CompactionParams,
  DEFAULT_COMPACTION,
  planBackup,
} from '../src/incremental/plan.ts';
import type { TreeEntry } from '../src/incremental/tree.ts';
import type { Manifest, ManifestPack } from '../src/incremental/types.ts';
import { v2CiphertextSize } from '../src/v2/size.ts';
import { digest, sampleManifest } from './incremental-helpers.ts';

const PS = 512;
/** 128 pages of 512 bytes a pack. */
const P: CompactionParams = { ...DEFAULT_COMPACTION, packTarget: 65_536 };
let n = 0;
const written = (plan: BackupPlan): ManifestPack[] =>
  plan.packs.map((p) => ({
    key: `b/${n++}`,
    size: v2CiphertextSize(p.plainSize),
    sha256: digest(1),
    plainSize: p.plainSize,
  }));
const db = (pageCount: number, changed: number[] = [], pageSize = PS): TreeEntry => ({
  type: 'database',
  path: 'w.db',
  pageSize,
  pageCount,
  digest: digest(pageCount),
  changed,
});
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** A first (full) backup of `tree`, and its manifest. */
function first(tree: TreeEntry[], params = P): Manifest {
  const plan = planBackup(undefined, tree, params);
  return buildManifest(undefined, tree, plan, written(plan));
}

describe('full backups', () => {
  it('without a previous manifest: every page and file, in path order', () => {
    const tree: TreeEntry[] = [
      { type: 'file', path: 'a', size: 10, digest: digest(1) },
      db(200),
      { type: 'file', path: 'z', size: 0, digest: digest(2) },
    ];
    const plan = planBackup(undefined, tree, P);
    expect(plan).toMatchObject({ full: true, reason: 'no_previous', kept: [], dropped: [] });
    expect(plan.packs.map((p) => [p.kind, p.plainSize])).toEqual([
      ['full', 10 + 127 * PS],
      ['full', 73 * PS],
    ]);
    expect(plan.packs[0]!.items).toEqual([
      { type: 'file', path: 'a', size: 10, offset: 0 },
      { type: 'pages', path: 'w.db', first: 1, count: 127, pageSize: PS, offset: 10 },
    ]);
    expect(plan.changedBytes).toBe(10 + 200 * PS);
  });

  it('when a page size changed, or more than half the bytes changed', () => {
    const prev = first([db(256)]);
    expect(planBackup(prev, [db(128, [], 1024)], P)).toMatchObject({
      full: true,
      reason: 'page_size_changed',
      dropped: [0, 1],
    });
    expect(planBackup(prev, [db(256, range(1, 129))], P)).toMatchObject({
      full: true,
      reason: 'many_changes',
    });
    expect(planBackup(prev, [db(256, range(1, 128))], P).full).toBe(false); // exactly half
  });

  it('when the next manifest would list more than maxPacks packs, and a full one fewer', () => {
    const prev = first([db(384)]); // 3 packs
    const few = { ...P, maxPacks: 3 };
    expect(planBackup(prev, [db(384, [1])], few)).toMatchObject({
      full: true,
      reason: 'many_packs',
    });
    // Nothing changed: 3 packs either way, so no point in a full backup.
    expect(planBackup(prev, [db(384)], { ...P, maxPacks: 1 }).full).toBe(false);
  });
});

describe('compaction', () => {
  const prev = first([db(512)]); // packs 0..3 of 128 pages each

  it('rewrites the live pages of a pack below 75 % live, apart from the changed pages', () => {
    const plan = planBackup(prev, [db(512, range(1, 100))], P);
    expect(plan).toMatchObject({ full: false, kept: [1, 2, 3], dropped: [0], rewritten: [0] });
    expect(plan.packs.map((p) => [p.kind, p.items])).toEqual([
      ['changed', [{ type: 'pages', path: 'w.db', first: 1, count: 100, pageSize: PS, offset: 0 }]],
      [
        'rewritten',
        [{ type: 'pages', path: 'w.db', first: 101, count: 28, pageSize: PS, offset: 0 }],
      ],
    ]);
    expect([plan.changedBytes, plan.rewrittenBytes]).toEqual([100 * PS, 28 * PS]);
    const next = buildManifest(prev, [db(512, range(1, 100))], plan, written(plan));
    expect(next.packs.map((p) => p.key)).toEqual([
      ...prev.packs.slice(1).map((p) => p.key),
      expect.any(String),
      expect.any(String),
    ]);
    expect((next.entries[0] as { runs: unknown }).runs).toEqual([
      { count: 100, pack: 3, offset: 0 },
      { count: 28, pack: 4, offset: 0 },
      { count: 128, pack: 0, offset: 0 }, // packs 1..3 of before
      { count: 128, pack: 1, offset: 0 },
      { count: 128, pack: 2, offset: 0 },
    ]);
  });

  it('keeps a pack at 75 % live or more, and one the budget cannot afford', () => {
    const generous = { ...P, rewriteBudget: 4 };
    expect(planBackup(prev, [db(512, range(1, 32))], generous).rewritten).toEqual([]); // 75 % live
    expect(planBackup(prev, [db(512, range(1, 33))], generous).rewritten).toEqual([0]);
    // 95 live pages left, but 1.25 × 33 changed pages affords 41.
    expect(planBackup(prev, [db(512, range(1, 33))], P).rewritten).toEqual([]);
    const tight = planBackup(prev, [db(512, range(1, 100))], { ...P, rewriteBudget: 0.1 });
    expect(tight).toMatchObject({ kept: [0, 1, 2, 3], rewritten: [] });
  });

  it('goes emptiest first and stops at the first pack over the budget', () => {
    // Pack 0: 28 live of 128; pack 1: 60 live (68 changed).
    const changed = [...range(1, 100), ...range(129, 196)];
    expect(planBackup(prev, [db(512, changed)], P).rewritten).toEqual([0, 1]);
    // Budget 0.3 × 168 pages = 50.4: pack 0 (28) fits, then pack 1 (60) does not.
    expect(planBackup(prev, [db(512, changed)], { ...P, rewriteBudget: 0.3 }).rewritten).toEqual([
      0,
    ]);
    // Budget 0.1 × 168 = 16.8: pack 0 does not fit, so nothing (no skipping ahead).
    expect(planBackup(prev, [db(512, changed)], { ...P, rewriteBudget: 0.1 }).rewritten).toEqual(
      [],
    );
  });

  it('drops a pack with nothing live without rewriting anything', () => {
    const plan = planBackup(prev, [db(512, range(1, 128))], P);
    expect(plan).toMatchObject({ kept: [1, 2, 3], dropped: [0], rewritten: [], rewrittenBytes: 0 });
  });

  it('counts pages past a shrunk page count as dead, and writes pages past the old count', () => {
    // Pack 2 keeps 44 of 128 pages, pack 3 nothing; no change, so no budget to compact.
    const shrunk = planBackup(prev, [db(300)], P);
    expect(shrunk).toMatchObject({ kept: [0, 1, 2], dropped: [3], rewritten: [], packs: [] });
    const next = buildManifest(prev, [db(300)], shrunk, []);
    expect((next.entries[0] as { runs: { count: number }[] }).runs.map((r) => r.count)).toEqual([
      128, 128, 44,
    ]);
    const grown = planBackup(prev, [db(520, [3])], P);
    expect(grown.packs[0]!.items.map((i) => i.type === 'pages' && [i.first, i.count])).toEqual([
      [3, 1],
      [513, 8],
    ]);
  });
});

describe('files', () => {
  const tree = (content: number, extra: TreeEntry[] = []): TreeEntry[] => [
    { type: 'file', path: 'cfg', size: 1000, digest: digest(content) },
    ...extra,
    db(64),
  ];

  it('an unchanged file stays where it is; a changed one goes to a new pack', () => {
    const prev = first(tree(1));
    const same = planBackup(prev, tree(1), P);
    expect(same).toMatchObject({ kept: [0], packs: [] });
    const next = buildManifest(prev, tree(1), same, []);
    expect(next).toEqual(prev);
    const changed = planBackup(prev, tree(2), P);
    expect(changed.packs[0]!.items).toEqual([{ type: 'file', path: 'cfg', size: 1000, offset: 0 }]);
  });

  it('a file larger than the target is a pack of its own', () => {
    const packs = layoutPacks(
      [
        { type: 'file', path: 'a', size: 100 },
        { type: 'file', path: 'b', size: 70_000 },
        { type: 'file', path: 'c', size: 0 },
        { type: 'file', path: 'd', size: 100 },
      ],
      'changed',
      65_536,
    );
    expect(packs.map((p) => p.items.map((i) => i.path))).toEqual([['a'], ['b'], ['d']]);
    expect(() => layoutPacks([], 'full', 65_535)).toThrow(RangeError);
  });
});

describe('arguments', () => {
  it('are checked: tree order and fields, changed pages, parameters, the previous manifest', () => {
    const bad: [unknown, RegExp][] = [
      [[db(4), { type: 'file', path: 'a', size: 1, digest: digest(1) }], /unsorted/],
      [[{ type: 'file', path: 'd/x', size: 1, digest: digest(1) }], /parent directory/],
      [[db(4, [2, 2])], /changed pages not increasing/],
      [[db(4, [5])], /changed pages not increasing/],
      [[db(0)], /page count/],
      [[{ type: 'file', path: '../x', size: 1, digest: digest(1) }], /\(\.\.\)/],
      [[{ type: 'file', path: 'x', size: -1, digest: digest(1) }], /size/],
    ];
    for (const [tree, rule] of bad)
      expect(() => planBackup(undefined, tree as TreeEntry[], P)).toThrow(rule);
    expect(() => planBackup(undefined, [], { ...P, packTarget: 1000 })).toThrow(RangeError);
    expect(() => planBackup(undefined, [], { ...P, garbageThreshold: 2 })).toThrow(RangeError);
    const broken = sampleManifest();
    broken.packs.push(broken.packs[0]!);
    expect(() => planBackup(broken, [], P)).toThrow(/previous manifest is invalid/);
  });

  it('buildManifest refuses written packs that do not match the plan', () => {
    const plan = planBackup(undefined, [db(4)], P);
    expect(() => buildManifest(undefined, [db(4)], plan, [])).toThrow(RangeError);
    const w = written(plan);
    w[0]!.plainSize++;
    expect(() => buildManifest(undefined, [db(4)], plan, w)).toThrow(/plaintext size/);
    expect(manifestProblem(buildManifest(undefined, [db(4)], plan, written(plan)))).toBeUndefined();
  });
});
