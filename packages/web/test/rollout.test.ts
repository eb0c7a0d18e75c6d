/**
 * The operator's rollout switch (docs/OPERATIONS.md "Rollout") in headless Chromium
 * against the real server: with ROLLOUT=off ("paused") or percent:0 ("pending") the app
 * says why there are no backups on the status card and the backup settings screen, the
 * automatic-backup switch and "Back up now" are disabled, and nothing asks for an upload
 * (no 403 met). The normal flow with ROLLOUT=all is the other browser tests.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppServer, setupApp, startAppServer } from './helpers/harness.ts';
import { attrOf, heading, newDevice, T, type TrackedPage, textOf } from './helpers/page.ts';

const app = setupApp({ ROLLOUT: 'off' });
let pending: AppServer;
beforeAll(async () => {
  pending = await startAppServer({ ROLLOUT: 'percent:0' });
});
afterAll(async () => {
  await pending?.close();
});

/** Opens a new device on `url` that records every API path it calls. */
async function device(url: string): Promise<{ page: TrackedPage; calls: string[] }> {
  const [, page] = await newDevice(app.browser, url);
  const calls: string[] = [];
  page.context().on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/v0/')) calls.push(path);
  });
  return { page, calls };
}

/** Creates a wallet, says yes to automatic backups, and opens Settings (its status card). */
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

const NOTICE = {
  paused: 'Backups are paused by the service for now.',
  pending: 'Backups are not available for your wallet yet — the service is rolling them out.',
};

for (const [name, reason, url] of [
  ['off', NOTICE.paused, () => app.srv.url],
  ['percent:0', NOTICE.pending, () => pending.url],
] as const) {
  describe(`ROLLOUT=${name}`, () => {
    it('the status card and backup settings say why; the buttons are disabled; no upload', async () => {
      const { page, calls } = await device(url());
      await createWalletSayingYes(page);

      const card = page.getByTestId('status-card');
      await expect.poll(() => textOf(card.getByTestId('backups-not-allowed')), T).toContain(reason);
      expect(await textOf(card)).toContain('Your wallet is safe on this device');
      const cardButton = card.getByRole('button', { name: 'Back up now' });
      expect(await cardButton.isDisabled()).toBe(true);
      expect(await attrOf(cardButton, 'aria-describedby')).toBe('status-not-allowed');

      await card.getByRole('button', { name: 'Backup settings' }).click();
      await expect.poll(() => heading(page), T).toBe('Backup settings');
      const now = page.getByRole('button', { name: 'Back up now' });
      await expect.poll(() => now.isDisabled(), T).toBe(true);
      expect(await textOf(page.getByTestId('backups-not-allowed'))).toContain(reason);
      const toggle = page.getByRole('switch', { name: 'Back up every day' });
      expect(await toggle.isDisabled()).toBe(true);
      // The switch still shows the user's choice, and its description is the reason.
      expect(await attrOf(toggle, 'aria-checked')).toBe('true');
      const described = await attrOf(toggle, 'aria-describedby');
      expect(await textOf(page.locator(`[id="${described}"]`))).toBe(reason);

      expect(calls).toContain('/v0/backup/settings');
      expect(calls.filter((c) => c.includes('upload_url'))).toEqual([]);
      expect(page.errors).toEqual([]);
    });
  });
}
