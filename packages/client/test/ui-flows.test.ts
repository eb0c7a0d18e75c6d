/**
 * The screens' shared flows (`ui/enable-backups-flow.ts`, `ui/backup-settings-flow.ts`),
 * with no rendering: a real BackupManager on a Node wallet against the real server, and
 * the state each flow shows after each action — what the web app's and the React Native
 * example's screens draw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { backupSettingsFlow } from '../src/ui/backup-settings-flow.ts';
import { BACKUP_SETTINGS as B, ENABLE_BACKUPS } from '../src/ui/copy.ts';
import { enableBackupsActions, enableBackupsFlow } from '../src/ui/enable-backups-flow.ts';
import type { Flow } from '../src/ui/flow-store.ts';
import {
  type Device,
  newMnemonic,
  openDevice,
  startTestServer,
  type TestServer,
} from './helpers/device.ts';

let srv: TestServer;
let root: string;
let n = 0;
const opened: Device[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'noah-ui-flows-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20 },
  });
});
afterAll(async () => {
  for (const d of opened) d.close();
  await srv?.close();
  await rm(root, { recursive: true, force: true });
});

/** A new user's device; its wallet exists when `wallet` (1 MB demo wallet). */
async function device(wallet = true): Promise<Device> {
  const d = await openDevice(srv.url, { root: join(root, `d${++n}`), mnemonic: newMnemonic() });
  opened.push(d);
  if (wallet) await createDemoWallet(d.walletDir, { sizeMb: 1 });
  return d;
}

/** Every state a flow went through, in order. */
function record<S>(flow: Flow<S>): S[] {
  const seen: S[] = [];
  flow.subscribe(() => seen.push(flow.getState()));
  return seen;
}

/** Resolves once the flow's state satisfies `ok`. */
function until<S>(flow: Flow<S>, ok: (s: S) => boolean): Promise<S> {
  return new Promise((done) => {
    if (ok(flow.getState())) return done(flow.getState());
    const off = flow.subscribe(() => {
      if (!ok(flow.getState())) return;
      off();
      done(flow.getState());
    });
  });
}

/** The step on a device's manager; `left()` counts how often it left. */
function enableStep(d: Device) {
  let left = 0;
  const actions = enableBackupsActions(
    d.manager,
    () => d.clock.now(),
    () => left++,
  );
  return { step: enableBackupsFlow(actions), actions, left: () => left };
}

describe('the enable-backups step', () => {
  it('turning on makes the first backup, with progress, then leaves the step', async () => {
    const d = await device();
    const { step, left } = enableStep(d);
    const seen = record(step);
    await step.run();
    expect(left()).toBe(1);
    expect(await d.manager.isBackupEnabled()).toBe(true);
    expect(d.manager.getStatus().lastSuccessAt).not.toBeNull();
    const labels = seen.map((s) => s.progress?.label).filter(Boolean);
    expect(labels[0]).toBe(ENABLE_BACKUPS.firstBackup);
    expect(labels.length).toBeGreaterThan(1);
    expect(seen[0]).toMatchObject({ busy: true, error: null });
    expect(step.getState()).toMatchObject({ on: true, error: null });
  });

  it('"not now" turns backups off and leaves', async () => {
    const d = await device();
    await d.manager.setBackupEnabled(true);
    const { step, left } = enableStep(d);
    await step.notNow();
    expect(left()).toBe(1);
    expect(await d.manager.isBackupEnabled()).toBe(false);
    expect(step.getState().on).toBe(false);
  });

  it('a failed first backup leaves backups on and stays; the retry only backs up', async () => {
    const d = await device(false);
    let turnedOn = 0;
    const { actions, left } = enableStep(d);
    const step = enableBackupsFlow({
      ...actions,
      turnOn: () => {
        turnedOn++;
        return actions.turnOn();
      },
    });
    await step.run();
    expect(left()).toBe(0);
    const failed = step.getState();
    expect(failed).toMatchObject({ busy: false, on: true, progress: null });
    expect(failed.error).toMatchObject({ code: 'not_a_wallet' });
    expect(await d.manager.isBackupEnabled()).toBe(true);

    await createDemoWallet(d.walletDir, { sizeMb: 1 });
    await step.run();
    expect(left()).toBe(1);
    expect(turnedOn).toBe(1);
    expect(step.getState().error).toBeNull();
    expect(d.manager.getStatus().lastSuccessAt).not.toBeNull();
  });
});

describe('the backup settings screen', () => {
  it('backs up, lists, restores and deletes after a confirmation, each card its own outcome', async () => {
    const d = await device();
    const s = backupSettingsFlow(d.manager, d.clock);
    await s.refresh();
    expect(s.getState()).toMatchObject({ backups: [], listError: null, pending: null });

    await s.backUpNow();
    const made = s.getState();
    expect(made.done).toMatchObject({ label: B.complete });
    expect(made.done?.bytes ?? made.done?.sent).toBeTruthy();
    expect(made.now).toEqual({ notice: '', failure: null });
    expect(made.backups).toHaveLength(1);
    const backup = made.backups![0]!;
    const at = s.when(backup.created_at);

    s.ask('restore', backup, true);
    expect(s.getState().pending).toEqual({ op: 'restore', backup, newest: true });
    s.dismiss();
    expect(s.getState().pending).toBeNull();
    s.ask('restore', backup, true);
    await s.confirm();
    expect(s.getState()).toMatchObject({
      pending: null,
      restored: true,
      history: { notice: B.restored(at), failure: null },
    });

    s.ask('delete', backup, true);
    await s.confirm();
    expect(s.getState()).toMatchObject({
      restored: false,
      backups: [],
      history: { notice: B.deleted(at), failure: null },
    });
  });

  it('the switch: on makes the first backup when due, off says so', async () => {
    const d = await device();
    const s = backupSettingsFlow(d.manager, d.clock);
    await s.toggle(true);
    expect(s.getState().auto).toEqual({ notice: B.onFirstMade, failure: null });
    expect(s.getState().backups).toHaveLength(1);
    await s.toggle(false);
    expect(s.getState().auto).toEqual({ notice: B.off, failure: null });
    // A backup under a day old: turning on again makes none.
    await s.toggle(true);
    expect(s.getState().auto).toEqual({ notice: B.on, failure: null });
    expect(await d.manager.isBackupEnabled()).toBe(true);
  });

  it('a failed backup offers a retry; a cancelled one changes nothing', async () => {
    const d = await device(false);
    const s = backupSettingsFlow(d.manager, d.clock);
    await s.backUpNow();
    const failure = s.getState().now.failure;
    expect(failure?.error).toMatchObject({ code: 'not_a_wallet' });
    expect(s.getState().done).toBeNull();

    await createDemoWallet(d.walletDir, { sizeMb: 1 });
    failure!.retry!();
    const retried = await until(s, (x) => x.done !== null && x.backups?.length === 1);
    expect(retried.now).toEqual({ notice: '', failure: null });

    // Cancel as soon as the backup can be cancelled.
    const off = s.subscribe(() => {
      if (s.getState().cancellable) s.cancel();
    });
    await s.backUpNow();
    off();
    expect(s.getState()).toMatchObject({
      cancellable: false,
      done: null,
      now: { notice: B.backupCancelled, failure: null },
    });
    expect(s.getState().backups).toEqual(retried.backups);
  });

  it('a list that fails says why', async () => {
    // A device whose server does not answer (a closed port).
    const d = await openDevice('http://127.0.0.1:1', {
      root: join(root, `d${++n}`),
      mnemonic: newMnemonic(),
    });
    opened.push(d);
    const s = backupSettingsFlow(d.manager, d.clock);
    await s.refresh();
    expect(s.getState().listError).toMatchObject({ code: 'network_error' });
    expect(s.getState().backups).toBeNull();
  });
});
