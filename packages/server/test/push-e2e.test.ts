/**
 * End to end, the client half of docs/PUSH.md §5: a wallet registers its Expo token with
 * the real server, the daily job sends the trigger through a local fake Expo, the
 * wallet's BackupManager handles the push data (`handleBackupNotification`), backs up
 * against the real server, and its report marks the trigger successful.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient } from '@noah-backup/client/api-client';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { createSessionKeys } from '@noah-backup/client/keys';
import { createBackupManager } from '@noah-backup/client/manager';
import { createFileSpooler } from '@noah-backup/client/node/spool';
import { createFileStateStore } from '@noah-backup/client/node/state';
import { createNodeWalletAdapter } from '@noah-backup/client/node/wallet';
import { manualClock } from '@noah-backup/core/clock';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePushConfig } from '../src/config/push.ts';
import { addDays, utcDay } from '../src/push/day.ts';
import { type FakeExpo, startFakeExpo } from './helpers/fake-expo.ts';
import { expoToken, HOUR } from './helpers/push.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let srv: TestServer;
let expo: FakeExpo;
let root: string;

beforeAll(async () => {
  expo = await startFakeExpo();
  root = await mkdtemp(join(tmpdir(), 'noah-push-e2e-'));
  const problems: string[] = [];
  const push = parsePushConfig(
    (n) =>
      ({ PUSH_PROVIDERS: 'expo', EXPO_PUSH_URL: expo.url, BACKUP_CRON: 'off', BACKUP_SPREAD: '0' })[
        n
      ],
    problems,
  );
  expect(problems).toEqual([]);
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { push, maxBackupSize: 50 * 1024 * 1024 },
  });
});
afterAll(async () => {
  await srv?.close();
  await expo?.close();
  await rm(root, { recursive: true, force: true });
});

describe('daily trigger, end to end', () => {
  it('a wallet receiving the trigger backs up and its report marks the trigger successful', async () => {
    const walletDir = join(root, 'wallet');
    const tmp = join(root, 'tmp');
    await mkdir(tmp, { recursive: true });
    await createDemoWallet(walletDir, { sizeMb: 0.25 });
    const clock = manualClock(srv.clock.now());
    const keys = await createSessionKeys(generateMnemonic(wordlist), srv.url);
    const api = createApiClient({
      baseUrl: srv.url,
      signer: keys.signer,
      clock,
      sleep: async () => {},
    });
    const manager = createBackupManager({
      api,
      keys,
      wallet: createNodeWalletAdapter({ dataDir: walletDir, tmpDir: tmp, clock }),
      spooler: createFileSpooler(tmp),
      state: createFileStateStore(join(root, 'state.json')),
      clock,
    });
    await manager.ready;
    try {
      const token = expoToken();
      await api.registerPush({ provider: 'expo', token, device_id: 'e2e-phone' });
      // Opt-in (docs/API.md "settings"): a registered device alone gets no trigger.
      expect(await srv.app.noahPush.scheduler.runNow()).toMatchObject({ triggered: 0 });
      expect(expo.messages.filter((m) => m.to === token)).toHaveLength(0);
      await manager.setBackupEnabled(true);

      const job = await srv.app.noahPush.scheduler.runNow();
      expect(job).toMatchObject({ status: 'done', triggered: 1, sent: { expo: 1 } });
      const pushed = expo.messages.filter((m) => m.to === token);
      expect(pushed).toHaveLength(1);

      // What expo-notifications hands the app: the message's data.
      const result = await manager.handleBackupNotification(pushed[0]!.data);
      expect(result).toMatchObject({ status: 'success' });
      expect(await api.list()).toHaveLength(1);

      const user = await srv.metadata.upsertUser(keys.signer.linkingKey, srv.clock.now());
      const trigger = await srv.metadata.getTrigger(user.id, utcDay(srv.clock.now()));
      expect(trigger).toMatchObject({
        notificationId: pushed[0]!.data.notification_id,
        status: 'sent',
        outcome: 'success',
      });
      const today = utcDay(srv.clock.now());
      const stats = await srv.metadata.triggerOutcomeStats(today, addDays(today, 1));
      expect(stats).toEqual({ sent: 1, succeededWithinDay: 1 });

      // A second delivery of the same push (a transport retry): the wallet skips it.
      expect(await manager.handleBackupNotification(pushed[0]!.data)).toEqual({
        skipped: 'recent',
      });

      // Tomorrow's job: the user backed up 2 h ago, so no trigger.
      srv.clock.advance(2 * HOUR);
      const fresh = await srv.app.noahPush.scheduler.runNow();
      expect(fresh.candidates).toBe(0);
      expect(expo.messages.filter((m) => m.to === token)).toHaveLength(1);
    } finally {
      keys.destroy();
    }
  });
});
