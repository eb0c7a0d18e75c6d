/**
 * The manager against the real server (sqlite+fs and postgres+s3), on what the wallet's
 * shape says: a database of the last backup that is gone while others remain is not
 * backed up silently (docs/WALLET.md §1), on the Node adapter and on the browser
 * adapter alike (the check is the manager's).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { encryptBackupBytes } from '@noah-backup/core/format';
import initSqlJs from 'sql.js';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { sqlJsIntegrityCheck } from '../src/web/sqlite.ts';
import { createBrowserWalletData, type WalletFile } from '../src/web/wallet.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { writeWebWallet } from './contract/fixtures.ts';
import { buildTar } from './fixtures/node-helpers.ts';
import { addPayment, deviceSuite, newMnemonic, uploadRaw } from './helpers/device.ts';

const SQL = await initSqlJs();

/** A browser adapter over the files of `dir` (read as the page would hold them). */
function browserWallet(dir: string) {
  return createBrowserWalletData<Map<string, Uint8Array>>(
    {
      files: async () => {
        const out: WalletFile[] = [];
        for (const name of (await fsp.readdir(dir)).sort())
          out.push({
            path: name,
            data: new Uint8Array(await fsp.readFile(join(dir, name))),
            database: name.endsWith('.sqlite'),
          });
        return out;
      },
      keep: () => true,
      open: async (files) => new Map(files),
      async replace() {},
      discard() {},
    },
    { integrityCheck: sqlJsIntegrityCheck(SQL), clock: manualClock(new Date()) },
  );
}

describe.each(fullCombos)('wallet shape on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'shape', 16 * 2 ** 20);

  describe('a database of the last backup that is gone', () => {
    /** A Node device whose wallet has two databases, and two backups of it. */
    async function twoDatabases(mnemonic: string) {
      const a = await suite.device(mnemonic);
      await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 41 });
      const other = join(a.walletDir, '..', 'other');
      await createDemoWallet(other, { sizeMb: 1, seed: 42 });
      await fsp.copyFile(join(other, 'wallet.sqlite'), join(a.walletDir, 'index.sqlite'));
      await a.manager.setBackupEnabled(true);
      await a.manager.triggerBackup();
      suite.srv.clock.advance(60_000);
      addPayment(a.walletDir, 1);
      await a.manager.triggerBackup();
      const list = await a.manager.listBackups();
      expect(list).toHaveLength(2);
      return { a, list, digest: await walletDigest(a.walletDir) };
    }

    it('deleted: refused (also from a push), both good backups stay, until accepted', async () => {
      const mnemonic = newMnemonic();
      const { a, list, digest } = await twoDatabases(mnemonic);
      await fsp.rm(join(a.walletDir, 'index.sqlite'));
      await expect(a.manager.triggerBackup()).rejects.toMatchObject({
        code: 'wallet_database_missing',
        message: expect.stringMatching(/database index\.sqlite\b.*is gone/),
      });
      a.clock.advance(86_400_000);
      expect(await a.manager.handleBackupNotification({ type: 'backup_trigger' })).toMatchObject({
        status: 'failure',
        error: { code: 'wallet_database_missing' },
      });
      expect(await a.manager.listBackups()).toEqual(list);
      // The newest good backup still restores the wallet with both databases.
      const b = await suite.device(mnemonic);
      await b.manager.restoreBackup();
      expect(await walletDigest(b.walletDir)).toBe(digest);

      // The user says the database was dropped on purpose: backed up, and remembered.
      suite.srv.clock.advance(60_000);
      await expect(
        a.manager.triggerBackup({ acceptMissingDatabases: true }),
      ).resolves.toMatchObject({ status: 'completed' });
      suite.srv.clock.advance(60_000);
      await expect(a.manager.triggerBackup()).resolves.toMatchObject({ status: 'completed' });
    });

    it('renamed: refused, naming the one gone', async () => {
      const { a, list } = await twoDatabases(newMnemonic());
      await fsp.rename(join(a.walletDir, 'index.sqlite'), join(a.walletDir, 'index2.sqlite'));
      await expect(a.manager.triggerBackup()).rejects.toMatchObject({
        code: 'wallet_database_missing',
        message: expect.stringMatching(/database index\.sqlite\b.*is gone/),
      });
      expect(await a.manager.listBackups()).toEqual(list);
    });

    it('an app that declares its databases dropped one: backed up', async () => {
      const mnemonic = newMnemonic();
      const { a } = await twoDatabases(mnemonic);
      const declared = await suite.reopen(a, mnemonic, {
        walletOptions: { databases: ['wallet.sqlite'] },
      });
      await fsp.rm(join(declared.walletDir, 'index.sqlite'));
      suite.srv.clock.advance(60_000);
      await expect(declared.manager.triggerBackup()).resolves.toMatchObject({
        status: 'completed',
      });
    });

    it('in the browser adapter: refused the same, until accepted', async () => {
      const mnemonic = newMnemonic();
      const first = await suite.device(mnemonic);
      const dir = writeWebWallet(join(first.walletDir, '..', 'web'));
      await fsp.copyFile(join(dir, 'wallet.sqlite'), join(dir, 'index.sqlite'));
      const web = await suite.reopen(first, mnemonic, { wallet: () => browserWallet(dir) });
      await web.manager.triggerBackup();
      const list = await web.manager.listBackups();
      await fsp.rm(join(dir, 'index.sqlite'));
      suite.srv.clock.advance(60_000);
      await expect(web.manager.triggerBackup()).rejects.toMatchObject({
        code: 'wallet_database_missing',
      });
      expect(await web.manager.listBackups()).toEqual(list);
      await expect(
        web.manager.triggerBackup({ acceptMissingDatabases: true }),
      ).resolves.toMatchObject({ status: 'completed' });
    });
  });

  it('a backup without a database: verify refuses, restore needs confirmation', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 43 });
    await a.manager.triggerBackup(); // sequence 1
    const digest = await walletDigest(a.walletDir);
    // What an old client or another tool uploaded: an archive without a database.
    const tarball = await buildTar([{ header: { name: 'settings.json' }, content: '{}' }]);
    suite.srv.clock.advance(60_000);
    const empty = await uploadRaw(
      a.api,
      await encryptBackupBytes(tarball, {
        keyring: a.keys.keyring,
        createdAt: suite.srv.clock.now(),
        sequence: 2n,
        payloadKind: 'tar',
      }),
    );
    const [newest, good] = await a.manager.listBackups();
    expect(newest!.backup_version).toBe(empty.backup_version);

    await expect(a.manager.verifyBackup()).rejects.toMatchObject({
      code: 'empty_backup',
      message: expect.stringMatching(/holds no wallet database \(1 file in it\)/),
    });
    const b = await suite.device(mnemonic);
    await expect(b.manager.restoreBackup()).rejects.toMatchObject({ code: 'empty_backup' });
    await expect(fsp.access(b.walletDir)).rejects.toThrow();
    await expect(b.manager.verifyBackup(good!.backup_version)).resolves.toMatchObject({
      databases: 1,
    });
    // Older than the empty one's sequence, which this device has now seen: a yes too.
    await b.manager.restoreBackup(good!.backup_version, { confirmRollback: true });
    expect(await walletDigest(b.walletDir)).toBe(digest);
    // Confirmed, it restores what it holds (and keeps the wallet it replaces beside it).
    const r = await b.manager.restoreBackup(undefined, { confirmEmpty: true });
    expect(await fsp.readdir(b.walletDir)).toEqual(['settings.json']);
    expect(await walletDigest(r.previous!)).toBe(digest);
  });

  describe('the wallet being replaced', () => {
    /** A user with one backup of a demo wallet (its database: `wallet.sqlite`). */
    async function oneBackup(mnemonic: string) {
      const a = await suite.device(mnemonic);
      await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 44 });
      await a.manager.triggerBackup();
      return { a, digest: await walletDigest(a.walletDir) };
    }

    it("a directory whose databases are not the wallet's needs replaceNonWallet", async () => {
      const mnemonic = newMnemonic();
      const { digest } = await oneBackup(mnemonic);
      const b = await suite.device(mnemonic);
      // Some project's files, one of them a SQLite database under another name.
      await createDemoWallet(join(b.walletDir, '..', 'proj'), { sizeMb: 1, seed: 45 });
      await fsp.mkdir(b.walletDir);
      await fsp.copyFile(
        join(b.walletDir, '..', 'proj', 'wallet.sqlite'),
        join(b.walletDir, 'cache.db'),
      );
      await fsp.writeFile(join(b.walletDir, 'thesis.txt'), 'years of work');
      const before = await walletDigest(b.walletDir);
      await expect(b.manager.restoreBackup()).rejects.toMatchObject({
        code: 'target_not_a_wallet',
        message: expect.stringMatching(/cache\.db/),
      });
      expect(await walletDigest(b.walletDir)).toBe(before);
      expect(
        (await fsp.readdir(join(b.walletDir, '..'))).filter((n) => n.includes('.noah-')),
      ).toEqual([]);
      const c = await suite.reopen(b, mnemonic, { walletOptions: { replaceNonWallet: true } });
      const r = await c.manager.restoreBackup();
      expect(await walletDigest(c.walletDir)).toBe(digest);
      expect(await walletDigest(r.previous!)).toBe(before);
    });

    it("the databases this device's last backup held count too", async () => {
      const mnemonic = newMnemonic();
      const { a } = await oneBackup(mnemonic);
      // Another device's wallet keeps its database under a new name, and backs up.
      const d = await suite.device(mnemonic);
      await createDemoWallet(d.walletDir, { sizeMb: 1, seed: 46 });
      await fsp.rename(join(d.walletDir, 'wallet.sqlite'), join(d.walletDir, 'main.sqlite'));
      suite.srv.clock.advance(60_000);
      await d.manager.triggerBackup();
      const digest = await walletDigest(d.walletDir);
      // This device's wallet (wallet.sqlite, as in its last backup) is the one replaced.
      const mine = await walletDigest(a.walletDir);
      const r = await a.manager.restoreBackup();
      expect(await walletDigest(a.walletDir)).toBe(digest);
      expect(await walletDigest(r.previous!)).toBe(mine);
      // The device now knows the restored wallet's databases: its next backup goes ahead.
      suite.srv.clock.advance(60_000);
      await expect(a.manager.triggerBackup()).resolves.toMatchObject({ status: 'completed' });
    });
  });
});
