/**
 * Noah's shipped app against this server with NOAH_COMPAT=1 (docs/API.md "Noah
 * compatibility"), on both stacks: the app rebuilt from its source (helpers/noah-app.ts)
 * logs in with its own key and signature, backs up through the upload relay with only
 * its headers, lists, restores on a new device, deletes, receives the daily trigger
 * through the local Expo and UnifiedPush stand-ins and reports it; its tokens are renewed
 * and re-issued as its code does. Ownership, the two slots, write-once and the size
 * limit hold under the profile.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePushConfig } from '../src/config/push.ts';
import { utcDay } from '../src/push/day.ts';
import { type FakeExpo, startFakeExpo } from './helpers/fake-expo.ts';
import { type FakeUnifiedPush, startFakeUnifiedPush } from './helpers/fake-unifiedpush.ts';
import { NoahApiError, NoahApp, shouldRefresh } from './helpers/noah-app.ts';
import { deriveNoahKey } from './helpers/noah-keys.ts';
import { expoToken, HOUR } from './helpers/push.ts';
import { fullCombos, startTestServer, type TestServer } from './helpers/server.ts';

const SECRET = 'noah-compat-test-secret-0123456789abcdef';
const MAX = 256 * 1024;

/** A wallet data directory as bark leaves it: its SQLite database and a few files. */
async function fillWallet(dir: string, seed: number): Promise<void> {
  await mkdir(join(dir, 'logs'), { recursive: true });
  const db = Buffer.concat([Buffer.from('SQLite format 3\0'), randomBytes(4000 + seed)]);
  await writeFile(join(dir, 'db.sqlite'), db);
  await writeFile(join(dir, 'mnemonic'), `wallet ${seed}`);
  await writeFile(join(dir, 'logs', 'app.log'), `run ${seed}\n`);
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of ['db.sqlite', 'mnemonic', 'logs/app.log'])
    out[f] = (await readFile(join(dir, f))).toString('base64');
  return out;
}

describe.each(fullCombos)('Noah app on $metadataKind + $blobKind', ({ metadataKind, blobKind }) => {
  let srv: TestServer;
  let expo: FakeExpo;
  let up: FakeUnifiedPush;
  let root: string;
  const mnemonic = generateMnemonic(wordlist);
  let app: NoahApp;

  beforeAll(async () => {
    expo = await startFakeExpo();
    up = await startFakeUnifiedPush();
    root = await mkdtemp(join(tmpdir(), 'noah-compat-'));
    const problems: string[] = [];
    const env: Record<string, string> = {
      PUSH_PROVIDERS: 'expo,unifiedpush',
      EXPO_PUSH_URL: expo.url,
      BACKUP_CRON: 'off',
      BACKUP_SPREAD: '0',
      UNIFIEDPUSH_ALLOW_HTTP: 'true',
      UNIFIEDPUSH_ALLOW_ADDRESSES: '127.0.0.0/8',
      VAPID_SUBJECT: 'mailto:ops@example.com',
    };
    const push = parsePushConfig((n) => env[n], problems);
    expect(problems).toEqual([]);
    srv = await startTestServer({
      metadataKind,
      blobKind,
      config: {
        push,
        maxBackupSize: MAX,
        maxPendingUploads: 2,
        noahCompat: { jwtSecret: SECRET, tokenTtlSec: 72 * 3600 },
      },
    });
    app = new NoahApp(srv.url, mnemonic, join(root, 'phone'), 'signet', () =>
      srv.clock.now().getTime(),
    );
    await fillWallet(app.dataDir, 1);
  });
  afterAll(async () => {
    await srv?.close();
    await expo?.close();
    await up?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('logs in with its own key and gets a JWT it can read', async () => {
    const token = await app.login();
    expect(shouldRefresh(token, Math.floor(srv.clock.now().getTime() / 1000))).toBe(false);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    // The user is the app's public key, as an imported Noah user is.
    expect(claims.sub).toBe(deriveNoahKey(mnemonic).pub);
    expect(claims.exp - claims.iat).toBe(72 * 3600);
    const user = await srv.metadata.upsertUser(claims.sub, srv.clock.now());
    expect(user.pubkey).toBe(claims.sub);
  });

  it('backs up with backup_version 1 every time and still keeps two backups', async () => {
    expect(await app.updateBackupSettings(true)).toEqual({ success: true });
    await app.performBackup();
    let list = await app.listBackups();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ backup_version: 1 });
    srv.clock.advance(60_000);
    await fillWallet(app.dataDir, 2);
    await app.performBackup();
    list = await app.listBackups();
    expect(list.map((b) => b.backup_version)).toEqual([2, 1]);
    // A third replaces the older, never the newer.
    srv.clock.advance(60_000);
    await fillWallet(app.dataDir, 3);
    await app.performBackup();
    list = await app.listBackups();
    expect(list.map((b) => b.backup_version)).toEqual([1, 2]);
    expect(list[0]!.backup_size).toBe((await app.createBackup()).length);
    expect(app.logins).toBe(1);
  });

  it('restores the latest backup on a new device from the words alone', async () => {
    const phone2 = new NoahApp(srv.url, mnemonic, join(root, 'new-phone'), 'signet');
    await phone2.restoreBackup(mnemonic);
    expect(await snapshot(phone2.dataDir)).toEqual(await snapshot(app.dataDir));
    expect(phone2.token).toBeNull();
  });

  it('receives the daily trigger through Expo, backs up and reports it', async () => {
    const token = expoToken();
    expect(await app.registerPushToken(token)).toEqual({ success: true });
    srv.clock.advance(21 * HOUR);
    const job = await srv.app.noahPush.scheduler.runNow();
    expect(job).toMatchObject({ status: 'done', triggered: 1 });
    const pushed = expo.messages.filter((m) => m.to === token);
    expect(pushed).toHaveLength(1);
    // expo-notifications hands an Android background task the data as a JSON string.
    await fillWallet(app.dataDir, 4);
    const before = (await app.listBackups()).map((b) => b.created_at);
    const handled = await app.onBackgroundNotification({
      data: { body: JSON.stringify(pushed[0]!.data) },
    });
    expect(handled).toBe('backup_trigger');
    expect(app.reports).toEqual([
      expect.objectContaining({
        status: 'success',
        notification_k1: pushed[0]!.data.notification_id,
      }),
    ]);
    expect((await app.listBackups()).map((b) => b.created_at)).not.toEqual(before);
    const user = await srv.metadata.upsertUser(deriveNoahKey(mnemonic).pub, srv.clock.now());
    const trigger = await srv.metadata.getTrigger(user.id, utcDay(srv.clock.now()));
    expect(trigger).toMatchObject({ status: 'sent', outcome: 'success' });
  });

  it('sends the trigger to a UnifiedPush endpoint with the names Noah reads', async () => {
    const endpoint = up.endpoint([201]);
    await app.registerPushToken(endpoint);
    srv.clock.advance(25 * HOUR);
    // Still valid for 72 h; the app renews only within 3 h of exp.
    await app.listBackups();
    const job = await srv.app.noahPush.scheduler.runNow();
    expect(job).toMatchObject({ triggered: 1 });
    const [d] = up.deliveries(endpoint);
    const json = JSON.parse(d!.body);
    expect(json).toMatchObject({ notification_type: 'backup_trigger' });
    expect(typeof json.notification_k1).toBe('string');
  });

  it('renews its token near expiry and logs in again after TOKEN_EXPIRED', async () => {
    const logins = app.logins;
    srv.clock.advance(70 * HOUR);
    await app.listBackups();
    expect(app.logins).toBe(logins + 1);
    // An expired token the app still holds: the server says TOKEN_EXPIRED, the app logs in
    // again and retries once.
    const stale = app.token!;
    srv.clock.advance(73 * HOUR);
    const r = await app.http('POST', '/backup/list', {}, { Authorization: `Bearer ${stale}` });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ERROR', code: 'TOKEN_EXPIRED' });
    const held = new NoahApp(srv.url, mnemonic, app.dataRoot, 'signet', () => 0);
    held.token = stale;
    expect(await held.listBackups()).toHaveLength(2);
    expect(held.logins).toBe(1);
    const forged = `${stale.split('.').slice(0, 2).join('.')}.${'A'.repeat(43)}`;
    const bad = await app.http('POST', '/backup/list', {}, { Authorization: `Bearer ${forged}` });
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it("keeps another user's backups out of reach", async () => {
    const other = new NoahApp(srv.url, generateMnemonic(wordlist), join(root, 'other'));
    await expect(other.listBackups()).resolves.toEqual([]);
    const del = other.deleteBackup(1);
    await expect(del).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await expect(
      other.post('/backup/download_url', { backup_version: null }),
    ).rejects.toBeInstanceOf(NoahApiError);
    const mineKey = (
      await srv.metadata.listBackups(
        (
          await srv.metadata.upsertUser(deriveNoahKey(mnemonic).pub, srv.clock.now())
        ).id,
      )
    )[0]!;
    await expect(
      other.post('/backup/complete_upload', {
        s3_key: mineKey.objectKey,
        backup_version: 1,
        backup_size: mineKey.size,
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await app.listBackups()).toHaveLength(2);
  });

  it('stores one object per upload URL, and only what completion says', async () => {
    const { upload_url, s3_key } = await app.post<{ upload_url: string; s3_key: string }>(
      '/backup/upload_url',
      { backup_version: 1 },
    );
    const body = await app.createBackup();
    const put = (b: string) =>
      fetch(upload_url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: b,
      });
    expect((await put(body)).status).toBe(200);
    // A second PUT to the same URL, before or after completion, stores nothing.
    expect((await put(`${body}x`)).status).toBe(409);
    await expect(
      app.post('/backup/complete_upload', {
        s3_key,
        backup_version: 1,
        backup_size: body.length + 1,
      }),
    ).rejects.toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
    await app.post('/backup/complete_upload', {
      s3_key,
      backup_version: 1,
      backup_size: body.length,
    });
    expect((await put(body)).status).toBe(409);
    const phone3 = new NoahApp(srv.url, mnemonic, join(root, 'phone3'), 'signet');
    await phone3.restoreBackup(mnemonic);
    expect(await snapshot(phone3.dataDir)).toEqual(await snapshot(app.dataDir));
    // Larger than MAX_BACKUP_SIZE: refused before anything is stored.
    const big = await app.post<{ upload_url: string }>('/backup/upload_url', { backup_version: 1 });
    const r = await fetch(big.upload_url, { method: 'PUT', body: 'A'.repeat(MAX + 1) });
    expect(r.status).toBe(413);
    // A tampered URL is refused.
    const t = new URL(big.upload_url);
    t.searchParams.set('u', 'someone-else');
    expect((await fetch(t, { method: 'PUT', body: 'AAAA' })).status).toBe(403);
  });

  it('deletes a backup', async () => {
    const [newest, older] = await app.listBackups();
    expect(await app.deleteBackup(older!.backup_version)).toEqual({ success: true });
    expect(await app.listBackups()).toEqual([newest]);
  });

  it('never logs a token, a signature or an upload URL', async () => {
    const { upload_url } = await app.post<{ upload_url: string }>('/backup/upload_url', {
      backup_version: 1,
    });
    await fetch(upload_url, { method: 'PUT', body: 'A'.repeat(MAX + 1) });
    const logs = srv.logs.join('\n');
    expect(app.token).toBeTruthy();
    expect(logs).not.toContain(app.token!.split('.')[2]);
    expect(logs).not.toContain(new URL(upload_url).searchParams.get('sig'));
  });
});
