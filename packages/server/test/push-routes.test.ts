/**
 * The push routes and the outcome link (docs/PUSH.md §2, §6) on the real server over
 * loopback: registration rules and validation, the address moving between users,
 * unregistering, reports marking their trigger, metrics, and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePushConfig } from '../src/config/push.ts';
import { utcDay } from '../src/push/day.ts';
import { call, login, newKey } from './helpers/client.ts';
import { type FakeExpo, startFakeExpo } from './helpers/fake-expo.ts';
import { expoToken } from './helpers/push.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let srv: TestServer;
let expo: FakeExpo;

function push(env: Record<string, string>) {
  const problems: string[] = [];
  const config = parsePushConfig((n) => env[n], problems);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return config;
}

beforeAll(async () => {
  expo = await startFakeExpo();
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: {
      push: push({
        PUSH_PROVIDERS: 'expo,unifiedpush',
        VAPID_SUBJECT: 'mailto:ops@example.com',
        EXPO_PUSH_URL: expo.url,
        BACKUP_CRON: 'off',
        BACKUP_SPREAD: '0',
        PUSH_RATE: '0',
      }),
    },
  });
});
afterAll(async () => {
  await srv?.close();
  await expo?.close();
});

const register = (token: string, body: unknown) =>
  call<Record<string, unknown>>(`${srv.url}/v0/push/register`, { token, body });
const userIdOf = async (key: ReturnType<typeof newKey>) =>
  (await srv.metadata.upsertUser(key.key, srv.clock.now())).id;

describe('POST /v0/push/register and /unregister', () => {
  it('registers several devices, updates on re-registration, never logs the token', async () => {
    const key = newKey();
    const bearer = await login(srv.url, key);
    const t1 = expoToken();
    const r = await register(bearer, { provider: 'expo', token: t1, device_id: 'phone-1' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ registered: true, device_id: 'phone-1', provider: 'expo' });
    const endpoint = 'https://ntfy.example.com/upABCDEFGHIJKL?up=1';
    expect(
      (await register(bearer, { provider: 'unifiedpush', endpoint, device_id: 'tablet' })).status,
    ).toBe(200);
    const t2 = expoToken();
    expect(
      (await register(bearer, { provider: 'expo', token: t2, device_id: 'phone-1' })).status,
    ).toBe(200);
    const devices = await srv.metadata.listDevices(await userIdOf(key));
    expect(devices.map((d) => [d.deviceId, d.address]).sort()).toEqual(
      [
        ['phone-1', t2],
        ['tablet', endpoint],
      ].sort(),
    );
    // Its endpoint is not reachable here; the later job tests need no retries on it.
    await call(`${srv.url}/v0/push/unregister`, { token: bearer, body: { device_id: 'tablet' } });
    const logs = srv.logs.join('\n');
    expect(logs).toContain('push device registered');
    expect(logs).not.toContain(t1.slice(18, -1));
    expect(logs).not.toContain('upABCDEFGHIJKL');
  });

  it('validates the body by provider', async () => {
    const bearer = await login(srv.url);
    const bad: [unknown, RegExp][] = [
      [{ provider: 'expo', token: 'not-a-token', device_id: 'd' }, /token/],
      [{ provider: 'expo', device_id: 'd' }, /token/],
      [
        { provider: 'expo', token: expoToken(), endpoint: 'https://x.example/u', device_id: 'd' },
        /endpoint/,
      ],
      [{ provider: 'unifiedpush', device_id: 'd' }, /endpoint/],
      [
        { provider: 'unifiedpush', endpoint: 'http://ntfy.example.com/up', device_id: 'd' },
        /https/,
      ],
      [
        { provider: 'unifiedpush', endpoint: 'https://u:p@ntfy.example.com/up', device_id: 'd' },
        /credentials/,
      ],
      [
        {
          provider: 'unifiedpush',
          endpoint: `https://x.example/${'a'.repeat(1000)}`,
          device_id: 'd',
        },
        /endpoint/,
      ],
      [{ provider: 'apns', token: expoToken(), device_id: 'd' }, /provider/],
      [{ provider: 'expo', token: expoToken(), device_id: 'bad id!' }, /device_id/],
      [{ provider: 'expo', token: expoToken(), device_id: 'd', extra: 1 }, /./],
    ];
    for (const [body, message] of bad) {
      const r = await register(bearer, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({
        code: 'bad_request',
        message: expect.stringMatching(message),
      });
    }
    expect(
      (await register(bearer, { provider: 'expo', token: 'ExpoPushToken[abc]', device_id: 'd' }))
        .status,
    ).toBe(200);
  });

  it('needs a bearer token', async () => {
    const r = await call(`${srv.url}/v0/push/register`, {
      body: { provider: 'expo', token: expoToken(), device_id: 'd' },
    });
    expect(r.status).toBe(401);
    expect((await call(`${srv.url}/v0/push/unregister`, { body: { device_id: 'd' } })).status).toBe(
      401,
    );
  });

  it('a token moves to the user who registers it last; device ids are per user', async () => {
    const [ka, kb] = [newKey(), newKey()];
    const [a, b] = [await login(srv.url, ka), await login(srv.url, kb)];
    const shared = expoToken();
    await register(a, { provider: 'expo', token: shared, device_id: 'same' });
    await register(b, { provider: 'expo', token: shared, device_id: 'same' });
    expect(await srv.metadata.listDevices(await userIdOf(ka))).toEqual([]);
    expect((await srv.metadata.listDevices(await userIdOf(kb))).map((d) => d.address)).toEqual([
      shared,
    ]);
    // A's unregister of "same" cannot remove B's device.
    const ra = await call(`${srv.url}/v0/push/unregister`, {
      token: a,
      body: { device_id: 'same' },
    });
    expect(ra.body).toEqual({ unregistered: false });
    const rb = await call(`${srv.url}/v0/push/unregister`, {
      token: b,
      body: { device_id: 'same' },
    });
    expect(rb.body).toEqual({ unregistered: true });
    expect(await srv.metadata.listDevices(await userIdOf(kb))).toEqual([]);
  });
});

describe('outcome reports, metrics, OpenAPI', () => {
  it("a report with the trigger's notification id marks it; other users cannot", async () => {
    const [key, otherKey] = [newKey(), newKey()];
    const bearer = await login(srv.url, key);
    const other = await login(srv.url, otherKey);
    const token = expoToken();
    await register(bearer, { provider: 'expo', token, device_id: 'p' });
    // Opt in (docs/API.md "settings"), else no trigger.
    await call(`${srv.url}/v0/backup/settings`, { token: bearer, body: { backup_enabled: true } });
    const job = await srv.app.noahPush.scheduler.runNow();
    expect(job.status).toBe('done');
    const msg = expo.messages.find((m) => m.to === token);
    const notificationId = msg?.data.notification_id;
    expect(notificationId).toMatch(/^[0-9a-f]{32}$/);

    const report = (t: string, status: string) =>
      call(`${srv.url}/v0/backup/report`, {
        token: t,
        body: { notification_id: notificationId, kind: 'backup', status },
      });
    expect((await report(other, 'success')).status).toBe(200);
    const day = utcDay(srv.clock.now());
    const userId = await userIdOf(key);
    expect(await srv.metadata.getTrigger(userId, day)).toMatchObject({ outcome: null });
    expect((await report(bearer, 'success')).status).toBe(200);
    expect(await srv.metadata.getTrigger(userId, day)).toMatchObject({
      notificationId,
      status: 'sent',
      outcome: 'success',
    });

    const metrics = await call<string>(`${srv.url}/metrics`, { method: 'GET' });
    expect(metrics.body).toMatch(
      /noah_push_trigger_outcomes_total\{status="success",within_day="true"\} 1/,
    );
    expect(metrics.body).toMatch(/noah_push_triggers_total\{result="sent"\} \d+/);
    expect(metrics.body).toMatch(/noah_push_messages_total\{provider="expo",result="ok"\} \d+/);
    expect(metrics.body).toMatch(/noah_push_stale_users \d+/);
    expect(metrics.body).toMatch(/noah_push_trigger_success_ratio /);
    expect(metrics.body).toMatch(/noah_push_jobs_total\{status="done"\} 1/);
    // A repeated report is counted once.
    await report(bearer, 'success');
    const again = await call<string>(`${srv.url}/metrics`, { method: 'GET' });
    expect(again.body).toMatch(
      /noah_push_trigger_outcomes_total\{status="success",within_day="true"\} 1/,
    );
  });

  it('documents the push routes', async () => {
    const doc = await call<{ paths: Record<string, unknown> }>(`${srv.url}/v0/openapi.json`, {
      method: 'GET',
    });
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v0/push/register', '/v0/push/unregister']),
    );
  });
});
