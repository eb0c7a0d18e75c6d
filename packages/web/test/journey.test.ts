/**
 * The whole promise in a real browser: create a wallet, enable backups (the first backup
 * is made at once), add payments, back up and watch the progress complete, see the
 * history, restore on a new device (a fresh browser context) from the seedphrase alone
 * and find the same payments and the backup it came from; restore a chosen backup and
 * delete one, each after a confirmation; a wrong seedphrase shows its error and changes
 * nothing. Real server, real Chromium. Saves a screenshot of each screen: to
 * docs/screenshots/ with UPDATE_SCREENSHOTS=1 (how the committed ones are refreshed),
 * otherwise to a temp dir so a test run leaves the tree clean.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import type { BrowserContext, Page, Route } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { anyFileContains, filesUnder, setupApp } from './helpers/harness.ts';
import {
  attrOf,
  cacheRecords,
  heading,
  newDevice as openDevice,
  T,
  type TrackedPage,
  textOf,
  walletIsEmpty,
} from './helpers/page.ts';

const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? resolve(import.meta.dirname, '../../../docs/screenshots')
  : join(tmpdir(), 'noah-web-screenshots');
const PAYMENTS = [
  { direction: 'Received', amount: '50000', description: 'Salary marker-7QX' },
  { direction: 'Sent', amount: '12000', description: 'Groceries marker-7QX' },
  { direction: 'Received', amount: '1234', description: 'Refund marker-7QX' },
];
const BALANCE = '39,234 sats';

const app = setupApp();
let device2: BrowserContext;
let page1: TrackedPage;
let page2: TrackedPage;
let mnemonic = '';

const newDevice = () => openDevice(app.browser, app.srv.url);

/** Saves a screenshot; dialogs in the viewport only (the backdrop covers the viewport). */
const shot = (page: Page, name: string, fullPage = true) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });

const backupItems = (page: Page) => page.getByTestId('backup-item');

async function openBackupSettings(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('button', { name: 'Backup settings' }).click();
  await expect.poll(() => heading(page), T).toBe('Backup settings');
}

/** Records every label the backup progress bar shows, in order. */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { progressSeen: string[] }).progressSeen = seen;
    const area = document.querySelector('[data-testid="backup-progress"]');
    if (!area) throw new Error('no progress area');
    new MutationObserver(() => {
      const bar = area.querySelector('[role="progressbar"]');
      const text = bar?.getAttribute('aria-valuetext');
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(area, { subtree: true, childList: true, attributes: true });
  });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
});

describe('web app journey', () => {
  it('creates a wallet and shows its seedphrase once, behind a confirmation', async () => {
    [, page1] = await newDevice();
    await expect.poll(() => heading(page1), T).toBe('Your wallet, backed up');
    await shot(page1, '01-welcome');
    await page1.getByRole('button', { name: 'Create a new wallet' }).click();
    const words = await page1.getByTestId('seedphrase').locator('.seed-word').allTextContents();
    expect(words).toHaveLength(12);
    mnemonic = words.join(' ');
    const cont = page1.getByRole('button', { name: 'Continue' });
    expect(await cont.isDisabled()).toBe(true);
    await shot(page1, '02-seedphrase');
    await page1.getByLabel('I wrote down these 12 words, in order').check();
    await cont.click();
    await expect.poll(() => heading(page1), T).toBe('Back up automatically?');
  });

  it('enables automatic backups, which makes the first backup at once', async () => {
    await shot(page1, '03-enable-backups');
    await page1.getByRole('button', { name: 'Turn on backups' }).click();
    await expect.poll(() => heading(page1), T).toBe('Wallet');
    await page1.getByRole('link', { name: 'Settings', exact: true }).click();
    const status = page1.getByTestId('status-card');
    await expect.poll(() => textOf(status), T).toContain('Automatic backups on');
    await expect.poll(() => textOf(status), T).toContain('Backed up just now');
    expect(await cacheRecords(page1)).toBe(1);
  });

  it('adds payments to the SQLite database, which survive a reload', async () => {
    await page1.getByRole('link', { name: 'Wallet', exact: true }).click();
    for (const p of PAYMENTS) {
      await page1.getByRole('radio', { name: p.direction }).check();
      await page1.getByLabel('Amount (sats)').fill(p.amount);
      await page1.getByLabel('Description').fill(p.description);
      await page1.getByRole('button', { name: 'Add payment' }).click();
      await expect.poll(() => textOf(page1.locator('.payments')), T).toContain(p.description);
    }
    await expect.poll(() => textOf(page1.getByTestId('balance')), T).toBe(BALANCE);
    await page1.reload();
    await expect.poll(() => textOf(page1.getByTestId('balance')), T).toBe(BALANCE);
    await expect.poll(() => page1.locator('.payment').count(), T).toBe(3);
    await shot(page1, '04-wallet');
  });

  it('backs up now, off the main thread, and shows the progress complete', async () => {
    await openBackupSettings(page1);
    await expect.poll(() => backupItems(page1).count(), T).toBe(1);
    await recordProgress(page1);
    await page1.getByRole('button', { name: 'Back up now' }).click();
    const bar = page1.getByTestId('backup-progress').getByRole('progressbar');
    await expect.poll(() => attrOf(bar, 'aria-valuetext'), T).toBe('Backup complete, 100%');
    const seen = await page1.evaluate(
      () => (window as unknown as { progressSeen: string[] }).progressSeen,
    );
    expect(seen.at(-1)).toBe('Backup complete, 100%');
    // The bar went through the phases (each progress event is its own message, so its
    // own render), bytes uploaded included.
    expect(seen.some((label) => /^Compressing and encrypting(, \d+%)?$/.test(label))).toBe(true);
    expect(seen.some((label) => /^Uploading, \d+%$/.test(label))).toBe(true);
    // What it sent, as the CLI says it. A wallet of a few pages whose payments changed
    // most of them is sent whole (docs/FORMAT.md §8.9); the device knew its last backup.
    const sent = await textOf(page1.getByTestId('backup-sent'));
    expect(sent).toMatch(/^sent \S+ \S+ of \S+ \S+ \((incremental|full): .+\)$/);
    expect(sent).not.toContain('no earlier backup known');
    await expect.poll(() => backupItems(page1).count(), T).toBe(2);
    await shot(page1, '05-backup-settings');
    // The manager ran in the backup worker, and the server holds only ciphertext.
    expect(page1.workers().some((w) => w.url().includes('backup.worker'))).toBe(true);
    expect(anyFileContains(app.srv.dataDir, 'marker-7QX')).toBe(false);
    await page1.getByRole('link', { name: 'Settings', exact: true }).click();
    await expect
      .poll(() => textOf(page1.getByTestId('status-card')), T)
      .toContain('Backed up just now');
    await shot(page1, '06-settings-status');
  });

  it('on a new device, a wrong seedphrase shows its error and changes nothing', async () => {
    [device2, page2] = await newDevice();
    await page2.getByRole('button', { name: 'Restore from a seedphrase' }).click();
    const field = page2.getByLabel('Seedphrase', { exact: true });
    const restore = page2.getByRole('button', { name: 'Restore wallet' });
    await field.fill(Array(12).fill('abandon').join(' '));
    await restore.click();
    await expect
      .poll(() => textOf(page2.getByRole('alert')), T)
      .toContain('That is not a valid seedphrase.');
    let other = generateMnemonic(wordlist, 128);
    while (other === mnemonic) other = generateMnemonic(wordlist, 128);
    await field.fill(other);
    await restore.click();
    await expect
      .poll(() => textOf(page2.getByRole('alert')), T)
      .toContain('We found no backups for this seedphrase.');
    await shot(page2, '07-restore-wrong-seedphrase');
    await expect.poll(() => heading(page2), T).toBe('Restore your wallet');
    expect(await walletIsEmpty(page2)).toBe(true);
    const state = await page2.evaluate(() =>
      Object.keys(localStorage).filter((k) => k.startsWith('noah.')),
    );
    expect(state).toEqual([]);
  });

  it('on a new device, a restore cancelled mid-download keeps nothing', async () => {
    // The object GET hangs (the worker's fetch goes through the context) until cancelled.
    let held: Route | undefined;
    await device2.route('**/blob/**', async (route) => {
      if (route.request().method() === 'GET') held = route;
      else await route.continue();
    });
    await page2.getByLabel('Seedphrase', { exact: true }).fill(mnemonic);
    await page2.getByRole('button', { name: 'Restore wallet' }).click();
    await expect.poll(() => held !== undefined, T).toBe(true);
    await page2.getByRole('button', { name: 'Cancel restore' }).click();
    await page2.getByText('Restore cancelled. Nothing was kept on this device.').waitFor();
    await held?.abort().catch(() => undefined); // the page already gave up on it
    await device2.unroute('**/blob/**');
    expect(await walletIsEmpty(page2)).toBe(true);
    // Nothing kept: after a reload this browser has no wallet and no seedphrase.
    await page2.reload();
    await expect.poll(() => heading(page2), T).toBe('Your wallet, backed up');
    await page2.getByRole('button', { name: 'Restore from a seedphrase' }).click();
  });

  it('restores on the new device from the seedphrase alone, with the same payments', async () => {
    // Typed as a phone keyboard types it: capitals, stray spaces and line breaks are
    // normalised (docs/FORMAT.md §5.2: NFKD, single spaces, lower case).
    const typed = mnemonic
      .split(' ')
      .map((w, i) =>
        i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : i === 4 ? w.toUpperCase() : w,
      );
    await page2.getByLabel('Seedphrase', { exact: true }).fill(`  ${typed.join('  \n')}  `);
    await page2.getByRole('button', { name: 'Restore wallet' }).click();
    // A new device is asked about automatic backups too; the restored backup is fresh,
    // so saying yes uploads nothing (it would replace one of the two backups).
    await expect.poll(() => heading(page2), T).toBe('Back up automatically?');
    await page2.getByRole('button', { name: 'Turn on backups' }).click();
    await expect.poll(() => heading(page2), T).toBe('Wallet');
    await expect
      .poll(() => textOf(page2.locator('.notice.ok')), T)
      .toContain('Restored 3 payments');
    await expect.poll(() => textOf(page2.getByTestId('balance')), T).toBe(BALANCE);
    const descs = await page2.locator('.payment-desc').allTextContents();
    expect(descs.sort()).toEqual(PAYMENTS.map((p) => p.description).sort());
    await shot(page2, '08-restored-wallet');
    await page2.getByRole('link', { name: 'Settings', exact: true }).click();
    const status = page2.getByTestId('status-card');
    await expect.poll(() => textOf(status), T).toContain('Restored from your backup of');
    expect(await textOf(status)).not.toContain('never been backed up');
    await page2.getByRole('link', { name: 'Wallet', exact: true }).click();
  });

  it('restores a chosen (older) backup after a confirmation', async () => {
    await page2.getByLabel('Amount (sats)').fill('777');
    await page2.getByLabel('Description').fill('After the first backup');
    await page2.getByRole('button', { name: 'Add payment' }).click();
    await expect.poll(() => page2.locator('.payment').count(), T).toBe(4);
    await openBackupSettings(page2);
    await expect.poll(() => backupItems(page2).count(), T).toBe(2);
    const newest = () => textOf(backupItems(page2).first().locator('.backup-date'));
    const before = await newest();
    await page2.getByRole('button', { name: 'Back up now' }).click();
    const bar = page2.getByTestId('backup-progress').getByRole('progressbar');
    await expect.poll(() => attrOf(bar, 'aria-valuetext'), T).toBe('Backup complete, 100%');
    await expect.poll(newest, T).not.toBe(before);
    expect(await backupItems(page2).count()).toBe(2);
    // The restore left this device the restored backup's page digests (its cache).
    const sent = await textOf(page2.getByTestId('backup-sent'));
    expect(sent).toMatch(/^sent /);
    expect(sent).not.toContain('no earlier backup known');
    const older = backupItems(page2).nth(1);
    // Cancel first: nothing happens.
    await older.getByRole('button', { name: /^Restore the backup from/ }).click();
    const dialog = page2.getByRole('dialog', { name: 'Restore this backup?' });
    await dialog.waitFor();
    await expect.poll(() => textOf(dialog), T).toContain('This is not your newest backup.');
    // Focus starts on the safe choice.
    expect(await page2.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await shot(page2, '09-restore-confirmation', false);
    await page2.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await older.getByRole('button', { name: /^Restore the backup from/ }).click();
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await page2.getByText(/^Restored the backup from/).waitFor();
    await page2.getByRole('link', { name: 'Wallet', exact: true }).click();
    await expect.poll(() => page2.locator('.payment').count(), T).toBe(3);
    await expect.poll(() => textOf(page2.getByTestId('balance')), T).toBe(BALANCE);
  });

  it('deletes a backup after a confirmation', async () => {
    await openBackupSettings(page2);
    await expect.poll(() => backupItems(page2).count(), T).toBe(2);
    await backupItems(page2)
      .nth(0)
      .getByRole('button', { name: /^Delete the backup from/ })
      .click();
    const dialog = page2.getByRole('dialog', { name: 'Delete this backup?' });
    await dialog.waitFor();
    await shot(page2, '10-delete-confirmation', false);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => backupItems(page2).count(), T).toBe(2);
    await backupItems(page2)
      .nth(0)
      .getByRole('button', { name: /^Delete the backup from/ })
      .click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page2.getByText(/^Deleted the backup from/).waitFor();
    await expect.poll(() => backupItems(page2).count(), T).toBe(1);
    // The first device sees the same history.
    await page1.getByRole('button', { name: 'Backup settings' }).click();
    await expect.poll(() => backupItems(page1).count(), T).toBe(1);
  });

  it('the status card recommends a backup when the last one is over a day old', async () => {
    await page1.clock.setFixedTime(new Date(Date.now() + 2 * 24 * 3600 * 1000));
    await page1.getByRole('link', { name: 'Wallet', exact: true }).click();
    await page1.getByRole('link', { name: 'Settings', exact: true }).click();
    await expect
      .poll(() => textOf(page1.getByTestId('status-card')), T)
      .toContain('Backup recommended: your last backup was 2 days ago.');
    await shot(page1, '11-status-stale');
  });

  it('a failed backup says why and retries from the status card', async () => {
    // The upload URL request cannot connect (the worker's fetch goes through the context).
    await device2.route('**/v0/backup/upload_url', (route) => route.abort('connectionrefused'));
    await page2.getByRole('button', { name: 'Back up now' }).click();
    await expect
      .poll(() => textOf(page2.getByRole('alert')), T)
      .toContain('We could not reach the backup server.');
    await page2.getByRole('link', { name: 'Settings', exact: true }).click();
    const card = page2.getByTestId('status-card');
    await expect.poll(() => textOf(card), T).toContain('Your last backup did not finish.');
    await expect.poll(() => textOf(card), T).toContain('Check your internet connection');
    await shot(page2, '12-status-failed');
    await device2.unroute('**/v0/backup/upload_url');
    await card.getByRole('button', { name: 'Retry backup' }).click();
    await expect.poll(() => textOf(card), T).toContain('Backed up just now');
    const errors = (page2 as Page & { errors: string[] }).errors;
    expect(errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
  });

  it('a corrupted backup is refused with its error, and the wallet stays as it was', async () => {
    // Flip one bit near the end of the newest stored object: detected late, mid-stream.
    // (Empty files are the placeholders of replaced objects' keys, not backups.)
    const objects = filesUnder(join(app.srv.dataDir, 'blobs')).filter(
      (f) => !basename(f).startsWith('.tmp-') && statSync(f).size > 0,
    );
    const newest = objects.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
    const bytes = readFileSync(newest);
    bytes[bytes.length - 40]! ^= 0x01;
    writeFileSync(newest, bytes);
    await page2.getByTestId('status-card').getByRole('button', { name: 'Backup settings' }).click();
    await expect.poll(() => backupItems(page2).count(), T).toBe(2);
    await backupItems(page2)
      .nth(0)
      .getByRole('button', { name: /^Restore the backup from/ })
      .click();
    const dialog = page2.getByRole('dialog', { name: 'Restore this backup?' });
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await expect
      .poll(() => textOf(page2.getByRole('alert')), T)
      .toContain('could not be opened with this seedphrase, or it is corrupted');
    await shot(page2, '13-restore-corrupted');
    await page2.getByRole('link', { name: 'Wallet', exact: true }).click();
    await expect.poll(() => page2.locator('.payment').count(), T).toBe(3);
    await expect.poll(() => textOf(page2.getByTestId('balance')), T).toBe(BALANCE);
  });

  it('a backup cancelled during its upload changes nothing on the server', async () => {
    // Objects with content: the cancelled upload's key keeps an empty placeholder until
    // its URL expires (docs/OPERATIONS.md "Storage bounds").
    const stored = () =>
      filesUnder(join(app.srv.dataDir, 'blobs'))
        .filter((f) => !basename(f).startsWith('.tmp-') && statSync(f).size > 0)
        .sort();
    const before = stored();
    await openBackupSettings(page2);
    await expect.poll(() => backupItems(page2).count(), T).toBe(2);
    const listed = await backupItems(page2).allTextContents();
    // The object PUT hangs (the worker's fetch goes through the context) until cancelled.
    let held: Route | undefined;
    await device2.route('**/blob/**', async (route) => {
      if (route.request().method() === 'PUT') held = route;
      else await route.continue();
    });
    await page2.getByRole('button', { name: 'Back up now' }).click();
    await expect.poll(() => held !== undefined, T).toBe(true);
    await page2.getByRole('button', { name: 'Cancel backup' }).click();
    await page2.getByText('Backup cancelled. Your backups on the server are unchanged.').waitFor();
    await held?.abort().catch(() => undefined); // the page already gave up on it
    await device2.unroute('**/blob/**');
    await expect
      .poll(() => page2.getByRole('button', { name: 'Cancel backup' }).count(), T)
      .toBe(0);
    expect(await backupItems(page2).allTextContents()).toEqual(listed);
    expect(stored()).toEqual(before);
  });

  it('removes the wallet from a browser after a confirmation, back to onboarding', async () => {
    await page1.getByRole('link', { name: 'Settings', exact: true }).click();
    await page1.getByRole('button', { name: 'Remove from this browser' }).click();
    const dialog = page1.getByRole('dialog', { name: 'Remove this wallet?' });
    await dialog.getByRole('button', { name: 'Remove wallet' }).click();
    await expect.poll(() => heading(page1), T).toBe('Your wallet, backed up');
    expect(await walletIsEmpty(page1)).toBe(true);
    // The device cache of incremental backups went with it (docs/FORMAT.md §8.8).
    expect(await cacheRecords(page1)).toBe(0);
    await page1.reload();
    await expect.poll(() => heading(page1), T).toBe('Your wallet, backed up');
  });
});
