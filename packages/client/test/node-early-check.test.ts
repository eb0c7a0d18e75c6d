/**
 * The integrity check started with the `backup` command, before its lock
 * (`early-check.ts`, docs/WALLET.md §5): the snapshot adopts it only when both are proven
 * to see one state, the same file and the same WAL-index header; otherwise it checks as
 * without it. Real SQLite files; the wallet app's connection stays open in this process.
 */
import { renameSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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

/**
 * Starts the early check of a wallet held open by its app (`o.damage`: a broken index),
 * lets `between` act on it, takes the snapshot of `dataDir(walletDir)` and hands it to
 * `use`; cleans up whatever happens.
 */
async function earlyThenSnapshot(
  o: { damage?: boolean; dataDir?: (dir: string) => string },
  between: (app: Database.Database) => void,
  use: (snap: NodePageSnapshot, root: string) => Promise<void>,
): Promise<void> {
  const root = await tempDir();
  const { wallet, app } = await openWallet(root, o);
  const dataDir = o.dataDir?.(wallet.dir) ?? wallet.dir;
  try {
    expect(await startEarlyCheck(dataDir)).toBe(true);
    between(app);
    const adapter = createNodeWalletAdapter({ dataDir, tmpDir: join(root, 'tmp') });
    const snap = (await adapter.pageSnapshot({})) as NodePageSnapshot;
    try {
      await use(snap, root);
    } finally {
      await snap.cleanup();
    }
  } finally {
    app.close();
  }
}

const idle = () => {};

describe('integrity check started with the command', () => {
  it('an idle wallet: the snapshot adopts it', async () => {
    await earlyThenSnapshot({}, idle, async (snap) => {
      expect(snap.checkedEarly).toEqual(['wallet.sqlite']);
      expect(snap.checkedLive).toEqual(['wallet.sqlite']);
      await expect(snap.checked).resolves.toBeUndefined();
    });
  });

  it('a commit after it started: not adopted, the snapshot checks its own state', async () => {
    const commit = (app: Database.Database) => app.prepare('INSERT INTO marks VALUES (2)').run();
    await earlyThenSnapshot({}, commit, async (snap, root) => {
      expect(snap.checkedEarly).toEqual([]);
      expect(snap.checkedLive).toEqual(['wallet.sqlite']);
      await expect(snap.checked).resolves.toBeUndefined();
      const db = snap.items.find((i) => i.type === 'database');
      if (db?.type !== 'database') throw new Error('no database');
      const parts: Uint8Array[] = [];
      for await (const c of snap.read(db.path, 0, db.pageCount * db.pageSize)) parts.push(c);
      const copy = join(root, 'copy.sqlite');
      await writeFile(copy, Buffer.concat(parts));
      expect(rowCount(copy, 'marks')).toBe(2); // the snapshot's state, with the commit
    });
  });

  it('a damaged wallet: the adopted check refuses it', async () => {
    await earlyThenSnapshot({ damage: true }, idle, async (snap) => {
      expect(snap.checkedEarly).toEqual(['wallet.sqlite']);
      await expect(snap.checked).rejects.toMatchObject({ code: 'corrupt_wallet_database' });
    });
  });

  it('a data directory named relative to the working directory: adopted too', async () => {
    const dataDir = (dir: string) => relative(process.cwd(), dir);
    await earlyThenSnapshot({ dataDir }, idle, async (snap) => {
      expect(snap.checkedEarly).toEqual(['wallet.sqlite']);
    });
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
      const adapter = createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: join(root, 'tmp') });
      const snap = (await adapter.pageSnapshot({})) as NodePageSnapshot;
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
