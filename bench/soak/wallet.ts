/**
 * A simulated device's wallet data directory: a small SQLite database in WAL mode, kept
 * open between backups as an app keeps it (so snapshots meet a live WAL), plus the
 * plain files beside it; changed a little before every backup. And the soak's own
 * digest of such a directory, written apart from the client's code under test.
 *
 * Layout: `wallet.sqlite` (payments, coins, kv), `settings.json`,
 * `channels/channel_manager.bin`, `channels/monitors/<n>.monitor`. About 60–120 KB.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const DB = 'wallet.sqlite';

const SCHEMA = `
CREATE TABLE payments (
  id INTEGER PRIMARY KEY, payment_hash TEXT NOT NULL UNIQUE, bolt11 TEXT,
  amount_sat INTEGER NOT NULL, status TEXT NOT NULL, description TEXT, created_at INTEGER NOT NULL);
CREATE INDEX payments_created_at ON payments (created_at);
CREATE TABLE coins (txid TEXT NOT NULL, vout INTEGER NOT NULL, amount_sat INTEGER NOT NULL,
  confirmed INTEGER NOT NULL, PRIMARY KEY (txid, vout)) WITHOUT ROWID;
CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB);`;

/** Rows kept at about this many payments, so the wallet stays small. */
const PAYMENTS = 150;

/** An open wallet. */
export interface Wallet {
  readonly dir: string;
  /** Changes some rows and files, as a day of use would. */
  mutate(): void;
  /** Closes the database (before a restore swaps the directory). */
  close(): void;
  /** Opens it again (after a restore). */
  open(): void;
}

function hex(random: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++)
    s += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0');
  return s;
}

/**
 * Creates a wallet in `dir` (which must not exist yet) and opens it.
 * @param dir - the data directory
 * @param random - uniform in [0, 1): the contents (not secrets)
 */
export function createWallet(dir: string, random: () => number): Wallet {
  mkdirSync(join(dir, 'channels', 'monitors'), { recursive: true });
  let db: Database.Database | null = null;
  let counter = 0;
  const open = () => {
    db = new Database(join(dir, DB));
    db.pragma('journal_mode = WAL');
    counter = Number(
      (db.prepare('SELECT max(id) AS n FROM payments').get() as { n: number | null } | undefined)
        ?.n ?? 0,
    );
  };
  const first = new Database(join(dir, DB));
  first.pragma('journal_mode = WAL');
  first.exec(SCHEMA);
  first.close();
  open();
  const insert = (n: number) => {
    const ins = db!.prepare(
      'INSERT INTO payments (payment_hash, bolt11, amount_sat, status, description, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (let i = 0; i < n; i++) {
      counter++;
      ins.run(
        hex(random, 32),
        `lnbc${counter}n1p${hex(random, 120)}`,
        1 + Math.floor(random() * 1e6),
        random() < 0.9 ? 'succeeded' : 'pending',
        `payment #${counter}`,
        1_700_000_000 + counter,
      );
    }
  };
  db!.transaction(() => {
    insert(PAYMENTS);
    const coin = db!.prepare('INSERT INTO coins VALUES (?, ?, ?, ?)');
    for (let i = 0; i < 30; i++) coin.run(hex(random, 32), i % 4, 546 + i * 1000, 1);
  })();
  writeFileSync(join(dir, 'settings.json'), JSON.stringify({ network: 'bitcoin', n: 0 }));
  writeFileSync(
    join(dir, 'channels', 'channel_manager.bin'),
    Buffer.from(hex(random, 4096), 'hex'),
  );
  writeFileSync(
    join(dir, 'channels', 'monitors', '0.monitor'),
    Buffer.from(hex(random, 2048), 'hex'),
  );

  return {
    dir,
    mutate() {
      const d = db!;
      d.transaction(() => {
        insert(1 + Math.floor(random() * 4));
        d.prepare(
          "UPDATE payments SET status = 'succeeded', amount_sat = amount_sat + 1 WHERE id IN (SELECT id FROM payments ORDER BY random() LIMIT 2)",
        ).run();
        // Oldest rows go, so the size stays about the same.
        d.prepare(
          'DELETE FROM payments WHERE id NOT IN (SELECT id FROM payments ORDER BY id DESC LIMIT ?)',
        ).run(PAYMENTS);
        d.prepare('UPDATE coins SET confirmed = 1 - confirmed WHERE vout = ?').run(
          Math.floor(random() * 4),
        );
        d.prepare('INSERT OR REPLACE INTO kv VALUES (?, ?)').run(
          `k${Math.floor(random() * 20)}`,
          Buffer.from(hex(random, 64), 'hex'),
        );
      })();
      if (random() < 0.5)
        writeFileSync(
          join(dir, 'settings.json'),
          JSON.stringify({ network: 'bitcoin', n: counter }),
        );
      if (random() < 0.3)
        writeFileSync(
          join(dir, 'channels', 'monitors', `${counter % 3}.monitor`),
          Buffer.from(hex(random, 2048), 'hex'),
        );
    },
    close() {
      db?.close();
      db = null;
    },
    open,
  };
}

const JOURNAL = /-(wal|shm|journal)$/;

/**
 * SHA-256 of a wallet directory's contents: every directory and regular file by path
 * (sorted), plain files byte for byte, and `wallet.sqlite` as its schema and every row
 * of every table (rowid tables in rowid order, the others in primary-key order) with
 * exact integer, text and blob values. SQLite's journals are not content. Two
 * directories with the same digest hold the same data, however SQLite laid out pages
 * (a backup's snapshot renumbers them).
 * @param dir - a wallet data directory (the live one, or a restored copy)
 */
export function walletDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const entries = readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        h.update(`dir ${path}\n`);
        walk(path);
      } else if (path === DB) {
        h.update(`database ${path}\n`);
        digestDatabase(join(dir, path), h);
      } else if (e.isFile() && !JOURNAL.test(e.name)) {
        const bytes = readFileSync(join(dir, path));
        h.update(`file ${path} ${bytes.length}\n`);
        h.update(bytes);
      } else if (!e.isFile()) h.update(`other ${path}\n`);
    }
  };
  walk('');
  return h.digest('hex');
}

function digestDatabase(path: string, h: ReturnType<typeof createHash>): void {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    const value = (v: unknown) =>
      typeof v === 'bigint'
        ? `i${v}`
        : Buffer.isBuffer(v)
          ? `b${v.toString('hex')}`
          : v === null
            ? 'n'
            : `${typeof v}:${JSON.stringify(v)}`;
    const tables = db
      .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .raw()
      .all() as [string, string][];
    for (const row of db
      .prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY type, name')
      .raw()
      .all())
      h.update(`schema ${JSON.stringify(row)}\n`);
    for (const [name, sql] of tables) {
      const order = /WITHOUT ROWID/i.test(sql) ? '1, 2' : 'rowid';
      h.update(`table ${name}\n`);
      const rowid = order === 'rowid' ? 'rowid, ' : '';
      for (const r of db
        .prepare(`SELECT ${rowid}* FROM "${name}" ORDER BY ${order}`)
        .raw()
        .iterate())
        h.update(`${(r as unknown[]).map(value).join(' ')}\n`);
    }
  } finally {
    db.close();
  }
}
