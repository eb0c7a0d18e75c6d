/**
 * The web app's restore runs the SDK's BackupManager (in its worker), so it meets the
 * same rollback rule (docs/FORMAT.md §6.6): a legacy backup served as the newest, after
 * this device made a v2 backup, cannot show it is not older. The app asks again, saying
 * why, and restores only once confirmed. Real server, real Chromium.
 */
import { createApiClient } from '@noah-backup/client/api-client';
import { createSessionKeys } from '@noah-backup/client/keys';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encryptBackupBytes } from '@noah-backup/core/format';
import { zipSync, type Zippable } from 'fflate';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { writeWebWallet } from '../../client/test/contract/fixtures.ts';
import { uploadRaw } from '../../client/test/helpers/device.ts';
import { setupApp } from './helpers/harness.ts';

const app = setupApp();

const T = { timeout: 30_000, interval: 100 };
const textOf = (loc: Locator) =>
  loc.textContent({ timeout: 500 }).then(
    (t) => t ?? '',
    () => '',
  );

/**
 * Uploads a noah-v1 backup (which carries no sequence) of a wallet of this app's kind as
 * the newest. Made here: the app's own backups are incremental (a manifest and packs).
 */
async function replayAsLegacy(mnemonic: string): Promise<void> {
  const dir = writeWebWallet(join(mkdtempSync(join(tmpdir(), 'noah-web-legacy-')), 'w'));
  const keys = await createSessionKeys(mnemonic, app.srv.url);
  try {
    const api = createApiClient({ baseUrl: app.srv.url, signer: keys.signer });
    const files: Zippable = {};
    for (const name of ['wallet.sqlite', 'settings.json'])
      files[name] = new Uint8Array(readFileSync(join(dir, name)));
    const legacy = await encryptBackupBytes(zipSync(files), {
      format: 'noah-v1',
      keyring: keys.keyring,
      createdAt: new Date(),
    });
    await uploadRaw(api, legacy);
  } finally {
    keys.destroy();
    rmSync(dirname(dir), { recursive: true, force: true });
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
