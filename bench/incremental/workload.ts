/**
 * The incremental benchmark's wallet: a WAL-mode SQLite database shaped like a real
 * wallet's (payments keyed by a random txid, so one day's changes are spread over the
 * whole file), built and aged one simulated day at a time from a seeded generator, so
 * every run writes the same bytes.
 *
 * Table `payments(id INTEGER PRIMARY KEY, txid TEXT, amount INTEGER, memo TEXT, raw
 * BLOB)` with an index on `txid`: 64-hex random txids, 200 random bytes of `raw`. One day:
 * the 1,000 most recent payments updated (their status settles), 0.2 % of the older rows
 * updated at random, 300 new payments; one commit, left in the WAL (the connection that
 * wrote it stays open with automatic checkpoints off, as a running wallet app would leave
 * it when the backup starts).
 * @module
 */
import { createCipheriv, createHash } from 'node:crypto';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Bytes of database file per payment row (table + txid index), measured at 4 KiB pages. */
export const BYTES_PER_ROW = 399;
/** Rows updated at the recent end of the table each day. */
export const RECENT_UPDATES = 1000;
/** Share of the older rows updated each day, at random. */
export const OLDER_SHARE = 0.002;
/** New payments each day. */
export const NEW_PAYMENTS = 300;
/** The database's page size, and the unit of the page limit. */
export const PAGE_SIZE = 4096;

const MEMOS = ['coffee', 'groceries', 'rent', 'zap', 'refund', 'invoice', 'salary', 'swap'];

/**
 * A deterministic byte stream: AES-256-CTR over zeros, keyed by the SHA-256 of the seed.
 * Fast (hundreds of MB/s), so the 1 GiB database costs SQLite's time, not the generator's.
 */
export class SeededRandom {
  readonly #cipher;
  #pool = Buffer.alloc(0);
  #at = 0;

  constructor(seed: string) {
    const key = createHash('sha256').update(seed).digest();
    this.#cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  /** The next `n` bytes of the stream. */
  bytes(n: number): Buffer {
    if (this.#at + n > this.#pool.length) {
      const rest = this.#pool.subarray(this.#at);
      this.#pool = Buffer.concat([rest, this.#cipher.update(Buffer.alloc(Math.max(n, 1 << 16)))]);
      this.#at = 0;
    }
    const out = this.#pool.subarray(this.#at, this.#at + n);
    this.#at += n;
    return Buffer.from(out);
  }

  /** A uniform integer in [0, n), n ≤ 2^32. */
  below(n: number): number {
    return Math.floor((this.bytes(4).readUInt32BE(0) / 2 ** 32) * n);
  }

  /** A 64-hex random txid. */
  txid(): string {
    return this.bytes(32).toString('hex');
  }
}

/** The live wallet: its file and the open connection the "app" writes through. */
export interface Wallet {
  readonly file: string;
  readonly db: Database.Database;
  readonly random: SeededRandom;
  /** Simulated days written so far. */
  day: number;
  /** The rows in the table. */
  rows: number;
}

/** The row count that gives a database of about `mb` MiB. */
export const rowsForMb = (mb: number): number =>
  Math.max(2000, Math.round((mb * 2 ** 20) / BYTES_PER_ROW));

function payment(random: SeededRandom): [string, number, string, Buffer] {
  const memo = `${MEMOS[random.below(MEMOS.length)]} #${random.below(100_000)}`;
  return [random.txid(), 1 + random.below(100_000_000), memo, random.bytes(200)];
}

/**
 * Creates the wallet database at `file` with `rows` payments, checkpointed (nothing in the
 * WAL), and returns it open for the days to come.
 */
export function createWallet(file: string, rows: number, seed: string): Wallet {
  const random = new SeededRandom(seed);
  const db = new Database(file);
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('journal_mode = WAL');
  // The app checkpoints between days (see startDay), never in the middle of one.
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('cache_size = -131072');
  db.exec(`CREATE TABLE payments (id INTEGER PRIMARY KEY, txid TEXT NOT NULL,
    amount INTEGER NOT NULL, memo TEXT NOT NULL, raw BLOB NOT NULL);
    CREATE INDEX payments_txid ON payments (txid);`);
  const insert = db.prepare('INSERT INTO payments (txid, amount, memo, raw) VALUES (?, ?, ?, ?)');
  const batch = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(...payment(random));
  });
  for (let done = 0; done < rows; done += 20_000) {
    batch(Math.min(20_000, rows - done));
    // Keep the WAL small while building; the built file is checkpointed either way.
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  db.pragma('cache_size = -2000');
  return { file, db, random, day: 0, rows };
}

/**
 * One simulated day, written and committed through the wallet's open connection: the
 * previous day's WAL is checkpointed first (the app did that some time overnight), then
 * this day's changes stay in the WAL.
 * @returns what the day wrote
 */
export function writeDay(w: Wallet): { inserted: number; recent: number; older: number } {
  const { db, random } = w;
  db.pragma('wal_checkpoint(TRUNCATE)');
  const maxId = (db.prepare('SELECT max(id) AS m FROM payments').get() as { m: number }).m;
  const update = db.prepare('UPDATE payments SET amount = ?, memo = ? WHERE id = ?');
  const insert = db.prepare('INSERT INTO payments (txid, amount, memo, raw) VALUES (?, ?, ?, ?)');
  const firstRecent = Math.max(1, maxId - RECENT_UPDATES + 1);
  const older = firstRecent - 1;
  const olderCount = Math.round(older * OLDER_SHARE);
  const settle = (id: number) =>
    update.run(1 + random.below(100_000_000), `settled ${random.below(1_000_000)}`, id);
  db.transaction(() => {
    for (let id = firstRecent; id <= maxId; id++) settle(id);
    // Distinct ids, so the share is exact.
    const picked = new Set<number>();
    while (picked.size < olderCount) picked.add(1 + random.below(older));
    for (const id of picked) settle(id);
    for (let i = 0; i < NEW_PAYMENTS; i++) insert.run(...payment(random));
  })();
  w.day++;
  w.rows += NEW_PAYMENTS;
  return { inserted: NEW_PAYMENTS, recent: maxId - firstRecent + 1, older: olderCount };
}

/**
 * A checkpointed copy of the live database at `to`: the main file and its WAL copied
 * (the writer is idle between steps of the bench, so the pair is consistent), then the
 * copy checkpointed and closed. Its pages are what a page-stable snapshot holds.
 */
export function checkpointCopy(file: string, to: string): void {
  for (const suffix of ['-wal', '-shm']) rmSync(to + suffix, { force: true });
  copyFileSync(file, to);
  if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${to}-wal`);
  const db = new Database(to);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  for (const suffix of ['-wal', '-shm']) rmSync(to + suffix, { force: true });
}

/**
 * A digest of the payments' logical content (every row, in id order), to check a
 * restored database against the day it should hold. Opens `file` read-write so a WAL
 * beside it (a restic restore brings one) is applied.
 */
export function contentDigest(file: string): string {
  const db = new Database(file);
  try {
    const h = createHash('sha256');
    const rows = db
      .prepare('SELECT id, txid, amount, memo, raw FROM payments ORDER BY id')
      .raw()
      .iterate() as IterableIterator<[number, string, number, string, Buffer]>;
    for (const [id, txid, amount, memo, raw] of rows)
      h.update(`${id}\0${txid}\0${amount}\0${memo}\0`).update(raw);
    return h.digest('hex');
  } finally {
    db.close();
  }
}
