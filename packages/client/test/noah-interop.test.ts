/**
 * noah-v1 files and Noah's shipped app, both ways (docs/FORMAT.md §4.4, §4.5): a noah-v1
 * backup this project writes restores in the simulated Noah app (its native restore,
 * rebuilt in scripts/vectors/noah-app.ts) to a wallet with the same databases; a wallet
 * it would restore as empty is refused before anything is uploaded.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { collect } from '@noah-backup/core/stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { noahRestore } from '../../../scripts/vectors/noah-app.ts';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { deviceSuite, newMnemonic } from './helpers/device.ts';

/** A wallet directory as Noah's app keeps it: bark's db.sqlite and the app's own database. */
function noahWallet(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const bark = new Database(join(dir, 'db.sqlite'));
  bark.exec('CREATE TABLE vtxo (id TEXT PRIMARY KEY, amount INTEGER)');
  const add = bark.prepare('INSERT INTO vtxo VALUES (?, ?)');
  for (let i = 0; i < 50; i++) add.run(`vtxo-${i}`, 1000 + i);
  bark.close();
  const app = new Database(join(dir, 'noah_wallet.sqlite'));
  app.exec("CREATE TABLE transactions (id TEXT); INSERT INTO transactions VALUES ('tx-1')");
  app.close();
}

function rows(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('noah-v1 backups and Noah’s app', () => {
  const suite = deviceSuite({ metadataKind: 'sqlite', blobKind: 'fs' }, 'noah', 16 * 2 ** 20);

  it('a noah-v1 backup written here restores in Noah’s app to the same databases', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic, { format: 'noah-v1' });
    noahWallet(a.walletDir);
    expect(await a.manager.triggerBackup()).toMatchObject({ status: 'completed' });
    // What Noah's app downloads: the object, read as text.
    const target = await a.api.downloadUrl({ backup_version: null });
    const text = new TextDecoder().decode(await collect(a.api.download(target)));
    const device = {
      documents: join(suite.root, 'phone', 'docs'),
      cache: join(suite.root, 'phone', 'cache'),
      variant: 'mainnet',
    };
    mkdirSync(device.documents, { recursive: true });
    const wallet = noahRestore(text, mnemonic, device);
    expect(rows(join(wallet, 'db.sqlite'), 'SELECT * FROM vtxo ORDER BY id')).toEqual(
      rows(join(a.walletDir, 'db.sqlite'), 'SELECT * FROM vtxo ORDER BY id'),
    );
    expect(rows(join(wallet, 'noah_wallet.sqlite'), 'SELECT * FROM transactions')).toEqual([
      { id: 'tx-1' },
    ]);
  });

  it('a noah-v1 backup for the signet build restores in Noah’s signet app only', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic, { format: 'noah-v1', noahVariant: 'signet' });
    noahWallet(a.walletDir);
    expect(await a.manager.triggerBackup()).toMatchObject({ status: 'completed' });
    const target = await a.api.downloadUrl({ backup_version: null });
    const text = new TextDecoder().decode(await collect(a.api.download(target)));
    const phone = (variant: string) => {
      const documents = join(suite.root, `phone-${variant}`, 'docs');
      mkdirSync(documents, { recursive: true });
      return { documents, cache: join(suite.root, `phone-${variant}`, 'cache'), variant };
    };
    const signet = noahRestore(text, mnemonic, phone('signet'));
    expect(rows(join(signet, 'db.sqlite'), 'SELECT count(*) AS n FROM vtxo')).toEqual([{ n: 50 }]);
    // The mainnet build looks for its own folder only: nothing to move in.
    expect(existsSync(noahRestore(text, mnemonic, phone('mainnet')))).toBe(false);
  });

  it('refuses a Noah variant the app has no build for, when the manager is made', async () => {
    await expect(
      suite.device(newMnemonic(), { format: 'noah-v1', noahVariant: 'testnet' as 'signet' }),
    ).rejects.toThrow(/mainnet, signet, regtest/);
  });

  it('refuses a noah-v1 backup of a wallet without bark’s db.sqlite, uploading nothing', async () => {
    const a = await suite.device(newMnemonic(), { format: 'noah-v1' });
    await createDemoWallet(a.walletDir, { sizeMb: 1 }); // wallet.sqlite: not Noah's
    await expect(a.manager.triggerBackup()).rejects.toMatchObject({
      code: 'noah_wallet_missing',
    });
    expect(await a.manager.listBackups()).toEqual([]);
  });
});
