/**
 * The client commands as a black box: spawn `node packages/cli/bin/noah-backup.js`,
 * check stdout, stderr and the exit code, against the real server (sqlite + fs).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { walletDigest } from '@noah-backup/client/demo-wallet';
import { breakIndex } from '../../client/test/fixtures/node-helpers.ts';
import { describe, expect, it } from 'vitest';
import { putRawObject } from '../../server/test/helpers/server.ts';
import { type Run, useCliServer } from './client-helpers.ts';

const h = useCliServer('noah-cli-');
const { cli, user } = h;

/** No output ever holds the seedphrase or a part of it. */
function expectNoSecret(run: Run, mnemonic: string) {
  const words = mnemonic.split(' ');
  const phrase = words.slice(0, 3).join(' ');
  expect(run.stdout + run.stderr).not.toContain(phrase);
}

describe('noah-backup client commands', () => {
  it('demo-wallet, backup, then restore on a fresh directory gives the same data', async () => {
    const u = await user('done-when');
    const demo = await cli(['demo-wallet', 'w', '--size-mb', '1']);
    expect(demo).toMatchObject({ code: 0, stderr: '' });
    expect(demo.stdout).toMatch(/created a demo wallet in w: \d+ payments, \d+ coins/);

    const backup = await cli(['backup', '--data', 'w', ...u.as('state-a')]);
    expect(backup.stderr).toBe(''); // no TTY: no progress bar
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^backed up w as backup [12] \(/);

    const restore = await cli(['restore', '--to', 'w2', ...u.as('state-b')]);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/^restored backup [12] .* into w2/);
    expect(await walletDigest(join(h.dir, 'w2'))).toBe(await walletDigest(join(h.dir, 'w')));

    const list = await cli(['list', '--json', ...u.as('state-b')]);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      backup_version: expect.any(Number),
      backup_size: expect.any(Number),
    });

    const verify = await cli(['verify', '--json', ...u.as('state-b')]);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({
      ok: true,
      format: 'v2',
      sequence: '1',
      databases: 1,
    });
    // The verification is reported: the server shows it, and `list` says so.
    const verified = JSON.parse((await cli(['list', '--json', ...u.as('state-b')])).stdout);
    expect(verified[0].verification).toMatchObject({ status: 'success', error: null });
    const human = (await cli(['list', ...u.as('state-b')])).stdout.split('\n');
    expect(human[0]).toMatch(/\sVERIFIED$/);
    expect(human[1]).toMatch(
      new RegExp(`\\sok ${verified[0].verification.verified_at.slice(0, 10)}$`),
    );

    const settings = await cli(['settings', '--enable', ...u.as('state-b')]);
    expect(settings).toMatchObject({ code: 0 });
    expect(settings.stdout).toMatch(/^daily backups enabled; last backup \d{4}-/);
    for (const r of [backup, restore, list, verify, settings]) expectNoSecret(r, u.mnemonic);
  });

  it('takes the seedphrase from NOAH_MNEMONIC and deletes a backup', async () => {
    const u = await user('env');
    await cli(['demo-wallet', 'w-env', '--size-mb', '1']);
    const env = { NOAH_MNEMONIC: u.mnemonic };
    const state = ['--state', join(h.dir, 'state-env')];
    const backup = await cli(['backup', '--data', 'w-env', '--json', ...state], env);
    expect(backup.code).toBe(0);
    const version = JSON.parse(backup.stdout).backup_version;
    const del = await cli(['delete', String(version), ...state], env);
    expect(del).toMatchObject({ code: 0, stdout: `deleted backup ${version}\n` });
    const again = await cli(['delete', String(version), ...state], env);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^noah-backup: error: .*\nhint: run `noah-backup list`/);
    expect((await cli(['list', ...state], env)).stdout).toBe('no backups\n');
  });

  it('exit 2 for usage errors: no seedphrase, a bad version', async () => {
    const none = await cli(['list', '--state', join(h.dir, 'st-none')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no seedphrase: use --mnemonic-file FILE or set NOAH_MNEMONIC');
    expect(none.stdout).toBe('');
    const u = await user('usage');
    const bad = await cli(['delete', '3', ...u.as('st-usage')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('a backup version is 1 or 2');
    const badJson = await cli(['list', '--json', '--state', join(h.dir, 'st-none')]);
    expect(JSON.parse(badJson.stdout)).toEqual({
      error: { code: 'usage', message: expect.any(String) },
    });
  });

  it('exit 5 when there is nothing to restore, and the target is left alone', async () => {
    const u = await user('empty');
    const r = await cli(['restore', '--to', 'w-empty', ...u.as('st-empty')]);
    expect(r.code).toBe(5);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(2); // one line + hint
    await expect(readdir(join(h.dir, 'w-empty'))).rejects.toThrow();
  });

  it('exit 4 when the server is unreachable', async () => {
    const u = await user('offline');
    const r = await cli(['list', ...u.as('st-off'), '--server', 'http://127.0.0.1:9']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('hint: is the server at http://127.0.0.1:9 running?');
  });

  it('exit 3 for a backup that does not decrypt; the wallet stays as it was', async () => {
    const u = await user('corrupt');
    await cli(['demo-wallet', 'w-c', '--size-mb', '1']);
    const before = new Set<string>();
    for await (const o of h.srv.blobs.list('')) before.add(o.key);
    expect((await cli(['backup', '--data', 'w-c', ...u.as('st-c')])).code).toBe(0);
    let key = '';
    for await (const o of h.srv.blobs.list('')) if (!before.has(o.key)) key = o.key;
    const get = await h.srv.blobs.presignGet(key, { expiresInSec: 60 });
    const bytes = new Uint8Array(await (await fetch(get.url)).arrayBuffer());
    bytes[bytes.length - 50]! ^= 0x80;
    await putRawObject(h.srv, key, bytes);

    await cli(['demo-wallet', 'w-c2', '--size-mb', '1']);
    const digest = await walletDigest(join(h.dir, 'w-c2'));
    const r = await cli(['restore', '--to', 'w-c2', ...u.as('st-c2')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('wrong seedphrase, or the backup is corrupted or was tampered with');
    expect(await walletDigest(join(h.dir, 'w-c2'))).toBe(digest);
    expect((await cli(['verify', ...u.as('st-c2')])).code).toBe(3);
    // The failed verification is reported like the SDK's: `list` shows it.
    const listed = (await cli(['list', ...u.as('st-c2')])).stdout.split('\n');
    expect(listed[1]).toMatch(/\sFAILED \d{4}-\d\d-\d\d \(decryption_failed\)$/);
  });

  it('exit 6 for a wallet database too damaged to back up; the backup on the server is kept', async () => {
    const u = await user('damaged');
    await cli(['demo-wallet', 'w-d', '--size-mb', '1']);
    expect((await cli(['backup', '--data', 'w-d', ...u.as('st-d')])).code).toBe(0);
    const listed = (await cli(['list', '--json', ...u.as('st-d')])).stdout;
    breakIndex(
      join(h.dir, 'w-d', 'wallet.sqlite'),
      'payments',
      'payments_created_at',
      'created_at',
    );
    h.srv.clock.advance(60_000);
    const r = await cli(['backup', '--data', 'w-d', ...u.as('st-d')]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('the wallet database wallet.sqlite is damaged');
    expect(r.stderr).toContain('hint: nothing was uploaded and the backups on the server are kept');
    expectNoSecret(r, u.mnemonic);
    const json = await cli(['backup', '--data', 'w-d', '--json', ...u.as('st-d')]);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'corrupt_wallet_database' } });
    expect((await cli(['list', '--json', ...u.as('st-d')])).stdout).toBe(listed);
  });

  it('exit 7 for an older backup until --yes-older', async () => {
    const u = await user('rollback');
    await cli(['demo-wallet', 'w-r', '--size-mb', '1']);
    expect((await cli(['backup', '--data', 'w-r', ...u.as('st-r')])).code).toBe(0);
    h.srv.clock.advance(60_000);
    expect((await cli(['backup', '--data', 'w-r', ...u.as('st-r')])).code).toBe(0);
    const rows = JSON.parse((await cli(['list', '--json', ...u.as('st-r')])).stdout);
    const older = String(rows[1].backup_version);
    const r = await cli(['restore', '--to', 'w-r', '--version', older, ...u.as('st-r')]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('hint: re-run with --yes-older');
    const ok = await cli([
      'restore',
      '--to',
      'w-r',
      '--version',
      older,
      '--yes-older',
      ...u.as('st-r'),
    ]);
    expect(ok.code).toBe(0);
  });
});
