/**
 * Rules for the relative paths a backup stores (FORMAT.md §8.5): what the incremental
 * manifest's decoder enforces, and the same rules the tar and zip extraction guards
 * apply. Isomorphic and error-agnostic: each check returns the rule broken as a short
 * phrase that names no path, and the caller wraps it in its own error code.
 * @module
 */
import { astring, utf8ToBytes } from './bytes.ts';

/** Longest path accepted, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
/** Most segments a path may have. */
export const MAX_PATH_DEPTH = 64;

// A lone UTF-16 surrogate (in `u` mode a valid pair is one code point, so not matched).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const DRIVE_LETTER = /^[A-Za-z]:/;

/**
 * The rule a relative path breaks, or `undefined` if it follows them all: not empty, no
 * NUL, no backslash, not absolute, no drive letter, valid Unicode, at most 4,096 bytes of
 * UTF-8 and 64 segments, and no empty, `.` or `..` segment (so no leading, trailing or
 * doubled `/`).
 * @param path - the path, `/`-separated
 * @returns a phrase such as `'parent directory (..) segment'`, never the path itself
 * @throws TypeError if `path` is not a string
 * @example
 * ```ts
 * relativePathProblem('wallet/db.sqlite') // undefined
 * relativePathProblem('../etc/passwd')     // 'parent directory (..) segment'
 * ```
 */
export function relativePathProblem(path: string): string | undefined {
  astring('path', path);
  if (path.includes('\0')) return 'path contains NUL';
  if (path.length === 0) return 'empty path';
  if (path.includes('\\')) return 'backslash in path';
  if (path.startsWith('/')) return 'absolute path';
  if (DRIVE_LETTER.test(path)) return 'drive letter in path';
  if (LONE_SURROGATE.test(path)) return 'path is not valid Unicode';
  // Each UTF-16 unit is at most 3 UTF-8 bytes: encode only when the answer is in doubt.
  if (path.length * 3 > MAX_PATH_BYTES && utf8ToBytes(path).length > MAX_PATH_BYTES)
    return 'path too long';
  const segments = path.split('/');
  if (segments.length > MAX_PATH_DEPTH) return 'path nested too deep';
  for (const s of segments) {
    if (s === '') return 'empty path segment';
    if (s === '..') return 'parent directory (..) segment';
    if (s === '.') return 'current directory (.) segment';
  }
  return undefined;
}

/**
 * The parent directory of a relative path, or `undefined` at the top level.
 * @example
 * ```ts
 * parentPath('a/b/c') // 'a/b'
 * ```
 */
export function parentPath(path: string): string | undefined {
  const i = path.lastIndexOf('/');
  return i < 0 ? undefined : path.slice(0, i);
}

/**
 * Orders two paths by their UTF-8 bytes (which is Unicode code point order; JavaScript's
 * `<` compares UTF-16 units, which differs above U+D7FF).
 * @returns negative, zero or positive, as for `Array.prototype.sort`
 * @example
 * ```ts
 * ['b', 'a/b', 'a'].sort(comparePaths) // ['a', 'a/b', 'b']
 * ```
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++; // both took two units
  }
  return a.length - b.length;
}
