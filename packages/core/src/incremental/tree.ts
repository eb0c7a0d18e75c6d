/**
 * Today's tree, as the device sees it when it plans a backup: the same entries as a
 * manifest (FORMAT.md §8.4) without their places in packs, and for each database the
 * pages whose digest differs from the device cache's.
 * @module
 */
import { comparePaths, parentPath, relativePathProblem } from '../paths.ts';
import { DIGEST_LENGTH, isPageSize, MAX_ENTRIES, MAX_PAGE_COUNT } from './types.ts';

/** A directory. */
export interface TreeDirectory {
  type: 'directory';
  path: string;
}

/** A file stored whole. */
export interface TreeFile {
  type: 'file';
  path: string;
  size: number;
  /** Its file digest (FORMAT.md §8.3). */
  digest: Uint8Array;
}

/** A database, with what changed since the backup the device cache describes. */
export interface TreeDatabase {
  type: 'database';
  path: string;
  pageSize: number;
  pageCount: number;
  /** Its database digest (FORMAT.md §8.3). */
  digest: Uint8Array;
  /**
   * Page numbers (from 1, strictly increasing, at most `pageCount`) whose page digest
   * differs from the cache's. Pages past the previous page count are written whatever
   * this says; ignored for a database the previous manifest does not have.
   */
  changed: readonly number[];
}

/** One entry of today's tree. */
export type TreeEntry = TreeDirectory | TreeFile | TreeDatabase;

/** The rule a tree entry breaks, its path aside. */
function entryProblem(e: TreeEntry): string | undefined {
  if (e.type === 'directory') return undefined;
  if (!(e.digest instanceof Uint8Array) || e.digest.length !== DIGEST_LENGTH)
    return 'digest not 32 bytes';
  if (e.type === 'file')
    return Number.isSafeInteger(e.size) && e.size >= 0 ? undefined : 'size not an integer ≥ 0';
  if (e.type !== 'database') return 'unknown type';
  if (!isPageSize(e.pageSize)) return 'page size not a power of two in 512..65536';
  if (!Number.isInteger(e.pageCount) || e.pageCount < 1 || e.pageCount > MAX_PAGE_COUNT)
    return 'page count not in 1..2^31';
  if (!Array.isArray(e.changed)) return 'changed not an array';
  let last = 0;
  for (const p of e.changed) {
    if (!Number.isInteger(p) || p <= last || p > e.pageCount)
      return 'changed pages not increasing within 1..pageCount';
    last = p;
  }
  return undefined;
}

/**
 * Asserts a tree: at most 100,000 entries, paths following FORMAT.md §8.5 in UTF-8 byte
 * order with every parent directory listed before its children, and valid fields.
 * @throws RangeError naming the entry's index and the rule; TypeError if not an array
 */
export function checkTree(today: readonly TreeEntry[]): void {
  if (!Array.isArray(today)) throw new TypeError('today must be an array of tree entries');
  if (today.length > MAX_ENTRIES) throw new RangeError(`more than ${MAX_ENTRIES} entries`);
  const directories = new Set<string>();
  let previous: string | undefined;
  for (const [i, e] of today.entries()) {
    const bad = (rule: string) => new RangeError(`tree entry ${i}: ${rule}`);
    if (typeof e?.path !== 'string') throw bad('path not a string');
    const rule = relativePathProblem(e.path);
    if (rule) throw bad(rule);
    if (previous !== undefined && comparePaths(previous, e.path) >= 0)
      throw bad('path not after the previous one (unsorted or duplicate)');
    previous = e.path;
    const parent = parentPath(e.path);
    if (parent !== undefined && !directories.has(parent))
      throw bad('parent directory not listed before it');
    if (e.type === 'directory') directories.add(e.path);
    const problem = entryProblem(e);
    if (problem) throw bad(problem);
  }
}
