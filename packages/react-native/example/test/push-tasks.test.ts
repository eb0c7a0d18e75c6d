/**
 * The Expo push wiring of `@noah-backup/react-native/push` (docs/PUSH.md §3.1), with the
 * native side of Expo replaced (test/expo-fakes.ts) and everything else real: the
 * BackupManager, its ports, the server. A push delivered to the task backs up and
 * reports; one that outlives Android's budget is handed to the background task, which
 * the system runs later and which finishes it.
 */
import { describe, expect, it } from '@jest/globals';
import type { FetchFn } from '@noah-backup/client/http';
import {
  BACKUP_HANDOFF_TASK,
  BACKUP_TRIGGER_TASK,
  createExpoBackupTriggerHandler,
  defineBackupTriggerTasks,
  PENDING_TRIGGER_KEY,
  registerBackupTriggerTask,
} from '@noah-backup/react-native/push';
import { expoFakes } from './expo-fakes.ts';
import { type TestWallet, walletsClosedAfterEach } from './wallet.ts';

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const TRIGGER = { type: 'backup_trigger', notification_id: ID };
/** What expo-notifications hands the task for the server's message on Android. */
const ANDROID_PUSH = {
  data: { body: JSON.stringify(TRIGGER), dataString: JSON.stringify(TRIGGER) },
  notification: null,
};
/** …and on iOS (BackgroundEventTransformer.swift). */
const IOS_PUSH = {
  data: { body: TRIGGER, dataString: JSON.stringify(TRIGGER) },
  aps: { 'content-available': 1 },
  notification: null,
};

/**
 * What fetch rejects with once aborted: an `AbortError`. Made in the test's own realm
 * (Node's DOMException belongs to another one inside Jest's sandbox, where the SDK's
 * `instanceof Error` would not know it; React Native's fetch rejects with an Error).
 */
const abortError = () =>
  Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });

const openWallet = walletsClosedAfterEach();

/** A device whose uploads hang until aborted while `stuck.on`; its reports recorded. */
async function device(stuck = { on: false }) {
  const reports: Record<string, unknown>[] = [];
  const net: FetchFn = async (url, init) => {
    if (String(url).endsWith('/v0/backup/report')) reports.push(JSON.parse(String(init?.body)));
    if (stuck.on && init?.method === 'PUT')
      return new Promise((_, reject) =>
        init.signal?.addEventListener('abort', () => reject(abortError())),
      );
    return fetch(url, init);
  };
  const w = await openWallet({ fetch: net });
  await w.manager.setBackupEnabled(true);
  return { w, reports, stuck };
}

function wire(w: TestWallet, platform: string, fakes = expoFakes()) {
  const handler = createExpoBackupTriggerHandler({
    manager: w.manager,
    state: w.state,
    platform,
    BackgroundTask: fakes.BackgroundTask,
    isForeground: () => false,
  });
  const outcomes: unknown[] = [];
  defineBackupTriggerTasks({
    TaskManager: fakes.TaskManager,
    Notifications: fakes.Notifications,
    BackgroundTask: fakes.BackgroundTask,
    handler: async () => handler,
    onOutcome: (o) => outcomes.push(o),
  });
  return { fakes, outcomes };
}

describe('the Expo push tasks', () => {
  it('registers the push task, which backs up and reports (iOS: NewData)', async () => {
    const { w, reports } = await device();
    const { fakes, outcomes } = wire(w, 'ios');
    await registerBackupTriggerTask(fakes.Notifications);
    expect([...fakes.notificationTasks]).toEqual([BACKUP_TRIGGER_TASK]);
    expect(await fakes.runTask(BACKUP_TRIGGER_TASK, IOS_PUSH)).toBe(0);
    expect(outcomes).toEqual([expect.objectContaining({ status: 'success' })]);
    // The backup's report first, then the verification due after a first backup.
    expect(reports[0]).toEqual({ notification_id: ID, kind: 'backup', status: 'success' });
    expect(reports.slice(1)).toMatchObject([{ kind: 'verify', status: 'success' }]);
    expect((await w.manager.listBackups()).length).toBe(1);
    // Delivered twice: the second finds today's backup (NoData).
    expect(await fakes.runTask(BACKUP_TRIGGER_TASK, ANDROID_PUSH)).toBe(1);
    expect(fakes.backgroundTasks.size).toBe(0);
  });

  it('another app notification is not a backup (NoData, nothing sent)', async () => {
    const { w, reports } = await device();
    const { fakes } = wire(w, 'android');
    const chat = { data: { dataString: '{"type":"chat","text":"hi"}' }, notification: null };
    expect(await fakes.runTask(BACKUP_TRIGGER_TASK, chat)).toBe(1);
    expect(reports).toEqual([]);
    expect(await w.manager.listBackups()).toEqual([]);
  });

  it("hands a backup that outlives Android's budget to the background task", async () => {
    const { w, reports, stuck } = await device({ on: true });
    const { fakes, outcomes } = wire(w, 'android');
    // Stopped 4 s before Android's 10 s are up, with time left to report and hand off.
    expect(await fakes.runTask(BACKUP_TRIGGER_TASK, ANDROID_PUSH)).toBe(1);
    expect(outcomes).toEqual([expect.objectContaining({ status: 'handed_off' })]);
    expect(reports).toEqual([
      { notification_id: ID, kind: 'backup', status: 'failure', error: 'aborted' },
    ]);
    expect([...fakes.backgroundTasks]).toEqual([[BACKUP_HANDOFF_TASK, { minimumInterval: 15 }]]);

    // Later the system runs the background task, the network moving again.
    stuck.on = false;
    expect(await fakes.runTask(BACKUP_HANDOFF_TASK, undefined)).toBe(1);
    expect(reports.filter((r) => r.kind === 'backup').at(-1)).toEqual({
      notification_id: ID,
      kind: 'backup',
      status: 'success',
    });
    expect(await w.state.get(PENDING_TRIGGER_KEY)).toBeNull();
    expect(fakes.backgroundTasks.size).toBe(0);
    expect((await w.manager.listBackups()).length).toBe(1);
  }, 60_000);

  it('the background task stops when iOS expires it, and stays registered', async () => {
    const { w, stuck } = await device({ on: true });
    const { fakes } = wire(w, 'ios');
    await w.state.set(
      PENDING_TRIGGER_KEY,
      JSON.stringify({ notification_id: ID, received_at: new Date().toISOString() }),
    );
    await fakes.BackgroundTask.registerTaskAsync(BACKUP_HANDOFF_TASK, { minimumInterval: 15 });
    const run = fakes.runTask(BACKUP_HANDOFF_TASK, undefined);
    setTimeout(() => fakes.expire(), 300);
    expect(await run).toBe(2);
    expect(await w.state.get(PENDING_TRIGGER_KEY)).not.toBeNull();
    expect(fakes.backgroundTasks.has(BACKUP_HANDOFF_TASK)).toBe(true);
    stuck.on = false;
  });

  it('no wallet on this device: the tasks do nothing and the hand-off unregisters', async () => {
    const fakes = expoFakes();
    defineBackupTriggerTasks({
      TaskManager: fakes.TaskManager,
      Notifications: fakes.Notifications,
      BackgroundTask: fakes.BackgroundTask,
      handler: async () => null,
    });
    await fakes.BackgroundTask.registerTaskAsync(BACKUP_HANDOFF_TASK);
    expect(await fakes.runTask(BACKUP_TRIGGER_TASK, ANDROID_PUSH)).toBe(1);
    expect(await fakes.runTask(BACKUP_HANDOFF_TASK, undefined)).toBe(1);
    expect(fakes.backgroundTasks.size).toBe(0);
  });
});
