/**
 * Restore and verify (docs/WALLET.md §2, §3): new device, replacing a wallet, integrity check
 * failure, an archive source that fails late, free space, scratch cleanup.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import {
  archiveOf,
  buildTar,
  chunks,
  leftovers,
  refusal,
  tempDir,
  treeHash,
} from './fixtures/node-helpers.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  return (await refusal(p)).code;
}

describe('restore', () => {
  it('restores into a directory that does not exist yet (a new device)', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 3, seed: 3 });
    const archive = await archiveOf(wallet.dir, 'tar', join(root, 't'));
    const target = join(root, 'device2', 'nested', 'wallet');
    const r = await createNodeWalletAdapter({ dataDir: target }).restore(chunks(archive, 10_000), {
      kind: 'tar',
    });
    expect(r).toEqual({
      entries: 5,
      databases: 1,
      databasePaths: ['wallet.sqlite'],
      previous: null,
    });
    expect(await walletDigest(target)).toBe(await walletDigest(wallet.dir));
    expect((await fsp.stat(join(target, 'settings.json'))).mode & 0o777).toBe(0o600);
    expect((await fsp.stat(join(target, 'channels'))).mode & 0o777).toBe(0o700);
    expect(await leftovers(join(root, 'device2', 'nested'))).toEqual([]);
  });

  it('replaces an existing wallet and keeps the old one beside it, named', async () => {
    const root = await tempDir();
    const a = await createDemoWallet(join(root, 'a'), { sizeMb: 1, seed: 1 });
    const b = await createDemoWallet(join(root, 'b'), { sizeMb: 2, seed: 2 });
    await fsp.writeFile(join(a.dir, 'only-in-a.txt'), 'stale');
    const archive = await archiveOf(b.dir, 'tar', join(root, 't'));
    const digestB = await walletDigest(b.dir);
    expect(await walletDigest(a.dir)).not.toBe(digestB);
    const oldA = await treeHash(a.dir);
    const r = await createNodeWalletAdapter({ dataDir: a.dir }).restore(chunks(archive), {
      kind: 'tar',
    });
    expect(await walletDigest(a.dir)).toBe(digestB);
    await expect(fsp.access(join(a.dir, 'only-in-a.txt'))).rejects.toThrow();
    expect(r.previous).toMatch(/\/a\.noah-replaced-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(await treeHash(r.previous!)).toBe(oldA);
    expect(await leftovers(root)).toEqual([]);
  });

  it('refuses a corrupted database (integrity_check) and swaps nothing', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const before = await treeHash(wallet.dir);
    const db = await fsp.readFile(wallet.database);
    // Overwrite a b-tree page in the middle with garbage; the header stays valid.
    const page = 4096;
    db.fill(0xa5, page * 40, page * 40 + page);
    const archive = await buildTar([{ header: { name: 'wallet.sqlite' }, content: db }]);
    const adapter = createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: join(root, 't') });
    expect(await codeOf(adapter.restore(chunks(archive), { kind: 'tar' }))).toBe(
      'integrity_check_failed',
    );
    expect(await codeOf(adapter.verify(chunks(archive), { kind: 'tar' }))).toBe(
      'integrity_check_failed',
    );
    expect(await treeHash(wallet.dir)).toBe(before);
    expect(await leftovers(root)).toEqual([]);
    expect(await leftovers(join(root, 't'))).toEqual([]);
  });

  it.each(['tar', 'zip'] as const)(
    '%s: an archive source that throws midway leaves the wallet untouched and rethrows',
    async (kind) => {
      const root = await tempDir();
      const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 2, seed: 5 });
      const other = await createDemoWallet(join(root, 'other'), { sizeMb: 2, seed: 6 });
      const archive = await archiveOf(other.dir, kind, join(root, 't'));
      const before = await treeHash(wallet.dir);
      const late = new Error('wrong seedphrase, or the backup is corrupted (late)');
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield* chunks(archive.subarray(0, Math.floor(archive.length * 0.8)), 32 * 1024);
        throw late;
      }
      const adapter = createNodeWalletAdapter({ dataDir: wallet.dir });
      const err = await adapter.restore(failing(), { kind }).catch((e: unknown) => e);
      expect(err).toBe(late);
      expect(await treeHash(wallet.dir)).toBe(before);
      expect(await leftovers(root)).toEqual([]);
    },
  );

  it('restores directories as the archive lists them, keeping what it replaced', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    // The backup holds no database, so nothing marks the demo wallet as the one it
    // replaces: that takes the user's yes too (docs/WALLET.md §2).
    const adapter = createNodeWalletAdapter({
      dataDir: wallet.dir,
      tmpDir: join(root, 't'),
      replaceNonWallet: true,
    });
    const archive = await buildTar([
      { header: { name: 'd/', type: 'directory' } },
      { header: { name: 'd/x.txt', type: 'file' }, content: 'hello' },
    ]);
    // No database in it: restored only when confirmed (docs/WALLET.md §1).
    expect(await codeOf(adapter.restore(chunks(archive), { kind: 'tar' }))).toBe('empty_backup');
    const r = adapter.restore(chunks(archive), { kind: 'tar', allowEmpty: true });
    expect(await r).toMatchObject({
      entries: 1,
      databases: 0,
      previous: expect.stringMatching(/wallet\.noah-replaced-/), // the demo wallet, kept
    });
    expect(await fsp.readFile(join(wallet.dir, 'd', 'x.txt'), 'utf8')).toBe('hello');
  });

  it('checks free space before staging anything', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const archive = await archiveOf(wallet.dir, 'tar', join(root, 't'));
    const adapter = createNodeWalletAdapter({
      dataDir: join(root, 'target'),
      reserveBytes: 64 * 1024 * 1024,
      freeSpace: async () => 1024 * 1024,
    });
    expect(await codeOf(adapter.restore(chunks(archive), { kind: 'tar' }))).toBe(
      'insufficient_space',
    );
    expect((await fsp.readdir(root)).sort()).toEqual(['t', 'wallet']);
  });

  it('stops with insufficient_space when the disk fills during extraction', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    await createDemoWallet(data, { sizeMb: 1 });
    await fsp.writeFile(join(data, 'big.bin'), Buffer.alloc(40 * 1024 * 1024, 1));
    const archive = await archiveOf(data, 'tar', join(root, 't'));
    await fsp.rm(join(data, 'big.bin'));
    await fsp.writeFile(join(data, 'keep.txt'), 'old wallet');
    const before = await treeHash(data);
    let calls = 0;
    const adapter = createNodeWalletAdapter({
      dataDir: data,
      reserveBytes: 1024,
      // Plenty at first; then the disk is nearly full.
      freeSpace: async () => (++calls === 1 ? 1e12 : 10),
    });
    expect(await codeOf(adapter.restore(chunks(archive), { kind: 'tar' }))).toBe(
      'insufficient_space',
    );
    expect(calls).toBeGreaterThan(1);
    expect(await treeHash(data)).toBe(before);
    expect(await leftovers(root)).toEqual([]);
  });

  it('refuses a data directory that is a symlink', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const archive = await archiveOf(wallet.dir, 'tar', join(root, 't'));
    await fsp.symlink(wallet.dir, join(root, 'link'));
    const adapter = createNodeWalletAdapter({ dataDir: join(root, 'link') });
    expect(await codeOf(adapter.restore(chunks(archive), { kind: 'tar' }))).toBe(
      'invalid_data_dir',
    );
    expect((await fsp.lstat(join(root, 'link'))).isSymbolicLink()).toBe(true);
  });

  it('verify reports counts and deletes its scratch directory', async () => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const extra = new Database(join(wallet.dir, 'second.db'));
    extra.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    extra.close();
    const tmp = join(root, 'scratch');
    const archive = await archiveOf(wallet.dir, 'tar', join(root, 't'));
    const adapter = createNodeWalletAdapter({ dataDir: join(root, 'nowhere'), tmpDir: tmp });
    expect(await adapter.verify(chunks(archive), { kind: 'tar' })).toEqual({
      entries: 6,
      databases: 2,
    });
    expect(await fsp.readdir(tmp)).toEqual([]);
    await expect(fsp.access(join(root, 'nowhere'))).rejects.toThrow();
  });
});
