/** Shared fixtures for the incremental tests: valid manifests, built by hand or at random. */
import fc from 'fast-check';
import type { Manifest, ManifestEntry, ManifestPack, Run } from '../src/incremental/types.ts';
import { comparePaths, parentPath } from '../src/paths.ts';
import { v2CiphertextSize } from '../src/v2/size.ts';

/** A 32-byte digest filled with `b`. */
export const digest = (b: number) => new Uint8Array(32).fill(b);

/** A pack with a plausible key and ciphertext size. */
export function pack(i: number, plainSize: number): ManifestPack {
  return {
    key: `b/${i.toString(16).padStart(32, '0')}`,
    size: v2CiphertextSize(Math.ceil(plainSize * 0.85)),
    sha256: digest(0x50 + (i % 64)),
    plainSize,
  };
}

/** A small valid manifest with one of everything. */
export function sampleManifest(): Manifest {
  return {
    packs: [pack(0, 9216), pack(1, 5000)],
    entries: [
      { type: 'file', path: 'config.json', size: 100, digest: digest(1), pack: 1, offset: 0 },
      { type: 'directory', path: 'data' },
      { type: 'file', path: 'data/empty', size: 0, digest: digest(2), pack: 0, offset: 0 },
      {
        type: 'database',
        path: 'data/wallet.sqlite',
        pageSize: 1024,
        pageCount: 10,
        digest: digest(3),
        runs: [
          { count: 6, pack: 0, offset: 0 },
          { count: 2, pack: 1, offset: 1024 },
          { count: 2, pack: 0, offset: 7168 },
        ],
      },
    ],
  };
}

interface Shape {
  paths: string[];
  kinds: ('directory' | 'file' | 'database')[];
  sizes: number[];
  pageSizes: number[];
  cuts: number[][];
  packOf: number[];
  gaps: number[];
  packs: number;
}

/** Builds a valid manifest from a random shape: references laid out with gaps. */
function build(s: Shape): Manifest {
  // Every parent of a chosen path becomes a directory; other paths are files or databases.
  const dirs = new Set<string>();
  for (const p of s.paths) for (let q = parentPath(p); q; q = parentPath(q)) dirs.add(q);
  const all = [...new Set([...s.paths, ...dirs])].sort(comparePaths);
  const ends = new Array<number>(s.packs).fill(0);
  let k = 0;
  const place = (length: number) => {
    const p = s.packOf[k % s.packOf.length]! % s.packs;
    const offset = ends[p]! + s.gaps[k % s.gaps.length]!;
    k++;
    ends[p] = offset + length;
    return { pack: p, offset };
  };
  const entries: ManifestEntry[] = all.map((path, i): ManifestEntry => {
    const kind = dirs.has(path) ? 'directory' : s.kinds[i % s.kinds.length]!;
    if (kind === 'directory') return { type: 'directory', path };
    if (kind === 'file') {
      const size = s.sizes[i % s.sizes.length]!;
      const at = size === 0 ? { pack: 0, offset: 0 } : place(size);
      return { type: 'file', path, size, digest: digest(i), ...at };
    }
    const pageSize = s.pageSizes[i % s.pageSizes.length]!;
    const cuts = s.cuts[i % s.cuts.length]!;
    const runs: Run[] = cuts.map((count) => ({ count, ...place(count * pageSize) }));
    const pageCount = cuts.reduce((a, b) => a + b, 0);
    return { type: 'database', path, pageSize, pageCount, digest: digest(i), runs };
  });
  // Keep referenced packs only, renumbered in order.
  const used = [...new Set(entries.flatMap(refsOf))].sort((a, b) => a - b);
  const index = new Map(used.map((p, i) => [p, i]));
  for (const e of entries) {
    if (e.type === 'file' && e.size > 0) e.pack = index.get(e.pack)!;
    if (e.type === 'database') for (const r of e.runs) r.pack = index.get(r.pack)!;
  }
  const packs = used.map((p, i) => pack(i, ends[p]! + (s.gaps[i % s.gaps.length]! % 7)));
  return { packs, entries };
}

function refsOf(e: ManifestEntry): number[] {
  if (e.type === 'file') return e.size > 0 ? [e.pack] : [];
  return e.type === 'database' ? e.runs.map((r) => r.pack) : [];
}

const segment = fc.constantFrom('a', 'b', 'wallet', 'é', '日本', '🔑', 'x.y', 'A', '-');

/** Arbitrary valid manifests: nested paths, every entry type, runs over several packs. */
export const arbManifest: fc.Arbitrary<Manifest> = fc
  .record({
    paths: fc.uniqueArray(
      fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
      { maxLength: 8 },
    ),
    kinds: fc.array(fc.constantFrom('file', 'database'), { minLength: 1, maxLength: 4 }),
    sizes: fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 4 }),
    pageSizes: fc.array(fc.constantFrom(512, 1024, 65536), { minLength: 1, maxLength: 3 }),
    cuts: fc.array(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 5 }), {
      minLength: 1,
      maxLength: 3,
    }),
    packOf: fc.array(fc.nat(9), { minLength: 1, maxLength: 6 }),
    gaps: fc.array(fc.constantFrom(0, 0, 1, 300, 2 ** 20), { minLength: 1, maxLength: 4 }),
    packs: fc.integer({ min: 1, max: 5 }),
  })
  .map((s) => build(s as Shape));
