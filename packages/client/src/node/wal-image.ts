/**
 * A page-stable snapshot of a live WAL-mode database WITHOUT a copy (docs/WALLET.md §5,
 * docs/FORMAT.md §8.8): one read transaction is pinned on the database, and its pages are
 * read where SQLite itself would read them, the newest frame of the page in the WAL up to
 * the pinned state's last frame (`mxFrame`), else the page in the database file.
 *
 * Why that is the pinned state, for as long as the transaction stays open:
 * - frames up to `mxFrame` are never rewritten: the WAL restarts only when no reader holds
 *   a read mark, and ours holds one whenever any frame is not yet in the database file;
 * - a checkpoint copies into the database file only frames up to the smallest read mark,
 *   which is at most `mxFrame`, so a page with no frame up to `mxFrame` keeps its bytes,
 *   and a page with one is read from the WAL;
 * - when every frame up to `mxFrame` is already in the database file (`nBackfill`), the
 *   file alone is the state: the reader then holds either a read mark (no checkpoint
 *   copies past it) or SQLite's read lock 0, which keeps every checkpoint from copying
 *   into the file (a RESTART or TRUNCATE may still reset the WAL, which is not read).
 * What is read is proven, not assumed: the WAL-index header (first 96 bytes of `-shm`) is
 * the same before and after the pin (no commit came between), the frames read carry the
 * WAL's salts and end on the checksum the header names for `mxFrame`, the file read is the
 * one the connection opened, and the page count is SQLite's own. Anything else (no
 * `-shm`, one this process may not write, whose index SQLite would ignore for its own,
 * a commit meanwhile, a torn or foreign header, a checksum that does not match, the file
 * renamed over) gives `undefined`, and the caller copies the database as before.
 *
 * Against a copy of a 100 MiB wallet this saves writing and reading back 100 MiB per
 * backup (the copy took 230 ms of the daily backup's 1 s on an Intel Xeon) and the disk
 * space the copy needed.
 * @module
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import Database from 'better-sqlite3';
import { chunkedReads, readAt } from './fs-util.ts';
import { type HeldFile, holdFile, readWalIndex } from './wal-index.ts';

/** The WAL-index header: two copies of 48 bytes. */
const HEADER = 96;
/** The header and the checkpoint info after it, up to and with `nBackfill`. */
const HEADER_AND_BACKFILL = HEADER + 4;
const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const WAL_MAGIC = 0x377f0682;
const EMPTY = Buffer.alloc(0);
const PIN_ATTEMPTS = 5;
/** Reads of the database file: 256 KiB, as the copies' (page-snapshot.ts). */
const READ_CHUNK = 256 * 1024;

/** A pinned read of a live database (see the module comment). */
export interface WalImage {
  readonly pageSize: number;
  readonly pageCount: number;
  /** The WAL-index header pinned (for a check that must see the same state). */
  readonly header: Buffer;
  /** The file read (device and inode), the one the pinned connection opened. */
  readonly dev: number;
  readonly ino: number;
  /** The connection holding the read transaction (a copy of the state, if needed). */
  readonly db: Database.Database;
  /** Pages in the WAL, for tests and the log: how many are read from there. */
  readonly walPages: number;
  /** True while the WAL-index header is still the pinned one (no commit since). */
  unchanged(): boolean;
  /** Bytes [position, position + length) of the pinned database, in chunks ≤ 256 KiB. */
  read(position: number, length: number, transient: boolean): AsyncGenerator<Uint8Array>;
  /** Ends the read transaction and closes the files; idempotent. */
  close(): Promise<void>;
}

/** The WAL-index header and `nBackfill`, or undefined if unreadable or torn. */
function readShm(path: string): { header: Buffer; nBackfill: number } | undefined {
  // Never an open-read-close of `-shm`: that would drop the pinned transaction's lock.
  // Read twice, equal: SQLite stores `nBackfill` atomically, a plain read may tear.
  const b = readWalIndex(path, HEADER_AND_BACKFILL);
  if (!b?.equals(readWalIndex(path, HEADER_AND_BACKFILL) ?? EMPTY)) return undefined;
  const header = b.subarray(0, HEADER);
  if (header[12] !== 1 || !header.subarray(0, 48).equals(header.subarray(48))) return undefined;
  return { header: Buffer.from(header), nBackfill: b.readUInt32LE(HEADER) };
}

/** SQLite's WAL checksum over `data` (whole 8-byte words), continued from `s`. */
function walChecksum(data: Buffer, littleEndian: boolean, s: [number, number]): void {
  let [s0, s1] = s;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < data.length; i += 8) {
    s0 = (s0 + view.getUint32(i, littleEndian) + s1) >>> 0;
    s1 = (s1 + view.getUint32(i + 4, littleEndian) + s0) >>> 0;
  }
  s[0] = s0;
  s[1] = s1;
}

/**
 * The newest frame of each page up to `mxFrame`, checked against the header: the WAL's
 * salts in its header and every frame, and the checksum chain ending on the header's.
 * Undefined if any of that fails.
 */
function walFrames(
  walPath: string,
  header: Buffer,
  pageSize: number,
  mxFrame: number,
): Map<number, number> | undefined {
  let fd: number;
  try {
    fd = openSync(walPath, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(WAL_HEADER);
    if (readSync(fd, head, 0, WAL_HEADER, 0) !== WAL_HEADER) return undefined;
    const magic = head.readUInt32BE(0);
    if ((magic & ~1) >>> 0 !== WAL_MAGIC || head.readUInt32BE(8) !== pageSize) return undefined;
    const salt = header.subarray(32, 40);
    if (!head.subarray(16, 24).equals(salt)) return undefined;
    const littleEndian = (magic & 1) === 0;
    const sum: [number, number] = [0, 0];
    walChecksum(head.subarray(0, 24), littleEndian, sum);
    if (sum[0] !== head.readUInt32BE(24) || sum[1] !== head.readUInt32BE(28)) return undefined;
    const frameSize = FRAME_HEADER + pageSize;
    const perRead = Math.max(1, Math.floor(READ_CHUNK / frameSize));
    const buf = Buffer.alloc(perRead * frameSize);
    const frames = new Map<number, number>();
    for (let first = 1; first <= mxFrame; first += perRead) {
      const n = Math.min(perRead, mxFrame - first + 1);
      const want = n * frameSize;
      const at = WAL_HEADER + (first - 1) * frameSize;
      if (readSync(fd, buf, 0, want, at) !== want) return undefined;
      for (let i = 0; i < n; i++) {
        const f = buf.subarray(i * frameSize, (i + 1) * frameSize);
        if (!f.subarray(8, 16).equals(salt)) return undefined;
        walChecksum(f.subarray(0, 8), littleEndian, sum);
        walChecksum(f.subarray(FRAME_HEADER), littleEndian, sum);
        if (sum[0] !== f.readUInt32BE(16) || sum[1] !== f.readUInt32BE(20)) return undefined;
        frames.set(f.readUInt32BE(0), first + i);
      }
    }
    // The header names the checksum of frame `mxFrame`, in the machine's byte order.
    if (sum[0] !== header.readUInt32LE(24) || sum[1] !== header.readUInt32LE(28)) return undefined;
    return frames;
  } finally {
    closeSync(fd);
  }
}

/**
 * Pins a read transaction on the WAL-mode database `src` and maps its pages; undefined
 * when that cannot be proven (the module comment), the caller then copies it.
 * @param src - a SQLite database file, possibly being written by other processes
 * @param busyTimeoutMs - how long to wait on a locked database
 * @throws the SQLite or I/O error if the database cannot be read at all
 */
export async function pinWalImage(
  src: string,
  busyTimeoutMs: number,
): Promise<WalImage | undefined> {
  // The checksums' words and the header's fields are in the machine's byte order; every
  // phone and server CPU today is little-endian, others copy.
  if (endianness() !== 'LE') return undefined;
  // The file the connection opens must be the one read below (a rename in between).
  const identity = statSync(src);
  const db = new Database(src, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  let file: HeldFile | undefined;
  let kept = false;
  try {
    // 2 MB is enough: this connection reads the schema only.
    db.pragma('cache_size = -2048');
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
    const schema = db.prepare('SELECT count(*) FROM sqlite_schema').pluck();
    // A first read opens (or recovers, or creates) the WAL index; the header read next
    // is current.
    schema.get();
    // Only a `-shm` this process may write is the index SQLite uses: with a read-only one
    // SQLite builds its own index in memory and ignores the file, which may be stale.
    try {
      accessSync(`${src}-shm`, constants.W_OK);
    } catch {
      return undefined;
    }
    let after: ReturnType<typeof readShm>;
    // A wallet committing all along may move the header during a pin: a few tries.
    for (let attempt = 0; attempt < PIN_ATTEMPTS && !after; attempt++) {
      if (db.inTransaction) db.exec('COMMIT');
      const before = readShm(src);
      if (!before) return undefined;
      db.exec('BEGIN');
      schema.get();
      const now = readShm(src);
      if (now?.header.equals(before.header)) after = now;
    }
    if (!after) return undefined;
    const header = after.header;
    const mxFrame = header.readUInt32LE(16);
    const nPage = header.readUInt32LE(20);
    const sz = header.readUInt16LE(14);
    const headerPageSize = sz === 1 ? 65_536 : sz;
    // The database file through the process's kept descriptor (wal-index.ts): closing
    // one of ours would drop the pinned transaction's shared lock on it.
    file = holdFile(src);
    if (!file || file.dev !== identity.dev || file.ino !== identity.ino) return undefined;
    const page1 = Buffer.alloc(100);
    const v = readSync(file.fd, page1, 0, 100, 0) === 100 ? page1.readUInt16BE(16) : 0;
    const pageSize = v === 1 ? 65_536 : v;
    if (pageSize < 512 || (mxFrame > 0 && pageSize !== headerPageSize)) return undefined;
    // SQLite's own size of the pinned state: the header's, where it has one.
    const pageCount = Number(db.pragma('page_count', { simple: true }));
    if (pageCount < 1 || (nPage > 0 && pageCount !== nPage)) return undefined;
    // `nBackfill` ≥ `mxFrame` (read after the pin, with the header unchanged): every
    // frame of the pinned state is in the database file, which is then the state.
    const frames =
      mxFrame > after.nBackfill
        ? walFrames(`${src}-wal`, header, pageSize, mxFrame)
        : new Map<number, number>();
    if (!frames) return undefined;
    const image = makeImage(src, db, file, header, pageSize, pageCount, frames);
    kept = true;
    return image;
  } finally {
    if (!kept) {
      file?.release();
      if (db.inTransaction) db.exec('COMMIT');
      db.close();
    }
  }
}

function makeImage(
  src: string,
  db: Database.Database,
  file: HeldFile,
  header: Buffer,
  pageSize: number,
  pageCount: number,
  frames: Map<number, number>,
): WalImage {
  const wal = frames.size > 0 ? openSync(`${src}-wal`, 'r') : undefined;
  const frameSize = FRAME_HEADER + pageSize;
  const fd = file.fd;
  let closed: Promise<void> | undefined;
  const patch = (buf: Uint8Array, at: number) => {
    // Pages of this chunk that are in the WAL replace what the file had.
    const firstPage = Math.floor(at / pageSize) + 1;
    const lastPage = Math.floor((at + buf.length - 1) / pageSize) + 1;
    for (let p = firstPage; p <= lastPage; p++) {
      const frame = frames.get(p);
      if (frame === undefined) continue;
      const pageStart = (p - 1) * pageSize;
      const from = Math.max(at, pageStart);
      const to = Math.min(at + buf.length, pageStart + pageSize);
      const walAt = WAL_HEADER + (frame - 1) * frameSize + FRAME_HEADER + (from - pageStart);
      const n = readSync(wal!, buf, from - at, to - from, walAt);
      if (n !== to - from) throw new Error('the WAL is shorter than its pinned state');
    }
  };
  return {
    pageSize,
    pageCount,
    header,
    dev: file.dev,
    ino: file.ino,
    db,
    walPages: frames.size,
    unchanged: () => {
      // The same file at the path (not renamed over), with the same WAL-index header.
      const now = statSync(src, { throwIfNoEntry: false });
      if (now?.dev !== file.dev || now.ino !== file.ino) return false;
      return readShm(src)?.header.equals(header) === true;
    },
    async *read(position, length, transient) {
      // After close() a descriptor number may name another file, and the database is no
      // longer pinned.
      if (closed) throw new Error('the pinned image is closed');
      if (position < 0 || position + length > pageCount * pageSize)
        throw new RangeError('a read beyond the pinned database');
      const stillOpen = () => {
        if (closed) throw new Error('the pinned image is closed');
      };
      yield* chunkedReads(position, length, READ_CHUNK, transient, async (buf, at) => {
        const filled = await readAt(fd, buf, at, stillOpen);
        // The file may end before the pinned state does (its last pages only in the WAL).
        if (filled < buf.length) buf.fill(0, filled);
        stillOpen();
        patch(buf, at);
        if (filled < buf.length && !allInWal(frames, at + filled, at + buf.length, pageSize))
          throw new Error('the database file is shorter than its pinned state');
      });
    },
    close() {
      closed ??= (async () => {
        if (wal !== undefined) closeSync(wal);
        try {
          if (db.inTransaction) db.exec('COMMIT');
        } finally {
          db.close();
          file.release();
        }
      })();
      return closed;
    },
  };
}

/** True if every page touching bytes [from, to) is in the WAL. */
function allInWal(frames: Map<number, number>, from: number, to: number, pageSize: number) {
  for (let p = Math.floor(from / pageSize) + 1; p <= Math.floor((to - 1) / pageSize) + 1; p++)
    if (!frames.has(p)) return false;
  return true;
}
