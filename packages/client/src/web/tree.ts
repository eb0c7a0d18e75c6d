/**
 * Incremental backups of a wallet the page holds in memory (docs/FORMAT.md §8): a
 * page-stable snapshot over copies of its files, and the in-memory staging a manifest
 * restore fills. A browser wallet's databases already live in memory (sql.js), and
 * sql.js `export()` returns the database file as SQLite wrote it, page numbers and all,
 * so its copy is as page-stable as SQLite's online backup on Node. Packs are streamed
 * by the pipeline into the staged files; no pack is held whole.
 * @module
 */
import { throwIfAborted } from '../errors.ts';
import { comparePaths, parentPath } from '@noah-backup/core/paths';
import type { ArchiveItem } from '../archive/entry.ts';
import { unsafeArchive } from '../archive/guards.ts';
import type { PageSnapshot, PageSnapshotItem, TreeFill, TreeSink } from '../ports.ts';

/** Largest chunk `read` yields (the port's bound). */
const READ_CHUNK = 1024 * 1024;

/** One file of a snapshot, its bytes a private copy. */
export interface SnapshotFile {
  readonly path: string;
  readonly data: Uint8Array;
  /** The database's page size (docs/FORMAT.md §8.4); absent for a file stored whole. */
  readonly pageSize?: number;
}

/** SQLite's page size, from the header (bytes 16–17, big-endian; 1 means 65,536). */
export function sqlitePageSize(bytes: Uint8Array): number {
  const v = ((bytes[16] ?? 0) << 8) | (bytes[17] ?? 0);
  return v === 1 ? 65_536 : v;
}

/**
 * A {@link PageSnapshot} over files held in memory: every parent directory listed,
 * sorted by path; `read` yields views of the copies, at most 1 MiB each.
 */
export function memoryPageSnapshot(files: readonly SnapshotFile[]): PageSnapshot {
  const items: PageSnapshotItem[] = [];
  const dirs = new Set<string>();
  const data = new Map<string, Uint8Array>();
  const databases: string[] = [];
  let bytes = 0;
  for (const f of files) {
    for (let p = parentPath(f.path); p !== undefined; p = parentPath(p)) {
      if (dirs.has(p)) break;
      dirs.add(p);
      items.push({ type: 'directory', path: p });
    }
    data.set(f.path, f.data);
    bytes += f.data.length;
    if (f.pageSize === undefined) items.push({ type: 'file', path: f.path, size: f.data.length });
    else {
      items.push({
        type: 'database',
        path: f.path,
        pageSize: f.pageSize,
        pageCount: f.data.length / f.pageSize,
      });
      databases.push(f.path);
    }
  }
  items.sort((a, b) => comparePaths(a.path, b.path));
  let cleaned = false;
  return {
    items,
    databases,
    bytes,
    // Each database passed its integrity check before this snapshot was made.
    checked: Promise.resolve(),
    async *read(path, position, length) {
      const d = data.get(path);
      if (cleaned || d === undefined) throw new RangeError(`${path} is not in the snapshot`);
      if (position < 0 || position + length > d.length)
        throw new RangeError(`a read outside ${path}`);
      for (let at = position; at < position + length; at += READ_CHUNK)
        yield d.subarray(at, Math.min(at + READ_CHUNK, position + length));
    },
    async cleanup() {
      cleaned = true;
      data.clear();
    },
  };
}

/** What a filled {@link MemoryTree} holds. */
export interface StagedTree {
  /** Directories and files, in the order they were made. */
  readonly items: readonly ArchiveItem[];
  /** The files' contents (only those admitted), by path, each in a buffer of its own. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The paths made as databases (admitted or not). */
  readonly databases: readonly string[];
}

/** A staging area in memory for a manifest restore: the sink, then what it holds. */
export interface MemoryTree {
  readonly sink: TreeSink;
  staged(): StagedTree;
}

/**
 * Creates an empty in-memory staging area.
 * @param opts.admit - asked before each directory or file is made: false drops the
 *   entry (its writes are discarded); a throw refuses the backup before its packs are
 *   fetched (another kind of wallet's, a file too large to keep)
 */
export function createMemoryTree(
  opts: {
    admit?: (item: ArchiveItem) => boolean | Promise<boolean>;
    signal?: AbortSignal | undefined;
  } = {},
): MemoryTree {
  const items: ArchiveItem[] = [];
  const made = new Set<string>();
  const files = new Map<string, Uint8Array>();
  const sizes = new Map<string, number>();
  const databases: string[] = [];
  const make = async (item: ArchiveItem) => {
    throwIfAborted(opts.signal);
    if (made.has(item.path)) throw unsafeArchive('entry names collide');
    const kept = opts.admit ? await opts.admit(item) : true;
    made.add(item.path);
    items.push(item);
    return kept;
  };
  const sink: TreeSink = {
    async mkdir(path) {
      await make({ path, type: 'directory', size: 0 });
    },
    async create(path, size, kind) {
      const kept = await make({ path, type: 'file', size });
      sizes.set(path, size);
      if (kind === 'database') databases.push(path);
      if (kept) files.set(path, new Uint8Array(size));
    },
    async write(path, position, data) {
      throwIfAborted(opts.signal);
      const size = sizes.get(path);
      if (size === undefined || position < 0 || position + data.length > size)
        throw new RangeError(`a write outside ${path}`);
      files.get(path)?.set(data, position);
    },
  };
  return { sink, staged: () => ({ items, files, databases }) };
}

/** A fill that writes a staged tree again, whole files at once (the worker hands one over). */
export function fillFrom(tree: StagedTree): TreeFill {
  const databases = new Set(tree.databases);
  return async (sink) => {
    for (const item of tree.items) {
      if (item.type === 'directory') {
        await sink.mkdir(item.path);
        continue;
      }
      const data = tree.files.get(item.path);
      if (data === undefined) continue; // dropped when it was staged
      await sink.create(item.path, data.length, databases.has(item.path) ? 'database' : 'file');
      if (data.length > 0) await sink.write(item.path, 0, data);
    }
  };
}
