/**
 * The BackupManager end to end: the real server (sqlite+fs and postgres+s3), the real
 * Node adapters, real files. Each test is its own user (a fresh mnemonic).
 */
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DecryptionError } from '@noah-backup/core/errors';
import { encryptBackupBytes } from '@noah-backup/core/format';
import { parseV2Header } from '@noah-backup/core/v2';
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { createApiClient } from '../src/api-client.ts';
import { LOCK_KEY } from '../src/backup-lock.ts';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { AbortedError, ApiError, IntegrityError } from '../src/errors.ts';
import { fullCombos, putRawObject } from '../../server/test/helpers/server.ts';
import { addPayment, type Device, newMnemonic, deviceSuite, uploadRaw } from './helpers/device.ts';

describe.each(fullCombos)('manager on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'e2e', 16 * 2 ** 20);
  const device = suite.device;

  /** A device with a 1 MiB demo wallet and one completed backup; returns the new object key. */
  async function backedUp(mnemonic: string, extra: { incremental?: boolean } = {}) {
    const d = await device(mnemonic, extra);
    await createDemoWallet(d.walletDir, { sizeMb: 1 });
    const before = await objectKeys();
    await d.manager.triggerBackup();
    const key = [...(await objectKeys())].find((k) => !before.has(k))!;
    return { d, key };
  }

  async function objectKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const o of suite.srv.blobs.list('')) keys.add(o.key);
    return keys;
  }

  /** What sits beside the wallet directory, but the device state (staging leftovers would show). */
  async function siblings(d: Device) {
    return (await readdir(join(d.walletDir, '..'))).filter((f) => !f.startsWith('state.json'));
  }

  /** A wallet directory that already holds another wallet (to prove it stays untouched). */
  async function occupied(d: Device) {
    await createDemoWallet(d.walletDir, { sizeMb: 1, seed: 99 });
    return {
      digest: await walletDigest(d.walletDir),
      parent: await readdir(join(d.walletDir, '..')),
    };
  }

  it('backs up, lists, verifies and restores into an empty directory on a second device', async () => {
    const mnemonic = newMnemonic();
    const { d: a } = await backedUp(mnemonic);
    expect(a.manager.getStatus()).toMatchObject({ state: 'success', lastError: null });
    const list = await a.manager.listBackups();
    expect(list).toHaveLength(1);
    expect(await a.manager.verifyBackup()).toMatchObject({
      format: 'v2',
      sequence: 1n,
      databases: 1,
    });

    const b = await device(mnemonic); // fresh state dir, empty wallet dir
    expect(await b.manager.listBackups()).toEqual(list);
    const restored = await b.manager.restoreBackup();
    expect(restored).toMatchObject({ backup_version: list[0]!.backup_version, format: 'v2' });
    expect(await walletDigest(b.walletDir)).toBe(await walletDigest(a.walletDir));
    expect(
      suite.srv.logs.some((l) => l.includes('client report') && l.includes('"kind":"restore"')),
    ).toBe(true);
    // The second device has now seen sequence 1, so its next backup is sequence 2.
    expect(await b.manager.triggerBackup()).toMatchObject({ status: 'completed', sequence: 2n });
  });

  /** The compression byte of the newest backup's authenticated header, as stored. */
  async function storedCompression(d: Device): Promise<string> {
    const t = await d.api.downloadUrl({ backup_version: null });
    const res = await fetch(t.download_url, { headers: { range: 'bytes=0-91' } });
    return parseV2Header(new Uint8Array(await res.arrayBuffer())).compression;
  }

  it('writes zstd by default on Node, at level 1 (FORMAT.md §5.4)', async () => {
    const d = await device(newMnemonic());
    await createDemoWallet(d.walletDir, { sizeMb: 1 });
    expect((await d.manager.triggerBackup()).status).toBe('completed');
    expect(await storedCompression(d)).toBe('zstd');
  });

  for (const [compression, levels] of [
    ['deflate', [1, 9]],
    ['zstd', [1, 19]],
  ] as const) {
    it(`writes ${compression} at the chosen level and restores`, async () => {
      const mnemonic = newMnemonic();
      await expect(device(mnemonic, { compression, compressionLevel: 0 })).rejects.toThrow(
        RangeError,
      );
      const sizes: number[] = [];
      let walletDir = '';
      for (const compressionLevel of levels) {
        const d = await device(mnemonic, { compression, compressionLevel });
        if (walletDir) await cp(walletDir, d.walletDir, { recursive: true });
        else await createDemoWallet(d.walletDir, { sizeMb: 3 }); // 3 MiB: several deflate segments
        walletDir = d.walletDir;
        const r = await d.manager.triggerBackup();
        expect(r.status).toBe('completed');
        if (r.status === 'completed') sizes.push(r.bytes);
        expect(await storedCompression(d)).toBe(compression);
      }
      expect(sizes[0]).toBeGreaterThan(sizes[1]!);
      const b = await device(mnemonic);
      await b.manager.restoreBackup();
      expect(await walletDigest(b.walletDir)).toBe(await walletDigest(walletDir));
    });
  }

  it('refuses a level out of range for the algorithm (deflate 1..9, zstd 1..19)', async () => {
    await expect(
      device(newMnemonic(), { compression: 'deflate', compressionLevel: 10 }),
    ).rejects.toThrow(RangeError);
    await expect(device(newMnemonic(), { compressionLevel: 20 })).rejects.toThrow(RangeError);
  });

  it('keeps two backups: a third replaces the oldest, and the newest restores', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    const digests: string[] = [];
    for (let i = 1; i <= 3; i++) {
      addPayment(a.walletDir, i);
      digests.push(await walletDigest(a.walletDir));
      expect(await a.manager.triggerBackup()).toMatchObject({ sequence: BigInt(i) });
      suite.srv.clock.advance(60_000);
    }
    const list = await a.manager.listBackups();
    expect(list).toHaveLength(2);
    expect(Date.parse(list[0]!.created_at)).toBeGreaterThan(Date.parse(list[1]!.created_at));
    expect(await a.manager.verifyBackup(list[1]!.backup_version)).toMatchObject({ sequence: 2n });
    const b = await device(mnemonic);
    expect(await b.manager.restoreBackup()).toMatchObject({ sequence: 3n });
    expect(await walletDigest(b.walletDir)).toBe(digests[2]);
  });

  it('a wrong mnemonic finds no backups and leaves the target untouched', async () => {
    await backedUp(newMnemonic());
    const other = await device(newMnemonic());
    const before = await occupied(other);
    expect(await other.manager.listBackups()).toEqual([]);
    const err = await other.manager.restoreBackup().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404 });
    expect(await walletDigest(other.walletDir)).toBe(before.digest);
  });

  it('a key that does not decrypt gives the opaque DecryptionError; the target is untouched', async () => {
    const mnemonic = newMnemonic();
    await backedUp(mnemonic);
    const wrong = await device(mnemonic, { decryptWith: newMnemonic() });
    const before = await occupied(wrong);
    const err = await wrong.manager.restoreBackup().catch((e) => e);
    expect(err).toBeInstanceOf(DecryptionError);
    expect(await walletDigest(wrong.walletDir)).toBe(before.digest);
    expect(await siblings(wrong)).toEqual(before.parent);
    expect(suite.srv.logs.some((l) => l.includes('"clientError":"decryption_failed"'))).toBe(true);
  });

  it('a corrupted blob served back is refused and the target is untouched', async () => {
    const mnemonic = newMnemonic();
    // One object (a manifest backup's packs: e2e-incremental.test.ts).
    const { d: a, key } = await backedUp(mnemonic, { incremental: false });
    const target = await a.api.downloadUrl();
    const bytes = new Uint8Array(await (await fetch(target.download_url)).arrayBuffer());
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await putRawObject(suite.srv, key, bytes);

    const b = await device(mnemonic);
    const before = await occupied(b);
    await expect(b.manager.restoreBackup()).rejects.toBeInstanceOf(DecryptionError);
    await expect(b.manager.verifyBackup()).rejects.toBeInstanceOf(DecryptionError);
    expect(await walletDigest(b.walletDir)).toBe(before.digest);
    expect(await siblings(b)).toEqual(before.parent);

    // A truncated object no longer matches the size the server recorded.
    await putRawObject(suite.srv, key, bytes.subarray(0, bytes.length - 100));
    await expect(b.manager.restoreBackup()).rejects.toBeInstanceOf(IntegrityError);
    expect(await walletDigest(b.walletDir)).toBe(before.digest);
  });

  it('restoring a backup older than the newest seen needs confirmation', async () => {
    const a = await device(newMnemonic());
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    await a.manager.triggerBackup();
    const first = await walletDigest(a.walletDir);
    suite.srv.clock.advance(60_000);
    addPayment(a.walletDir, 1);
    await a.manager.triggerBackup();
    const second = await walletDigest(a.walletDir);
    const [, older] = await a.manager.listBackups();

    const err = await a.manager.restoreBackup(older!.backup_version).catch((e) => e);
    expect(err).toMatchObject({ code: 'rollback_confirmation_required' });
    expect(await walletDigest(a.walletDir)).toBe(second);
    const r = await a.manager.restoreBackup(older!.backup_version, { confirmRollback: true });
    expect(r.sequence).toBe(1n);
    expect(await walletDigest(a.walletDir)).toBe(first);
    // The newest sequence seen stays 2: the next backup is 3, not 2 again.
    expect(await a.manager.triggerBackup()).toMatchObject({ sequence: 3n });
  });

  it('runs one of two concurrent backups; the other reports running', async () => {
    const a = await device(newMnemonic());
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    const results = await Promise.all([a.manager.triggerBackup(), a.manager.triggerBackup()]);
    expect(results.map((r) => r.status).sort()).toEqual(['completed', 'skipped']);
    expect(results.find((r) => r.status === 'skipped')).toEqual({
      status: 'skipped',
      reason: 'running',
    });
    expect(await a.manager.listBackups()).toHaveLength(1);
  });

  it('a failed backup keeps the previous one and records the failure', async () => {
    const mnemonic = newMnemonic();
    const { d: a } = await backedUp(mnemonic);
    const good = await a.manager.listBackups();
    const lastSuccessAt = a.manager.getStatus().lastSuccessAt;
    addPayment(a.walletDir, 7);
    const controller = new AbortController();
    const off = a.manager.subscribe((s) => {
      if (s.progress?.phase === 'upload') controller.abort();
    });
    await expect(a.manager.triggerBackup({ signal: controller.signal })).rejects.toBeInstanceOf(
      AbortedError,
    );
    off();
    expect(a.manager.getStatus()).toMatchObject({
      state: 'failed',
      lastSuccessAt,
      lastError: { code: 'aborted' },
    });
    expect(await a.manager.listBackups()).toEqual(good);
    const b = await device(mnemonic);
    await b.manager.restoreBackup();
    expect(await a.state.get(LOCK_KEY)).toContain('"expiresAt":0'); // released
    // Temp files are gone: only the wallet and the device state remain.
    expect((await readdir(join(a.walletDir, '..', 'tmp'))).length).toBe(0);
    await a.manager.triggerBackup();
    expect(a.manager.getStatus()).toMatchObject({ state: 'success', lastError: null });
  });

  it('handles backup_trigger pushes: runs, then skips when recent, running or disabled', async () => {
    const a = await device(newMnemonic());
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    const m = a.manager;
    expect(await m.handleBackupNotification({ type: 'something_else' })).toEqual({
      skipped: 'ignored',
    });
    expect(await m.handleBackupNotification(null)).toEqual({ skipped: 'ignored' });
    await m.setBackupEnabled(true);

    a.clock.set(Date.parse('2026-06-01T09:00:00Z'));
    const first = await m.handleBackupNotification({
      type: 'backup_trigger',
      notification_id: 'n-1',
    });
    expect(first).toMatchObject({ status: 'success' });
    expect(
      suite.srv.logs.some(
        (l) => l.includes('"notificationId":"n-1"') && l.includes('"status":"success"'),
      ),
    ).toBe(true);

    a.clock.set(Date.parse('2026-06-01T23:59:00Z')); // same UTC day
    expect(
      await m.handleBackupNotification({ type: 'backup_trigger', notification_id: 'n-2' }),
    ).toEqual({
      skipped: 'recent',
    });

    a.clock.set(Date.parse('2026-06-02T00:01:00Z')); // the next day, but a backup is running
    await a.state.set(
      LOCK_KEY,
      JSON.stringify({ owner: 'other', expiresAt: a.clock.now().getTime() + 60_000 }),
    );
    expect(
      await m.handleBackupNotification({ type: 'backup_trigger', notification_id: 'n-3' }),
    ).toEqual({
      skipped: 'running',
    });
    await a.state.delete(LOCK_KEY);

    await m.setBackupEnabled(false);
    expect(
      await m.handleBackupNotification({ type: 'backup_trigger', notification_id: 'n-4' }),
    ).toEqual({
      skipped: 'disabled',
    });
    await m.setBackupEnabled(true);
    expect(
      await m.handleBackupNotification({ type: 'backup_trigger', notification_id: 'n-5' }),
    ).toMatchObject({
      status: 'success',
    });
    expect(m.getStatus().lastSuccessAt).toBe('2026-06-02T00:01:00.000Z');
  });

  it('a new device skips pushes over backups it has not restored, until it restores or backs up', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 3 });
    await a.manager.setBackupEnabled(true);
    await a.manager.triggerBackup();
    const list = await a.manager.listBackups();
    const push = { type: 'backup_trigger', notification_id: 'n-new' };

    // A reinstall whose wallet starts empty (other data, no device state): a push must not
    // replace the backups that hold the user's history.
    const b = await device(mnemonic);
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 5 });
    expect(await b.manager.handleBackupNotification(push)).toEqual({ skipped: 'not_restored' });
    expect(await b.manager.handleBackupNotification(push)).toEqual({ skipped: 'not_restored' });
    expect(await a.manager.listBackups()).toEqual(list);
    expect(b.manager.getStatus()).toMatchObject({ state: 'idle', lastAttemptAt: null });
    // Once it has restored, pushes back up again.
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(await walletDigest(a.walletDir));
    expect(await b.manager.handleBackupNotification(push)).toMatchObject({ status: 'success' });

    // Another reinstall keeps its own data by choice: an explicit backup, then pushes.
    const c = await device(mnemonic);
    await createDemoWallet(c.walletDir, { sizeMb: 1, seed: 6 });
    expect(await c.manager.handleBackupNotification(push)).toEqual({ skipped: 'not_restored' });
    await c.manager.triggerBackup();
    c.clock.advance(86_400_000);
    expect(await c.manager.handleBackupNotification(push)).toMatchObject({ status: 'success' });
  });

  it('legacy backups (no sequence) do not hold a device back from pushes', async () => {
    const a = await device(newMnemonic());
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    await a.manager.setBackupEnabled(true);
    // What the native apps left on the server: a noah-v1 backup of a ZIP.
    const legacy = await encryptBackupBytes(zipSync({ 'settings.json': strToU8('{}') }), {
      format: 'noah-v1',
      keyring: a.keys.keyring,
      createdAt: suite.srv.clock.now(),
    });
    await uploadRaw(a.api, legacy);
    expect(
      await a.manager.handleBackupNotification({ type: 'backup_trigger', notification_id: 'n-l' }),
    ).toMatchObject({ status: 'success' });
    expect(await a.manager.listBackups()).toHaveLength(2);
  });

  it('a crashed run’s lock goes stale; its status reads as interrupted', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic, { lockTtlMs: 60_000 });
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    // What a process killed mid-backup leaves behind: a live lock and "in progress".
    const now = a.clock.now().getTime();
    await a.state.set(LOCK_KEY, JSON.stringify({ owner: 'crashed', expiresAt: now + 60_000 }));
    await a.state.set(
      'backup_status',
      JSON.stringify({
        state: 'in_progress',
        lastSuccessAt: null,
        lastAttemptAt: new Date(now).toISOString(),
        lastError: null,
      }),
    );
    expect(await a.manager.triggerBackup()).toEqual({ status: 'skipped', reason: 'running' });

    a.clock.advance(60_001);
    const reopened = await suite.reopen(a, mnemonic, { clock: a.clock });
    expect(reopened.manager.getStatus()).toMatchObject({
      state: 'failed',
      lastError: { code: 'interrupted' },
    });
    expect(await reopened.manager.triggerBackup()).toMatchObject({ status: 'completed' });
  });

  // Last: it moves the server's clock a day on.
  it('logs in again when the server says the token expired, then retries the call', async () => {
    const a = await device(newMnemonic());
    const paths: string[] = [];
    const api = createApiClient({
      baseUrl: suite.srv.url,
      signer: a.keys.signer,
      clock: a.clock, // the device's clock does not move: it believes its token is fresh
      fetch: (url, init) => {
        paths.push(new URL(url).pathname);
        return fetch(url, init);
      },
    });
    expect(await api.list()).toEqual([]);
    suite.srv.clock.advance(25 * 3600_000); // past the server's token lifetime
    expect(await api.list()).toEqual([]);
    expect(paths).toEqual([
      '/v0/getk1',
      '/v0/auth/login',
      '/v0/backup/list',
      '/v0/backup/list', // refused: token_expired
      '/v0/getk1',
      '/v0/auth/login',
      '/v0/backup/list',
    ]);
  });
});
