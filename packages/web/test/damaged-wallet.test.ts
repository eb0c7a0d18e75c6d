/**
 * A browser wallet whose database went bad is not backed up: its snapshot runs the
 * restore's own `PRAGMA integrity_check` and refuses (`corrupt_wallet_database`), so a
 * damaged wallet never replaces the good backups on the server. The database here still
 * opens and answers queries (an index disagrees with its table), the kind of damage
 * only the integrity check tells. Real server, Node SDK, headless Chromium.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { breakPaymentsIndex, writeWebWallet } from '../../client/test/contract/fixtures.ts';
import { openDevice } from '../../client/test/helpers/device.ts';
import { setupApp } from './helpers/harness.ts';
import { heading, newDevice, startRestore, T, textOf } from './helpers/page.ts';

const app = setupApp();
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'noah-web-damaged-'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

it('a wallet whose database fails PRAGMA integrity_check is refused, the backup kept', async () => {
  // A good backup on the server, made by the Node SDK from this wallet's files.
  const mnemonic = generateMnemonic(wordlist);
  // One object: the web app does not read incremental backups yet (docs/WALLET.md §5).
  const device = await openDevice(app.srv.url, {
    root: join(dir, 'sdk'),
    mnemonic,
    incremental: false,
  });
  try {
    rmSync(device.walletDir, { recursive: true, force: true });
    writeWebWallet(device.walletDir);
    expect((await device.manager.triggerBackup()).status).toBe('completed');
  } finally {
    device.close();
  }

  // Restored in the browser, then its database damaged behind the app's back.
  const [, page] = await newDevice(app.browser, app.srv.url);
  await startRestore(page, mnemonic);
  await expect.poll(() => heading(page), T).toBe('Back up automatically?');
  await page.getByRole('button', { name: 'Not now' }).click();
  await expect.poll(() => heading(page), T).toBe('Wallet');
  const damaged = join(writeWebWallet(join(dir, 'damaged')), 'wallet.sqlite');
  breakPaymentsIndex(damaged);
  await page.evaluate(
    async (bytes) => {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const req = indexedDB.open('noah-wallet', 1);
        req.onsuccess = () => res(req.result);
        req.onerror = () => rej(req.error);
      });
      const store = db.transaction('kv', 'readwrite').objectStore('kv');
      const pointer = await new Promise<string>((res) => {
        const get = store.get('pointer');
        get.onsuccess = () => res(get.result as string);
      });
      const gen = await new Promise<{ db: Uint8Array }>((res) => {
        const get = store.get(pointer);
        get.onsuccess = () => res(get.result as { db: Uint8Array });
      });
      await new Promise<void>((res, rej) => {
        const put = store.put({ ...gen, db: new Uint8Array(bytes) }, pointer);
        put.onsuccess = () => res();
        put.onerror = () => rej(put.error);
      });
      db.close();
    },
    Array.from(readFileSync(damaged)),
  );
  await page.reload();
  await expect.poll(() => textOf(page.locator('.payments')), T).toContain('payment 49');

  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('button', { name: 'Backup settings' }).click();
  await expect.poll(() => page.getByTestId('backup-item').count(), T).toBe(1);
  await page.getByRole('button', { name: 'Back up now' }).click();
  const alert = page.getByRole('alert');
  await expect.poll(() => textOf(alert), T).toContain('Error code: corrupt_wallet_database');
  expect(await textOf(alert)).toContain('The wallet database on this device is damaged');
  // The server still holds the one good backup, and only it.
  await page.reload();
  await expect.poll(() => heading(page), T).toBe('Backup settings');
  await expect.poll(() => page.getByTestId('backup-item').count(), T).toBe(1);
});
