/**
 * Backups the web app did not make, restored in it: a backup that `noah-backup verify`
 * calls intact is never called damaged. One made by the CLI or the Node SDK from a
 * wallet data directory of another kind (directories, nested files, another database)
 * is "made by another kind of wallet", in v2 (incremental: a manifest and packs; or one
 * object: tar) and in the legacy formats (ZIP), and nothing on the device changes; one
 * holding exactly this wallet's files restores. Real
 * CLI binary and Node SDK, real server, headless Chromium.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentRow, writeWebWallet } from '../../client/test/contract/fixtures.ts';
import { openDevice } from '../../client/test/helpers/device.ts';
import { setupApp } from './helpers/harness.ts';
import {
  heading,
  newDevice,
  startRestore,
  T,
  type TrackedPage,
  textOf,
  walletIsEmpty,
} from './helpers/page.ts';

const BIN = resolve(import.meta.dirname, '../../cli/bin/noah-backup.js');

const app = setupApp();
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'noah-web-other-'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args, ...(args[0] === 'demo-wallet' ? [] : ['--server', app.srv.url])],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

let n = 0;
/** A user of the CLI: a mnemonic file and a state directory. */
function cliUser() {
  const mnemonic = generateMnemonic(wordlist);
  const file = join(dir, `u${++n}.mnemonic`);
  writeFileSync(file, `${mnemonic}\n`, { mode: 0o600 });
  return { mnemonic, as: ['--mnemonic-file', file, '--state', join(dir, `state${n}`)] };
}

/**
 * Backs up `dataDir` with the Node SDK (its BackupManager over the Node adapters): in v2
 * an incremental backup (a manifest and packs) unless `oneObject`.
 */
async function sdkBackup(dataDir: string, format: 'v2' | 'seed-v0', oneObject = false) {
  const mnemonic = generateMnemonic(wordlist);
  const root = join(dir, `sdk${++n}`);
  mkdirSync(root);
  const device = await openDevice(app.srv.url, {
    root,
    mnemonic,
    format,
    ...(oneObject ? { incremental: false } : {}),
  });
  try {
    // The SDK backs up its device's wallet directory: put the data there.
    rmSync(device.walletDir, { recursive: true, force: true });
    await createCopy(dataDir, device.walletDir);
    const r = await device.manager.triggerBackup();
    expect(r.status).toBe('completed');
  } finally {
    device.close();
  }
  return mnemonic;
}

async function createCopy(from: string, to: string): Promise<void> {
  const { cp } = await import('node:fs/promises');
  await cp(from, to, { recursive: true });
}

/** A data directory holding this web wallet's own two files, one payment in them. */
function webWalletDir(extra?: (d: string) => void): string {
  const rows: PaymentRow[] = [[4321, 'Made on Node', '2026-02-03T04:05:06.000Z']];
  const d = writeWebWallet(join(dir, `web${++n}`), { rows, wal: true });
  extra?.(d);
  return d;
}

/** Restores `mnemonic` in a fresh browser and returns the page once it has settled. */
async function restoreInBrowser(mnemonic: string, blobGets: string[] = []): Promise<TrackedPage> {
  const [device, page] = await newDevice(app.browser, app.srv.url);
  // Stored objects fetched (the worker's requests are the context's too).
  device.on('request', (r) => {
    if (r.method() === 'GET' && new URL(r.url()).pathname.startsWith('/blob/'))
      blobGets.push(r.url());
  });
  await startRestore(page, mnemonic);
  await expect
    .poll(async () => (await textOf(page.getByRole('alert'))) || (await heading(page)), T)
    .not.toMatch(/^Restore your wallet$/);
  return page;
}

/** The restore ended with "another kind of wallet", nothing kept, never "corrupted". */
async function expectOtherKind(page: TrackedPage): Promise<void> {
  const alert = page.getByRole('alert');
  await expect
    .poll(() => textOf(alert), T)
    .toContain('This backup was made by another kind of wallet.');
  expect(await textOf(alert)).toContain('Error code: foreign_wallet');
  expect(await textOf(alert)).not.toMatch(/corrupt|damaged/i);
  expect(await heading(page)).toBe('Restore your wallet');
  expect(await walletIsEmpty(page)).toBe(true);
  expect(page.errors.filter((e) => !e.includes('Failed to load resource'))).toEqual([]);
}

describe('backups made by the CLI or the Node SDK, restored in the web app', () => {
  it.each([
    ['incremental', []],
    ['one-object', ['--one-object']],
  ])(
    'a CLI backup (%s) of the demo wallet verifies, and the web app says another kind of wallet',
    async (_kind, flags) => {
      const u = cliUser();
      const wallet = join(dir, `demo${++n}`);
      expect((await cli(['demo-wallet', wallet, '--size-mb', '1'])).code).toBe(0);
      expect((await cli(['backup', ...flags, '--data', wallet, ...u.as])).code).toBe(0);
      const verify = await cli(['verify', ...u.as]);
      expect(verify.code, verify.stderr).toBe(0);
      const gets: string[] = [];
      await expectOtherKind(await restoreInBrowser(u.mnemonic, gets));
      // The manifest names files this wallet does not write: no pack is fetched.
      if (flags.length === 0) expect(gets).toHaveLength(1);
    },
  );

  // A legacy ZIP backup: seed-v0, since noah-v1 is refused for wallets that are not
  // Noah's (docs/FORMAT.md §4.5).
  it('a legacy (seed-v0, ZIP) SDK backup of the demo wallet: another kind of wallet', async () => {
    const demo = await createDemoWallet(join(dir, 'demo-zip'), { sizeMb: 1 });
    await expectOtherKind(await restoreInBrowser(await sdkBackup(demo.dir, 'seed-v0')));
  });

  it("a wallet directory holding another wallet's database under this wallet's name", async () => {
    const only = join(dir, 'demo-db-only');
    const demo = await createDemoWallet(join(dir, 'demo-db'), { sizeMb: 1 });
    mkdirSync(only);
    await createCopy(demo.database, join(only, 'wallet.sqlite'));
    await expectOtherKind(await restoreInBrowser(await sdkBackup(only, 'v2')));
  });

  it("this wallet's files beside a folder of others: another kind of wallet", async () => {
    const d = webWalletDir((w) => {
      mkdirSync(join(w, 'channels', 'monitors'), { recursive: true });
      writeFileSync(join(w, 'channels', 'monitors', 'a.monitor'), 'monitor');
    });
    await expectOtherKind(await restoreInBrowser(await sdkBackup(d, 'v2')));
  });

  it.each([
    ['v2', 'incremental', false],
    ['v2', 'one object', true],
    ['seed-v0', 'one object', true],
  ] as const)(
    "exactly this wallet's files, backed up by the SDK (%s, %s): restored, payments and all",
    async (format, _kind, oneObject) => {
      const page = await restoreInBrowser(await sdkBackup(webWalletDir(), format, oneObject));
      await expect.poll(() => heading(page), T).toBe('Back up automatically?');
      await page.getByRole('button', { name: 'Not now' }).click();
      await expect.poll(() => heading(page), T).toBe('Wallet');
      await expect.poll(() => textOf(page.locator('.payments')), T).toContain('Made on Node');
      expect(await textOf(page.getByTestId('balance'))).toBe('4,321 sats');
    },
  );
});
