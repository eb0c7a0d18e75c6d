/**
 * The web app's restore runs the SDK's BackupManager (in its worker), so it meets the
 * same rollback rule (docs/FORMAT.md §6.6): a legacy backup served as the newest, after
 * this device made a v2 backup, cannot show it is not older. The app asks again, saying
 * why, and restores only once confirmed. Real server, real Chromium.
 */
import { createApiClient } from '@noah-backup/client/api-client';
import { createSessionKeys } from '@noah-backup/client/keys';
import { decryptBackupBytes, encryptBackupBytes } from '@noah-backup/core/format';
import { zipSync, type Zippable } from 'fflate';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { uploadRaw } from '../../client/test/helpers/device.ts';
import { setupApp } from './helpers/harness.ts';

const app = setupApp();

const T = { timeout: 30_000, interval: 100 };
const textOf = (loc: Locator) =>
  loc.textContent({ timeout: 500 }).then(
    (t) => t ?? '',
    () => '',
  );

/** The regular files of a ustar archive (the web app's v2 payload): name, size, type. */
function untar(bytes: Uint8Array): Zippable {
  const files: Zippable = {};
  const text = (at: number, n: number) =>
    Buffer.from(bytes.subarray(at, at + n))
      .toString('latin1')
      .replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= bytes.length && bytes[at] !== 0; ) {
    const size = Number.parseInt(text(at + 124, 12).trim() || '0', 8);
    const type = text(at + 156, 1);
    if (type === '0' || type === '') files[text(at, 100)] = bytes.slice(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Replays this wallet's newest backup as a noah-v1 one, which carries no sequence. */
async function replayAsLegacy(mnemonic: string): Promise<void> {
  const keys = await createSessionKeys(mnemonic, app.srv.url);
  try {
    const api = createApiClient({ baseUrl: app.srv.url, signer: keys.signer });
    const target = await api.downloadUrl({ backup_version: null });
    const stored = new Uint8Array(await (await fetch(target.download_url)).arrayBuffer());
    const { plaintext } = await decryptBackupBytes(stored, { keyring: keys.keyring });
    const legacy = await encryptBackupBytes(zipSync(untar(plaintext)), {
      format: 'noah-v1',
      keyring: keys.keyring,
      createdAt: new Date(),
    });
    await uploadRaw(api, legacy);
  } finally {
    keys.destroy();
  }
}

describe('web app rollback confirmation', () => {
  it('asks again, saying why, before restoring a legacy backup served as the newest', async () => {
    const page: Page = await (await app.browser.newContext()).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(app.srv.url);
    await page.getByRole('button', { name: 'Create a new wallet' }).click();
    const words = await page.getByTestId('seedphrase').locator('.seed-word').allTextContents();
    await page.getByLabel('I wrote down these 12 words, in order').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Not now' }).click();
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('button', { name: 'Backup settings' }).click();
    await page.getByRole('button', { name: 'Back up now' }).click();
    const items = page.getByTestId('backup-item');
    await expect.poll(() => items.count(), T).toBe(1);

    await replayAsLegacy(words.join(' '));
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => items.count(), T).toBe(2);
    await items
      .nth(0)
      .getByRole('button', { name: /^Restore the backup from/ })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Restore this backup?' });
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    // The manager refused without confirmation: the dialog asks again, with the reason.
    await expect
      .poll(() => textOf(dialog), T)
      .toContain('This backup may be older than the newest one this device has seen.');
    expect(await page.getByText(/^Restored the backup from/).count()).toBe(0);
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.getByText(/^Restored the backup from/).waitFor();
  });
});
