/**
 * Snapshot of a wallet data directory (docs/WALLET.md §1): consistent under a concurrent
 * writer, no raw journals, skipped symlinks/special files, free-space check first,
 * temp files removed; tar and zip round trips.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { manualClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import {
  breakIndex,
  collect,
  exited,
  expectConsistentCopy,
  leftovers,
  rowCount,
  tarEntries,
  tempDir,
  waitForLine,
} from './fixtures/node-helpers.ts';

const writerScript = fileURLToPath(new URL('./fixtures/node-writer.mjs', import.meta.url));

describe('snapshot', () => {
  it('copies a database consistently while another process keeps writing to it', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 12 });
    const writer = spawn(process.execPath, [writerScript, wallet.database], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForLine(writer, /^ready$/);
      const before = rowCount(wallet.database, 'pairs');
      const tmp = join(root, 'tmp');
      const adapter = createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp });
      const snap = await adapter.snapshot({ kind: 'tar' });
      const archive = await collect(snap.archive);
      await snap.cleanup();
      const after = rowCount(wallet.database, 'pairs');
      // The writer was committing during the whole snapshot.
      expect(after).toBeGreaterThan(before);

      const names = (await tarEntries(archive)).map((e) => e.name);
      expect(names).toContain('wallet.sqlite');
      expect(names.filter((n) => /-(wal|shm|journal)$/.test(n))).toEqual([]);
      // The journals existed (the writer holds the database open) and were skipped.
      const skipped = snap.items.filter((i) => i.kind === 'skipped').map((i) => i.path);
      expect(skipped).toContain('wallet.sqlite-wal');

      const restored = join(root, 'restored');
      await createNodeWalletAdapter({ dataDir: restored }).restore(
        (async function* () {
          yield archive;
        })(),
        { kind: 'tar' },
      );
      const copy = join(restored, 'wallet.sqlite');
      expectConsistentCopy(copy, { before, after, payments: wallet.payments });
      // The copy keeps the wallet's journal mode.
      const db = new Database(copy, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      } finally {
        db.close();
      }
      expect(await leftovers(tmp)).toEqual([]);
    } finally {
      writer.kill('SIGKILL');
      await exited(writer);
    }
  });

  it('detects databases by header, skips symlinks and special files, notes them', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    await fsp.mkdir(join(data, 'sub', 'empty'), { recursive: true });
    const db = new Database(join(data, 'sub', 'state.bin'));
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('hello')");
    db.close();
    await fsp.writeFile(join(data, 'notes.txt'), 'SQLite format 2, not a database');
    await fsp.symlink('/etc/passwd', join(data, 'link'));
    execFileSync('mkfifo', [join(data, 'fifo')]);
    const adapter = createNodeWalletAdapter({ dataDir: data, tmpDir: join(root, 'tmp') });
    const snap = await adapter.snapshot({ kind: 'tar' });
    const archive = await collect(snap.archive);
    await snap.cleanup();
    const kinds = Object.fromEntries(snap.items.map((i) => [i.path, i.kind]));
    expect(kinds).toEqual({
      'notes.txt': 'file',
      fifo: 'skipped',
      link: 'skipped',
      sub: 'directory',
      'sub/empty': 'directory',
      'sub/state.bin': 'database',
    });
    expect(snap.items.find((i) => i.path === 'link')?.note).toMatch(/symbolic link/);
    expect(snap.items.find((i) => i.path === 'fifo')?.note).toMatch(/special file/);
    expect(snap.entries).toBe(2);
    const entries = await tarEntries(archive);
    expect(entries).toEqual([
      { name: 'notes.txt', type: 'file' },
      { name: 'sub/', type: 'directory' },
      { name: 'sub/empty/', type: 'directory' },
      { name: 'sub/state.bin', type: 'file' },
    ]);
  });

  it('refuses with insufficient_space before writing anything', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const tmp = join(root, 'tmp');
    const probed: string[] = [];
    const adapter = createNodeWalletAdapter({
      dataDir: wallet.dir,
      tmpDir: tmp,
      reserveBytes: 0,
      freeSpace: async (dir) => {
        probed.push(dir);
        return 500_000; // less than the ~1 MiB of data
      },
    });
    const err = await adapter.snapshot({ kind: 'tar' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoahError);
    expect((err as NoahError).code).toBe('insufficient_space');
    expect((err as NoahError).message).toMatch(/snapshot/);
    expect(probed).toEqual([tmp]);
    expect(await fsp.readdir(tmp)).toEqual([]);
  });

  it('removes its temp directory when a copy fails', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    await fsp.mkdir(data);
    await fsp.writeFile(join(data, 'a.txt'), 'fine');
    // The SQLite header followed by garbage: VACUUM INTO fails.
    await fsp.writeFile(
      join(data, 'broken.db'),
      Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4000, 7)]),
    );
    const tmp = join(root, 'tmp');
    const adapter = createNodeWalletAdapter({ dataDir: data, tmpDir: tmp });
    await expect(adapter.snapshot({ kind: 'tar' })).rejects.toThrow();
    expect(await fsp.readdir(tmp)).toEqual([]);
  });

  it('refuses a database whose index disagrees with its table, naming it, leaving nothing', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    breakIndex(wallet.database, 'payments', 'payments_created_at', 'created_at');
    const tmp = join(root, 'tmp');
    const adapter = createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp });
    const err = await adapter.snapshot({ kind: 'tar' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoahError);
    expect(err).toMatchObject({
      code: 'corrupt_wallet_database',
      message: expect.stringMatching(/wallet\.sqlite is damaged .*not backed up/),
    });
    expect(await fsp.readdir(tmp)).toEqual([]);
    // The wallet itself is left as it was: still readable, still damaged.
    const db = new Database(wallet.database, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM payments').pluck().get()).toBe(wallet.payments);
    } finally {
      db.close();
    }
  });

  it('cleanup removes the temp copies and is idempotent', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const tmp = join(root, 'tmp');
    const snap = await createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp }).snapshot({
      kind: 'tar',
    });
    expect(await leftovers(tmp)).toHaveLength(1);
    await snap.cleanup();
    await snap.cleanup();
    expect(await fsp.readdir(tmp)).toEqual([]);
  });

  it('a consumer may stop reading the archive early; cleanup still removes everything', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 2 });
    const tmp = join(root, 'tmp');
    const snap = await createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp }).snapshot({
      kind: 'tar',
    });
    let read = 0;
    for await (const chunk of snap.archive) {
      read += chunk.length;
      if (read > 100_000) break; // e.g. the upload failed
    }
    expect(read).toBeGreaterThan(100_000);
    await snap.cleanup();
    expect(await fsp.readdir(tmp)).toEqual([]);
  });

  it('an abort in the middle of a file ends the archive with the abort, nothing uncaught', async () => {
    // A Ctrl-C or an app cancelling a backup lands here while the tar is mid-file.
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    await fsp.writeFile(join(wallet.dir, 'blob.bin'), randomBytes(8 * 2 ** 20));
    const tmp = join(root, 'tmp');
    const uncaught: unknown[] = [];
    const record = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', record);
    try {
      const controller = new AbortController();
      const snap = await createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp }).snapshot({
        kind: 'tar',
        signal: controller.signal,
      });
      let read = 0;
      const reading = (async () => {
        for await (const chunk of snap.archive) {
          read += chunk.length;
          if (read > 2 ** 20) controller.abort(); // blob.bin comes first, 8 MiB of it
        }
      })();
      await expect(reading).rejects.toMatchObject({ code: 'aborted' });
      expect(read).toBeLessThan(8 * 2 ** 20);
      await snap.cleanup();
      await new Promise((r) => setTimeout(r, 100)); // an emitted 'error' would land by now
      expect(uncaught).toEqual([]);
      expect(await fsp.readdir(tmp)).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
    }
  });

  it('refuses a data directory that does not exist: not_a_wallet', async () => {
    const root = await tempDir();
    const adapter = createNodeWalletAdapter({ dataDir: join(root, 'missing'), tmpDir: root });
    await expect(adapter.snapshot({ kind: 'tar' })).rejects.toMatchObject({
      code: 'not_a_wallet',
      message: expect.stringMatching(/missing does not exist: there is no wallet to back up/),
    });
  });

  it('writes a reproducible tar: clock mtime, private modes, relative names', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const clock = manualClock(Date.UTC(2026, 0, 2, 3, 4, 5));
    const adapter = createNodeWalletAdapter({
      dataDir: wallet.dir,
      clock,
      tmpDir: join(root, 't'),
    });
    const take = async () => {
      const s = await adapter.snapshot({ kind: 'tar' });
      try {
        return await collect(s.archive);
      } finally {
        await s.cleanup();
      }
    };
    const a = await take();
    const b = await take();
    expect(a.equals(b)).toBe(true);
    // ustar header of the first entry: mode at 100, mtime at 136 (octal), magic at 257.
    expect(a.subarray(257, 263).toString('latin1')).toBe('ustar\0');
    expect(Number.parseInt(a.subarray(100, 107).toString('latin1'), 8)).toBe(0o700);
    expect(Number.parseInt(a.subarray(136, 147).toString('latin1'), 8)).toBe(
      Date.UTC(2026, 0, 2, 3, 4, 5) / 1000,
    );
  });

  it.each(['tar', 'zip'] as const)('%s round trip gives the same wallet digest', async (kind) => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 2, seed: 7 });
    const adapter = createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: join(root, 't') });
    const snap = await adapter.snapshot({ kind });
    const archive = await collect(snap.archive);
    await snap.cleanup();
    expect(snap.entries).toBe(5);
    if (kind === 'zip') expect(archive.subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
    const target = createNodeWalletAdapter({ dataDir: join(root, 'new'), tmpDir: join(root, 't') });
    const one = async function* () {
      yield archive;
    };
    expect(await target.verify(one(), { kind })).toEqual({ entries: 5, databases: 1 });
    expect(await target.restore(one(), { kind })).toEqual({
      entries: 5,
      databases: 1,
      databasePaths: ['wallet.sqlite'],
      previous: null,
    });
    expect(await walletDigest(join(root, 'new'))).toBe(await walletDigest(wallet.dir));
    expect(await leftovers(root)).toEqual([]);
    expect(await leftovers(join(root, 't'))).toEqual([]);
  });
});
