/**
 * Builds the next manifest (FORMAT.md §8.4) once a plan's packs are written: each
 * database's runs from the previous map, with today's and the rewritten pages moved to
 * their places in the new packs; files likewise; packs no entry references left out.
 * Pure: no I/O.
 * @module
 */
import { manifestProblem } from './manifest-rules.ts';
import type { BackupPlan } from './plan.ts';
import type { TreeDatabase, TreeEntry } from './tree.ts';
import type { Manifest, ManifestEntry, ManifestPack, Run } from './types.ts';

/** Where a piece of a new pack went, by path. */
interface NewPlaces {
  files: Map<string, { pack: number; offset: number }>;
  pages: Map<string, { first: number; count: number; pack: number; offset: number }[]>;
}

function newPlaces(plan: BackupPlan, firstIndex: number): NewPlaces {
  const places: NewPlaces = { files: new Map(), pages: new Map() };
  for (const [k, layout] of plan.packs.entries())
    for (const item of layout.items) {
      const pack = firstIndex + k;
      if (item.type === 'file') places.files.set(item.path, { pack, offset: item.offset });
      else {
        const list = places.pages.get(item.path) ?? [];
        list.push({ first: item.first, count: item.count, pack, offset: item.offset });
        places.pages.set(item.path, list);
      }
    }
  return places;
}

/** A database's runs: the previous map (packs renumbered), overlaid by the new places. */
function databaseRuns(
  index: number,
  e: TreeDatabase,
  prev: ManifestEntry | undefined,
  renumber: Map<number, number>,
  places: NewPlaces,
): Run[] {
  const packOf = new Int32Array(e.pageCount).fill(-1);
  const offsetOf = new Float64Array(e.pageCount);
  const set = (page: number, pack: number, offset: number) => {
    packOf[page - 1] = pack;
    offsetOf[page - 1] = offset;
  };
  if (prev?.type === 'database' && prev.pageSize === e.pageSize) {
    let start = 1;
    for (const run of prev.runs) {
      const pack = renumber.get(run.pack);
      const end = Math.min(start + run.count - 1, e.pageCount);
      if (pack !== undefined)
        for (let p = start; p <= end; p++) set(p, pack, run.offset + (p - start) * e.pageSize);
      start += run.count;
    }
  }
  for (const at of places.pages.get(e.path) ?? [])
    for (let i = 0; i < at.count; i++) set(at.first + i, at.pack, at.offset + i * e.pageSize);
  const runs: Run[] = [];
  for (let i = 0; i < e.pageCount; i++) {
    const pack = packOf[i]!;
    if (pack < 0) throw new RangeError(`tree entry ${index}: page ${i + 1} has no place`);
    const last = runs[runs.length - 1];
    if (last && last.pack === pack && last.offset + last.count * e.pageSize === offsetOf[i])
      last.count++;
    else runs.push({ count: 1, pack, offset: offsetOf[i]! });
  }
  return runs;
}

/**
 * The next manifest: today's entries, each page and file at its place, in the previous
 * manifest's kept packs or in the plan's new packs (listed in that order, less any that
 * no entry references any more).
 * @param previous - the manifest the plan was made from (undefined for a first backup)
 * @param today - the tree the plan was made from
 * @param plan - from `planBackup`
 * @param written - the new packs as written, in the plan's order: key (from the server),
 *   size, SHA-256 and plaintext size (from `encryptPack(…).summary()`)
 * @returns a manifest that follows every rule of FORMAT.md §8.6
 * @throws RangeError if the inputs do not belong together (a pack's plaintext size
 *   differs from the plan's, a page or file has no place)
 * @example
 * ```ts
 * const next = buildManifest(cache?.manifest, tree, plan, packs.map((p, i) => ({ key: keys[i], ...p.summary() })));
 * ```
 */
export function buildManifest(
  previous: Manifest | undefined,
  today: readonly TreeEntry[],
  plan: BackupPlan,
  written: readonly ManifestPack[],
): Manifest {
  if (written.length !== plan.packs.length)
    throw new RangeError(`written must list the plan's ${plan.packs.length} packs`);
  for (const [i, p] of written.entries())
    if (p.plainSize !== plan.packs[i]!.plainSize)
      throw new RangeError(`written pack ${i}: plaintext size differs from the plan's`);
  const base = plan.full || !previous ? [] : plan.kept.map((i) => previous.packs[i]!);
  const renumber = new Map(plan.full ? [] : plan.kept.map((prev, i) => [prev, i] as const));
  const places = newPlaces(plan, base.length);
  const prevByPath = new Map(previous?.entries.map((e) => [e.path, e]));
  const entries = today.map((e, index): ManifestEntry => {
    if (e.type === 'directory') return { type: 'directory', path: e.path };
    const prev = plan.full ? undefined : prevByPath.get(e.path);
    if (e.type === 'database') {
      const runs = databaseRuns(index, e, prev, renumber, places);
      const { path, pageSize, pageCount, digest } = e;
      return { type: 'database', path, pageSize, pageCount, digest, runs };
    }
    const file = { type: 'file' as const, path: e.path, size: e.size, digest: e.digest };
    if (e.size === 0) return { ...file, pack: 0, offset: 0 };
    const at = places.files.get(e.path);
    if (at) return { ...file, ...at };
    const pack = prev?.type === 'file' ? renumber.get(prev.pack) : undefined;
    if (prev?.type !== 'file' || pack === undefined)
      throw new RangeError(`tree entry ${index}: file has no place`);
    return { ...file, pack, offset: prev.offset };
  });
  const manifest = dropUnreferenced({ packs: [...base, ...written], entries });
  const problem = manifestProblem(manifest);
  if (problem) throw new RangeError(`the next manifest would be invalid: ${problem}`);
  return manifest;
}

/** Leaves out packs no entry references, renumbering the references. */
function dropUnreferenced(m: Manifest): Manifest {
  const used = new Uint8Array(m.packs.length);
  for (const e of m.entries) {
    if (e.type === 'file' && e.size > 0) used[e.pack] = 1;
    if (e.type === 'database') for (const r of e.runs) used[r.pack] = 1;
  }
  if (!used.includes(0)) return m;
  const index = new Int32Array(m.packs.length);
  let n = 0;
  for (let i = 0; i < used.length; i++) index[i] = used[i] ? n++ : -1;
  for (const e of m.entries) {
    if (e.type === 'file' && e.size > 0) e.pack = index[e.pack]!;
    if (e.type === 'database') for (const r of e.runs) r.pack = index[r.pack]!;
  }
  return { packs: m.packs.filter((_, i) => used[i]), entries: m.entries };
}
