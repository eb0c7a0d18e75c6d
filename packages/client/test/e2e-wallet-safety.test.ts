/**
 * The manager against the real server (sqlite+fs and postgres+s3): a backup of no
 * wallet, or of a damaged one, uploads nothing, so the two good backups survive any
 * number of such runs (docs/WALLET.md §1), and the manager refuses it whatever the
 * platform's adapter does; a restore keeps what it replaces (§2); a legacy backup, which
 * carries no sequence, needs the same confirmation as an older one (FORMAT.md §6.6).
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackupFormat, encryptBackupBytes } from '@noah-backup/core/format';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { breakIndex, collect, exited, waitForLine } from './fixtures/node-helpers.ts';
import { addPayment, type Device, deviceSuite, newMnemonic, uploadRaw } from './helpers/device.ts';

const writerScript = fileURLToPath(new URL('./fixtures/node-writer.mjs', import.meta.url));

describe.each(fullCombos)('wallet safety on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'safety', 16 * 2 ** 20);
  const device = suite.device;

  /** A device with a demo wallet and two completed backups; their list and digest. */
  async function twoBackups(mnemonic: string) {
    const a = await device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 31 });
    await a.manager.setBackupEnabled(true);
    await a.manager.triggerBackup();
    suite.srv.clock.advance(60_000);
    addPayment(a.walletDir, 1);
    await a.manager.triggerBackup();
    const list = await a.manager.listBackups();
    expect(list).toHaveLength(2);
    return { a, list, digest: await walletDigest(a.walletDir) };
  }

  /** Both good backups still list, and the newest restores on a new device. */
  async function stillGood(mnemonic: string, g: Awaited<ReturnType<typeof twoBackups>>) {
    expect(await g.a.manager.listBackups()).toEqual(g.list);
    const b = await device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(g.digest);
    await expect(b.manager.verifyBackup(g.list[1]!.backup_version)).resolves.toMatchObject({
      databases: 1,
    });
  }

  it('an emptied wallet directory, twice: not_a_wallet, both good backups stay', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic);
    const aside = join(g.a.walletDir, '..', 'aside');
    await fsp.rename(g.a.walletDir, aside);
    await fsp.mkdir(g.a.walletDir); // the app lost its data and made a fresh directory
    for (let day = 1; day <= 2; day++) {
      g.a.clock.advance(86_400_000);
      const outcome = await g.a.manager.handleBackupNotification({ type: 'backup_trigger' });
      expect(outcome).toMatchObject({ status: 'failure', error: { code: 'not_a_wallet' } });
    }
    await fsp.writeFile(join(g.a.walletDir, 'settings.json'), '{}'); // files, no database
    await expect(g.a.manager.triggerBackup()).rejects.toMatchObject({ code: 'not_a_wallet' });
    expect(g.a.manager.getStatus()).toMatchObject({ lastError: { code: 'not_a_wallet' } });
    await stillGood(mnemonic, g);
  });

  it('an emptied or overwritten database, twice: corrupt_wallet_database, both stay', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic);
    const db = join(g.a.walletDir, 'wallet.sqlite');
    await fsp.truncate(db, 0);
    g.a.clock.advance(86_400_000);
    expect(await g.a.manager.handleBackupNotification({ type: 'backup_trigger' })).toMatchObject({
      status: 'failure',
      error: { code: 'corrupt_wallet_database' },
    });
    await fsp.writeFile(db, Buffer.alloc(1 << 20, 0x41));
    await expect(g.a.manager.triggerBackup()).rejects.toMatchObject({
      code: 'corrupt_wallet_database',
      message: expect.stringMatching(/wallet\.sqlite is damaged/),
    });
    await stillGood(mnemonic, g);
  });

  it('a damaged index, idle and while the app writes: corrupt_wallet_database, both stay', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic);
    const db = join(g.a.walletDir, 'wallet.sqlite');
    breakIndex(db, 'payments', 'payments_created_at', 'created_at');
    const refused = { code: 'corrupt_wallet_database', message: /wallet\.sqlite is damaged/ };
    // Idle: checked on the live database beside the copy (docs/WALLET.md §5).
    g.a.clock.advance(86_400_000);
    await expect(g.a.manager.triggerBackup()).rejects.toMatchObject(refused);
    // The app committing all along: its copy is checked instead.
    const writer = spawn(process.execPath, [writerScript, db], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForLine(writer, /^ready$/);
      await expect(g.a.manager.triggerBackup()).rejects.toMatchObject(refused);
    } finally {
      writer.kill('SIGKILL');
      await exited(writer);
    }
    await stillGood(mnemonic, g);
  });

  it('remembers where the databases were: one overwritten under any name is refused', async () => {
    const a = await device(newMnemonic());
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 32 });
    await fsp.rename(join(a.walletDir, 'wallet.sqlite'), join(a.walletDir, 'ledger'));
    const other = join(a.walletDir, '..', 'other');
    await createDemoWallet(other, { sizeMb: 1, seed: 33 });
    await fsp.copyFile(join(other, 'wallet.sqlite'), join(a.walletDir, 'index.sqlite'));
    await a.manager.triggerBackup();
    const list = await a.manager.listBackups();
    const fh = await fsp.open(join(a.walletDir, 'ledger'), 'r+');
    await fh.write(new Uint8Array(100), 0, 100, 0); // its header is gone
    await fh.close();
    suite.srv.clock.advance(60_000);
    await expect(a.manager.triggerBackup()).rejects.toMatchObject({
      code: 'corrupt_wallet_database',
      message: expect.stringMatching(/database ledger is damaged .*where a database is expected/),
    });
    expect(await a.manager.listBackups()).toEqual(list);
  });

  it('the manager refuses a snapshot without a database whatever the adapter', async () => {
    const mnemonic = newMnemonic();
    // Another platform's adapter that does not check: it hands over an empty archive.
    const careless = await device(mnemonic, {
      wallet: (node) => ({
        ...node,
        snapshot: async () => ({
          archive: (async function* () {
            yield new Uint8Array(1024); // an empty tar: two zero blocks
          })(),
          entries: 0,
          databases: [],
          cleanup: async () => {},
        }),
      }),
    });
    await expect(careless.manager.triggerBackup()).rejects.toMatchObject({
      code: 'not_a_wallet',
    });
    expect(await careless.manager.listBackups()).toEqual([]);
  });

  it('a restore over a wallet keeps the replaced one beside it and says where', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic);
    const b = await device(mnemonic);
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 34 });
    const mine = await walletDigest(b.walletDir);
    const r = await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(g.digest);
    expect(r.previous).toMatch(/\/wallet\.noah-replaced-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(await walletDigest(r.previous!)).toBe(mine);
  });

  it('a restore into a directory of other files is refused until allowed', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic);
    const b = await device(mnemonic);
    await fsp.mkdir(b.walletDir);
    await fsp.writeFile(join(b.walletDir, 'thesis.txt'), 'years of work');
    await expect(b.manager.restoreBackup()).rejects.toMatchObject({
      code: 'target_not_a_wallet',
    });
    expect(await fsp.readdir(b.walletDir)).toEqual(['thesis.txt']);
    const c = await suite.reopen(b, mnemonic, { walletOptions: { replaceNonWallet: true } });
    const r = await c.manager.restoreBackup();
    expect(await walletDigest(c.walletDir)).toBe(g.digest);
    expect(await fsp.readFile(join(r.previous!, 'thesis.txt'), 'utf8')).toBe('years of work');
  });

  describe.each(['noah-v1', 'seed-v0'] as const)('a %s backup served as the newest', (format) => {
    /** A legacy backup of `d`'s wallet as it is now (a ZIP, as the native apps wrote). */
    async function legacyOf(d: Device, f: BackupFormat): Promise<Uint8Array> {
      const snap = await createNodeWalletAdapter({
        dataDir: d.walletDir,
        tmpDir: join(d.walletDir, '..', 'tmp'),
      }).snapshot({ kind: 'zip' });
      const zip = await collect(snap.archive);
      await snap.cleanup();
      return encryptBackupBytes(zip, {
        format: f,
        keyring: d.keys.keyring,
        createdAt: suite.srv.clock.now(),
      });
    }

    it('needs confirmation once this device or the server knows a v2 sequence', async () => {
      const mnemonic = newMnemonic();
      const a = await device(mnemonic);
      await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 35 });
      const old = await legacyOf(a, format); // the state of long ago
      const oldDigest = await walletDigest(a.walletDir);
      addPayment(a.walletDir, 1);
      await a.manager.triggerBackup(); // v2, sequence 1
      const current = await walletDigest(a.walletDir);
      suite.srv.clock.advance(60_000);
      await uploadRaw(a.api, old); // replayed: the newest in the list
      const [newest] = await a.manager.listBackups();

      const err = await a.manager.restoreBackup().catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'rollback_confirmation_required',
        message: expect.stringContaining(`legacy ${format} format, which carries no sequence`),
      });
      expect(await walletDigest(a.walletDir)).toBe(current);
      await expect(a.manager.verifyBackup()).resolves.toMatchObject({ format });

      // A new device learns sequence 1 from the server's other backup: the same question.
      const b = await device(mnemonic);
      await expect(b.manager.restoreBackup(newest!.backup_version)).rejects.toMatchObject({
        code: 'rollback_confirmation_required',
      });
      await expect(fsp.access(b.walletDir)).rejects.toThrow();
      const r = await b.manager.restoreBackup(newest!.backup_version, { confirmRollback: true });
      expect(r).toMatchObject({ format, sequence: null, previous: null });
      expect(await walletDigest(b.walletDir)).toBe(oldDigest);
      // Confirmed, it did not lower what the device knows: its next backup is sequence 2.
      expect(await b.manager.triggerBackup()).toMatchObject({ sequence: 2n });
    });

    it('restores without a question where no v2 backup was ever seen (control)', async () => {
      const mnemonic = newMnemonic();
      const a = await device(mnemonic);
      await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 36 });
      await uploadRaw(a.api, await legacyOf(a, format));
      const b = await device(mnemonic);
      await expect(b.manager.restoreBackup()).resolves.toMatchObject({ format });
      expect(await walletDigest(b.walletDir)).toBe(await walletDigest(a.walletDir));
    });
  });
});
