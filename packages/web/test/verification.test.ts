/**
 * Verification in the web app (docs/API.md "Verification"), headless Chromium against
 * the real server: the first backup is verified at once, and the status card and the
 * backup list say "Verified just now"; a device whose last verification is over a week
 * old shows a warning, and its next backup verifies again; a backup whose bytes arrive
 * altered fails its verification, and the card and the list (the server's record of
 * that backup) turn to a warning.
 */
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

  it('a backup whose bytes arrive altered fails its verification: card and list warn', async () => {
    const [ctx, page] = await newDevice(app.browser, app.srv.url);
    await createWalletSayingYes(page);
    const card = page.getByTestId('status-card');
    await expect.poll(() => textOf(card.getByTestId('verification')), T).toContain('Verified');
    await ageLastVerification(page, 8);

    // From now on every whole object this device downloads arrives with one bit flipped
    // (the header reads of the sequence check, ranges, pass unchanged).
    let altered = 0;
    await ctx.route('**/blob/**', async (route) => {
      const req = route.request();
      if (req.method() !== 'GET' || (await req.headerValue('range')) !== null)
        return route.continue();
      const res = await route.fetch();
      const body = Buffer.from(await res.body());
      if (body.length > 0) body[Math.floor(body.length / 2)]! ^= 1;
      altered++;
      await route.fulfill({ response: res, body });
    });
    await card.getByRole('button', { name: 'Backup settings' }).click();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await expect.poll(() => newestListed(page), T).toMatch(/^Verification failed just now/);
    expect(altered).toBeGreaterThan(0);
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await expect
      .poll(() => textOf(card.getByTestId('verification')), T)
      .toContain('Verification failed just now: the backup would not restore.');
    expect(await card.getAttribute('class')).toContain('tone-warn');
  });
});
