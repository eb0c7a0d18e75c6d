/**
 * The rules every manifest follows (FORMAT.md §8.6), checked on the decoded data: what
 * the decoder enforces after parsing, and what the encoder checks before it writes, so
 * neither can let an invalid manifest through. Each failure is a short phrase naming
 * indexes, never paths or keys.
 * @module
 */
import { comparePaths, parentPath, relativePathProblem } from '../paths.ts';
import { V2_MAX_PAYLOAD, v2PayloadSize } from '../v2/size.ts';
import {
  DIGEST_LENGTH,
  isPageSize,
  type Manifest,
  type ManifestEntry,
  type ManifestPack,
  MAX_ENTRIES,
  MAX_KEY_LENGTH,
  MAX_PACKS,
  MAX_PAGE_COUNT,
} from './types.ts';

/** Pack keys: 1..128 bytes of `[A-Za-z0-9/_.-]` (the server's `s3_key`). */
const KEY = /^[A-Za-z0-9/_.-]+$/;

const isCount = (n: unknown, min = 0): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
const isDigest = (d: unknown) => d instanceof Uint8Array && d.length === DIGEST_LENGTH;

/** True if `size` bytes is the size of some v2 file (FORMAT.md §5.5). */
function isV2Size(size: number): boolean {
  try {
    v2PayloadSize(size);
    return true;
  } catch {
    return false;
  }
}

function packProblem(p: ManifestPack, i: number, keys: Set<string>): string | undefined {
  if (typeof p.key !== 'string' || p.key.length < 1 || p.key.length > MAX_KEY_LENGTH)
    return `pack ${i}: key not 1..128 bytes`;
  if (!KEY.test(p.key)) return `pack ${i}: key has a byte outside [A-Za-z0-9/_.-]`;
  if (keys.has(p.key)) return `pack ${i}: key listed twice`;
  keys.add(p.key);
  if (!isCount(p.size) || !isV2Size(p.size)) return `pack ${i}: size is not a v2 file size`;
  if (!isDigest(p.sha256)) return `pack ${i}: sha256 not 32 bytes`;
  if (!isCount(p.plainSize) || p.plainSize > V2_MAX_PAYLOAD)
    return `pack ${i}: plain_size above 2^50`;
  return undefined;
}

/** Records one reference to `length` bytes at `offset` of pack `pack`, bounds-checked. */
type Refer = (pack: unknown, offset: unknown, length: number) => string | undefined;

/** The rule a file or database entry breaks (its path checked already). */
function entryProblem(e: ManifestEntry, refer: Refer): string | undefined {
  if (e.type === 'directory') return undefined;
  if (!isDigest(e.digest)) return `digest not 32 bytes`;
  if (e.type === 'file') {
    if (!isCount(e.size)) return `file size not an integer`;
    if (e.size === 0)
      return e.pack === 0 && e.offset === 0 ? undefined : `empty file with a pack index or offset`;
    return refer(e.pack, e.offset, e.size);
  }
  if (e.type !== 'database') return `unknown type`;
  if (!isPageSize(e.pageSize)) return `page size not a power of two in 512..65536`;
  if (!isCount(e.pageCount, 1) || e.pageCount > MAX_PAGE_COUNT) return `page count not in 1..2^31`;
  if (!Array.isArray(e.runs) || e.runs.length < 1 || e.runs.length > e.pageCount)
    return `run count not in 1..page_count`;
  let pages = 0;
  for (const run of e.runs) {
    if (!isCount(run.count, 1)) return `run of no pages`;
    pages += run.count;
    if (pages > e.pageCount) return `runs cover more than page_count pages`;
    const problem = refer(run.pack, run.offset, run.count * e.pageSize);
    if (problem) return problem;
  }
  if (pages < e.pageCount) return `runs cover fewer than page_count pages`;
  return undefined;
}

/**
 * The first rule of FORMAT.md §8.6 that `m` breaks, or `undefined` if it follows all of
 * them (limits, pack keys and sizes, paths and their order, references in bounds, runs
 * covering each database exactly, every pack referenced, no two references overlapping).
 * @param m - a manifest, decoded or about to be encoded
 * @returns a phrase such as `'entry 3: runs cover fewer than page_count pages'`
 * @example
 * ```ts
 * const problem = manifestProblem(next); if (problem) throw new Error(problem);
 * ```
 */
export function manifestProblem(m: Manifest): string | undefined {
  if (!Array.isArray(m?.packs) || !Array.isArray(m.entries)) return 'not a manifest';
  if (m.packs.length > MAX_PACKS) return `more than ${MAX_PACKS} packs`;
  if (m.entries.length > MAX_ENTRIES) return `more than ${MAX_ENTRIES} entries`;
  const keys = new Set<string>();
  for (const [i, p] of m.packs.entries()) {
    const problem = packProblem(p, i, keys);
    if (problem) return problem;
  }
  // References, as (pack, offset, length), to check overlaps once all are known.
  const refs: [number, number, number][] = [];
  const refer: Refer = (pack, offset, length) => {
    if (!isCount(pack) || pack >= m.packs.length) return 'pack index out of range';
    const plain = m.packs[pack]!.plainSize;
    if (!isCount(offset) || length > plain || offset > plain - length)
      return 'reference past the end of its pack';
    refs.push([pack, offset, length]);
    return undefined;
  };
  const directories = new Set<string>();
  let previous: string | undefined;
  for (const [i, e] of m.entries.entries()) {
    if (typeof e?.path !== 'string') return `entry ${i}: path not a string`;
    const rule = relativePathProblem(e.path);
    if (rule) return `entry ${i}: ${rule}`;
    if (previous !== undefined && comparePaths(previous, e.path) >= 0)
      return `entry ${i}: path not after the previous one (unsorted or duplicate)`;
    previous = e.path;
    const parent = parentPath(e.path);
    if (parent !== undefined && !directories.has(parent))
      return `entry ${i}: parent directory not listed before it`;
    if (e.type === 'directory') directories.add(e.path);
    const problem = entryProblem(e, refer);
    if (problem) return `entry ${i}: ${problem}`;
  }
  return referencesProblem(m.packs.length, refs);
}

/** Every pack referenced at least once, and no two references overlapping. */
function referencesProblem(packs: number, refs: [number, number, number][]): string | undefined {
  refs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const used = new Uint8Array(packs);
  for (const [k, [pack, offset]] of refs.entries()) {
    used[pack] = 1;
    const prev = refs[k - 1];
    if (prev && prev[0] === pack && prev[1] + prev[2] > offset)
      return `pack ${pack}: two references overlap`;
  }
  const unused = used.indexOf(0);
  return unused < 0 ? undefined : `pack ${unused}: referenced by no entry`;
}
