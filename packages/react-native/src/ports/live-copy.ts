/**
 * The wallet's data as the React Native adapter sees it, and its page-stable copy
 * (docs/FORMAT.md §8.8; docs/REACT-NATIVE.md §8): the data directory walked through the
 * file seam, each SQLite database copied byte for byte inside one read transaction of
 * its own op-sqlite connection, so the copy keeps the live file's page numbers and is
 * one consistent state while the wallet keeps writing. op-sqlite has no binding of
 * SQLite's backup API, and its SQLite is not built with the `sqlite_dbpage` table, so
 * the pages are read from the file itself while SQLite guarantees nobody changes it:
 * - rollback journal: the transaction's SHARED lock keeps every writer off the file;
 * - WAL: the file, then the WAL, are copied while the transaction holds its read mark,
 *   and the copy's WAL is checkpointed into the copy. A checkpoint may write into the
 *   live file meanwhile, but only frames up to the reader's mark, which the WAL copy
 *   holds too (the WAL cannot restart under the reader), so every page it touched is
 *   written again from the WAL copy; a reader on a fully checkpointed WAL (mark 0)
 *   blocks checkpoints altogether, and frames a writer appends meanwhile are either a
 *   whole later commit or dropped by SQLite's WAL recovery (checksums, salts).
 * Nothing is written to the live files (no checkpoint of the app's database).
 * Every copy then passes `PRAGMA integrity_check` before anything uses it.
 * @module
 */
import { throwIfAborted } from '@noah-backup/client/errors';
import { comparePaths } from '@noah-backup/core/paths';
import type { PageSnapshotItem } from '@noah-backup/client/ports';
import {
  corruptWalletDatabase,
  hasSqliteHeader,
  notAWallet,
} from '@noah-backup/client/wallet-refusals';
import { copyFile, joinPath, randomTag, type RnFiles } from './files.ts';
import { integrityCheckAt, isCorruption, type OpSqliteOpen, openAt } from './op-sqlite.ts';

/** One entry of the data directory. */
export interface WalkedItem {
  readonly kind: 'directory' | 'file' | 'database';
  /** Relative, `/`-separated. */
  readonly path: string;
  readonly abs: string;
  readonly size: number;
}

/** A database's journal files, never copied raw (their committed content is in the copy). */
const SIDECAR = /-(wal|shm|journal)$/;

/**
 * The data directory's entries, sorted by path (parents first). A file is a database
 * when it starts with the SQLite header; one of `declared` that does not is damaged.
 * @throws NoahError `corrupt_wallet_database`
 */
export async function walkWallet(
  files: RnFiles,
  root: string,
  declared: readonly string[],
): Promise<WalkedItem[]> {
  const out: WalkedItem[] = [];
  const visit = async (dir: string, rel: string): Promise<void> => {
    const names = await files.list(dir);
    const here = new Set(names);
    for (const name of names) {
      if (SIDECAR.test(name) && here.has(name.replace(SIDECAR, ''))) continue;
      const abs = joinPath(dir, name);
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await files.stat(abs);
      if (st === null) continue; // gone meanwhile
      if (st.type === 'directory') {
        out.push({ kind: 'directory', path, abs, size: 0 });
        await visit(abs, path);
        continue;
      }
      const head = st.size >= 16 ? await files.read(abs, 0, 16) : new Uint8Array(0);
      const database = hasSqliteHeader(head);
      if (!database && declared.includes(path))
        throw corruptWalletDatabase(path, 'not a SQLite database where a database is expected');
      out.push({ kind: database ? 'database' : 'file', path, abs, size: st.size });
    }
  };
  if ((await files.stat(root))?.type === 'directory') await visit(root, '');
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * Copies the live database `src` to the new file `dest`, page for page, as one read
 * transaction of a connection of its own (see the module's comment), without writing
 * to the live files: no checkpoint.
 * @throws SQLite's errors
 */
export async function copyLiveDatabase(
  open: OpSqliteOpen,
  files: RnFiles,
  src: string,
  dest: string,
): Promise<void> {
  let withWal = false;
  const db = openAt(open, src);
  try {
    const { rows } = await db.execute('SELECT journal_mode FROM pragma_journal_mode');
    const wal = String(rows[0]?.journal_mode).toLowerCase() === 'wal';
    await db.transaction(async (tx) => {
      // The first read takes the lock the module's comment relies on.
      await tx.execute('SELECT count(*) AS n FROM sqlite_schema');
      // The WAL's frames up to its size now hold every commit up to the lock's; what a
      // writer appends after is a later commit, not needed (and would be chased forever).
      const walSize = wal ? ((await files.stat(`${src}-wal`))?.size ?? 0) : 0;
      await copyFile(files, src, dest);
      if (walSize > 0) {
        await copyFile(files, `${src}-wal`, `${dest}-wal`, walSize);
        withWal = true;
      }
    });
  } finally {
    db.close();
  }
  if (!withWal) return;
  // The copy's own WAL recovered (its committed frames, up to the last whole commit)
  // and checkpointed into it: pages land at their numbers.
  const copy = openAt(open, dest);
  try {
    await copy.execute('SELECT count(*) AS n FROM sqlite_schema');
    await copy.execute('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    copy.close();
  }
  for (const sidecar of ['-wal', '-shm']) await files.remove(`${dest}${sidecar}`);
}

/** SQLite's page size, from a database header (bytes 16–17; 1 means 65,536). */
function pageSizeOf(header: Uint8Array): number {
  const v = ((header[16] ?? 0) << 8) | (header[17] ?? 0);
  return v === 1 ? 65_536 : v;
}

/** The copies of one snapshot, in a private directory of their own. */
export interface Copies {
  readonly dir: string;
  readonly items: PageSnapshotItem[];
  /** Relative path → its copy. */
  readonly copies: Map<string, string>;
  readonly databases: string[];
  readonly bytes: number;
}

/** What {@link takeCopies} needs. */
export interface CopyOptions {
  readonly open: OpSqliteOpen;
  readonly files: RnFiles;
  readonly dataDir: string;
  readonly tmpDir: string;
  readonly declared: readonly string[];
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((bytes: number, totalBytes: number) => void) | undefined;
}

/**
 * Copies the wallet: databases page for page and checked, files whole, into a fresh
 * directory under `tmpDir` (removed on failure; the caller removes it after use).
 * @throws NoahError `not_a_wallet`, `corrupt_wallet_database`; I/O and SQLite errors
 */
export async function takeCopies(o: CopyOptions): Promise<Copies> {
  throwIfAborted(o.signal);
  const walked = await walkWallet(o.files, o.dataDir, o.declared);
  if (!walked.some((i) => i.kind === 'database'))
    throw notAWallet(
      walked.length === 0
        ? 'this device holds no wallet data: there is no wallet to back up'
        : 'the wallet data holds no SQLite database, so there is no wallet to back up',
    );
  const total = walked.reduce((n, i) => n + i.size, 0);
  await o.files.mkdir(o.tmpDir);
  const dir = joinPath(o.tmpDir, `noah-snapshot-${randomTag()}`);
  await o.files.mkdir(dir);
  try {
    const items: PageSnapshotItem[] = [];
    const copies = new Map<string, string>();
    const databases: string[] = [];
    let bytes = 0;
    let done = 0;
    for (const [index, item] of walked.entries()) {
      throwIfAborted(o.signal);
      if (item.kind === 'directory') {
        items.push({ type: 'directory', path: item.path });
        continue;
      }
      o.onProgress?.(Math.min(done, total), total);
      done += item.size;
      const copy = joinPath(dir, `${index}.${item.kind === 'database' ? 'db' : 'bin'}`);
      if (item.kind === 'file') {
        const size = await copyFile(o.files, item.abs, copy);
        items.push({ type: 'file', path: item.path, size });
        copies.set(item.path, copy);
        bytes += size;
        continue;
      }
      try {
        await copyLiveDatabase(o.open, o.files, item.abs, copy);
      } catch (e) {
        if (isCorruption(e))
          throw corruptWalletDatabase(item.path, `SQLite: ${(e as Error).message}`, e);
        throw e;
      }
      try {
        await integrityCheckAt(o.open, copy, item.path);
      } catch (e) {
        throw corruptWalletDatabase(item.path, 'it fails PRAGMA integrity_check', e);
      }
      // Sizes after the check: closing a WAL-mode copy may checkpoint into it.
      const size = (await o.files.stat(copy))?.size ?? 0;
      const pageSize = pageSizeOf(await o.files.read(copy, 0, 100));
      if (size === 0 || size % pageSize !== 0)
        throw corruptWalletDatabase(item.path, 'its copy is not a whole number of pages');
      items.push({ type: 'database', path: item.path, pageSize, pageCount: size / pageSize });
      copies.set(item.path, copy);
      databases.push(item.path);
      bytes += size;
    }
    o.onProgress?.(total, total);
    return { dir, items, copies, databases, bytes };
  } catch (e) {
    await o.files.remove(dir);
    throw e;
  }
}
