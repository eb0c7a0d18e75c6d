/**
 * Extraction guards shared by the tar and ZIP readers on every platform: path traversal,
 * absolute paths, entry types, decompression bombs. The path rules are core's
 * (`@noah-backup/core/paths`, docs/FORMAT.md §8.5), the same the incremental manifest
 * enforces. Every refusal, of a hostile archive or of a damaged one, is a
 * `NoahError('unsafe_archive')` naming the rule that was broken, never the entry's name
 * or content.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';
import { relativePathProblem } from '@noah-backup/core/paths';

/** Limits on what an archive may expand to. Bytes are counted as written, not as declared. */
export interface ExtractLimits {
  /** Most entries (files and directories) in one archive. */
  readonly maxEntries: number;
  /** Most bytes over all files. */
  readonly maxTotalBytes: number;
  /** Most bytes in one file. */
  readonly maxEntryBytes: number;
}

/**
 * Defaults: generous for a wallet (a few databases and files), small enough to stop a
 * bomb long before it fills a phone. The free-space check during extraction is the
 * second line.
 */
export const DEFAULT_LIMITS: ExtractLimits = {
  maxEntries: 10_000,
  maxTotalBytes: 16 * 1024 ** 3,
  maxEntryBytes: 16 * 1024 ** 3,
};

/**
 * The refusal error.
 * @param rule - which rule the archive broke, e.g. "absolute path"
 */
export function unsafeArchive(rule: string, cause?: unknown): NoahError {
  return new NoahError('unsafe_archive', `refused an unsafe archive: ${rule}`, { cause });
}

/**
 * Validates an entry name and splits it into path segments: core's relative-path rules
 * (no NUL, backslash, absolute path, drive letter, empty, `.` or `..` segment; at most
 * 4,096 bytes and 64 segments). A directory's single trailing `/` is allowed; a file's
 * is not.
 * @param raw - the name as stored in the archive
 * @param isDir - whether the entry is a directory
 * @returns the segments (at least one)
 * @throws NoahError `unsafe_archive`
 */
export function entrySegments(raw: string, isDir: boolean): string[] {
  let name = raw;
  if (name.endsWith('/') && name.length > 1) {
    if (!isDir) throw unsafeArchive('file entry name ends with /');
    name = name.slice(0, -1);
  }
  const problem = relativePathProblem(name);
  if (problem !== undefined) throw unsafeArchive(problem);
  return name.split('/');
}

/** Tracks entries and bytes of one extraction against the limits. */
export interface EntryGuard {
  /**
   * Admits the next entry: checks its name, the entry count, duplicates, nesting under a
   * file, and (for files) the declared size against the limits.
   * @returns the relative path, `/`-separated
   */
  admit(raw: string, type: 'file' | 'directory', declaredSize?: number): string;
  /** Counts `n` real bytes written to the current file; throws past a limit. */
  addBytes(n: number): void;
  /** Entries (files and directories) admitted so far. */
  readonly entries: number;
  /** File entries admitted so far. */
  readonly files: number;
  /** Bytes written so far. */
  readonly totalBytes: number;
}

/**
 * Creates a guard for one extraction.
 * @param limits - the limits to enforce
 */
export function createEntryGuard(limits: ExtractLimits): EntryGuard {
  // path → what it is; 'implicit' = a parent directory created for a nested entry.
  const seen = new Map<string, 'file' | 'directory' | 'implicit'>();
  let entries = 0;
  let files = 0;
  let total = 0;
  let current = 0;
  return {
    admit(raw, type, declaredSize) {
      const segments = entrySegments(raw, type === 'directory');
      entries++;
      if (entries > limits.maxEntries)
        throw unsafeArchive(`more than ${limits.maxEntries} entries (maxEntries)`);
      for (let i = 1; i < segments.length; i++) {
        const parent = segments.slice(0, i).join('/');
        const kind = seen.get(parent);
        if (kind === 'file') throw unsafeArchive('entry nested under a file');
        if (kind === undefined) seen.set(parent, 'implicit');
      }
      const path = segments.join('/');
      const prior = seen.get(path);
      if (prior !== undefined && !(prior === 'implicit' && type === 'directory'))
        throw unsafeArchive('duplicate entry');
      seen.set(path, type);
      if (type === 'file') files++;
      if (type === 'file' && declaredSize !== undefined) {
        if (declaredSize > limits.maxEntryBytes)
          throw unsafeArchive(`entry larger than ${limits.maxEntryBytes} bytes (maxEntryBytes)`);
        if (total + declaredSize > limits.maxTotalBytes)
          throw unsafeArchive(`archive larger than ${limits.maxTotalBytes} bytes (maxTotalBytes)`);
      }
      current = 0;
      return path;
    },
    addBytes(n) {
      current += n;
      total += n;
      if (current > limits.maxEntryBytes)
        throw unsafeArchive(`entry larger than ${limits.maxEntryBytes} bytes (maxEntryBytes)`);
      if (total > limits.maxTotalBytes)
        throw unsafeArchive(`archive larger than ${limits.maxTotalBytes} bytes (maxTotalBytes)`);
    },
    get entries() {
      return entries;
    },
    get files() {
      return files;
    },
    get totalBytes() {
      return total;
    },
  };
}
