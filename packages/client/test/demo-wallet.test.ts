/** The demo wallet and the logical digest the round-trip tests rely on. */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { tempDir } from './fixtures/node-helpers.ts';

describe('createDemoWallet', () => {
  it('makes a realistic WAL-mode wallet of about the requested size', async () => {
    const root = await tempDir();
    const w = await createDemoWallet(join(root, 'w'), { sizeMb: 2, marker: 'MARKER-42' });
    expect((await fsp.readdir(w.dir)).sort()).toEqual([
      'channels',
      'settings.json',
      'wallet.sqlite',
    ]);
    expect((await fsp.readdir(join(w.dir, 'channels', 'monitors'))).length).toBe(2);
    const size = (await fsp.stat(w.database)).size;
    expect(size).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(size).toBeLessThan(3 * 1024 * 1024);
    const db = new Database(w.database, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT count(*) FROM payments').pluck().get()).toBe(w.payments);
      expect(db.prepare('SELECT count(*) FROM coins').pluck().get()).toBe(w.coins);
      expect(w.payments).toBeGreaterThan(1000);
      expect(w.coins).toBeGreaterThan(100);
      const p = db.prepare('SELECT * FROM payments WHERE id = 1').get() as Record<string, unknown>;
      expect(p.bolt11).toMatch(/^lnbc\d+n1p[0-9a-f]+$/);
      expect(p.payment_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(p.description).toMatch(/MARKER-42$/);
      const unmarked = db
        .prepare("SELECT count(*) FROM payments WHERE description NOT LIKE '%MARKER-42'")
        .pluck()
        .get();
      expect(unmarked).toBe(0);
    } finally {
      db.close();
    }
    expect(await fsp.readFile(join(w.dir, 'settings.json'), 'utf8')).toContain('MARKER-42');
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const root = await tempDir();
    const a = await createDemoWallet(join(root, 'a'), { sizeMb: 1, seed: 9 });
    const b = await createDemoWallet(join(root, 'b'), { sizeMb: 1, seed: 9 });
    const c = await createDemoWallet(join(root, 'c'), { sizeMb: 1, seed: 10 });
    expect(await walletDigest(a.dir)).toBe(await walletDigest(b.dir));
    expect(await walletDigest(a.dir)).not.toBe(await walletDigest(c.dir));
  });

  it('rejects a bad size', async () => {
    const root = await tempDir();
    await expect(createDemoWallet(join(root, 'w'), { sizeMb: 0 })).rejects.toThrow(RangeError);
  });
});

describe('walletDigest', () => {
  it('ignores page layout and journals, sees every row and file byte', async () => {
    const root = await tempDir();
    const w = await createDemoWallet(join(root, 'w'), { sizeMb: 1 });
    const d0 = await walletDigest(w.dir);
    const db = new Database(w.database);
    db.exec('VACUUM'); // new page layout, same rows
    expect(await walletDigest(w.dir)).toBe(d0); // also while the -wal and -shm exist
    db.prepare('UPDATE coins SET confirmed = 1 - confirmed WHERE rowid = 5').run();
    const d1 = await walletDigest(w.dir);
    expect(d1).not.toBe(d0);
    db.prepare('UPDATE coins SET confirmed = 1 - confirmed WHERE rowid = 5').run();
    db.close();
    expect(await walletDigest(w.dir)).toBe(d0);
    const f = join(w.dir, 'channels', 'channel_manager.bin');
    const bytes = await fsp.readFile(f);
    bytes[100] = bytes[100]! ^ 1;
    await fsp.writeFile(f, bytes);
    expect(await walletDigest(w.dir)).not.toBe(d0);
  });
});
