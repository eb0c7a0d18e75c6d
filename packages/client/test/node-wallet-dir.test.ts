/**
 * What the Node adapter takes for a wallet data directory (docs/WALLET.md §1, §2): a
 * backup refuses a directory that is no wallet (`not_a_wallet`) and a database that is
 * damaged — emptied, its header overwritten, malformed deeper down — even when nothing
 * but its name or its journal files says it is one (`corrupt_wallet_database`); verify
 * and restore refuse such an archive; a restore refuses a target that holds other files
 * unless told to replace it, and keeps whatever it replaces.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import {
  buildTar,
  chunks,
  collect,
  leftovers,
  refusal,
  tempDir,
  treeHash,
} from './fixtures/node-helpers.ts';

/** A small SQLite database at `path`. */
function makeDb(path: string): void {
  const db = new Database(path);
  db.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('hello')");
  db.close();
}

/** Overwrites `bytes.length` bytes of the file at `path` from `offset`. */
async function overwrite(path: string, offset: number, bytes: Uint8Array): Promise<void> {
  const fh = await fsp.open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

describe('a backup refuses what is no wallet', () => {
  it.each([
    ['an empty directory', async (_d: string) => {}, /is empty: there is no wallet/],
    [
      'files but no database',
      async (d: string) => {
        await fsp.writeFile(join(d, 'notes.txt'), 'hello');
        await fsp.mkdir(join(d, 'sub'));
      },
      /holds no SQLite database, so it is no wallet data directory/,
    ],
  ])('%s: not_a_wallet, nothing copied', async (_name, fill, message) => {
    const root = await tempDir();
    const data = join(root, 'data');
    await fsp.mkdir(data);
    await fill(data);
    const tmp = join(root, 'tmp');
    const err = await refusal(
      createNodeWalletAdapter({ dataDir: data, tmpDir: tmp }).snapshot({ kind: 'tar' }),
    );
    expect(err.code).toBe('not_a_wallet');
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/the backups already on the server are kept/);
    expect(await fsp.readdir(tmp).catch(() => [])).toEqual([]); // refused before any copy
  });

  it('a declared database that is missing: not_a_wallet, though others are there', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    await fsp.mkdir(join(data, 'db'), { recursive: true });
    makeDb(join(data, 'cache.sqlite'));
    const adapter = createNodeWalletAdapter({
      dataDir: data,
      tmpDir: join(root, 'tmp'),
      databases: ['db/wallet.sqlite'],
    });
    const err = await refusal(adapter.snapshot({ kind: 'tar' }));
    expect(err).toMatchObject({ code: 'not_a_wallet' });
    expect(err.message).toMatch(/the wallet database db\/wallet\.sqlite is missing/);
    makeDb(join(data, 'db', 'wallet.sqlite'));
    const snap = await adapter.snapshot({ kind: 'tar' });
    await snap.cleanup();
    expect([...snap.databases].sort()).toEqual(['cache.sqlite', 'db/wallet.sqlite']);
  });

  it('refuses bad `databases` options', () => {
    const make = (databases: unknown) => () =>
      createNodeWalletAdapter({ dataDir: '/x', databases: databases as string[] });
    expect(make('wallet.sqlite')).toThrow(TypeError);
    expect(make([''])).toThrow(TypeError);
    expect(make(['../wallet.sqlite'])).toThrow(RangeError);
    expect(make(['/etc/wallet.sqlite'])).toThrow(RangeError);
  });
});

describe('a backup refuses a damaged wallet database', () => {
  const cases: [string, (db: string) => Promise<void>, RegExp][] = [
    ['emptied (0 bytes)', (db) => fsp.truncate(db, 0), /an empty file \(0 bytes\)/],
    [
      'its header overwritten',
      (db) => overwrite(db, 0, new Uint8Array(32).fill(0x58)),
      /not a SQLite database with a database's name/,
    ],
    [
      'a header field broken',
      (db) => overwrite(db, 18, Uint8Array.of(9, 9)),
      /SQLite: file is not a database/,
    ],
    [
      'its first page overwritten past the header',
      (db) => overwrite(db, 100, new Uint8Array(64).fill(0xa5)),
      /SQLite: database disk image is malformed/,
    ],
    ['truncated mid-file', (db) => fsp.truncate(db, 100_000), /malformed/],
  ];
  it.each(cases)('%s: corrupt_wallet_database, nothing copied', async (_name, damage, why) => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    await damage(wallet.database);
    const tmp = join(root, 'tmp');
    const err = await refusal(
      createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp }).snapshot({ kind: 'tar' }),
    );
    expect(err.code).toBe('corrupt_wallet_database');
    expect(err.message).toMatch(/^the wallet database wallet\.sqlite is damaged \(/);
    expect(err.message).toMatch(why);
    expect(await fsp.readdir(tmp).catch(() => [])).toEqual([]); // refused before any copy
  });

  it('a file with journal files beside it, whatever its name', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    await fsp.mkdir(data);
    makeDb(join(data, 'other.sqlite'));
    await fsp.writeFile(join(data, 'state'), Buffer.alloc(4096, 0x41));
    await fsp.writeFile(join(data, 'state-wal'), Buffer.alloc(100));
    const err = await refusal(
      createNodeWalletAdapter({ dataDir: data, tmpDir: join(root, 't') }).snapshot({
        kind: 'tar',
      }),
    );
    expect(err).toMatchObject({ code: 'corrupt_wallet_database' });
    expect(err.message).toMatch(/database state is damaged .*journal files beside it/);
  });

  it('a file where the last backup had a database (the manager passes those)', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    await fsp.mkdir(data);
    makeDb(join(data, 'main.sqlite'));
    makeDb(join(data, 'ledger'));
    const adapter = createNodeWalletAdapter({ dataDir: data, tmpDir: join(root, 't') });
    const first = await adapter.snapshot({ kind: 'tar' });
    await first.cleanup();
    expect([...first.databases].sort()).toEqual(['ledger', 'main.sqlite']);
    await overwrite(join(data, 'ledger'), 0, new Uint8Array(16));
    // Nothing but the last backup says `ledger` is a database.
    const plain = await adapter.snapshot({ kind: 'tar' });
    await plain.cleanup();
    expect(plain.items.find((i) => i.path === 'ledger')?.kind).toBe('file');
    const err = await refusal(adapter.snapshot({ kind: 'tar', databases: first.databases }));
    expect(err).toMatchObject({ code: 'corrupt_wallet_database' });
    expect(err.message).toMatch(/database ledger is damaged .*where a database is expected/);
  });

  it('declared databases turn names off: a .db file in another format is a file', async () => {
    const root = await tempDir();
    const data = join(root, 'data');
    await fsp.mkdir(data);
    makeDb(join(data, 'wallet.sqlite'));
    await fsp.writeFile(join(data, 'chain.db'), 'a key-value store, not SQLite');
    const detect = createNodeWalletAdapter({ dataDir: data, tmpDir: join(root, 't') });
    expect((await refusal(detect.snapshot({ kind: 'tar' }))).code).toBe('corrupt_wallet_database');
    const declared = createNodeWalletAdapter({
      dataDir: data,
      tmpDir: join(root, 't'),
      databases: ['wallet.sqlite'],
    });
    const snap = await declared.snapshot({ kind: 'tar' });
    await snap.cleanup();
    expect(snap.items.find((i) => i.path === 'chain.db')?.kind).toBe('file');
    expect(snap.databases).toEqual(['wallet.sqlite']);
  });
});

describe('verify and restore refuse an archive whose database is damaged', () => {
  it.each([
    ['0 bytes', new Uint8Array(0)],
    ['no header', new Uint8Array(8192).fill(0x41)],
  ])('wallet.sqlite of %s: integrity_check_failed, the wallet untouched', async (_n, bytes) => {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
    const before = await treeHash(wallet.dir);
    const archive = await buildTar([
      { header: { name: 'settings.json' }, content: '{}' },
      { header: { name: 'wallet.sqlite', size: bytes.length }, content: bytes },
    ]);
    const adapter = createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: join(root, 't') });
    for (const run of [adapter.verify, adapter.restore]) {
      const err = await refusal(run(chunks(archive), { kind: 'tar' }));
      expect(err.code).toBe('integrity_check_failed');
      expect(err.message).toMatch(/database wallet\.sqlite failed the check/);
    }
    expect(await treeHash(wallet.dir)).toBe(before);
    expect(await leftovers(root)).toEqual([]);
  });
});

describe('a restore into a directory that holds other files', () => {
  async function setup() {
    const root = await tempDir();
    const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1, seed: 8 });
    const snap = await createNodeWalletAdapter({
      dataDir: wallet.dir,
      tmpDir: join(root, 't'),
    }).snapshot({ kind: 'tar' });
    const archive = await collect(snap.archive);
    await snap.cleanup();
    const target = join(root, 'Documents');
    await fsp.mkdir(join(target, 'photos'), { recursive: true });
    await fsp.writeFile(join(target, 'thesis.txt'), 'years of work');
    await fsp.writeFile(join(target, 'photos', 'cat.jpg'), Buffer.alloc(5000, 7));
    return { root, wallet, archive, target, before: await treeHash(target) };
  }

  it('is refused (target_not_a_wallet): nothing changes, nothing staged', async () => {
    const s = await setup();
    const err = await refusal(
      createNodeWalletAdapter({ dataDir: s.target }).restore(chunks(s.archive), { kind: 'tar' }),
    );
    expect(err.code).toBe('target_not_a_wallet');
    expect(err.message).toMatch(/Documents holds files but no wallet database/);
    expect(await treeHash(s.target)).toBe(s.before);
    expect((await fsp.readdir(s.root)).sort()).toEqual(['Documents', 't', 'wallet']);
  });

  it('with replaceNonWallet, replaces it and keeps the files beside it', async () => {
    const s = await setup();
    const r = await createNodeWalletAdapter({ dataDir: s.target, replaceNonWallet: true }).restore(
      chunks(s.archive),
      { kind: 'tar' },
    );
    expect(await walletDigest(s.target)).toBe(await walletDigest(s.wallet.dir));
    expect(r.previous).toMatch(/\/Documents\.noah-replaced-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(await treeHash(r.previous!)).toBe(s.before);
  });

  it('an empty directory is simply replaced; a damaged wallet counts as a wallet', async () => {
    const s = await setup();
    const empty = join(s.root, 'empty');
    await fsp.mkdir(empty);
    const into = (dir: string) =>
      createNodeWalletAdapter({ dataDir: dir }).restore(chunks(s.archive), { kind: 'tar' });
    expect((await into(empty)).previous).toBeNull();
    expect(await walletDigest(empty)).toBe(await walletDigest(s.wallet.dir));
    // A wallet whose only database was emptied is still the wallet being replaced.
    const broken = join(s.root, 'broken');
    await fsp.mkdir(broken);
    await fsp.writeFile(join(broken, 'wallet.sqlite'), '');
    const r = await into(broken);
    expect(await walletDigest(broken)).toBe(await walletDigest(s.wallet.dir));
    expect(await fsp.readdir(r.previous!)).toEqual(['wallet.sqlite']);
  });
});
