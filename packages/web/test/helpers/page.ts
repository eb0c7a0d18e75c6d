/**
 * Page helpers shared by the browser tests: a new device (a fresh browser context),
 * polling reads of text and attributes, the onboarding restore, and what this browser
 * keeps in IndexedDB.
 * @module
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

/** Poll settings of `expect.poll`. */
export const T = { timeout: 20_000, interval: 100 };

/** A page that records its errors (uncaught exceptions and console errors). */
export type TrackedPage = Page & { errors: string[] };

/**
 * Opens the app in a fresh browser context: a new device, with nothing stored.
 * @param viewport - the window size (default a laptop's)
 */
export async function newDevice(
  browser: Browser,
  url: string,
  viewport = { width: 960, height: 820 },
): Promise<[BrowserContext, TrackedPage]> {
  const ctx = await browser.newContext({ viewport });
  const page = (await ctx.newPage()) as TrackedPage;
  page.setDefaultTimeout(20_000);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(m.text());
  });
  await page.goto(url);
  return [ctx, page];
}

/** The element's visible text, or '' while it does not exist. */
export const textOf = (loc: Locator) =>
  loc.textContent({ timeout: 500 }).then(
    (t) => t ?? '',
    () => '',
  );

/** An attribute, or null while the element does not exist. */
export const attrOf = (loc: Locator, name: string) =>
  loc.getAttribute(name, { timeout: 500 }).catch(() => null);

/** The page's level-1 heading. */
export const heading = (page: Page) => textOf(page.getByRole('heading', { level: 1 }));

/** From the welcome screen: types `phrase` into the restore form and submits it. */
export async function startRestore(page: Page, phrase: string): Promise<void> {
  await page.getByRole('button', { name: 'Restore from a seedphrase' }).click();
  await page.getByLabel('Seedphrase', { exact: true }).fill(phrase);
  await page.getByRole('button', { name: 'Restore wallet' }).click();
}

/** True when this browser holds no wallet, seedphrase or generation in IndexedDB. */
export function walletIsEmpty(page: Page): Promise<boolean> {
  return page.evaluate(
    () =>
      new Promise<boolean>((res, rej) => {
        const req = indexedDB.open('noah-wallet', 1);
        req.onerror = () => rej(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const get = db.transaction('kv').objectStore('kv').getAllKeys();
          get.onsuccess = () => res(get.result.length === 0);
          get.onerror = () => rej(get.error);
        };
      }),
  );
}

/** Records in the browser's device cache of incremental backups (the backup worker's). */
export function cacheRecords(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((res, rej) => {
        const req = indexedDB.open('noah-backup-cache', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('cache');
        req.onerror = () => rej(req.error);
        req.onsuccess = () => {
          const count = req.result.transaction('cache').objectStore('cache').count();
          count.onsuccess = () => res(count.result);
          count.onerror = () => rej(count.error);
        };
      }),
  );
}
