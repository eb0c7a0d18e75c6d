/**
 * UnifiedPush as Web Push (docs/PUSH.md "Encryption"): a device that registered its
 * RFC 8291 keys gets the trigger encrypted for it and signed with the server's VAPID key
 * (RFC 8292); a device without keys gets it in plain text as before. The receiving side
 * is written from the RFCs with node:crypto (helpers/webpush-receiver.ts), not with the
 * library the server sends with: it decrypts the message and checks the JWT (ES256
 * against the server's public key, `aud` the endpoint's origin, `exp` within 24 h). The
 * SSRF guard holds for Web Push sends too.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePushConfig } from '../src/config/push.ts';
import { parseAddressList } from '../src/push/endpoint-address.ts';
import { createUnifiedPushSender } from '../src/push/unifiedpush.ts';
import { loadOrCreateVapidKeys, VAPID_KEY_FILE, type VapidKeys } from '../src/push/vapid.ts';
import { call, login, newKey } from './helpers/client.ts';
import { type FakeUnifiedPush, startFakeUnifiedPush } from './helpers/fake-unifiedpush.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { decryptWebPush, newUserAgentKeys, verifyVapid } from './helpers/webpush-receiver.ts';

const payload = { type: 'backup_trigger', notification_id: 'n-42' } as const;
const nowSec = () => Math.floor(Date.now() / 1000);

let up: FakeUnifiedPush;
let dir: string;
let vapid: VapidKeys;
beforeAll(async () => {
  up = await startFakeUnifiedPush();
  dir = await mkdtemp(join(tmpdir(), 'noah-vapid-'));
  vapid = loadOrCreateVapidKeys({
    dataDir: dir,
    privateKey: null,
    subject: 'mailto:ops@example.com',
  });
});
afterAll(async () => {
  await up?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the sender', () => {
  const clock = manualClock(Date.now());
  const sender = (allow = '127.0.0.1') =>
    createUnifiedPushSender({ clock, allowAddresses: parseAddressList(allow), vapid });

  it('encrypts for the device (RFC 8291) and signs with VAPID (RFC 8292)', async () => {
    const ua = newUserAgentKeys();
    const endpoint = up.endpoint([201]);
    const [r] = await sender().send([{ address: endpoint, keys: ua.registration, payload }]);
    expect(r).toEqual({ status: 'ok' });
    const [d] = up.deliveries(endpoint);
    expect(d!.headers).toMatchObject({
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      ttl: '86400',
      urgency: 'high',
    });
    expect(d!.body).not.toContain('backup_trigger');
    expect(JSON.parse(decryptWebPush(ua, d!.bytes).toString())).toEqual(payload);
    const claims = verifyVapid(d!.headers, endpoint, nowSec());
    expect(claims.key).toBe(vapid.publicKey);
    expect(claims.sub).toBe('mailto:ops@example.com');
    // Only the device can read it: another key pair fails, and so does a flipped bit.
    expect(() => decryptWebPush(newUserAgentKeys(), d!.bytes)).toThrow();
    const flipped = Buffer.from(d!.bytes);
    flipped[flipped.length - 20]! ^= 1;
    expect(() => decryptWebPush(ua, flipped)).toThrow();
  });

  it('each message has its own ephemeral key and salt', async () => {
    const ua = newUserAgentKeys();
    const endpoint = up.endpoint([201]);
    const s = sender();
    await s.send([{ address: endpoint, keys: ua.registration, payload }]);
    await s.send([{ address: endpoint, keys: ua.registration, payload }]);
    const [a, b] = up.deliveries(endpoint).map((d) => d.bytes);
    expect(a!.subarray(0, 86).equals(b!.subarray(0, 86))).toBe(false);
    expect(decryptWebPush(ua, b!).toString()).toBe(JSON.stringify(payload));
  });

  it('sends devices without keys the plain JSON, with no VAPID header', async () => {
    const endpoint = up.endpoint([201]);
    expect(await sender().send([{ address: endpoint, payload }])).toEqual([{ status: 'ok' }]);
    const [d] = up.deliveries(endpoint);
    expect(JSON.parse(d!.body)).toEqual(payload);
    expect(d!.headers['content-type']).toBe('application/json');
    expect(d!.headers.authorization).toBeUndefined();
    expect(d!.headers['content-encoding']).toBeUndefined();
  });

  it('classifies Web Push answers as plain ones: 410 dead, 429 retry, 400 failed', async () => {
    const ua = newUserAgentKeys();
    const [gone, slow, refused] = [[410], [429], [400]].map((s) => up.endpoint(s));
    const results = await sender().send(
      [gone!, slow!, refused!].map((address) => ({ address, keys: ua.registration, payload })),
    );
    expect(results).toEqual([
      { status: 'dead', reason: 'http_410' },
      { status: 'retry', reason: 'http_429', retryAfterMs: 1000 },
      { status: 'failed', reason: 'http_400' },
    ]);
  });

  it('never connects a Web Push send to a forbidden address, by IP or by name', async () => {
    const ua = newUserAgentKeys();
    const byIp = up.endpoint([201]);
    const byName = up.endpoint([201]).replace('127.0.0.1', 'localhost');
    const results = await sender('').send([
      { address: byIp, keys: ua.registration, payload },
      { address: byName, keys: ua.registration, payload },
    ]);
    expect(results).toEqual([
      { status: 'failed', reason: 'endpoint_not_allowed' },
      { status: 'failed', reason: 'endpoint_not_allowed' },
    ]);
    expect(up.deliveries(byIp)).toHaveLength(0);
    expect(up.deliveries(byName.replace('localhost', '127.0.0.1'))).toHaveLength(0);
  });

  it('without a VAPID identity a keyed device is not sent to in plain text', async () => {
    const ua = newUserAgentKeys();
    const endpoint = up.endpoint([201]);
    const bare = createUnifiedPushSender({ clock, allowAddresses: parseAddressList('127.0.0.1') });
    expect(await bare.send([{ address: endpoint, keys: ua.registration, payload }])).toEqual([
      { status: 'failed', reason: 'vapid_not_configured' },
    ]);
    expect(up.deliveries(endpoint)).toHaveLength(0);
  });
});

describe('the VAPID key', () => {
  it('is generated once into DATA_DIR (0600) and read back by every later start', async () => {
    const again = loadOrCreateVapidKeys({
      dataDir: dir,
      privateKey: null,
      subject: 'mailto:x@y.z',
    });
    expect(again.privateKey).toBe(vapid.privateKey);
    expect(again.publicKey).toBe(vapid.publicKey);
    expect((await stat(join(dir, VAPID_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect(Buffer.from(vapid.publicKey, 'base64url')).toHaveLength(65);
  });

  it('VAPID_PRIVATE_KEY wins over the file; a damaged file is one clear error', async () => {
    const other = await mkdtemp(join(tmpdir(), 'noah-vapid-'));
    try {
      const given = loadOrCreateVapidKeys({
        dataDir: other,
        privateKey: vapid.privateKey,
        subject: 'mailto:x@y.z',
      });
      expect(given.publicKey).toBe(vapid.publicKey);
      await writeFile(join(other, VAPID_KEY_FILE), 'not a key\n');
      expect(() =>
        loadOrCreateVapidKeys({ dataDir: other, privateKey: null, subject: 'mailto:x@y.z' }),
      ).toThrow(/vapid-private\.key: .*delete it/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('configuration: a bad key or subject is refused; UnifiedPush needs a subject', () => {
    const problems = (env: Record<string, string>) => {
      const list: string[] = [];
      parsePushConfig((n) => env[n], list);
      return list;
    };
    expect(problems({ VAPID_PRIVATE_KEY: 'short' })).toEqual([
      expect.stringMatching(/^VAPID_PRIVATE_KEY: must be a P-256 private key/),
    ]);
    expect(problems({ VAPID_PRIVATE_KEY: 'short' }).join()).not.toContain('short');
    expect(problems({ VAPID_SUBJECT: 'http://example.com' })).toEqual([
      expect.stringMatching(/^VAPID_SUBJECT="http:\/\/example.com": must be a mailto:/),
    ]);
    expect(problems({ PUSH_PROVIDERS: 'unifiedpush' })).toEqual([
      expect.stringMatching(/^VAPID_SUBJECT: required with PUSH_PROVIDERS=unifiedpush/),
    ]);
    expect(problems({ PUSH_PROVIDERS: 'unifiedpush', PUBLIC_URL: 'https://b.example' })).toEqual(
      [],
    );
    expect(
      problems({ VAPID_SUBJECT: 'mailto:ops@example.com', VAPID_PRIVATE_KEY: vapid.privateKey }),
    ).toEqual([]);
  });
});

describe('through the server', () => {
  let srv: TestServer;
  beforeAll(async () => {
    const problems: string[] = [];
    const env: Record<string, string> = {
      PUSH_PROVIDERS: 'unifiedpush',
      BACKUP_CRON: 'off',
      BACKUP_SPREAD: '0',
      PUSH_RATE: '0',
      UNIFIEDPUSH_ALLOW_HTTP: 'true',
      UNIFIEDPUSH_ALLOW_ADDRESSES: '127.0.0.1',
      VAPID_SUBJECT: 'mailto:ops@example.com',
    };
    const push = parsePushConfig((n) => env[n], problems);
    expect(problems).toEqual([]);
    srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs', config: { push } });
  });
  afterAll(() => srv?.close());

  it('a registered device with keys receives the daily trigger encrypted, signed by /vapid', async () => {
    const key = newKey();
    const token = await login(srv.url, key);
    // The wallet opts in (docs/API.md "settings"); else no trigger is sent.
    expect(
      (await call(`${srv.url}/v0/backup/settings`, { token, body: { backup_enabled: true } }))
        .status,
    ).toBe(200);
    const v = await call<{ public_key: string }>(`${srv.url}/v0/push/vapid`, {
      method: 'GET',
      token,
    });
    expect(v.status).toBe(200);
    expect(Buffer.from(v.body.public_key, 'base64url')).toHaveLength(65);
    const ua = newUserAgentKeys();
    const endpoint = up.endpoint([201]);
    const plainEndpoint = up.endpoint([201]);
    const reg = (body: Record<string, unknown>) =>
      call<Record<string, unknown>>(`${srv.url}/v0/push/register`, { token, body });
    expect(
      (await reg({ provider: 'unifiedpush', endpoint, device_id: 'phone', keys: ua.registration }))
        .status,
    ).toBe(200);
    expect(
      (await reg({ provider: 'unifiedpush', endpoint: plainEndpoint, device_id: 'old-phone' }))
        .status,
    ).toBe(200);
    const user = await srv.metadata.upsertUser(key.key, srv.clock.now());
    const devices = await srv.metadata.listDevices(user.id);
    expect(devices.find((d) => d.deviceId === 'phone')?.keys).toEqual(ua.registration);
    expect(devices.find((d) => d.deviceId === 'old-phone')?.keys).toBeNull();

    const result = await srv.app.noahPush.scheduler.runNow();
    expect(result.triggered).toBe(1);
    const [d] = up.deliveries(endpoint);
    const message = JSON.parse(decryptWebPush(ua, d!.bytes).toString());
    expect(message).toMatchObject({ type: 'backup_trigger' });
    expect(verifyVapid(d!.headers, endpoint, nowSec()).key).toBe(v.body.public_key);
    // The same trigger, in plain text, to the device that registered without keys.
    expect(JSON.parse(up.deliveries(plainEndpoint)[0]!.body)).toEqual(message);
    const logs = srv.logs.join('\n');
    expect(logs).not.toContain(ua.registration.auth);
    expect(logs).not.toContain(srv.app.noahPush.vapid!.privateKey);
  });

  it('refuses keys that are not RFC 8291 keys, or on an Expo device, and stores nothing', async () => {
    const key = newKey();
    const token = await login(srv.url, key);
    const ua = newUserAgentKeys();
    const offCurve = Buffer.from(ua.registration.p256dh, 'base64url');
    offCurve[40]! ^= 1;
    const bad: Record<string, unknown>[] = [
      { p256dh: offCurve.toString('base64url'), auth: ua.registration.auth },
      { p256dh: ua.registration.p256dh, auth: Buffer.alloc(8).toString('base64url') },
      { p256dh: ua.registration.p256dh.slice(0, 40), auth: ua.registration.auth },
      { p256dh: `${ua.registration.p256dh}!`, auth: ua.registration.auth },
      { p256dh: ua.registration.p256dh },
    ];
    for (const keys of bad) {
      const r = await call<Record<string, unknown>>(`${srv.url}/v0/push/register`, {
        token,
        body: { provider: 'unifiedpush', endpoint: up.endpoint([201]), device_id: 'p', keys },
      });
      expect(r.status, JSON.stringify(keys)).toBe(400);
      expect(r.body).toMatchObject({ code: 'bad_request' });
    }
    const expo = await call<Record<string, unknown>>(`${srv.url}/v0/push/register`, {
      token,
      body: {
        provider: 'expo',
        token: 'ExponentPushToken[abcdefghijkl]',
        device_id: 'p',
        keys: ua.registration,
      },
    });
    expect(expo.status).toBe(400);
    const user = await srv.metadata.upsertUser(key.key, srv.clock.now());
    expect(await srv.metadata.listDevices(user.id)).toEqual([]);
  });
});
