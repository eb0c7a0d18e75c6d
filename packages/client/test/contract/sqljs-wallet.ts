/**
 * A wallet held by a page, for the browser adapter's kits: its database lives in sql.js
 * and is copied with `export()`, as the web wallet's is, and every change to it is SQL
 * run in sql.js. Platform-neutral (no Node, no DOM beyond WebCrypto), so the kits run
 * on it in headless Chromium (`browser/entry.ts`).
 * @module
 */
import { manualClock } from '@noah-backup/core/clock';
import type { Database, SqlJsStatic } from 'sql.js';
import { sqlJsIntegrityCheck } from '../../src/web/sqlite.ts';
import { createBrowserWalletData } from '../../src/web/wallet.ts';
import type { WalletDataFactory } from './wallet-data.ts';

/** The web wallet's schema with an index, as `fixtures.ts` `writeWebWallet` makes it. */
const SCHEMA = `CREATE TABLE payments (id INTEGER PRIMARY KEY AUTOINCREMENT, amount INTEGER NOT NULL,
  description TEXT NOT NULL, created_at TEXT NOT NULL);
  CREATE INDEX payments_created_at ON payments (created_at);`;

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice()));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A database of `rows` payments: enough rows for a few dozen pages. */
function walletDatabase(SQL: SqlJsStatic, rows: number): Database {
  const db = new SQL.Database();
  db.exec(SCHEMA);
  db.exec('BEGIN');
  const add = db.prepare('INSERT INTO payments (amount, description, created_at) VALUES (?, ?, ?)');
  const day = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < rows; i++)
    add.run([1000 + i, `payment ${i}`, new Date(day + i * 60_000).toISOString()]);
  add.free();
  db.exec('COMMIT');
  return db;
}

/**
 * The harness factory over the loaded sql.js module.
 * @param SQL - sql.js, loaded for this platform
 */
export function sqlJsWallet(SQL: SqlJsStatic): WalletDataFactory {
  const integrityCheck = sqlJsIntegrityCheck(SQL);
  return async ({ limits }) => {
    const settings = new TextEncoder().encode('{"version":1,"wallet_name":"Kit"}');
    let db: Database | null = walletDatabase(SQL, 3000);
    const load = (bytes: Uint8Array) => {
      db?.close();
      db = new SQL.Database(bytes);
    };
    return {
      adapter: createBrowserWalletData<Map<string, Uint8Array>>(
        {
          files: () =>
            db === null
              ? []
              : [
                  { path: 'wallet.sqlite', data: db.export(), database: true },
                  { path: 'settings.json', data: settings },
                ],
          keep: () => true,
          open: async (restored) => new Map(restored),
          async replace(opened) {
            load(opened.get('wallet.sqlite')!);
          },
          discard() {},
        },
        { integrityCheck, clock: manualClock(new Date('2026-03-04T05:06:07Z')), limits },
      ),
      contents: async () =>
        db === null
          ? 'none'
          : sha256(
              new TextEncoder().encode(
                JSON.stringify(db.exec('SELECT * FROM payments ORDER BY id')),
              ),
            ),
      bytes: async () => (db === null ? 'none' : sha256(db.export())),
      async change() {
        db!.run("INSERT INTO payments (amount, description, created_at) VALUES (7, 'new', 'x')");
      },
      async damageDatabase() {
        // The index's definition changed behind SQLite's back: it opens, only the check tells.
        db!.exec(`PRAGMA writable_schema = ON;
          UPDATE sqlite_schema SET sql = 'CREATE INDEX payments_created_at ON payments (created_at DESC)'
            WHERE type = 'index' AND name = 'payments_created_at';
          PRAGMA writable_schema = OFF;`);
        load(db!.export());
        if (await integrityCheck(db!.export())) throw new Error('the database still passes');
      },
      async emptyDatabase() {
        load(new Uint8Array(0));
        return 'wallet.sqlite';
      },
      async removeAll() {
        db?.close();
        db = null;
      },
      // A page stages nothing: what it has not swapped in is only in memory.
      leftovers: async () => [],
    };
  };
}
