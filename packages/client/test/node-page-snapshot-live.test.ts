/**
 * The page snapshot checks a WAL-mode database on the LIVE file beside its copy when it
 * can prove both saw one state (the WAL-index header unchanged from before the check's
 * read transaction to after the copy), else it checks the copy as before
 * (docs/WALLET.md §5). Real SQLite files, real writers: a connection of this process
 * that stays open idle, or another process committing all along.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { Checks, type NodePageSnapshot } from '../src/node/page-snapshot.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import {
  breakIndex,
  exited,
  expectConsistentCopy,
  leftovers,
  rowCount,
  tempDir,
  waitForLine,
} from './fixtures/node-helpers.ts';

const writerScript = fileURLToPath(new URL('./fixtures/node-writer.mjs', import.meta.url));

async function walletIn(root: string, o: { damage?: boolean; journal?: string } = {}) {
  const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 2, seed: 5 });
  if (o.damage) breakIndex(wallet.database, 'payments', 'payments_created_at', 'created_at');
  if (o.journal) {
    const db = new Database(wallet.database);
    db.pragma(`journal_mode = ${o.journal}`);
    db.close();
  }
  return wallet;
}

async function pageSnapshot(dataDir: string, tmp: string): Promise<NodePageSnapshot> {
  const adapter = createNodeWalletAdapter({ dataDir, tmpDir: tmp });
  return (await adapter.pageSnapshot({})) as NodePageSnapshot;
}

/** Writes the snapshot's copy of `path` to `to`, to open it with SQLite. */
async function saveCopy(snap: NodePageSnapshot, path: string, to: string): Promise<void> {
  const db = snap.items.find((i) => i.path === path);
  if (db?.type !== 'database') throw new Error(`${path} is not a database of the snapshot`);
  const parts: Uint8Array[] = [];
  for await (const chunk of snap.read(path, 0, db.pageCount * db.pageSize)) parts.push(chunk);
  await fsp.writeFile(to, Buffer.concat(parts));
}

/** Runs `fn` while another process commits pairs of rows to `database` all along. */
async function whileWriting<T>(database: string, fn: () => Promise<T>) {
  const writer = spawn(process.execPath, [writerScript, database], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await waitForLine(writer, /^ready$/);
    const before = rowCount(database, 'pairs');
    const value = await fn();
    const after = rowCount(database, 'pairs');
    expect(after).toBeGreaterThan(before); // it committed during the snapshot
    return { value, before, after };
  } finally {
    writer.kill('SIGKILL');
    await exited(writer);
  }
}

/** The copies of databases under `dir` (other files of the wallet are copied: `.bin`). */
async function databaseCopies(dir: string): Promise<string[]> {
  const all = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  return all.filter((e) => e.isFile() && e.name.endsWith('.db')).map((e) => e.name);
}

describe('page snapshot: the integrity check of the live database', () => {
  it('a WAL-mode wallet no process has open is read in place too', async () => {
    const root = await tempDir();
    const wallet = await walletIn(root);
    const tmp = join(root, 'tmp');
    const snap = await pageSnapshot(wallet.dir, tmp);
    try {
      expect(await databaseCopies(tmp)).toEqual([]);
      expect(snap.checkedLive).toEqual(['wallet.sqlite']);
      await expect(snap.checked).resolves.toBeUndefined();
      const copy = join(root, 'copy.sqlite');
      await saveCopy(snap, 'wallet.sqlite', copy);
      expect(rowCount(copy, 'payments')).toBe(wallet.payments);
    } finally {
      await snap.cleanup();
    }
  });

  it('an idle wallet: checked on the live database beside the copy, never written', async () => {
    const root = await tempDir();
    const wallet = await walletIn(root);
    // The wallet app holds the database open, with commits still in its WAL.
    const app = new Database(wallet.database);
    app.pragma('wal_autocheckpoint = 0');
    app.exec('CREATE TABLE marks (n INTEGER)');
    app.prepare('INSERT INTO marks VALUES (?)').run(7);
    const files = ['', '-wal'].map((s) => `${wallet.database}${s}`);
    const bytesBefore = await Promise.all(files.map((f) => fsp.readFile(f)));
    const tmp = join(root, 'tmp');
    try {
      const snap = await pageSnapshot(wallet.dir, tmp);
      try {
        expect(snap.checkedLive).toEqual(['wallet.sqlite']);
        // Read in place (wal-image.ts): no copy of the database was written.
        expect(await databaseCopies(tmp)).toEqual([]);
        await expect(snap.checked).resolves.toBeUndefined();
        const copy = join(root, 'copy.sqlite');
        await saveCopy(snap, 'wallet.sqlite', copy);
        expect(rowCount(copy, 'payments')).toBe(wallet.payments);
        expect(rowCount(copy, 'marks')).toBe(1); // what only the WAL held
      } finally {
        await snap.cleanup();
      }
      // Read-only: the database and its WAL are as the app left them.
      const bytesAfter = await Promise.all(files.map((f) => fsp.readFile(f)));
      expect(bytesAfter.map((b, i) => b.equals(bytesBefore[i]!))).toEqual([true, true]);
    } finally {
      app.close();
    }
    expect(await leftovers(tmp)).toEqual([]);
  });

  it('a commit between the pins: the copy is checked instead, and is consistent', async () => {
    const root = await tempDir();
    const wallet = await walletIn(root);
    const tmp = join(root, 'tmp');
    const copy = join(root, 'copy.sqlite');
    const { before, after } = await whileWriting(wallet.database, async () => {
      const snap = await pageSnapshot(wallet.dir, tmp);
      try {
        expect(snap.checkedLive).toEqual([]);
        await expect(snap.checked).resolves.toBeUndefined();
        await saveCopy(snap, 'wallet.sqlite', copy);
      } finally {
        await snap.cleanup();
      }
    });
    expectConsistentCopy(copy, { before, after, payments: wallet.payments });
    expect(await leftovers(tmp)).toEqual([]);
  });

  it('a damaged index is refused on the live database and on the copy', async () => {
    const root = await tempDir();
    const wallet = await walletIn(root, { damage: true });
    const tmp = join(root, 'tmp');
    const refused = { code: 'corrupt_wallet_database', message: /wallet\.sqlite is damaged/ };
    const live = await pageSnapshot(wallet.dir, tmp);
    try {
      expect(live.checkedLive).toEqual(['wallet.sqlite']);
      await expect(live.checked).rejects.toMatchObject(refused);
    } finally {
      await live.cleanup();
    }
    await whileWriting(wallet.database, async () => {
      const snap = await pageSnapshot(wallet.dir, tmp);
      try {
        expect(snap.checkedLive).toEqual([]);
        await expect(snap.checked).rejects.toMatchObject(refused);
      } finally {
        await snap.cleanup();
      }
    });
    expect(await leftovers(tmp)).toEqual([]);
  });

  it('a rollback-journal database: its copy is checked, as before', async () => {
    const root = await tempDir();
    const wallet = await walletIn(root, { journal: 'DELETE' });
    const tmp = join(root, 'tmp');
    const snap = await pageSnapshot(wallet.dir, tmp);
    try {
      expect(snap.checkedLive).toEqual([]);
      await expect(snap.checked).resolves.toBeUndefined();
      const copy = join(root, 'copy.sqlite');
      await saveCopy(snap, 'wallet.sqlite', copy);
      expect(rowCount(copy, 'payments')).toBe(wallet.payments);
      const db = new Database(copy, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      } finally {
        db.close();
      }
    } finally {
      await snap.cleanup();
    }
    const broken = await walletIn(join(root, 'b'), { journal: 'DELETE', damage: true });
    const bad = await pageSnapshot(broken.dir, tmp);
    try {
      await expect(bad.checked).rejects.toMatchObject({ code: 'corrupt_wallet_database' });
    } finally {
      await bad.cleanup();
    }
  });
});

describe('page snapshot: the queue of checks', () => {
  /** A check under the test's control: `fail()` ends it, `stopped` says if it was stopped. */
  const check = () => {
    let fail: (e: Error) => void = () => {};
    const done = new Promise<void>((_, reject) => {
      fail = reject;
    });
    done.catch(() => {});
    const c = {
      done,
      ended: Promise.resolve(),
      stopped: false,
      stop() {
        c.stopped = true;
      },
    };
    return { c, fail };
  };

  it('a failed check before a live one: cleaning up stops the live one too', async () => {
    const checks = new Checks();
    const first = check();
    const live = check();
    checks.addLive(first.c, 'a.sqlite');
    checks.addLive(live.c, 'b.sqlite'); // its thread runs from the start, queued or not
    first.fail(new Error('database disk image is malformed'));
    await expect(checks.done()).rejects.toMatchObject({ code: 'corrupt_wallet_database' });
    checks.stop();
    // Else the live check's thread would run the whole check of the wallet after the
    // backup failed, holding a read transaction on it and keeping the process alive.
    expect(live.c.stopped).toBe(true);
  });
});
