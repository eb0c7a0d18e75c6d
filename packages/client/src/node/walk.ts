/**
 * Walks a wallet data directory and classifies what it finds: directories, SQLite
 * databases (by header), damaged databases (a file that should be one and is not), their
 * journal sidecars, other regular files, and what is skipped (symlinks, sockets,
 * devices…). Order is stable (byte order of names, parents before children) so archives
 * and digests are reproducible. What counts as a database: docs/WALLET.md §1.
 * @module
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { hasSqliteHeader, isErrno } from './fs-util.ts';

/** What a path in the data directory is, for the snapshot. */
export type ItemKind = 'directory' | 'database' | 'damaged' | 'file' | 'sidecar' | 'skipped';

/** One path found in the data directory. */
export interface WalkItem {
  /** Relative path with `/` separators. */
  readonly path: string;
  /** Absolute path on disk. */
  readonly abs: string;
  readonly kind: ItemKind;
  /** Size on disk in bytes (0 for directories and skipped items). */
  readonly size: number;
  /** Why the item is not archived (`sidecar` and `skipped`), or why it is `damaged`. */
  readonly note?: string;
}

/** What marks a file that does not start with the SQLite header as a damaged database. */
export interface WalkOptions {
  /**
   * Relative paths (`/` separators) that must be SQLite databases: the ones an app
   * declares, and the ones that held a database in the last backup.
   */
  readonly expected?: ReadonlySet<string>;
  /**
   * Whether a database's usual name (`*.sqlite`, `*.sqlite3`, `*.db`, `*.db3`) marks a
   * file as one (default true; an app that declares its databases turns it off, so its
   * `.db` files in other formats stay plain files).
   */
  readonly byName?: boolean;
}

/** The names SQLite databases usually have (docs/WALLET.md §1). */
const DATABASE_NAME = /\.(?:sqlite3?|db3?)$/i;

/** SQLite's journal files beside a database `X`: `X-wal`, `X-shm`, `X-journal`. */
const SIDECAR_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lists `root` recursively. Symlinks are never followed.
 * @param root - the data directory (must exist)
 * @param opts - what marks a file as a (damaged) database
 * @returns every item, parents before children, names in byte order
 */
export async function walkDataDir(root: string, opts: WalkOptions = {}): Promise<WalkItem[]> {
  const out: WalkItem[] = [];
  await walkInto(root, '', opts, (item) => {
    out.push(item);
    return false;
  });
  return out;
}

/**
 * True if `root` holds a database, sound or damaged, anywhere below it (the walk stops
 * at the first): what makes a directory a wallet's (docs/WALLET.md §1).
 * @param root - an existing directory
 * @param opts - as for {@link walkDataDir}
 */
export async function holdsDatabase(root: string, opts: WalkOptions = {}): Promise<boolean> {
  return walkInto(root, '', opts, (item) => item.kind === 'database' || item.kind === 'damaged');
}

/** Walks one directory level and below; `emit` returns true to stop the whole walk. */
async function walkInto(
  absDir: string,
  relDir: string,
  opts: WalkOptions,
  emit: (item: WalkItem) => boolean,
): Promise<boolean> {
  const names = (await fsp.readdir(absDir)).sort(byteOrder);
  const stats = new Map<string, { kind: 'dir' | 'file' | 'other' | 'symlink'; size: number }>();
  for (const name of names) {
    // The wallet may delete a file while we walk (temp files): what vanished is not listed.
    const st = await fsp.lstat(join(absDir, name)).catch((e: unknown) => {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    });
    if (st === undefined) continue;
    const kind = st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : 'other';
    stats.set(name, { kind, size: kind === 'file' ? st.size : 0 });
  }
  const databases = new Set<string>();
  for (const [name, s] of stats) {
    if (s.kind !== 'file') continue;
    // Never opened to be sniffed: `X-wal`/`-shm`/`-journal` beside a file `X` (closing a
    // descriptor of `-shm` drops this process's SQLite locks on it: docs/WALLET.md §5).
    const owner = sidecarOwner(name);
    if (owner !== undefined && stats.get(owner)?.kind === 'file') continue;
    const isDb = await hasSqliteHeader(join(absDir, name)).catch((e: unknown) => {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    });
    if (isDb) databases.add(name);
  }
  // A file that should be a database and does not start with the header is a damaged
  // one (emptied, or its first page overwritten): never a plain file (docs/WALLET.md §1).
  const damaged = new Map<string, string>();
  for (const [name, s] of stats) {
    if (s.kind !== 'file' || databases.has(name) || sidecarOwner(name) !== undefined) continue;
    const why = damageReason(name, relDir ? `${relDir}/${name}` : name, stats, opts);
    if (why) damaged.set(name, why);
  }
  for (const [name, s] of stats) {
    const rel = relDir ? `${relDir}/${name}` : name;
    const abs = join(absDir, name);
    let item: WalkItem;
    if (s.kind === 'symlink') {
      item = { path: rel, abs, kind: 'skipped', size: 0, note: 'symbolic link, skipped' };
    } else if (s.kind === 'other') {
      item = { path: rel, abs, kind: 'skipped', size: 0, note: 'special file, skipped' };
    } else if (s.kind === 'dir') {
      if (emit({ path: rel, abs, kind: 'directory', size: 0 })) return true;
      if (await walkInto(abs, rel, opts, emit)) return true;
      continue;
    } else if (databases.has(name)) {
      item = { path: rel, abs, kind: 'database', size: s.size };
    } else if (damaged.has(name)) {
      item = { path: rel, abs, kind: 'damaged', size: s.size, note: damaged.get(name) };
    } else {
      const owner = sidecarOwner(name);
      item =
        owner !== undefined && (databases.has(owner) || damaged.has(owner))
          ? {
              path: rel,
              abs,
              kind: 'sidecar',
              size: s.size,
              note: 'SQLite journal; its committed content is in the database copy',
            }
          : { path: rel, abs, kind: 'file', size: s.size };
    }
    if (emit(item)) return true;
  }
  return false;
}

/** Why a file without the SQLite header should be a database; undefined if it need not. */
function damageReason(
  name: string,
  rel: string,
  stats: ReadonlyMap<string, { kind: string; size: number }>,
  opts: WalkOptions,
): string | undefined {
  let why: string | undefined;
  if (opts.expected?.has(rel)) why = 'where a database is expected';
  else if (SIDECAR_SUFFIXES.some((suffix) => stats.get(name + suffix)?.kind === 'file'))
    why = 'with SQLite journal files beside it';
  else if ((opts.byName ?? true) && DATABASE_NAME.test(name)) why = "with a database's name";
  if (why === undefined) return undefined;
  const what = stats.get(name)?.size === 0 ? 'an empty file (0 bytes)' : 'not a SQLite database';
  return `${what} ${why}`;
}

/** `X-wal` → `X`; undefined if `name` has no journal suffix. */
function sidecarOwner(name: string): string | undefined {
  for (const suffix of SIDECAR_SUFFIXES)
    if (name.endsWith(suffix) && name.length > suffix.length) return name.slice(0, -suffix.length);
  return undefined;
}
