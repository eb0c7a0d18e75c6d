/**
 * Incremental backups across clients (docs/WALLET.md §5): a manifest backup the CLI
 * made of this web wallet's files restores in the browser, and one the browser made
 * restores with the CLI; each side's next backup after such a restore is incremental,
 * so one chain holds packs written by both. Real CLI binary, real server on a loopback
 * port, headless Chromium.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentRow, writeWebWallet } from '../../client/test/contract/fixtures.ts';
import { setupApp } from './helpers/harness.ts';
import { heading, newDevice, startRestore, T, textOf } from './helpers/page.ts';

const BIN = resolve(import.meta.dirname, '../../cli/bin/noah-backup.js');

const app = setupApp();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'noah-web-cross-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--server', app.srv.url],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

let n = 0;
/** One CLI device of the seedphrase `mnemonic`: its mnemonic file and state directory. */
function cliDevice(mnemonic: string): string[] {
  const file = join(dir, `d${++n}.mnemonic`);
  writeFileSync(file, `${mnemonic}\n`, { mode: 0o600 });
  return ['--mnemonic-file', file, '--state', join(dir, `state${n}`)];
}

/** The payments of a web wallet database on disk, by description. */
function descriptions(walletDir: string): string[] {
  const db = new Database(join(walletDir, 'wallet.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT description FROM payments ORDER BY id').all();
    return (rows as { description: string }[]).map((r) => r.description);
  } finally {
    db.close();
  }
}

/** Adds a payment to a web wallet database on disk. */
function addPayment(walletDir: string, [amount, description, at]: PaymentRow): void {
  const db = new Database(join(walletDir, 'wallet.sqlite'));
  try {
    db.prepare('INSERT INTO payments (amount, description, created_at) VALUES (?, ?, ?)').run(
      amount,
      description,
      at,
    );
  } finally {
    db.close();
  }
}

/** Adds a payment in the browser's wallet screen. */
async function addPaymentInBrowser(page: Page, amount: string, description: string) {
  await page.getByRole('link', { name: 'Wallet', exact: true }).click();
  await page.getByLabel('Amount (sats)').fill(amount);
  await page.getByLabel('Description').fill(description);
  await page.getByRole('button', { name: 'Add payment' }).click();
  await expect.poll(() => textOf(page.locator('.payments')), T).toContain(description);
}

/** "Back up now" in the backup settings; returns what it says it sent. */
async function backUpNow(page: Page): Promise<string> {
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('button', { name: 'Backup settings' }).click();
  await expect.poll(() => heading(page), T).toBe('Backup settings');
  await page.getByRole('button', { name: 'Back up now' }).click();
  const sent = page.getByTestId('backup-sent');
  await expect.poll(() => textOf(sent), T).toMatch(/^sent /);
  return textOf(sent);
}

/**
 * Verifies backup `version` in the page's backup worker: a `verifyBackup` call sent as
 * the page sends it (`src/backup-worker/protocol.ts`), its answer taken before it
 * reaches the page (the app has no verify screen; the worker's manager does verify).
 */
async function verifyInWorker(page: Page, version: 1 | 2): Promise<unknown> {
  const worker = page.workers().find((w) => w.url().includes('backup.worker'));
  if (!worker) throw new Error('no backup worker');
  return worker.evaluate(async (v) => {
    type Msg = { k?: string; id?: number };
    const scope = globalThis as unknown as {
      postMessage(m: unknown, t?: Transferable[]): void;
      dispatchEvent(e: Event): boolean;
    };
    const id = 1_000_000 + v;
    return new Promise((done) => {
      const post = scope.postMessage.bind(scope);
      scope.postMessage = (m, t) => {
        const msg = m as Msg;
        if (msg.id === id && (msg.k === 'ok' || msg.k === 'err')) {
          scope.postMessage = post;
          done(msg);
        } else post(m, t ?? []);
      };
      const call = { k: 'call', id, method: 'verifyBackup', args: [v] };
      scope.dispatchEvent(new MessageEvent('message', { data: call }));
    });
  }, version);
}

/** Restores `mnemonic` in a fresh browser, says no to automatic backups, shows the wallet. */
async function restoreInBrowser(mnemonic: string): Promise<Page> {
  const [, page] = await newDevice(app.browser, app.srv.url);
  await startRestore(page, mnemonic);
  await expect.poll(() => heading(page), T).toBe('Back up automatically?');
  await page.getByRole('button', { name: 'Not now' }).click();
  await expect
    .poll(async () => (await textOf(page.getByRole('alert'))) || (await heading(page)), T)
    .toBe('Wallet');
  return page;
}

const INCREMENTAL = /^sent \S+ \S+ of \S+ \S+ \(incremental: \d+ pages? of \d+ changed\)$/;

/** Any sent line of the incremental pipeline, full or not. */
const SENT = /^sent \S+ \S+ of \S+ \S+ \((incremental|full): .+\)$/;

describe('incremental backups across the CLI and the browser', () => {
  it('a CLI chain restores in the browser, whose incremental backup the CLI restores', async () => {
    const mnemonic = generateMnemonic(wordlist);
    // Enough payments for a few dozen pages, so that a day's payment changes a few.
    const day = Date.parse('2026-01-01T00:00:00Z');
    const rows: PaymentRow[] = [
      ...Array.from(
        { length: 800 },
        (_, i): PaymentRow => [1000 + i, `payment ${i}`, new Date(day + i * 60_000).toISOString()],
      ),
      [4321, 'Made on Node', '2026-02-03T04:05:06.000Z'],
    ];
    // WAL mode, as a wallet on a phone keeps it: the snapshot is still one file.
    const wallet = writeWebWallet(join(dir, 'cli-wallet'), { rows, wal: true });
    const cliA = cliDevice(mnemonic);
    const first = await cli(['backup', '--data', wallet, ...cliA]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('(full: no earlier backup known to this device)');
    addPayment(wallet, [1000, 'A day later on Node', '2026-02-04T04:05:06.000Z']);
    const second = await cli(['backup', '--data', wallet, ...cliA]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/\(incremental: \d+ pages? of \d+ changed\)/);

    const page = await restoreInBrowser(mnemonic);
    await expect.poll(() => page.locator('.payment').count(), T).toBe(802);
    const shown = await textOf(page.locator('.payments'));
    expect(shown).toContain('A day later on Node');
    expect(shown).toContain('Made on Node');

    // The browser's cache was rebuilt from the CLI's manifest: its backup is incremental.
    await addPaymentInBrowser(page, '700', 'Then in the browser');
    expect(await backUpNow(page)).toMatch(INCREMENTAL);
    // The browser verifies both: its own backup and the CLI's it was built on.
    for (const version of [1, 2] as const)
      expect(await verifyInWorker(page, version)).toMatchObject({
        k: 'ok',
        value: { backup_version: version, format: 'v2', databases: 1, entries: 2 },
      });

    const restored = join(dir, 'restored-from-browser');
    const cliB = cliDevice(mnemonic);
    const r = await cli(['restore', '--to', restored, ...cliB]);
    expect(r.code, r.stderr).toBe(0);
    expect(descriptions(restored).slice(-3)).toEqual([
      'Made on Node',
      'A day later on Node',
      'Then in the browser',
    ]);
    // Both slots: the browser's backup and the CLI's it was built on.
    for (const version of ['1', '2']) {
      const v = await cli(['verify', version, ...cliB]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toContain(`backup ${version} is intact`);
    }
  });

  it("a wallet made in the browser: its backup restores with the CLI, the CLI's in a browser", async () => {
    const [, page] = await newDevice(app.browser, app.srv.url);
    await page.getByRole('button', { name: 'Create a new wallet' }).click();
    const words = await page.getByTestId('seedphrase').locator('.seed-word').allTextContents();
    const mnemonic = words.join(' ');
    await page.getByLabel('I wrote down these 12 words, in order').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Turn on backups' }).click(); // the first backup
    await expect.poll(() => heading(page), T).toBe('Wallet');
    await addPaymentInBrowser(page, '2500', 'Made in the browser');
    // A manifest backup: only the incremental pipeline reports what it sent.
    expect(await backUpNow(page)).toMatch(SENT);

    const wallet = join(dir, 'from-browser');
    const cliA = cliDevice(mnemonic);
    const r = await cli(['restore', '--to', wallet, ...cliA]);
    expect(r.code, r.stderr).toBe(0);
    expect(descriptions(wallet)).toEqual(['Made in the browser']);
    addPayment(wallet, [-300, 'Then on Node', '2026-02-05T04:05:06.000Z']);
    const b = await cli(['backup', '--data', wallet, ...cliA]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).not.toContain('no earlier backup known'); // the restore's cache

    const other = await restoreInBrowser(mnemonic);
    await expect.poll(() => textOf(other.locator('.payments')), T).toContain('Then on Node');
    expect(await textOf(other.getByTestId('balance'))).toBe('2,200 sats');
  });
});
