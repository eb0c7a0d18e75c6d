/**
 * Every port's contract kit on the browser implementations.
 *
 * Spooler, state store, device cache and incremental wallet: in headless Chromium, as
 * the web app runs them (the kits and the implementations bundled by Vite, run by
 * `browser/run.ts`): they stand on the browser's own `Blob`, `localStorage`, IndexedDB
 * and WebAssembly SQLite, which Node does not have or has otherwise. The incremental
 * wallet kit runs on the adapter over a wallet whose database lives in sql.js, copied
 * with `export()` and changed with SQL run in sql.js (`sqljs-wallet.ts`): a change
 * rewrites only a few of the exported file's pages.
 *
 * Wallet data: in Node. The adapter (`src/web/wallet.ts`) is platform-neutral code (the
 * SDK's archive codec, the refusals) over what the app gives it: its files, its swap,
 * its SQLite. Here that is a wallet held in memory, as a page holds it, and the SQLite a
 * web wallet loads, sql.js (its Node build: the same WebAssembly SQLite); nothing in
 * the adapter would run differently in a browser. The demo web wallet over it
 * (IndexedDB, its own files) is exercised in Chromium by `packages/web/test/`.
 */
import { createHash } from 'node:crypto';
import initSqlJs from 'sql.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createBrowserWalletData, type WalletFile } from '../../src/web/wallet.ts';
import { sqlJsIntegrityCheck } from '../../src/web/sqlite.ts';
import { manualClock } from '@noah-backup/core/clock';
import Database from 'better-sqlite3';
import { openKitPage } from './browser/run.ts';
import { breakPaymentsIndex, damagedDatabase, editDatabase, walletDatabase } from './fixtures.ts';
import { walletDataContract } from './wallet-data.ts';

const SQL = await initSqlJs();
const integrityCheck = sqlJsIntegrityCheck(SQL);

walletDataContract(
  'browser (a wallet held by the page, sql.js)',
  async ({ limits }) => {
    let files = new Map<string, Uint8Array>([
      ['wallet.sqlite', await walletDatabase()],
      ['settings.json', new TextEncoder().encode('{"version":1,"wallet_name":"Kit"}')],
    ]);
    const edit = async (change: (path: string) => void) => {
      files = new Map(files).set(
        'wallet.sqlite',
        await editDatabase(files.get('wallet.sqlite')!, change),
      );
    };
    const digest = async () => {
      const h = createHash('sha256');
      for (const [path, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1)))
        h.update(`${path} ${data.length}\n`).update(data);
      return h.digest('hex');
    };
    return {
      adapter: createBrowserWalletData<Map<string, Uint8Array>>(
        {
          files: () =>
            [...files].map(
              ([path, data]): WalletFile => ({
                path,
                data,
                database: path.endsWith('.sqlite'),
              }),
            ),
          keep: () => true,
          open: async (restored) => new Map(restored),
          async replace(opened) {
            files = opened;
          },
          discard() {},
        },
        { integrityCheck, clock: manualClock(new Date('2026-03-04T05:06:07Z')), limits },
      ),
      contents: digest,
      bytes: digest,
      change: () =>
        edit((path) => {
          const db = new Database(path);
          db.prepare('DELETE FROM payments WHERE id = 1').run();
          db.close();
        }),
      damageDatabase: () => edit(breakPaymentsIndex),
      async emptyDatabase() {
        files = new Map(files).set('wallet.sqlite', new Uint8Array(0));
        return 'wallet.sqlite';
      },
      async removeAll() {
        files = new Map();
      },
      // A page stages nothing: what it has not swapped in is only in memory.
      leftovers: async () => [],
    };
  },
  damagedDatabase,
);

describe('browser adapter: a manifest restore within the archive limits', () => {
  it('refuses an entry over maxEntryBytes before making room for it, changing nothing', async () => {
    const before = new Map([['wallet.sqlite', await walletDatabase()]]);
    let files = before;
    const adapter = createBrowserWalletData<Map<string, Uint8Array>>(
      {
        files: () => [...files].map(([path, data]) => ({ path, data, database: true })),
        keep: () => true,
        open: async (restored) => new Map(restored),
        async replace(opened) {
          files = opened;
        },
        discard() {},
      },
      { integrityCheck, clock: manualClock(new Date()), limits: { maxEntryBytes: 1 << 20 } },
    );
    // A terabyte: no page could hold it, and the archive reader would refuse it.
    const huge = (sink: Parameters<Parameters<typeof adapter.restoreTree>[0]>[0]) =>
      sink.create('wallet.sqlite', 2 ** 40, 'database');
    await expect(adapter.restoreTree(huge, {})).rejects.toMatchObject({ code: 'unsafe_archive' });
    await expect(adapter.verifyTree(huge, {})).rejects.toMatchObject({ code: 'unsafe_archive' });
    expect(files).toBe(before);
    expect(() => adapter.admit({ path: 'wallet.sqlite', type: 'file', size: 2 ** 40 })).toThrow(
      /maxEntryBytes/,
    );
  });
});

const kit = await openKitPage();
afterAll(() => kit.close());

describe('in headless Chromium', () => {
  for (const name of kit.names) it(name, () => kit.run(name));
});
