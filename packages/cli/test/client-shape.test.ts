/**
 * What the wallet's shape says, through the real `noah-backup` binary against the real
 * server (docs/WALLET.md): a wallet that lost a database of its last backup is not
 * backed up until the user accepts it (exit 7, `--accept-missing-databases`), and both
 * good backups stay; a backup that holds no database is never "intact" (exit 6) and is
 * restored only with `--yes-empty`; a `--to` directory whose databases are not the
 * wallet's needs `--force`, as any directory of other files does.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApiClient } from '@noah-backup/client/api-client';
import { createDemoWallet, walletDigest } from '@noah-backup/client/demo-wallet';
import { createSessionKeys } from '@noah-backup/client/keys';
import { encryptBackupBytes } from '@noah-backup/core/format';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTar } from '../../client/test/fixtures/node-helpers.ts';
import { uploadRaw } from '../../client/test/helpers/device.ts';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'noah-cli-shape-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20 },
  });
});
afterAll(async () => {
  await srv?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Runs the CLI to the end. */
function cli(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: srv.url },
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

/** A user: a mnemonic in a file; `as(state)` gives the options for a device state dir. */
async function user(name: string) {
  const mnemonic = generateMnemonic(wordlist);
  const file = join(dir, `${name}.mnemonic`);
  await fsp.writeFile(file, `${mnemonic}\n`, { mode: 0o600 });
  return {
    mnemonic,
    as: (state: string) => ['--mnemonic-file', file, '--state', join(dir, state)],
  };
}

/** The one error line, its code in brackets, and the hint. */
function expectError(r: Run, exit: number, code: string, hint: RegExp) {
  expect(r.code).toBe(exit);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^noah-backup: error: .*\\[${code}\\]$`));
  expect(lines[1]).toMatch(hint);
}

describe('noah-backup and the shape of the wallet', () => {
  it('a database of the last backup gone: exit 7, backups kept, then accepted', async () => {
    const u = await user('gone');
    const wallet = join(dir, 'gone');
    await createDemoWallet(wallet, { sizeMb: 1, seed: 51 });
    await createDemoWallet(join(dir, 'gone-other'), { sizeMb: 1, seed: 52 });
    await fsp.copyFile(join(dir, 'gone-other', 'wallet.sqlite'), join(wallet, 'ldk.sqlite'));
    for (let i = 0; i < 2; i++) {
      srv.clock.advance(60_000);
      expect((await cli(['backup', '--data', 'gone', ...u.as('st-gone')])).code).toBe(0);
    }
    const list = (await cli(['list', '--json', ...u.as('st-gone')])).stdout;
    const digest = await walletDigest(wallet);

    await fsp.rm(join(wallet, 'ldk.sqlite'));
    srv.clock.advance(60_000);
    const r = await cli(['backup', '--data', 'gone', ...u.as('st-gone')]);
    expectError(r, 7, 'wallet_database_missing', /^hint: .*--accept-missing-databases/);
    expect(r.stderr).toContain('the wallet database ldk.sqlite');
    expect(r.stdout).toBe('');
    expect((await cli(['list', '--json', ...u.as('st-gone')])).stdout).toBe(list);
    expect((await cli(['restore', '--to', 'gone-r', ...u.as('st-gone-r')])).code).toBe(0);
    expect(await walletDigest(join(dir, 'gone-r'))).toBe(digest);

    const yes = await cli([
      'backup',
      '--data',
      'gone',
      '--accept-missing-databases',
      ...u.as('st-gone'),
    ]);
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/^backed up gone as backup/);
  });

  it('a backup without a database: verify exit 6, restore exit 6 until --yes-empty', async () => {
    const u = await user('empty');
    await createDemoWallet(join(dir, 'empty'), { sizeMb: 1, seed: 53 });
    expect((await cli(['backup', '--data', 'empty', ...u.as('st-empty')])).code).toBe(0);
    const keys = await createSessionKeys(u.mnemonic, new URL(srv.url).href);
    try {
      const api = createApiClient({ baseUrl: srv.url, signer: keys.signer });
      const tarball = await buildTar([{ header: { name: 'settings.json' }, content: '{}' }]);
      srv.clock.advance(60_000);
      await uploadRaw(
        api,
        await encryptBackupBytes(tarball, {
          keyring: keys.keyring,
          createdAt: srv.clock.now(),
          sequence: 2n,
          payloadKind: 'tar',
        }),
      );
    } finally {
      keys.destroy();
    }
    const verify = await cli(['verify', ...u.as('st-empty')]);
    expectError(verify, 6, 'empty_backup', /^hint: .*--version N/);
    expect(verify.stdout).not.toContain('intact');
    const restore = await cli(['restore', '--to', 'empty-r', ...u.as('st-empty-r')]);
    expectError(restore, 6, 'empty_backup', /^hint: .*--version N .*--yes-empty/);
    await expect(fsp.access(join(dir, 'empty-r'))).rejects.toThrow();
    const yes = await cli(['restore', '--to', 'empty-r', '--yes-empty', ...u.as('st-empty-r')]);
    expect(yes.code).toBe(0);
    expect(await fsp.readdir(join(dir, 'empty-r'))).toEqual(['settings.json']);
  });

  it("restore --to a directory of some program's databases: exit 2 until --force", async () => {
    const u = await user('prog');
    await createDemoWallet(join(dir, 'prog'), { sizeMb: 1, seed: 54 });
    expect((await cli(['backup', '--data', 'prog', ...u.as('st-prog')])).code).toBe(0);
    const target = join(dir, 'Project');
    await fsp.mkdir(target);
    await createDemoWallet(join(dir, 'prog-other'), { sizeMb: 1, seed: 55 });
    await fsp.copyFile(join(dir, 'prog-other', 'wallet.sqlite'), join(target, 'cache.db'));
    await fsp.writeFile(join(target, 'notes.txt'), 'mine');
    const before = await walletDigest(target);
    const r = await cli(['restore', '--to', 'Project', ...u.as('st-prog-r')]);
    expectError(r, 2, 'target_not_a_wallet', /^hint: .*add --force to replace it/);
    expect(await walletDigest(target)).toBe(before);
    const forced = await cli(['restore', '--to', 'Project', '--force', ...u.as('st-prog-r')]);
    expect(forced.code).toBe(0);
    const kept = /is kept in (\S+Project\.noah-replaced-\S+)$/m.exec(forced.stdout)?.[1];
    expect(await walletDigest(kept!)).toBe(before);
    expect(await walletDigest(target)).toBe(await walletDigest(join(dir, 'prog')));
  });
});
