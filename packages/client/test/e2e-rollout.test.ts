/**
 * The rollout switch seen by the SDK (docs/OPERATIONS.md "Rollout"): when the server's
 * settings say it takes no backups of this user (`backups_allowed: false`),
 * `triggerBackup` refuses with `backups_not_enabled` before any upload is asked for,
 * and a push skips (`not_allowed`): the server's 403 is never met. The real server on
 * both stacks, with a rollout of 0 % that excludes every user.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import type { FetchFn } from '../src/http.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { newMnemonic, openDevice, startTestServer, type TestServer } from './helpers/device.ts';

describe.each(fullCombos)('rollout excluding the user on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'noah-rollout-'));
    srv = await startTestServer({
      ...combo,
      config: { maxBackupSize: 16 * 2 ** 20, rollout: { mode: 'percent', percent: 0 } },
    });
  });
  afterAll(async () => {
    await srv?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('triggerBackup refuses before any upload; a push skips', async () => {
    const requests: string[] = [];
    const counting: FetchFn = async (url, init) => {
      const res = await (globalThis.fetch as unknown as FetchFn)(url, init);
      requests.push(`${init?.method ?? 'GET'} ${new URL(url).pathname} ${res.status}`);
      return res;
    };
    const d = await openDevice(srv.url, {
      root: join(root, 'd1'),
      mnemonic: newMnemonic(),
      fetch: counting,
    });
    try {
      await createDemoWallet(d.walletDir, { sizeMb: 1 });
      await expect(d.manager.triggerBackup()).rejects.toMatchObject({
        code: 'backups_not_enabled',
        message: expect.stringContaining('not yet this one'),
      });
      expect(d.manager.getSnapshot()).toMatchObject({
        backupsAllowed: false,
        backupsNotAllowedReason: 'rollout_pending',
      });
      await d.manager.setBackupEnabled(true);
      expect(await d.manager.handleBackupNotification({ type: 'backup_trigger' })).toEqual({
        skipped: 'not_allowed',
      });
      expect(requests.filter((r) => /upload_url|PUT | 403$/.test(r))).toEqual([]);
      expect(await d.manager.listBackups()).toEqual([]);
    } finally {
      d.close();
    }
  });
});
