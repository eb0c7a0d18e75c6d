/**
 * The rollout switch seen by the SDK (docs/OPERATIONS.md "Rollout"): when the server's
 * settings say it takes no backups of this user (`backups_allowed: false`),
 * `triggerBackup` refuses with `backups_not_enabled` before any upload is asked for,
 * and a push skips (`not_allowed`): the server's 403 is never met. The snapshot an
 * incremental backup takes while the settings are asked is then discarded: its files
 * removed, or its taking stopped. The real server on both stacks, with a rollout of 0 %
 * that excludes every user.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
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

  /** How long a step is held at most waiting for the other one. */
  const HOLD_MS = 5_000;
  const within = <T>(p: Promise<T>, timeout: T) =>
    Promise.race([p, new Promise<T>((r) => setTimeout(() => r(timeout), HOLD_MS))]);

  it.each([
    ['taken before the refusal', true],
    ['still being taken at the refusal', false],
  ])('a refused backup discards the snapshot %s and sends nothing', async (_name, first) => {
    const log: string[] = [];
    let taken: () => void = () => {};
    const snapshotTaken = new Promise<string>((r) => {
      taken = () => r('settings answered');
    });
    const counting: FetchFn = async (url, init) => {
      const res = await (globalThis.fetch as unknown as FetchFn)(url, init);
      const what = `${init?.method ?? 'GET'} ${new URL(url).pathname} ${res.status}`;
      // A slow answer, held until the snapshot is taken.
      if (first && what.startsWith('GET /v0/backup/settings'))
        log.push(await within(snapshotTaken, 'settings timeout'));
      log.push(what);
      return res;
    };
    const d = await openDevice(srv.url, {
      root: join(root, `d-${first}`),
      mnemonic: newMnemonic(),
      fetch: counting,
      wallet: (node) => ({
        ...node,
        pageSnapshot: async (o: Parameters<typeof node.pageSnapshot>[0]) => {
          log.push('snapshot started');
          if (!first) {
            // Taken slowly: still going when the refusal comes, which stops it.
            const stopped = new Promise<string>((r) =>
              o.signal?.addEventListener('abort', () => r('snapshot stopped')),
            );
            log.push(await within(stopped, 'snapshot not stopped'));
          }
          const snap = await node.pageSnapshot(o);
          log.push('snapshot taken');
          taken();
          return snap;
        },
      }),
    });
    try {
      await createDemoWallet(d.walletDir, { sizeMb: 1 });
      await expect(d.manager.triggerBackup()).rejects.toMatchObject({
        code: 'backups_not_enabled',
      });
      // Before: no snapshot was started before the settings answered.
      const settings = log.findIndex((e) => e.startsWith('GET /v0/backup/settings'));
      expect(log.indexOf('snapshot started')).toBeGreaterThanOrEqual(0);
      expect(log.indexOf('snapshot started')).toBeLessThan(settings);
      if (first)
        expect(log.indexOf('snapshot taken')).toBeLessThan(log.indexOf('settings answered'));
      else expect(log).toContain('snapshot stopped');
      expect(log.filter((e) => /upload_url|PUT |list|403$/.test(e))).toEqual([]);
      const tmp = await readdir(join(root, `d-${first}`, 'tmp'));
      expect(tmp.filter((n) => n.startsWith('noah-'))).toEqual([]);
      expect(await d.manager.listBackups()).toEqual([]);
    } finally {
      d.close();
    }
  });
});
