/**
 * Wallet data the contract kits and the web app's tests need, made with the SQLite of
 * better-sqlite3: the web wallet's files, its database as bytes, a damaged one.
 * @module
 */
import { promises as fsp, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { breakIndex, tempDir } from '../fixtures/node-helpers.ts';

/** A payment row: amount (sats), description, created_at. */
export type PaymentRow = [number, string, string];

/** `n` payments: 1000 sats and up, `payment 0`, `payment 1`… */
export const payments = (n: number): PaymentRow[] =>
  Array.from({ length: n }, (_, i) => [1000 + i, `payment ${i}`, `2026-02-03T04:05:${10 + i}Z`]);

/**
 * Writes the web wallet's two files into the new directory `at`: `wallet.sqlite` (its
 * `payments` table, as `packages/web/src/wallet/wallet-store.ts` makes it, with an index
 * on it, `payments_created_at`) and `settings.json`.
 * @param opts.rows - the payments (default 50)
 * @param opts.wal - leave the database in WAL mode (default: a rollback journal, so the
 *   one file is all of it)
 * @returns `at`
 */
export function writeWebWallet(at: string, opts: { rows?: PaymentRow[]; wal?: boolean } = {}) {
  mkdirSync(at, { recursive: true });
  const db = new Database(join(at, 'wallet.sqlite'));
  try {
    if (opts.wal) db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE payments (id INTEGER PRIMARY KEY AUTOINCREMENT, amount INTEGER NOT NULL,
      description TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX payments_created_at ON payments (created_at);`);
    const add = db.prepare(
      'INSERT INTO payments (amount, description, created_at) VALUES (?, ?, ?)',
    );
    for (const row of opts.rows ?? payments(50)) add.run(...row);
  } finally {
    db.close();
  }
  writeFileSync(join(at, 'settings.json'), JSON.stringify({ version: 1, wallet_name: 'Node' }));
  return at;
}

/** The bytes of a web wallet's database of `rows` payments (see {@link writeWebWallet}). */
export async function walletDatabase(rows = 50): Promise<Uint8Array> {
  const at = writeWebWallet(join(await tempDir(), 'wallet'), { rows: payments(rows) });
  return new Uint8Array(await fsp.readFile(join(at, 'wallet.sqlite')));
}

/**
 * Runs `edit` on a copy of the database `bytes` in a temp file; returns the new bytes.
 */
export async function editDatabase(
  bytes: Uint8Array,
  edit: (path: string) => void,
): Promise<Uint8Array> {
  const path = join(await tempDir(), 'edit.sqlite');
  await fsp.writeFile(path, bytes);
  edit(path);
  return new Uint8Array(await fsp.readFile(path));
}

/** `payments_created_at` flipped behind SQLite's back: it opens, and only the check tells. */
export function breakPaymentsIndex(path: string): void {
  breakIndex(path, 'payments', 'payments_created_at', 'created_at');
}

/** A wallet database that opens and answers queries, but fails `PRAGMA integrity_check`. */
export async function damagedDatabase(): Promise<Uint8Array> {
  return editDatabase(await walletDatabase(), breakPaymentsIndex);
}
