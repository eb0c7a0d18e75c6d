/**
 * The Node page snapshot's integrity check runs on a worker thread beside the reads of
 * the copies (docs/WALLET.md §5): the snapshot is handed out at once, its copies read
 * whole, and `checked` says whether the copies passed `PRAGMA integrity_check`. A
 * transient read (a digest pass) gives the same bytes through one reused buffer.
 */
import { promises as fsp, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import type { PageSnapshot } from '../src/ports.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import { breakIndex, leftovers, tempDir } from './fixtures/node-helpers.ts';

async function readAll(snap: PageSnapshot, path: string, length: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of snap.read(path, 0, length)) parts.push(chunk);
  return Buffer.concat(parts);
}

async function snapshotOf(root: string, damage: boolean, journal?: string) {
  const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 2, seed: 3 });
  if (damage) breakIndex(wallet.database, 'payments', 'payments_created_at', 'created_at');
  if (journal) {
    const db = new Database(wallet.database);
    db.pragma(`journal_mode = ${journal}`);
    db.close();
  }
  const tmp = join(root, 'tmp');
  const adapter = createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp });
  return { snap: await adapter.pageSnapshot({}), tmp };
}

describe('page snapshot integrity check', () => {
  it('a damaged index: the snapshot is handed out and read, then `checked` refuses it', async () => {
    const root = await tempDir();
    const { snap, tmp } = await snapshotOf(root, true);
    try {
      const db = snap.items.find((i) => i.type === 'database');
      if (db?.type !== 'database') throw new Error('no database in the snapshot');
      const bytes = await readAll(snap, db.path, db.pageCount * db.pageSize);
      expect(bytes.length).toBe(db.pageCount * db.pageSize);
      expect(bytes.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
      await expect(snap.checked).rejects.toMatchObject({
        code: 'corrupt_wallet_database',
        message: expect.stringMatching(/wallet\.sqlite is damaged/),
      });
    } finally {
      await snap.cleanup();
    }
    expect(await leftovers(tmp)).toEqual([]);
  });

  it('a transient read gives the same bytes, all through one buffer', async () => {
    const root = await tempDir();
    const { snap } = await snapshotOf(root, false);
    try {
      const db = snap.items.find((i) => i.type === 'database');
      if (db?.type !== 'database') throw new Error('no database in the snapshot');
      const length = db.pageCount * db.pageSize;
      expect(length).toBeGreaterThan(4 * 256 * 1024); // several chunks
      const fresh = await readAll(snap, db.path, length);
      const copies: Buffer[] = [];
      const buffers = new Set<ArrayBufferLike>();
      for await (const chunk of snap.read(db.path, db.pageSize, length - db.pageSize, {
        transient: true,
      })) {
        buffers.add(chunk.buffer);
        copies.push(Buffer.from(chunk)); // used at once, as a digest does
      }
      expect(Buffer.concat(copies).equals(fresh.subarray(db.pageSize))).toBe(true);
      // Before: a fresh 256 KiB buffer per chunk, garbage once digested.
      expect(buffers.size).toBe(1);
    } finally {
      await snap.cleanup();
    }
  });

  it('runs of pages and whole chunks read right, through one open file per copy', async () => {
    const root = await tempDir();
    // Rollback-journal mode: copied (a WAL-mode database is read in place, wal-image.ts).
    const { snap, tmp } = await snapshotOf(root, false, 'DELETE');
    // Files of this process open below the snapshot's temp directory (Linux).
    const open = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(tmp);
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    try {
      const db = snap.items.find((i) => i.type === 'database');
      if (db?.type !== 'database') throw new Error('no database in the snapshot');
      const whole = await readAll(snap, db.path, db.pageCount * db.pageSize);
      // A daily backup's packs: many runs of a few pages, in no order.
      for (let i = 0; i < 200; i++) {
        const first = (i * 37) % (db.pageCount - 3);
        const count = 1 + (i % 3);
        const at = first * db.pageSize;
        const parts: Uint8Array[] = [];
        for await (const c of snap.read(db.path, at, count * db.pageSize)) parts.push(c);
        const got = Buffer.concat(parts);
        expect(got.equals(whole.subarray(at, at + count * db.pageSize))).toBe(true);
      }
      await snap.checked; // no check of a copy holds it open either
      // Before: opened and closed for every run.
      expect(open()).toBe(1);
    } finally {
      await snap.cleanup();
    }
    expect(open()).toBe(0);
    expect(await leftovers(tmp)).toEqual([]);
  });

  it('a sound wallet: `checked` resolves, and the copy read is the one checked', async () => {
    const root = await tempDir();
    const { snap, tmp } = await snapshotOf(root, false);
    try {
      const db = snap.items.find((i) => i.type === 'database');
      if (db?.type !== 'database') throw new Error('no database in the snapshot');
      const first = await readAll(snap, db.path, db.pageCount * db.pageSize);
      await expect(snap.checked).resolves.toBeUndefined();
      // The check opened the copy read-only: not a byte of it changed.
      expect((await readAll(snap, db.path, db.pageCount * db.pageSize)).equals(first)).toBe(true);
    } finally {
      await snap.cleanup();
    }
    expect(await fsp.readdir(tmp)).toEqual([]);
  });
});
