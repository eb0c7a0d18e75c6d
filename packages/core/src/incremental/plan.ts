/**
 * The compaction policy of incremental backups (FORMAT.md §8.9, informative): from the
 * previous backup's manifest and what changed today, decide which pages and files go
 * into new packs, which packs the next manifest keeps, which it drops, and when to make
 * a full backup instead. Pure and deterministic: no I/O, no clock.
 * @module
 */
import { aint, equalBytes } from '../bytes.ts';
import { LimitExceededError } from '../errors.ts';
import { comparePaths } from '../paths.ts';
import { V2_MAX_PAYLOAD } from '../v2/size.ts';
import { layoutPacks, lengthOf, type PackLayout, type Piece } from './layout.ts';
import { checkTree, type TreeDatabase, type TreeEntry } from './tree.ts';
import { manifestProblem } from './manifest-rules.ts';
import { type Manifest, MAX_PACKS, MAX_PAGE_SIZE } from './types.ts';

/** Parameters of the policy. Defaults: {@link DEFAULT_COMPACTION}. */
export interface CompactionParams {
  /** A pack whose live plaintext is below `1 − garbageThreshold` of it may be compacted. */
  garbageThreshold: number;
  /** Live bytes rewritten out of compacted packs ≤ this × the day's changed bytes. */
  rewriteBudget: number;
  /** Full backup when the changed bytes exceed this fraction of all bytes. */
  fullChangeRatio: number;
  /** Full backup when the next manifest would list more packs (and a full one fewer). */
  maxPacks: number;
  /** Plaintext bytes per new pack (a file larger than that is a pack of its own). */
  packTarget: number;
}

/**
 * The defaults, chosen by simulating 30 days of a real wallet's page changes (4.2 % of
 * pages a day): each day sends at most 1.9× its changed pages (after compression) and
 * the two slots store at most 1.5× one full backup (test/incremental-trace.test.ts).
 */
export const DEFAULT_COMPACTION: Readonly<CompactionParams> = Object.freeze({
  garbageThreshold: 0.25,
  rewriteBudget: 1.25,
  fullChangeRatio: 0.5,
  maxPacks: 4096,
  packTarget: 4 * 2 ** 20,
});

/** Why a backup is a full one. */
export type FullReason = 'no_previous' | 'page_size_changed' | 'many_changes' | 'many_packs';

/** What to write and what to keep (see {@link planBackup}). */
export interface BackupPlan {
  /** True when every page and file goes into new packs and no previous pack is kept. */
  full: boolean;
  /** Why, when `full`. */
  reason?: FullReason;
  /** The new packs, in order: what goes into each, at which offset. */
  packs: PackLayout[];
  /** Indexes into the previous manifest's packs that the next one still references. */
  kept: number[];
  /** Indexes of previous packs the next manifest no longer references. */
  dropped: number[];
  /** The dropped packs whose live data was rewritten into new packs (compacted). */
  rewritten: number[];
  /** Bytes of changed pages and files (everything, in a full backup). */
  changedBytes: number;
  /** Bytes of live pages and files moved out of compacted packs. */
  rewrittenBytes: number;
}

/** A previous run of pages, still maybe live (see `liveRanges`). */
interface PrevRun {
  path: string;
  pageSize: number;
  start: number;
  count: number;
  /** Today's page count and changed pages of its database. */
  pageCount: number;
  changed: readonly number[];
}

/** Index of the first element of sorted `a` that is ≥ `x`. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The pages of a previous run still live today: not changed, not past the page count. */
function liveRanges(r: PrevRun): [first: number, count: number][] {
  const end = Math.min(r.start + r.count - 1, r.pageCount);
  const out: [number, number][] = [];
  let page = r.start;
  for (let i = lowerBound(r.changed, page); page <= end; i++) {
    const next = Math.min(r.changed[i] ?? Number.POSITIVE_INFINITY, end + 1);
    if (next > page) out.push([page, next - page]);
    page = next + 1;
  }
  return out;
}

/** The pages a database writes today: its changed pages and every page past the old count. */
function written(db: TreeDatabase, prevCount: number): Piece[] {
  const kept = db.changed.slice(0, lowerBound(db.changed, prevCount + 1));
  for (let p = prevCount + 1; p <= db.pageCount; p++) kept.push(p);
  return runsOf(db.path, db.pageSize, kept);
}

/** Consecutive page numbers (sorted) as page pieces. */
function runsOf(path: string, pageSize: number, pages: readonly number[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pages) {
    const last = out[out.length - 1];
    if (last?.type === 'pages' && last.first + last.count === p) last.count++;
    else out.push({ type: 'pages', path, first: p, count: 1, pageSize });
  }
  return out;
}

/** Every page and file of today's tree, for a full backup. */
function everything(today: readonly TreeEntry[]): Piece[] {
  return today.flatMap((e): Piece[] => {
    if (e.type === 'file') return [{ type: 'file', path: e.path, size: e.size }];
    if (e.type === 'database')
      return [{ type: 'pages', path: e.path, first: 1, count: e.pageCount, pageSize: e.pageSize }];
    return [];
  });
}

function fullPlan(
  today: readonly TreeEntry[],
  reason: FullReason,
  p: CompactionParams,
  prev?: Manifest,
): BackupPlan {
  const pieces = everything(today);
  const packs = layoutPacks(pieces, 'full', p.packTarget);
  if (packs.length > MAX_PACKS)
    throw new LimitExceededError(`a full backup would need more than ${MAX_PACKS} packs`);
  return {
    full: true,
    reason,
    packs,
    kept: [],
    dropped: prev ? prev.packs.map((_, i) => i) : [],
    rewritten: [],
    changedBytes: pieces.reduce((n, x) => n + lengthOf(x), 0),
    rewrittenBytes: 0,
  };
}

/** Asserts the policy's parameters. */
function checkParams(p: CompactionParams): void {
  const frac = (name: string, v: unknown, max: number) => {
    if (typeof v !== 'number' || !(v >= 0 && v <= max))
      throw new RangeError(`${name} must be a number in [0, ${max}]`);
  };
  frac('garbageThreshold', p?.garbageThreshold, 1);
  frac('rewriteBudget', p.rewriteBudget, 1000);
  frac('fullChangeRatio', p.fullChangeRatio, 1);
  aint('maxPacks', p.maxPacks, 1, MAX_PACKS);
  aint('packTarget', p.packTarget, MAX_PAGE_SIZE, V2_MAX_PAYLOAD);
}

/**
 * Plans the next backup (FORMAT.md §8.9). Today's changes are applied to the previous
 * manifest's map; a previous pack whose live plaintext fell below `1 − garbageThreshold`
 * of it is a candidate for compaction, emptiest first, and its live pages and files are
 * rewritten (read from today's snapshot: they are unchanged) while the rewritten bytes
 * stay within `rewriteBudget` × the changed bytes; a pack with nothing live is dropped.
 * Changed data and rewritten data go into separate packs. A full backup instead when
 * there is no previous manifest, a database's page size changed, more than
 * `fullChangeRatio` of the bytes changed, or the next manifest would list more than
 * `maxPacks` packs (and a full backup fewer).
 * @param previous - the previous backup's manifest (from the device cache), or undefined
 * @param today - today's tree, sorted by path, with each database's changed pages
 * @param params - the policy's parameters (default {@link DEFAULT_COMPACTION})
 * @returns the plan: new packs with their placements, kept and dropped previous packs
 * @throws RangeError / TypeError for an invalid tree, manifest or parameters;
 *   LimitExceededError if even a full backup would need more than 65,536 packs
 * @example
 * ```ts
 * const plan = planBackup(cache?.manifest, tree);
 * for (const pack of plan.packs) await upload(encryptPack(read(pack.items), opts));
 * ```
 */
export function planBackup(
  previous: Manifest | undefined,
  today: readonly TreeEntry[],
  params: CompactionParams = DEFAULT_COMPACTION,
): BackupPlan {
  checkParams(params);
  checkTree(today);
  if (!previous) return fullPlan(today, 'no_previous', params);
  const problem = manifestProblem(previous);
  if (problem) throw new RangeError(`previous manifest is invalid: ${problem}`);
  const prevByPath = new Map(previous.entries.map((e) => [e.path, e]));
  const live = new Array<number>(previous.packs.length).fill(0);
  const prevRuns: PrevRun[][] = previous.packs.map(() => []);
  const prevFiles: Piece[][] = previous.packs.map(() => []);
  const hot: Piece[] = [];
  let total = 0;
  for (const e of today) {
    if (e.type === 'directory') continue;
    const prev = prevByPath.get(e.path);
    if (e.type === 'file') {
      total += e.size;
      const same =
        prev?.type === 'file' && prev.size === e.size && equalBytes(prev.digest, e.digest);
      if (!same) hot.push({ type: 'file', path: e.path, size: e.size });
      else if (e.size > 0) {
        live[prev.pack]! += e.size;
        prevFiles[prev.pack]!.push({ type: 'file', path: e.path, size: e.size });
      }
      continue;
    }
    total += e.pageCount * e.pageSize;
    if (prev?.type === 'database' && prev.pageSize !== e.pageSize)
      return fullPlan(today, 'page_size_changed', params, previous);
    if (prev?.type !== 'database') {
      hot.push(...written(e, 0));
      continue;
    }
    hot.push(...written(e, prev.pageCount));
    let start = 1;
    for (const run of prev.runs) {
      const r: PrevRun = {
        path: e.path,
        pageSize: e.pageSize,
        start,
        count: run.count,
        pageCount: e.pageCount,
        changed: e.changed,
      };
      for (const [, count] of liveRanges(r)) live[run.pack]! += count * e.pageSize;
      prevRuns[run.pack]!.push(r);
      start += run.count;
    }
  }
  const changedBytes = hot.reduce((n, x) => n + lengthOf(x), 0);
  if (changedBytes > params.fullChangeRatio * total)
    return fullPlan(today, 'many_changes', params, previous);
  // Compaction candidates: emptiest first; stop at the first that exceeds the budget.
  const candidates = previous.packs
    .map((p, i) => ({ i, live: live[i]!, ratio: live[i]! / p.plainSize }))
    .filter((c) => c.live > 0 && c.ratio < 1 - params.garbageThreshold)
    .sort((a, b) => a.ratio - b.ratio || a.i - b.i);
  let budget = params.rewriteBudget * changedBytes;
  const rewritten: number[] = [];
  for (const c of candidates) {
    if (c.live > budget) break;
    budget -= c.live;
    rewritten.push(c.i);
  }
  const cold: Piece[] = [];
  for (const i of rewritten) {
    cold.push(...prevFiles[i]!);
    for (const r of prevRuns[i]!)
      for (const [first, count] of liveRanges(r))
        cold.push({ type: 'pages', path: r.path, first, count, pageSize: r.pageSize });
  }
  const packs = [
    ...layoutPacks(hot, 'changed', params.packTarget),
    ...layoutPacks(sortPieces(cold), 'rewritten', params.packTarget),
  ];
  const gone = new Set(rewritten);
  const kept = live.flatMap((n, i) => (n > 0 && !gone.has(i) ? [i] : []));
  if (kept.length + packs.length > params.maxPacks) {
    const full = fullPlan(today, 'many_packs', params, previous);
    if (full.packs.length < kept.length + packs.length) return full;
  }
  const keptSet = new Set(kept);
  return {
    full: false,
    packs,
    kept,
    dropped: previous.packs.flatMap((_, i) => (keptSet.has(i) ? [] : [i])),
    rewritten,
    changedBytes,
    rewrittenBytes: cold.reduce((n, x) => n + lengthOf(x), 0),
  };
}

/** Pieces by path (UTF-8 order) then page, adjacent page ranges merged: fewer, longer runs. */
function sortPieces(pieces: Piece[]): Piece[] {
  pieces.sort(
    (a, b) =>
      comparePaths(a.path, b.path) ||
      (a.type === 'pages' && b.type === 'pages' ? a.first - b.first : 0),
  );
  const out: Piece[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (
      last?.type === 'pages' &&
      p.type === 'pages' &&
      last.path === p.path &&
      last.first + last.count === p.first
    )
      last.count += p.count;
    else out.push({ ...p });
  }
  return out;
}
