/**
 * The React Native `backup_trigger` handler (docs/PUSH.md §3) against the real server
 * with a real BackupManager on the Node ports: it reads the trigger in each shape
 * expo-notifications hands over, backs up and reports within the budget, stops a backup
 * that outlives the budget, keeps the trigger and schedules the background task, which
 * then finishes the backup and reports success under the same notification id.
 */
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import type { FetchFn } from '@noah-backup/client/http';
import { describe, expect, it } from 'vitest';
import { deviceSuite, newMnemonic } from '../../client/test/helpers/device.ts';
import { createBackupTriggerHandler, PENDING_TRIGGER_KEY } from '../src/push/handler.ts';
import { findBackupTrigger } from '../src/push/trigger.ts';

const ID = '5f0c2a9e4b7d41c3a8e6f1d2b3c4a5e6';
const TRIGGER = { type: 'backup_trigger', notification_id: ID };

/**
 * The task payloads expo-notifications 57 builds (NotificationTaskPayload): Android puts
 * the FCM data message's `body` (Expo sends `data` as JSON text there) in `data` with
 * `dataString`; iOS's BackgroundEventTransformer keeps the APNs keys but `aps`, the
 * `body` object among them, and adds its JSON as `dataString`.
 */
const ANDROID_TASK = {
  data: { body: JSON.stringify(TRIGGER), dataString: JSON.stringify(TRIGGER) },
  notification: null,
};
const IOS_TASK = {
  data: { body: TRIGGER, dataString: JSON.stringify(TRIGGER), scopeKey: '@x/y' },
  aps: { 'content-available': 1 },
  notification: null,
};

describe('findBackupTrigger', () => {
  it('reads the trigger in every shape a push reaches JavaScript in', () => {
    for (const input of [
      ANDROID_TASK,
      IOS_TASK,
      { data: { dataString: JSON.stringify(TRIGGER) } },
      { request: { content: { data: TRIGGER } } }, // a Notification in the foreground
      { notification: { request: { content: { data: TRIGGER } } } }, // a NotificationResponse
      TRIGGER,
      JSON.stringify(TRIGGER), // a UnifiedPush message
    ])
      expect(findBackupTrigger(input)).toEqual(TRIGGER);
  });

  it('finds nothing in other pushes, and drops an id the server would refuse', () => {
    for (const input of [
      null,
      undefined,
      'hello',
      '{"type":"backup_trigger"',
      { data: { dataString: '{"type":"chat"}' } },
      { request: { content: { data: { type: 'payment_received' } } } },
      [TRIGGER],
      { data: { nested: { deeper: TRIGGER } } },
    ])
      expect(findBackupTrigger(input)).toBeNull();
    expect(findBackupTrigger({ type: 'backup_trigger', notification_id: 'x'.repeat(129) })).toEqual(
      { type: 'backup_trigger', notification_id: '' },
    );
    expect(findBackupTrigger({ type: 'backup_trigger' })).toEqual({
      type: 'backup_trigger',
      notification_id: '',
    });
  });
});

describe('the backup_trigger handler', () => {
  const suite = deviceSuite({ metadataKind: 'sqlite', blobKind: 'fs' }, 'rn-push', 16 * 2 ** 20);

  /** The device's network: records each report; `stuck` holds every upload until aborted. */
  const network = (stuck: { on: boolean }) => {
    const reports: Record<string, unknown>[] = [];
    const net: FetchFn = async (url, init) => {
      if (String(url).endsWith('/v0/backup/report')) reports.push(JSON.parse(String(init?.body)));
      if (stuck.on && init?.method === 'PUT')
        return new Promise((_, reject) => {
          const signal = init.signal;
          if (!signal) return; // never settles: the test fails on its timeout
          signal.addEventListener('abort', () =>
            reject(new DOMException('The operation was aborted.', 'AbortError')),
          );
        });
      return fetch(url, init);
    };
    return { net, reports };
  };

  const setup = async (stuck = { on: false }) => {
    const { net, reports } = network(stuck);
    const dev = await suite.device(newMnemonic(), { fetch: net });
    await createDemoWallet(dev.walletDir, { sizeMb: 1 });
    await dev.manager.setBackupEnabled(true);
    const scheduled: string[] = [];
    const handler = (budgetMs: number | null, foreground = false) =>
      createBackupTriggerHandler({
        manager: dev.manager,
        state: dev.state,
        budgetMs,
        marginMs: 0,
        handOff: async () => void scheduled.push('register'),
        handOffDone: async () => void scheduled.push('unregister'),
        isForeground: () => foreground,
      });
    return { dev, reports, scheduled, handler, stuck };
  };

  it('backs up within the budget and reports success with the notification id', async () => {
    const { dev, reports, scheduled, handler } = await setup();
    const outcome = await handler(30_000).handle(IOS_TASK);
    expect(outcome).toMatchObject({ status: 'success' });
    // The backup's report first, then the verification due after a first backup.
    expect(reports[0]).toEqual({ notification_id: ID, kind: 'backup', status: 'success' });
    expect(reports.slice(1)).toMatchObject([{ kind: 'verify', status: 'success' }]);
    expect((await dev.manager.listBackups()).length).toBe(1);
    expect(scheduled).toEqual([]);
    // The same push again (a redelivery, or the foreground listener): done today.
    expect(await handler(30_000).handle(ANDROID_TASK)).toEqual({ skipped: 'recent' });
    expect(reports.length).toBe(2);
  });

  it('ignores other pushes: no backup, no report, nothing scheduled', async () => {
    const { dev, reports, scheduled, handler } = await setup();
    expect(await handler(30_000).handle({ data: { dataString: '{"type":"chat"}' } })).toEqual({
      skipped: 'not_a_trigger',
    });
    expect(reports).toEqual([]);
    expect(scheduled).toEqual([]);
    expect(await dev.manager.listBackups()).toEqual([]);
  });

  it('stops a backup that outlives the budget, hands it off, and the task finishes it', async () => {
    const { dev, reports, scheduled, handler, stuck } = await setup({ on: true });
    const outcome = await handler(300).handle(ANDROID_TASK);
    expect(outcome).toMatchObject({ status: 'handed_off', error: { code: 'aborted' } });
    // Reported at once (the server keeps a later success over it); the lock is free.
    expect(reports).toEqual([
      { notification_id: ID, kind: 'backup', status: 'failure', error: 'aborted' },
    ]);
    expect(scheduled).toEqual(['register']);
    expect(JSON.parse((await dev.state.get(PENDING_TRIGGER_KEY)) ?? '{}')).toMatchObject({
      notification_id: ID,
    });
    expect(await dev.manager.listBackups()).toEqual([]);

    // The background task, later, with the network moving again.
    stuck.on = false;
    const later = handler(30_000);
    expect(await later.pending()).toEqual(TRIGGER);
    expect(await later.runPending({ budgetMs: 540_000 })).toMatchObject({ status: 'success' });
    expect(reports.filter((r) => r.kind === 'backup').at(-1)).toEqual({
      notification_id: ID,
      kind: 'backup',
      status: 'success',
    });
    expect(await dev.state.get(PENDING_TRIGGER_KEY)).toBeNull();
    expect(scheduled).toEqual(['register', 'unregister']);
    expect((await dev.manager.listBackups()).length).toBe(1);
    expect(await later.runPending()).toEqual({ skipped: 'nothing_pending' });
  });

  it('the task stops too when the system expires it, and keeps the trigger', async () => {
    const { dev, handler, scheduled } = await setup({ on: true });
    await dev.state.set(
      PENDING_TRIGGER_KEY,
      JSON.stringify({ notification_id: ID, received_at: new Date().toISOString() }),
    );
    const expiry = new AbortController();
    const run = handler(null).runPending({ budgetMs: null, signal: expiry.signal });
    setTimeout(() => expiry.abort(), 200);
    expect(await run).toMatchObject({ status: 'handed_off' });
    expect(await dev.state.get(PENDING_TRIGGER_KEY)).not.toBeNull();
    expect(scheduled).toEqual(['register']);
  });

  it('has no deadline in the foreground; without one in the background it hands off', async () => {
    const { handler, scheduled } = await setup();
    expect(await handler(0).handle(TRIGGER)).toMatchObject({ status: 'handed_off' });
    expect(scheduled).toEqual(['register']);
    expect(await handler(0, true).handle(TRIGGER)).toMatchObject({ status: 'success' });
    expect(scheduled).toEqual(['register', 'unregister']);
  });
});
