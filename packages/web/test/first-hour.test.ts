/**
 * The first hour on a phone (390 px wide), in headless Chromium against the real server:
 * saying yes to automatic backups makes the first backup at once (onboarding and
 * settings); a restore on a new device shows the backup it came from and offers
 * automatic backups too; two backups of one minute read apart (seconds); no "slot";
 * each card's notices sit in that card; the progress bar's fill is the bytes it prints;
 * and no screen sticks out, overlaps, touches or wraps a control (checked in the page,
 * and saved as screenshots to look at, phone-*.png in the temp dir's
 * noah-web-screenshots).
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, setupApp } from './helpers/harness.ts';
import { layoutProblems } from './helpers/layout.ts';
import { heading, newDevice, T, type TrackedPage, textOf } from './helpers/page.ts';

const SHOTS = join(tmpdir(), 'noah-web-screenshots');
const PHONE = { width: 390, height: 844 };

const app = setupApp();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
});

async function phone(): Promise<TrackedPage> {
  const [, page] = await newDevice(app.browser, app.srv.url, PHONE);
  // Without motion the fill's width is its final width at once (no transition).
  await page.emulateMedia({ reducedMotion: 'reduce' });
  return page;
}

/**
 * Checks the screen as it is (its layout, and no "slot" in its words or labels: the
 * server's name for a backup's place is not the user's), and saves it as
 * `phone-<name>.png`. A seedphrase, typed or shown, is not the app's words: a random one
 * may hold the BIP39 word "slot".
 */
async function screen(page: Page, name: string): Promise<void> {
  const dialog = (await page.locator('dialog[open]').count()) > 0;
  await page.screenshot({ path: join(SHOTS, `phone-${name}.png`), fullPage: !dialog });
  expect(await layoutProblems(page), name).toEqual([]);
  const words = await page.evaluate(() =>
    [
      ...(() => {
        const text: string[] = [];
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode())
          if (!n.parentElement?.closest('textarea, input, [data-testid="seedphrase"]'))
            text.push(n.textContent ?? '');
        return text;
      })(),
      ...[...document.querySelectorAll('[aria-label], [title]')].map(
        (e) => `${e.getAttribute('aria-label')} ${e.getAttribute('title')}`,
      ),
    ].join(' '),
  );
  expect(words, name).not.toMatch(/\bslots?\b/i);
}

/** The backups stored on the server (object files, no uploads in flight). */
const stored = () =>
  filesUnder(join(app.srv.dataDir, 'blobs'))
    .filter((f) => !basename(f).startsWith('.tmp-'))
    .sort();

const card = (page: Page, title: string): Locator =>
  page.locator('section.card', { has: page.getByRole('heading', { level: 2, name: title }) });

async function createWallet(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Create a new wallet' }).click();
  const words = await page.getByTestId('seedphrase').locator('.seed-word').allTextContents();
  await page.getByLabel('I wrote down these 12 words, in order').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect.poll(() => heading(page), T).toBe('Back up automatically?');
  return words.join(' ');
}

async function openSettings(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await expect.poll(() => heading(page), T).toBe('Settings');
}

/** Waits, if need be, for a new minute to start, so the next few seconds share one. */
async function startOfAMinute(): Promise<void> {
  const s = new Date().getSeconds();
  if (s > 40) await new Promise((r) => setTimeout(r, (61 - s) * 1000));
}

/** Records each state of the backup card's bar: its fill, its percent and the bytes it prints. */
async function recordBar(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: { fill: number; now: number; bytes: string }[] = [];
    (window as unknown as { barSeen: typeof seen }).barSeen = seen;
    const area = document.querySelector('[data-testid="backup-progress"]')!;
    new MutationObserver(() => {
      const bar = area.querySelector('[role="progressbar"]');
      const bytes = area.querySelector('[data-testid="progress-bytes"]')?.textContent ?? '';
      const fill = bar?.querySelector('.progress-fill');
      const now = bar?.getAttribute('aria-valuenow');
      if (!bar || !fill || now == null || !bytes.includes(' of ')) return;
      const ratio = fill.getBoundingClientRect().width / bar.getBoundingClientRect().width;
      seen.push({ fill: ratio * 100, now: Number(now), bytes });
    }).observe(area, { subtree: true, childList: true, attributes: true, characterData: true });
  });
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
/** "1.5 KiB of 12.0 KiB" → the smallest and largest percentage those rounded figures allow. */
function percentRange(text: string): [number, number] {
  const [done, total] = text.split(' of ').map((part) => {
    const [num, unit] = part.trim().split(' ');
    const scale = UNITS[unit!]!;
    const slack = unit === 'B' ? 0 : 0.05 * scale;
    return [Number(num) * scale - slack, Number(num) * scale + slack] as const;
  });
  return [(100 * done![0]) / total![1], Math.min(100, (100 * done![1]) / total![0])];
}

describe('the first hour, on a phone', () => {
  let mnemonicB = '';
  let pageB: TrackedPage;

  it('onboarding: yes to automatic backups makes the first backup at once', async () => {
    const page = await phone();
    await expect.poll(() => heading(page), T).toBe('Your wallet, backed up');
    await screen(page, '01-welcome');
    await page.getByRole('button', { name: 'Create a new wallet' }).click();
    await screen(page, '02-seedphrase');
    await page.getByLabel('I wrote down these 12 words, in order').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(() => heading(page), T).toBe('Back up automatically?');
    await screen(page, '03-enable-backups');
    const before = stored().length;
    await page.getByRole('button', { name: 'Turn on backups' }).click();
    await expect.poll(() => heading(page), T).toBe('Wallet');
    expect(stored()).toHaveLength(before + 2); // an incremental backup: a pack, its manifest
    await openSettings(page);
    const status = page.getByTestId('status-card');
    await expect.poll(() => textOf(status), T).toContain('Backed up just now');
    expect(await textOf(status)).not.toContain('never been backed up');
    expect(await textOf(status)).toContain('Automatic backups on');
    await screen(page, '04-settings-status');
  });

  it('settings: turning backups on makes the first backup, said in its own card', async () => {
    const page = await phone();
    pageB = page;
    mnemonicB = await createWallet(page);
    await page.getByRole('button', { name: 'Not now' }).click();
    await expect.poll(() => heading(page), T).toBe('Wallet');
    await page.getByLabel('Amount (sats)').fill('21000');
    await page.getByLabel('Description').fill('Coffee beans');
    await page.getByRole('button', { name: 'Add payment' }).click();
    await expect.poll(() => textOf(page.locator('.payments')), T).toContain('Coffee beans');
    await screen(page, '05-wallet');
    await openSettings(page);
    expect(await textOf(page.getByTestId('status-card'))).toContain('never been backed up');
    await page.getByRole('button', { name: 'Backup settings' }).click();
    await page.getByText('No backups yet.').waitFor();
    const auto = card(page, 'Automatic backups');
    await startOfAMinute();
    await auto.getByRole('switch').click();
    await expect
      .poll(() => textOf(auto.getByRole('status')), T)
      .toBe('Automatic backups are on. Your first backup is made.');
    await expect.poll(() => page.getByTestId('backup-item').count(), T).toBe(1);
    // Off again: this account's next device is offered the step (below).
    await auto.getByRole('switch').click();
    await expect.poll(() => textOf(auto.getByRole('status')), T).toBe('Automatic backups are off.');
    expect(await textOf(card(page, 'Back up now').getByRole('status'))).toBe('');
  });

  it('two backups of one minute read apart; the bar fills as the bytes it prints', async () => {
    const page = pageB;
    await recordBar(page);
    // A person's two backups are seconds apart; on a fast machine the first may have
    // finished within this very second, and two in one second read in milliseconds.
    await new Promise((r) => setTimeout(r, 1000 - new Date().getMilliseconds() + 50));
    await card(page, 'Back up now').getByRole('button', { name: 'Back up now' }).click();
    const bar = page.getByTestId('backup-progress').getByRole('progressbar');
    await expect.poll(() => bar.getAttribute('aria-valuetext'), T).toBe('Backup complete, 100%');
    const seen = await page.evaluate(
      () =>
        (window as unknown as { barSeen: { fill: number; now: number; bytes: string }[] }).barSeen,
    );
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) {
      const [low, high] = percentRange(s.bytes);
      expect(s.now, s.bytes).toBeGreaterThanOrEqual(Math.floor(low) - 1);
      expect(s.now, s.bytes).toBeLessThanOrEqual(Math.ceil(high) + 1);
      expect(Math.abs(s.fill - s.now), s.bytes).toBeLessThan(1.5);
    }
    await expect.poll(() => page.getByTestId('backup-item').count(), T).toBe(2);
    // The dates alone (not the "Newest" badge).
    const dates = await page
      .locator('.backup-date')
      .evaluateAll((els) => els.map((e) => e.firstChild?.textContent ?? ''));
    for (const d of dates) expect(d).toMatch(/\d{1,2}:\d{2}:\d{2}\s[AP]M/);
    expect(new Set(dates).size).toBe(2);
    await screen(page, '06-backup-settings');
  });

  it('restoring a backup says so in the backups card, with the time in seconds', async () => {
    const page = pageB;
    const history = card(page, 'Your backups');
    await page
      .getByTestId('backup-item')
      .nth(1)
      .getByRole('button', { name: /^Restore/ })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Restore this backup?' });
    await dialog.waitFor();
    expect(await textOf(dialog)).toMatch(/\d{1,2}:\d{2}:\d{2}\s[AP]M/);
    await screen(page, '07-restore-confirmation');
    await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
    await expect
      .poll(() => textOf(history.getByRole('status')), T)
      .toMatch(/^Restored the backup from .+\d{1,2}:\d{2}:\d{2}\s[AP]M\.$/);
    expect(await textOf(history.getByTestId('restore-progress'))).toContain('Wallet restored');
    expect(await textOf(card(page, 'Back up now').getByRole('status'))).toBe('');
    expect(await textOf(page.getByTestId('backup-progress'))).not.toContain('Wallet restored');
    await screen(page, '08-restored-older');
    await page
      .getByTestId('backup-item')
      .nth(0)
      .getByRole('button', { name: /^Delete/ })
      .click();
    const remove = page.getByRole('dialog', { name: 'Delete this backup?' });
    await remove.waitFor();
    await screen(page, '08b-delete-confirmation');
    await remove.getByRole('button', { name: 'Cancel' }).click();
  });

  it('a new device: the restore offers automatic backups and shows the backup restored', async () => {
    const page = await phone();
    await page.getByRole('button', { name: 'Restore from a seedphrase' }).click();
    const field = page.getByLabel('Seedphrase', { exact: true });
    await field.fill(Array(12).fill('abandon').join(' '));
    await page.getByRole('button', { name: 'Restore wallet' }).click();
    await expect
      .poll(() => textOf(page.getByRole('alert')), T)
      .toContain('That is not a valid seedphrase.');
    await screen(page, '09a-restore-error');
    await field.fill(mnemonicB);
    await screen(page, '09-restore');
    const before = stored();
    await page.getByRole('button', { name: 'Restore wallet' }).click();
    await expect.poll(() => heading(page), T).toBe('Back up automatically?');
    expect(await textOf(page.locator('main'))).toContain('Your wallet is restored.');
    await screen(page, '10-restored-enable');
    await page.getByRole('button', { name: 'Turn on backups' }).click();
    await expect.poll(() => heading(page), T).toBe('Wallet');
    // The restored backup is minutes old: no backup replaced one of the two.
    expect(stored()).toEqual(before);
    const welcome = await textOf(page.locator('.notice.ok'));
    expect(welcome).toMatch(/from your backup of .+\d{1,2}:\d{2}:\d{2}\s[AP]M\.$/);
    await screen(page, '11-restored-wallet');
    await openSettings(page);
    const status = page.getByTestId('status-card');
    await expect.poll(() => textOf(status), T).toContain('Restored from your backup of');
    expect(await textOf(status)).toMatch(/\d{1,2}:\d{2}:\d{2}\s[AP]M/);
    expect(await textOf(status)).not.toContain('never been backed up');
    expect(await textOf(status)).toContain('Automatic backups on');
    await screen(page, '12-restored-status');
    await page.getByRole('button', { name: 'Remove from this browser' }).click();
    const remove = page.getByRole('dialog', { name: 'Remove this wallet?' });
    await remove.waitFor();
    await screen(page, '13-remove-confirmation');
    await remove.getByRole('button', { name: 'Cancel' }).click();
    expect(page.errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
  });

  it('a failed backup: the status card says why, with a retry, on one screen', async () => {
    const page = pageB;
    await page.context().route('**/v0/backup/upload_url', (r) => r.abort('connectionrefused'));
    await page.getByRole('button', { name: 'Back up now' }).click();
    const failure = card(page, 'Back up now').getByRole('alert');
    await expect.poll(() => textOf(failure), T).toContain('We could not reach the backup server.');
    await screen(page, '14-backup-failed');
    await openSettings(page);
    const status = page.getByTestId('status-card');
    await expect.poll(() => textOf(status), T).toContain('Your last backup did not finish.');
    await screen(page, '15-status-failed');
    await page.context().unroute('**/v0/backup/upload_url');
  });
});
