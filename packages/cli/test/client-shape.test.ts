/**
 * What the wallet's shape says, through the real `noah-backup` binary against the real
 * server (docs/WALLET.md): a wallet that lost a database of its last backup is not
 * backed up until the user accepts it (exit 7, `--accept-missing-databases`), and both
 * good backups stay; a backup that holds no database is never "intact" (exit 6) and is
 * restored only with `--yes-empty`; a `--to` directory whose databases are not the
 * wallet's needs `--force`, as any directory of other files does.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createApiClient } from '@noah-backup/client/api-client';
import { createDemoWallet, walletDigest } from '@noah-backup/client/demo-wallet';
import { createSessionKeys } from '@noah-backup/client/keys';
import { encryptBackupBytes } from '@noah-backup/core/format';
import { describe, expect, it } from 'vitest';
import { buildTar } from '../../client/test/fixtures/node-helpers.ts';
import { uploadRaw } from '../../client/test/helpers/device.ts';
import { type Run, useCliServer } from './client-helpers.ts';

const h = useCliServer('noah-cli-shape-');
const { cli, user } = h;

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
    const wallet = join(h.dir, 'gone');
    await createDemoWallet(wallet, { sizeMb: 1, seed: 51 });
    await createDemoWallet(join(h.dir, 'gone-other'), { sizeMb: 1, seed: 52 });
    await fsp.copyFile(join(h.dir, 'gone-other', 'wallet.sqlite'), join(wallet, 'ldk.sqlite'));
    for (let i = 0; i < 2; i++) {
      h.srv.clock.advance(60_000);
      expect((await cli(['backup', '--data', 'gone', ...u.as('st-gone')])).code).toBe(0);
    }
    const list = (await cli(['list', '--json', ...u.as('st-gone')])).stdout;
    const digest = await walletDigest(wallet);

    await fsp.rm(join(wallet, 'ldk.sqlite'));
    h.srv.clock.advance(60_000);
    const r = await cli(['backup', '--data', 'gone', ...u.as('st-gone')]);
    expectError(r, 7, 'wallet_database_missing', /^hint: .*--accept-missing-databases/);
    expect(r.stderr).toContain('the wallet database ldk.sqlite');
    expect(r.stdout).toBe('');
    expect((await cli(['list', '--json', ...u.as('st-gone')])).stdout).toBe(list);
    expect((await cli(['restore', '--to', 'gone-r', ...u.as('st-gone-r')])).code).toBe(0);
    expect(await walletDigest(join(h.dir, 'gone-r'))).toBe(digest);

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
    await createDemoWallet(join(h.dir, 'empty'), { sizeMb: 1, seed: 53 });
    expect((await cli(['backup', '--data', 'empty', ...u.as('st-empty')])).code).toBe(0);
    const keys = await createSessionKeys(u.mnemonic, new URL(h.srv.url).href);
    try {
      const api = createApiClient({ baseUrl: h.srv.url, signer: keys.signer });
      const tarball = await buildTar([{ header: { name: 'settings.json' }, content: '{}' }]);
      h.srv.clock.advance(60_000);
      await uploadRaw(
        api,
        await encryptBackupBytes(tarball, {
          keyring: keys.keyring,
          createdAt: h.srv.clock.now(),
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
    await expect(fsp.access(join(h.dir, 'empty-r'))).rejects.toThrow();
    const yes = await cli(['restore', '--to', 'empty-r', '--yes-empty', ...u.as('st-empty-r')]);
    expect(yes.code).toBe(0);
    expect(await fsp.readdir(join(h.dir, 'empty-r'))).toEqual(['settings.json']);
  });

  it("restore --to a directory of some program's databases: exit 2 until --force", async () => {
    const u = await user('prog');
    await createDemoWallet(join(h.dir, 'prog'), { sizeMb: 1, seed: 54 });
    expect((await cli(['backup', '--data', 'prog', ...u.as('st-prog')])).code).toBe(0);
    const target = join(h.dir, 'Project');
    await fsp.mkdir(target);
    await createDemoWallet(join(h.dir, 'prog-other'), { sizeMb: 1, seed: 55 });
    await fsp.copyFile(join(h.dir, 'prog-other', 'wallet.sqlite'), join(target, 'cache.db'));
    await fsp.writeFile(join(target, 'notes.txt'), 'mine');
    const before = await walletDigest(target);
    const r = await cli(['restore', '--to', 'Project', ...u.as('st-prog-r')]);
    expectError(r, 2, 'target_not_a_wallet', /^hint: .*add --force to replace it/);
    expect(await walletDigest(target)).toBe(before);
    const forced = await cli(['restore', '--to', 'Project', '--force', ...u.as('st-prog-r')]);
    expect(forced.code).toBe(0);
    const kept = /is kept in (\S+Project\.noah-replaced-\S+)$/m.exec(forced.stdout)?.[1];
    expect(await walletDigest(kept!)).toBe(before);
    expect(await walletDigest(target)).toBe(await walletDigest(join(h.dir, 'prog')));
  });
});
