/**
 * Scheduled verification (docs/API.md "Verification"), the manager against the real
 * server on both stacks: right after the first backup and then once a period, piggy-
 * backed on a trigger (also a push that finds no backup due), the newest backup is
 * verified and the outcome reported with its slot; `list` and the settings show it; a
 * tampered object turns it into a failure, on the server and in its metrics. Of an
 * incremental backup a run reads one share of the packs, the rotation kept in device
 * state, and every pack is read within `shares` runs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import type { TriggerResult, VerificationOutcome } from '../src/manager.ts';
import { shareOf } from '../src/pipelines/verify.ts';
import { VERIFY_ROTATION_KEY } from '../src/verification.ts';
import { fullCombos, putRawObject } from '../../server/test/helpers/server.ts';
import { addPayment, type Device, deviceSuite, newMnemonic } from './helpers/device.ts';

const DAY = join(import.meta.dirname, 'fixtures', 'node-day.mjs');
const MIN = 60_000;
const WEEK = 7 * 24 * 60 * MIN;
const PUSH = { type: 'backup_trigger', notification_id: 'n-verify' };

/** A device clock in the morning, so a few minutes on stay the same UTC day. */
const morning = () => manualClock(new Date('2026-06-01T08:00:00.000Z'));

function completed(r: TriggerResult) {
  if (r.status !== 'completed') throw new Error(`backup ${r.status}`);
  return r;
}

describe.each(fullCombos)('scheduled verification on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'verify', 16 * 2 ** 20);

  const metric = async (labels: string): Promise<number> => {
    const text = await (await fetch(`${suite.srv.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`noah_client_reports_total{${labels}} `));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  /** A push that finds today's backup made: only a due verification runs. */
  async function pushedVerify(d: Device): Promise<VerificationOutcome | undefined> {
    const r = await d.manager.handleBackupNotification(PUSH);
    expect(r).toMatchObject({ skipped: 'recent' });
    return (r as { verification?: VerificationOutcome }).verification;
  }

  it('verifies after the first backup and then weekly; list and settings show it', async () => {
    const d = await suite.device(newMnemonic(), { incremental: false, clock: morning() });
    await d.manager.setBackupEnabled(true);
    await createDemoWallet(d.walletDir, { sizeMb: 1 });
    const first = completed(await d.manager.triggerBackup());
    expect(first.verification).toMatchObject({
      status: 'success',
      verification: {
        status: 'success',
        backupVersion: first.backup.backup_version,
        backupCreatedAt: first.backup.created_at,
        scope: 'whole',
        error: null,
      },
    });
    expect(d.manager.getStatus().lastVerification).toEqual(first.verification?.verification);
    const [listed] = await d.manager.listBackups();
    expect(listed?.verification).toMatchObject({ status: 'success', error: null });
    expect((await d.api.getSettings()).last_verification).toMatchObject({
      backup_version: first.backup.backup_version,
      backup_created_at: first.backup.created_at,
      status: 'success',
    });

    // Not due again within the week: the next backup verifies nothing.
    suite.srv.clock.advance(MIN);
    addPayment(d.walletDir, 2);
    d.clock.advance(MIN);
    const second = completed(await d.manager.triggerBackup());
    expect(second.verification).toBeUndefined();
    expect(await pushedVerify(d)).toBeUndefined();
    // The newest backup has none; the older one keeps its own.
    const [newest, older] = await d.manager.listBackups();
    expect(newest?.verification).toBeNull();
    expect(older?.verification?.status).toBe('success');

    // A week on, the daily push backs up and then verifies the new newest backup.
    d.clock.advance(WEEK);
    suite.srv.clock.advance(MIN);
    addPayment(d.walletDir, 3);
    const pushed = await d.manager.handleBackupNotification(PUSH);
    expect(pushed).toMatchObject({ status: 'success' });
    const [latest] = await d.manager.listBackups();
    expect(latest?.verification?.status).toBe('success');
    expect(d.manager.getStatus().lastVerification).toMatchObject({
      backupCreatedAt: latest?.created_at,
      status: 'success',
    });
  });

  it('a tampered backup fails its verification: the server shows it and counts it', async () => {
    const d = await suite.device(newMnemonic(), {
      incremental: false,
      clock: morning(),
      verifyEveryMs: 10 * MIN,
    });
    await createDemoWallet(d.walletDir, { sizeMb: 1 });
    completed(await d.manager.triggerBackup());
    const before = await walletDigest(d.walletDir);
    const failures = await metric('kind="verify",status="failure",error="decryption_failed"');

    const t = await d.api.downloadUrls();
    const bytes = new Uint8Array(await (await fetch(t.download_url)).arrayBuffer());
    bytes[Math.floor(bytes.length / 2)]! ^= 1;
    await putRawObject(suite.srv, t.s3_key!, bytes);

    d.clock.advance(10 * MIN);
    const outcome = await pushedVerify(d);
    expect(outcome).toMatchObject({
      status: 'failure',
      error: { code: 'decryption_failed' },
      verification: { status: 'failure', backupVersion: t.backup_version },
    });
    expect(await walletDigest(d.walletDir)).toBe(before);
    const [listed] = await d.manager.listBackups();
    expect(listed?.verification).toMatchObject({ status: 'failure', error: 'decryption_failed' });
    expect((await d.api.getSettings()).last_verification).toMatchObject({
      status: 'failure',
      error: 'decryption_failed',
    });
    expect(await metric('kind="verify",status="failure",error="decryption_failed"')).toBe(
      failures + 1,
    );
    // An explicit verify says the same, and reports it too.
    await expect(d.manager.verifyBackup()).rejects.toMatchObject({ code: 'decryption_failed' });
    expect(await metric('kind="verify",status="failure",error="decryption_failed"')).toBe(
      failures + 2,
    );
  });

  it('incremental: each run reads one share of the packs; every pack within the period', async () => {
    const mnemonic = newMnemonic();
    const shares = 2;
    const setup = await suite.device(mnemonic, { clock: morning(), verifyEveryMs: 0 });
    await createDemoWallet(setup.walletDir, { sizeMb: 2, seed: 23 });
    completed(await setup.manager.triggerBackup());
    for (let n = 1; n <= 3; n++) {
      suite.srv.clock.advance(MIN);
      execFileSync(process.execPath, [DAY, join(setup.walletDir, 'wallet.sqlite'), String(n)]);
      completed(await setup.manager.triggerBackup());
    }
    const { objects } = await setup.api.downloadUrls();
    expect(objects.length).toBeGreaterThanOrEqual(2);
    // The same device, now verifying: a period of two minutes, two shares.
    const d = await suite.reopen(setup, mnemonic, {
      clock: setup.clock,
      verifyEveryMs: 2 * MIN,
      verifyShares: shares,
    });

    let read = 0;
    for (let run = 0; run < shares; run++) {
      expect(await d.state.get(VERIFY_ROTATION_KEY)).toBe(run === 0 ? null : String(run));
      const outcome = await pushedVerify(d);
      expect(outcome?.status).toBe('success');
      const v = outcome!.verification!;
      expect(v).toMatchObject({ scope: 'share', packsTotal: objects.length });
      expect(v.packsRead).toBe(objects.filter((o) => shareOf(o.s3_key, shares) === run).length);
      read += v.packsRead;
      // Not due again until a share of the period has passed.
      expect(await pushedVerify(d)).toBeUndefined();
      d.clock.advance(MIN);
    }
    expect(read).toBe(objects.length);
    expect(await d.state.get(VERIFY_ROTATION_KEY)).toBe('0');
    const [listed] = await d.manager.listBackups();
    expect(listed?.verification?.status).toBe('success');

    // A pack altered in the bucket is found within the period, by the run of its share.
    const pack = objects[objects.length - 1]!;
    const bytes = new Uint8Array(await (await fetch(pack.download_url)).arrayBuffer());
    bytes[Math.floor(bytes.length / 2)]! ^= 1;
    await putRawObject(suite.srv, pack.s3_key, bytes);
    const runs: string[] = [];
    for (let run = 0; run < shares; run++) {
      runs.push((await pushedVerify(d))?.status ?? 'none');
      d.clock.advance(MIN);
    }
    const expected = shareOf(pack.s3_key, shares);
    expect(runs[expected]).toBe('failure');
    expect(runs.slice(0, expected).every((s) => s === 'success')).toBe(true);
    expect((await d.manager.listBackups())[0]?.verification?.status).toBe('failure');
  });
});
