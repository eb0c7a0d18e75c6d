/**
 * The two SQLite operations the adapters need: a consistent copy of a live database and
 * an integrity check. Both use better-sqlite3 (synchronous; the event loop is blocked
 * while SQLite works), the check also on a worker thread (`startIntegrityCheck`), and
 * for a live WAL-mode database beside its copy (`backupCopyChecked`).
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { integrityCheckFailed } from '../wallet-refusals.ts';
import { holdFile, readWalIndex } from './wal-index.ts';

const requireHere = createRequire(import.meta.url);

/** Page cache of the snapshot's connections, KiB (SQLite's own default is 2000). */
const SMALL_CACHE_KIB = 2048;
/** Page cache of the integrity check, KiB (measured in `integrityCheck`). */
export const CHECK_CACHE_KIB = 16384;

/**
 * Copies the database at `src` to the new file `dest` as one consistent transaction,
 * while other processes may keep writing to `src`.
 *
 * Uses `VACUUM INTO` from a read-only connection (WAL and SHM files are never copied
 * raw; their committed content is in the copy: docs/WALLET.md §1). `Database#backup()` is avoided: it
 * restarts whenever a writer commits and can starve under a steady writer. The copy is
 * switched to WAL mode when the source is in WAL mode, so a restore gives the wallet back
 * the journal mode it had.
 * @param src - a SQLite database file
 * @param dest - the copy's path (must not exist)
 * @param busyTimeoutMs - how long to wait on a locked database
 * @returns the source's journal mode (`wal`, `delete`…)
 * @throws the SQLite error if the database cannot be read
 */
export function vacuumInto(src: string, dest: string, busyTimeoutMs: number): string {
  const db = new Database(src, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  let mode: string;
  try {
    mode = String(db.pragma('journal_mode', { simple: true }));
    // better-sqlite3 builds SQLite with a 16 MB page cache per database, and VACUUM INTO
    // gives the copy one too: 2 MB each copies as fast, with ~30 MB less peak memory.
    db.pragma(`cache_size = -${SMALL_CACHE_KIB}`);
    // VACUUM INTO writes the copy with the source connection's sync setting. The copy is
    // a temporary file, read back at once and removed after the upload: nothing is gained
    // by forcing it to disk (a crash leaves only a leftover to sweep). 100 MB: 400 -> 205 ms.
    db.pragma('synchronous = OFF');
    db.prepare('VACUUM INTO ?').run(dest);
  } finally {
    db.close();
  }
  if (mode === 'wal') {
    const copy = new Database(dest, { fileMustExist: true });
    try {
      copy.pragma('synchronous = OFF'); // as above; else this fsyncs the whole copy
      copy.pragma('journal_mode = WAL');
    } finally {
      copy.close();
    }
  }
  return mode;
}

/**
 * Copies the database at `src` to the new file `dest` page for page, as one read
 * transaction, while other processes may keep writing to `src` (docs/FORMAT.md §8.8).
 *
 * SQLite's online backup API keeps page numbers (`VACUUM INTO` renumbers them), so a
 * page's digest can be compared with the last backup's. The first step reads the page
 * count; the progress callback then asks for every remaining page in ONE step, one read
 * transaction, so a writer committing meanwhile never restarts the copy. The copy equals
 * the checkpointed live file except page 1's header counters; it carries the source's
 * journal mode in its header.
 * @param src - a SQLite database file
 * @param dest - the copy's path (must not exist)
 * @param busyTimeoutMs - how long to wait on a locked database
 * @throws the SQLite error if the database cannot be read
 */
export async function backupCopy(src: string, dest: string, busyTimeoutMs: number): Promise<void> {
  const db = new Database(src, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  try {
    db.pragma(`cache_size = -${SMALL_CACHE_KIB}`);
    await db.backup(dest, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
}

/**
 * The WAL-index header of a WAL-mode database: the first 96 bytes of its `-shm` file
 * (two copies of the 48-byte header: docs/WALLET.md §5). Every commit rewrites it
 * (`iChange`, `mxFrame`, checksums), and a reader's snapshot is the state it names. Undefined when there is none, it is not initialised, or the two copies
 * differ (a writer is rewriting it).
 */
export function walIndexHeader(path: string): Buffer | undefined {
  // Never an open-read-close of `-shm`: that drops this process's SQLite locks on it.
  const b = readWalIndex(path, WAL_INDEX_HEADER * 2);
  if (!b) return undefined;
  const isInit = b[12] === 1;
  const same = b.subarray(0, WAL_INDEX_HEADER).equals(b.subarray(WAL_INDEX_HEADER));
  return isInit && same ? b : undefined;
}

const WAL_INDEX_HEADER = 48;

/**
 * {@link backupCopy}, with the copy's `PRAGMA integrity_check` run on the LIVE database
 * beside the copy instead of on the copy after it (docs/WALLET.md §5), when it can be
 * proven that both saw one state: the WAL-index header read before the check pins its
 * read transaction and read again after the copy ended (and the check pinned) is byte
 * for byte the same, so no commit happened between, and every read transaction begun
 * meanwhile (the check's, the copy's) saw the state it names.
 *
 * Only in WAL mode: in rollback-journal mode the check's read lock would keep the
 * wallet's writers from committing for the whole check. With no `-shm` (exclusive
 * locking mode), when a commit came between, or when the check could not pin, the check
 * of the live database is dropped and the caller checks the copy as before.
 * @param label - how to name the database in an error
 * @throws as {@link backupCopy}
 */
export async function backupCopyChecked(
  src: string,
  dest: string,
  busyTimeoutMs: number,
  label: string,
): Promise<CopyCheck> {
  const db = new Database(src, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  let check: LiveCheck | undefined;
  try {
    db.pragma(`cache_size = -${SMALL_CACHE_KIB}`);
    // A first read opens the WAL index (recovering it if no connection had it open), and
    // this connection keeps it open: the header read next is current and stays valid.
    const wal = db.pragma('journal_mode', { simple: true }) === 'wal';
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    const before = wal ? walIndexHeader(src) : undefined;
    if (before) check = startLiveIntegrityCheck(src, label, before, busyTimeoutMs);
    await db.backup(dest, { progress: () => 0x7fffffff });
    if (check && !((await check.pinned) && before?.equals(walIndexHeader(src) ?? NONE))) {
      check.stop();
      return { live: undefined, idle: check.ended };
    }
  } catch (e) {
    check?.stop();
    throw e;
  } finally {
    db.close();
  }
  return { live: check, idle: Promise.resolve() };
}

const NONE = Buffer.alloc(0);

/** What {@link backupCopyChecked} made of the check. */
export interface CopyCheck {
  /** The check of the live database, standing for the copy's; undefined: check the copy. */
  readonly live: RunningCheck | undefined;
  /** Resolves once a dropped live check's thread has ended (one check at a time). */
  readonly idle: Promise<void>;
}

/**
 * True if `e` is SQLite saying the file is not a sound database (`SQLITE_CORRUPT`,
 * `SQLITE_CORRUPT_*`, `SQLITE_NOTADB`), as opposed to busy, locked, I/O or permissions.
 * @param e - anything thrown by better-sqlite3
 */
export function isCorruption(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
  );
}

/**
 * Runs `PRAGMA integrity_check` (not `quick_check`: it also verifies index contents) on
 * the database at `path`.
 * @param path - a SQLite database file
 * @param label - how to name the database in an error (a relative path, never content)
 * @param opts.readonly - open read-only (for a live wallet directory); default false, so
 *   a WAL-mode database leaves no `-wal`/`-shm` behind when closed
 * @throws NoahError `integrity_check_failed` if the check reports anything but `ok`, or
 *   the file cannot be opened as a database
 */
export function integrityCheck(path: string, label: string, opts: { readonly?: boolean } = {}) {
  let ok = false;
  let cause: unknown;
  try {
    const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: true });
    try {
      // An archive is untrusted input: never run schema-defined SQL functions from it.
      db.pragma('trusted_schema = OFF');
      // The index checks look rows up in every index: on the 100 MB demo wallet the
      // check takes 416 ms with a 2 MB page cache, 353 ms with 8 MB, 295 ms with 16 MB
      // (+14 MiB of RSS) and no less with more.
      db.pragma(`cache_size = -${CHECK_CACHE_KIB}`);
      const rows = db.pragma('integrity_check') as { integrity_check: string }[];
      ok = rows.length === 1 && rows[0]?.integrity_check === 'ok';
    } finally {
      db.close();
    }
  } catch (e) {
    cause = e;
  }
  if (!ok) throw integrityCheckFailed(label, undefined, cause);
}

/**
 * The check on a worker thread: a CommonJS script (no file of its own, so the bundled CLI
 * needs nothing beside its bundle) loading the same better-sqlite3 as this module.
 *
 * With `w.pin` (a live database, {@link startLiveIntegrityCheck}) it first pins one read
 * transaction and says so (`{ pinned }`), then checks inside that transaction. It skips
 * the check (`pinned: false`) when the WAL-index header already differs from `w.pin`: a
 * commit came first, so the check could not stand for the caller's copy.
 */
const CHECK_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const Database = require(workerData.module);
// Started ahead (prestartIntegrityCheck): the job comes as a message once it is known.
if (workerData.job) check(workerData.job);
else parentPort.once('message', check);
function check(w) {
let ok = false, message = '', code, pinned = false, db;
try {
  db = new Database(w.path, { readonly: true, fileMustExist: true, timeout: w.busyTimeoutMs });
  db.pragma('trusted_schema = OFF');
  db.pragma('cache_size = -' + w.cacheKib);
  if (w.pin) {
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    // Through the process's kept descriptor of -shm (wal-index.ts): closing one would
    // drop the locks of this process's other connections.
    const now = Buffer.alloc(w.pin.length);
    const got = w.shm === undefined ? 0 : readSync(w.shm, now, 0, now.length, 0);
    if (got === now.length && now.equals(Buffer.from(w.pin))) {
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
      pinned = true;
    }
    parentPort.postMessage({ pinned });
  }
  if (pinned || !w.pin) {
    const rows = db.pragma('integrity_check');
    ok = rows.length === 1 && rows[0].integrity_check === 'ok';
    if (!ok) message = String(rows[0] && rows[0].integrity_check).slice(0, 200);
  } else message = 'not pinned';
} catch (e) {
  message = String(e && e.message);
  code = e && e.code;
} finally {
  if (db) {
    try { if (db.inTransaction) db.exec('COMMIT'); } catch {}
    try { db.close(); } catch {}
  }
}
parentPort.postMessage({ pinned, ok, message, code });
}
`;

/** A check thread started ahead, its module loaded, waiting for its job (one at most). */
let spare: Worker | undefined;

function checkThread(job: object | undefined): Worker {
  return new Worker(CHECK_WORKER, {
    eval: true,
    workerData: { module: requireHere.resolve('better-sqlite3'), job },
    // Not the parent's flags (e.g. --cpu-prof): a plain thread for one SQLite call.
    execArgv: [],
  });
}

/**
 * Starts the next integrity check's thread now, so that loading it (30-60 ms: a thread,
 * its module and better-sqlite3) is not on the backup's critical path, which is the check
 * (docs/WALLET.md §5). The thread waits, unreferenced: an unused one never keeps the
 * process alive. Idempotent.
 */
export function prestartIntegrityCheck(): void {
  if (spare) return;
  spare = checkThread(undefined);
  spare.unref();
  const mine = spare;
  mine.once('exit', () => {
    if (spare === mine) spare = undefined;
  });
  mine.once('error', () => {}); // a spare that failed to start: the next check starts its own
}

/** A check running beside other work (see {@link startIntegrityCheck}). */
export interface RunningCheck {
  /** Resolves when the check says `ok`; rejects as `integrityCheck` throws. */
  readonly done: Promise<void>;
  /** Resolves once the thread has ended (never rejects). */
  readonly ended: Promise<void>;
  /** Stops waiting for it (the thread ends when SQLite returns); idempotent. */
  stop(): void;
}

/** A check of a live database (see {@link startLiveIntegrityCheck}). */
export interface LiveCheck extends RunningCheck {
  /** True once its read transaction is pinned; false if it never will be. */
  readonly pinned: Promise<boolean>;
}

interface CheckMessage {
  pinned: boolean;
  ok?: boolean;
  message?: string;
  code?: string;
}

function runCheck(
  path: string,
  label: string,
  extra: { pin?: Uint8Array; busyTimeoutMs?: number },
): LiveCheck {
  // The thread reads the header through this process's kept descriptor (wal-index.ts),
  // held until it has pinned.
  const shm = extra.pin ? holdFile(`${path}-shm`) : undefined;
  const job = {
    path,
    cacheKib: CHECK_CACHE_KIB,
    busyTimeoutMs: extra.busyTimeoutMs ?? 5000,
    pin: extra.pin,
    shm: shm?.fd,
  };
  let worker: Worker;
  if (spare) {
    worker = spare;
    spare = undefined;
    worker.ref();
    worker.postMessage(job);
  } else worker = checkThread(job);
  let pin: (v: boolean) => void = () => {};
  const pinned = new Promise<boolean>((resolve) => {
    pin = resolve;
  });
  void pinned.then(() => shm?.release());
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: CheckMessage) => {
      pin(m.pinned);
      if (m.ok === undefined) return; // the pin, not the verdict
      if (m.ok) resolve();
      else {
        const cause = Object.assign(new Error(m.message), m.code ? { code: m.code } : {});
        reject(integrityCheckFailed(label, undefined, cause));
      }
    });
    worker.once('error', (e) => reject(integrityCheckFailed(label, undefined, e)));
    worker.once('exit', () => {
      pin(false);
      reject(integrityCheckFailed(label, undefined, new Error('the check stopped')));
    });
  });
  done.catch(() => {}); // awaited by the caller, or abandoned by stop()
  let stopped = false;
  return {
    done,
    ended,
    pinned,
    stop() {
      if (stopped) return;
      stopped = true;
      // terminate() takes effect when SQLite returns to JS; do not keep the process alive.
      worker.unref();
      void worker.terminate().catch(() => {});
    },
  };
}

/**
 * Starts `PRAGMA integrity_check` of `path` on a worker thread, so the caller can read,
 * seal and upload the same file meanwhile (docs/WALLET.md §5: the backup completes only
 * once the check passed). Read-only: the file is never written, so what the caller
 * reads is what was checked. Same check and page cache as {@link integrityCheck}.
 * @param path - a SQLite database file nobody writes to
 * @param label - how to name the database in an error
 * @returns the running check; `done` rejects with NoahError `integrity_check_failed`
 */
export function startIntegrityCheck(path: string, label: string): RunningCheck {
  return runCheck(path, label, {});
}

/**
 * Starts the check of a LIVE WAL-mode database inside one read transaction, for
 * {@link backupCopyChecked}: `pin` is the WAL-index header read before (the check is
 * skipped if it already changed). Read-only, `trusted_schema = OFF`, the same full check.
 */
export function startLiveIntegrityCheck(
  path: string,
  label: string,
  pin: Uint8Array,
  busyTimeoutMs: number,
): LiveCheck {
  return runCheck(path, label, { pin, busyTimeoutMs });
}
