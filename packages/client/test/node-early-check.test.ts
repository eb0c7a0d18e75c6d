/**
 * The integrity check started with the `backup` command, before its lock
 * (`early-check.ts`, docs/WALLET.md §5): the snapshot adopts it only when both are proven
 * to see one state, the same file and the same WAL-index header; otherwise it checks as
 * without it. Real SQLite files; the wallet app's connection stays open in this process.
 */
import { renameSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { startEarlyCheck, stopEarlyChecks } from '../src/node/early-check.ts';
import type { NodePageSnapshot } from '../src/node/page-snapshot.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import { breakIndex, rowCount, tempDir } from './fixtures/node-helpers.ts';

afterEach(() => stopEarlyChecks());

/** A demo wallet held open by its app, with a commit still in its WAL. */
async function openWallet(root: string, o: { damage?: boolean } = {}) {
  const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 2, seed: 7 });
  if (o.damage) breakIndex(wallet.database, 'payments', 'payments_created_at', 'created_at');
  const app = new Database(wallet.database);
  app.pragma('wal_autocheckpoint = 0');
  app.exec('CREATE TABLE IF NOT EXISTS marks (n INTEGER)');
  app.prepare('INSERT INTO marks VALUES (1)').run();
  return { wallet, app };
}

async function snapshot(dataDir: string, tmp: string): Promise<NodePageSnapshot> {
  const adapter = createNodeWalletAdapter({ dataDir, tmpDir: tmp });
  return (await adapter.pageSnapshot({})) as NodePageSnapshot;
}

describe('integrity check started with the command', () => {
  it('an idle wallet: the snapshot adopts it', async () => {
    const root = await tempDir();
    const { wallet, app } = await openWallet(root);
    try {
      expect(await startEarlyCheck(wallet.dir)).toBe(true);
      const snap = await snapshot(wallet.dir, join(root, 'tmp'));
      try {
        expect(snap.checkedEarly).toEqual(['wallet.sqlite']);
        expect(snap.checkedLive).toEqual(['wallet.sqlite']);
        await expect(snap.checked).resolves.toBeUndefined();
      } finally {
        await snap.cleanup();
      }
    } finally {
      app.close();
    }
  });

  it('a commit after it started: not adopted, the snapshot checks its own state', async () => {
    const root = await tempDir();
    const { wallet, app } = await openWallet(root);
    try {
      expect(await startEarlyCheck(wallet.dir)).toBe(true);
      app.prepare('INSERT INTO marks VALUES (2)').run();
      const snap = await snapshot(wallet.dir, join(root, 'tmp'));
      try {
        expect(snap.checkedEarly).toEqual([]);
        expect(snap.checkedLive).toEqual(['wallet.sqlite']);
        await expect(snap.checked).resolves.toBeUndefined();
        const parts: Uint8Array[] = [];
        const db = snap.items.find((i) => i.type === 'database');
        if (db?.type !== 'database') throw new Error('no database');
        for await (const c of snap.read(db.path, 0, db.pageCount * db.pageSize)) parts.push(c);
        const copy = join(root, 'copy.sqlite');
        await import('node:fs/promises').then((f) => f.writeFile(copy, Buffer.concat(parts)));
        expect(rowCount(copy, 'marks')).toBe(2); // the snapshot's state, with the commit
      } finally {
        await snap.cleanup();
      }
    } finally {
      app.close();
    }
  });

  it('a damaged wallet: the adopted check refuses it', async () => {
    const root = await tempDir();
    const { wallet, app } = await openWallet(root, { damage: true });
    try {
      expect(await startEarlyCheck(wallet.dir)).toBe(true);
      const snap = await snapshot(wallet.dir, join(root, 'tmp'));
      try {
        expect(snap.checkedEarly).toEqual(['wallet.sqlite']);
        await expect(snap.checked).rejects.toMatchObject({ code: 'corrupt_wallet_database' });
      } finally {
        await snap.cleanup();
      }
    } finally {
      app.close();
    }
  });

  it('the database replaced after it started: not adopted', async () => {
    const root = await tempDir();
    const { wallet, app } = await openWallet(root, { damage: true });
    expect(await startEarlyCheck(wallet.dir)).toBe(true);
    app.close();
    // A restore's swap: another, sound wallet's database renamed over this one.
    const other = await createDemoWallet(join(root, 'other'), { sizeMb: 1, seed: 8 });
    renameSync(other.database, wallet.database);
    const next = new Database(wallet.database); // the app reopens it
    next.prepare('SELECT count(*) FROM payments').get();
    try {
      const snap = await snapshot(wallet.dir, join(root, 'tmp'));
      try {
        expect(snap.checkedEarly).toEqual([]);
        await expect(snap.checked).resolves.toBeUndefined(); // the new file's own check
      } finally {
        await snap.cleanup();
      }
    } finally {
      next.close();
    }
  });

  it('a data directory named relative to the working directory: adopted too', async () => {
    const root = await tempDir();
    const { wallet, app } = await openWallet(root);
    try {
      expect(await startEarlyCheck(relative(process.cwd(), wallet.dir))).toBe(true);
      const snap = await snapshot(relative(process.cwd(), wallet.dir), join(root, 'tmp'));
      try {
        expect(snap.checkedEarly).toEqual(['wallet.sqlite']);
      } finally {
        await snap.cleanup();
      }
    } finally {
      app.close();
    }
  });

  it('nothing to check early: a rollback-journal wallet, or no wallet', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1, seed: 9 });
    const db = new Database(wallet.database);
    db.pragma('journal_mode = DELETE');
    db.close();
    expect(await startEarlyCheck(wallet.dir)).toBe(false);
    expect(await startEarlyCheck(join(root, 'missing'))).toBe(false);
  });
});
