/**
 * Verification in the web app (docs/API.md "Verification"), headless Chromium against
 * the real server: the first backup is verified at once, and the status card and the
 * backup list say "Verified just now"; a device whose last verification is over a week
 * old shows a warning, and its next backup verifies again; a backup altered on the
 * server's disk fails its verification: the card and the list (the server's record of
 * that backup) turn to a warning, and the server counts the failure.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { setupApp } from './helpers/harness.ts';
import { heading, newDevice, T, textOf } from './helpers/page.ts';

const app = setupApp();

/** Creates a wallet, says yes to automatic backups (the first backup), opens Settings. */
async function createWalletSayingYes(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Create a new wallet' }).click();
  await page.getByLabel('I wrote down these 12 words, in order').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect.poll(() => heading(page), T).toBe('Back up automatically?');
  await page.getByRole('button', { name: 'Turn on backups' }).click();
  await expect.poll(() => heading(page), T).not.toBe('Back up automatically?');
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await expect.poll(() => heading(page), T).toBe('Settings');
}

/** Verifications clients reported as failed, as the server's metrics count them. */
async function verifyFailures(): Promise<number> {
  const text = await (await fetch(`${app.srv.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('noah_client_reports_total{kind="verify",status="failure"'))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}

/** The newest listed backup's verification line, on the backup settings screen. */
async function newestListed(page: Page): Promise<string> {
  const item = page.getByTestId('backup-item').first();
  return textOf(item.getByTestId('backup-verification'));
}

/** Rewrites the device's remembered last verification as `days` days older, and reloads. */
async function ageLastVerification(page: Page, days: number): Promise<void> {
  await page.evaluate((ms) => {
    const key = Object.keys(localStorage).find((k) => k.endsWith('backup_status'));
    if (!key) throw new Error('no backup status stored');
    const status = JSON.parse(localStorage.getItem(key) ?? '{}');
    status.lastVerification.at = new Date(
      Date.parse(status.lastVerification.at) - ms,
    ).toISOString();
    localStorage.setItem(key, JSON.stringify(status));
  }, days * 86_400_000);
  await page.reload();
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await expect.poll(() => heading(page), T).toBe('Settings');
}

describe('verification in the web app', () => {
  it('the first backup is verified; an old verification warns; the next backup verifies', async () => {
    const [, page] = await newDevice(app.browser, app.srv.url);
    await createWalletSayingYes(page);
    const card = page.getByTestId('status-card');
    await expect
      .poll(() => textOf(card.getByTestId('verification')), T)
      .toBe('Verified just now: the backup decrypts and restores.');
    expect(await card.getAttribute('class')).toContain('tone-ok');

    await card.getByRole('button', { name: 'Backup settings' }).click();
    await expect.poll(() => heading(page), T).toBe('Backup settings');
    await expect
      .poll(() => newestListed(page), T)
      .toBe('Verified just now: the backup decrypts and restores.');

    // Eight days without a verification: a warning, not a quiet line.
    await ageLastVerification(page, 8);
    await expect
      .poll(() => textOf(card.getByTestId('verification')), T)
      .toContain('Last verified 8 days ago: longer ago than a week.');
    expect(await card.getAttribute('class')).toContain('tone-warn');

    // The next backup finds a verification due and makes it.
    await card.getByRole('button', { name: 'Backup settings' }).click();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await expect
      .poll(() => textOf(card.getByTestId('verification')), T)
      .toBe('Verified just now: the backup decrypts and restores.');
    expect(page.errors).toEqual([]);
  });

  it('a backup altered on the server fails its verification: card, list and metric', async () => {
    const [ctx, page] = await newDevice(app.browser, app.srv.url);
    await createWalletSayingYes(page);
    const card = page.getByTestId('status-card');
    await expect.poll(() => textOf(card.getByTestId('verification')), T).toContain('Verified');
    await ageLastVerification(page, 8);
    const failures = await verifyFailures();

    // The next backup completes; as the device asks for its URLs to verify it, one bit
    // of the stored object flips on the server's disk (bit rot, or an attacker).
    let altered = '';
    await ctx.route('**/v0/backup/download_urls', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { s3_key: string };
      if (!altered) {
        const file = join(app.srv.dataDir, 'blobs', ...body.s3_key.split('/'));
        const bytes = await readFile(file);
        bytes[Math.floor(bytes.length / 2)]! ^= 1;
        await writeFile(file, bytes);
        altered = body.s3_key;
      }
      await route.fulfill({ response: res, json: body });
    });
    await card.getByRole('button', { name: 'Backup settings' }).click();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await expect.poll(() => newestListed(page), T).toMatch(/^Verification failed just now/);
    expect(altered).not.toBe('');
    expect(await verifyFailures()).toBe(failures + 1);
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await expect
      .poll(() => textOf(card.getByTestId('verification')), T)
      .toContain('Verification failed just now: the backup would not restore.');
    expect(await card.getAttribute('class')).toContain('tone-warn');
  });
});
