/**
 * Databases the contract kits need, made with the SQLite of better-sqlite3 in a temp
 * directory and handed over as bytes: a small wallet database, a damaged one.
 * @module
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { breakIndex, tempDir } from '../fixtures/node-helpers.ts';

/**
 * A small wallet database (rollback journal, so its one file is all of it): a
 * `payments` table of `rows` rows and an index on it, `payments_created_at`.
 */
export async function walletDatabase(rows = 50): Promise<Uint8Array> {
  const path = join(await tempDir(), 'wallet.sqlite');
  const db = new Database(path);
  try {
    db.exec(`CREATE TABLE payments (id INTEGER PRIMARY KEY AUTOINCREMENT, amount INTEGER NOT NULL,
      description TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE INDEX payments_created_at ON payments (created_at);`);
    const add = db.prepare(
      'INSERT INTO payments (amount, description, created_at) VALUES (?, ?, ?)',
    );
    for (let i = 0; i < rows; i++) add.run(1000 + i, `payment ${i}`, `2026-02-03T04:05:${10 + i}Z`);
  } finally {
    db.close();
  }
  return new Uint8Array(await fsp.readFile(path));
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
