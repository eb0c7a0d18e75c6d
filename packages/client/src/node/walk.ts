/**
 * Walks a wallet data directory and classifies what it finds: directories, SQLite
 * databases (by header), their journal sidecars, other regular files, and what is
 * skipped (symlinks, sockets, devices…). Order is stable (byte order of names, parents
 * before children) so archives and digests are reproducible.
 * @module
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { hasSqliteHeader, isErrno } from './fs-util.ts';

/** What a path in the data directory is, for the snapshot. */
export type ItemKind = 'directory' | 'database' | 'file' | 'sidecar' | 'skipped';

/** One path found in the data directory. */
export interface WalkItem {
  /** Relative path with `/` separators. */
  readonly path: string;
  /** Absolute path on disk. */
  readonly abs: string;
  readonly kind: ItemKind;
  /** Size on disk in bytes (0 for directories and skipped items). */
  readonly size: number;
  /** Why the item is not archived (`sidecar` and `skipped` only). */
  readonly note?: string;
}

/** SQLite's journal files beside a database `X`: `X-wal`, `X-shm`, `X-journal`. */
const SIDECAR_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lists `root` recursively. Symlinks are never followed.
 * @param root - the data directory (must exist)
 * @returns every item, parents before children, names in byte order
 */
export async function walkDataDir(root: string): Promise<WalkItem[]> {
  const out: WalkItem[] = [];
  await walkInto(root, '', out);
  return out;
}

async function walkInto(absDir: string, relDir: string, out: WalkItem[]): Promise<void> {
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
    const isDb = await hasSqliteHeader(join(absDir, name)).catch((e: unknown) => {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    });
    if (isDb) databases.add(name);
  }
  for (const [name, s] of stats) {
    const rel = relDir ? `${relDir}/${name}` : name;
    const abs = join(absDir, name);
    if (s.kind === 'symlink') {
      out.push({ path: rel, abs, kind: 'skipped', size: 0, note: 'symbolic link, skipped' });
    } else if (s.kind === 'other') {
      out.push({ path: rel, abs, kind: 'skipped', size: 0, note: 'special file, skipped' });
    } else if (s.kind === 'dir') {
      out.push({ path: rel, abs, kind: 'directory', size: 0 });
      await walkInto(abs, rel, out);
    } else if (databases.has(name)) {
      out.push({ path: rel, abs, kind: 'database', size: s.size });
    } else {
      const owner = sidecarOwner(name);
      if (owner !== undefined && databases.has(owner))
        out.push({
          path: rel,
          abs,
          kind: 'sidecar',
          size: s.size,
          note: 'SQLite journal; its committed content is in the database copy',
        });
      else out.push({ path: rel, abs, kind: 'file', size: s.size });
    }
  }
}

/** `X-wal` → `X`; undefined if `name` has no journal suffix. */
function sidecarOwner(name: string): string | undefined {
  for (const suffix of SIDECAR_SUFFIXES)
    if (name.endsWith(suffix) && name.length > suffix.length) return name.slice(0, -suffix.length);
  return undefined;
}
