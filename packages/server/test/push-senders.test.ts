/**
 * The PushSender implementations against local servers that speak their protocols: the
 * Expo push API (send, tickets, receipts, request-level errors) and UnifiedPush
 * endpoints (201, 404, 410, 5xx, 413, redirects, per-origin bearer); and the log sender.
 */
import { manualClock } from '@noah-backup/core/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddressList } from '../src/push/endpoint-address.ts';
import { createExpoSender } from '../src/push/expo.ts';
import { createLogSender } from '../src/push/log.ts';
import { redactAddress } from '../src/push/redact.ts';
import type { PushMessage } from '../src/push/sender.ts';
import { createUnifiedPushSender } from '../src/push/unifiedpush.ts';
import { type FakeExpo, startFakeExpo } from './helpers/fake-expo.ts';
import { type FakeUnifiedPush, startFakeUnifiedPush } from './helpers/fake-unifiedpush.ts';

const clock = manualClock(Date.UTC(2026, 0, 1, 3, 0, 0));
const msg = (address: string, id = 'n-1'): PushMessage => ({
  address,
  payload: { type: 'backup_trigger', notification_id: id },
});
let seq = 0;
const token = () => `ExponentPushToken[tok${++seq}abcdefgh]`;

describe('Expo sender', () => {
  let fake: FakeExpo;
  beforeAll(async () => {
    fake = await startFakeExpo({ accessToken: 'expo-access-token' });
  });
  afterAll(() => fake.close());
  const sender = () =>
    createExpoSender({ baseUrl: fake.url, accessToken: 'expo-access-token', clock });

  it('sends data-only, high-priority, content-available messages with the access token', async () => {
    const t = token();
    const [r] = await sender().send([msg(t, 'notif-42')]);
    expect(r).toEqual({ status: 'ok', ticketId: expect.stringMatching(/^ticket-/) });
    const seen = fake.messages.find((m) => m.to === t);
    expect(seen).toMatchObject({
      to: t,
      data: { type: 'backup_trigger', notification_id: 'notif-42' },
      priority: 'high',
      _contentAvailable: true,
    });
    expect(seen?.title).toBeUndefined();
    expect(seen?.body).toBeUndefined();
    expect(fake.authorizations.at(-1)).toBe('Bearer expo-access-token');
  });

  it('classifies error tickets: DeviceNotRegistered dead, MessageRateExceeded retry, others failed', async () => {
    const [dead, slow, big, fine] = [token(), token(), token(), token()];
    fake.behave(dead, { ticketError: 'DeviceNotRegistered' });
    fake.behave(slow, { ticketError: 'MessageRateExceeded' });
    fake.behave(big, { ticketError: 'MessageTooBig' });
    const results = await sender().send([dead, slow, big, fine].map((t) => msg(t)));
    expect(results.map((r) => r.status)).toEqual(['dead', 'retry', 'failed', 'ok']);
    expect(results[0]).toMatchObject({ reason: 'DeviceNotRegistered' });
  });

  it('a 503 or 429 makes the whole batch transient, with Retry-After', async () => {
    fake.failNextSends(1, 503);
    expect((await sender().send([msg(token()), msg(token())])).map((r) => r.status)).toEqual([
      'retry',
      'retry',
    ]);
    fake.failNextSends(1, 429, { errors: [{ code: 'TOO_MANY_REQUESTS' }] });
    // Retry-After is not sent by this fake for 429 on send; the status alone is transient.
    expect((await sender().send([msg(token())]))[0]).toMatchObject({
      status: 'retry',
      reason: 'http_429',
    });
  });

  it('a request-level error (400, 401) fails the batch without retrying', async () => {
    fake.failNextSends(1, 400, { errors: [{ code: 'PUSH_TOO_MANY_EXPERIENCE_IDS' }] });
    expect((await sender().send([msg(token())]))[0]).toEqual({
      status: 'failed',
      reason: 'PUSH_TOO_MANY_EXPERIENCE_IDS',
    });
    const noToken = createExpoSender({ baseUrl: fake.url, clock });
    expect((await noToken.send([msg(token())]))[0]).toEqual({
      status: 'failed',
      reason: 'UNAUTHORIZED',
    });
  });

  it('refuses more than 100 messages per request', async () => {
    const many = Array.from({ length: 101 }, () => msg(token()));
    await expect(sender().send(many)).rejects.toThrow(RangeError);
    const hundred = await sender().send(many.slice(0, 100));
    expect(hundred.filter((r) => r.status === 'ok')).toHaveLength(100);
  });

  it('an unreachable service is transient', async () => {
    const gone = createExpoSender({ baseUrl: 'http://127.0.0.1:1', clock, timeoutMs: 2000 });
    expect((await gone.send([msg(token())]))[0]).toMatchObject({ status: 'retry' });
  });

  it('reads receipts: ok, DeviceNotRegistered (dead), not ready (absent)', async () => {
    const [ok, dead, later] = [token(), token(), token()];
    fake.behave(dead, { receiptError: 'DeviceNotRegistered' });
    fake.behave(later, 'receipt-pending');
    const s = sender();
    const tickets = await s.send([ok, dead, later].map((t) => msg(t)));
    const ids = tickets.map((t) => (t.status === 'ok' ? t.ticketId! : ''));
    expect(ids.every((id) => id !== '')).toBe(true);
    const receipts = await s.readReceipts!(ids);
    expect(receipts.get(ids[0]!)).toEqual({ status: 'ok' });
    expect(receipts.get(ids[1]!)).toEqual({ status: 'dead', reason: 'DeviceNotRegistered' });
    expect(receipts.has(ids[2]!)).toBe(false);
    expect(fake.receiptQueries.at(-1)).toEqual(ids);
  });

  it('reads receipts in requests of at most 300 ids', async () => {
    const before = fake.receiptQueries.length;
    const ids = Array.from({ length: 650 }, (_, i) => `unknown-${i}`);
    expect((await sender().readReceipts!(ids)).size).toBe(0);
    expect(fake.receiptQueries.slice(before).map((q) => q.length)).toEqual([300, 300, 50]);
  });
});

describe('UnifiedPush sender', () => {
  // The fake push server is on loopback (docs/PUSH.md "Endpoint addresses").
  const loopback = parseAddressList('127.0.0.1');
  let up: FakeUnifiedPush;
  beforeAll(async () => {
    up = await startFakeUnifiedPush();
  });
  afterAll(() => up.close());

  it('POSTs the JSON payload with TTL and Urgency; 2xx accepts', async () => {
    const e201 = up.endpoint([201]);
    const e200 = up.endpoint([200]);
    const s = createUnifiedPushSender({ clock, allowAddresses: loopback });
    const results = await s.send([msg(e201, 'n-a'), msg(e200, 'n-b')]);
    expect(results).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    const [d] = up.deliveries(e201);
    expect(JSON.parse(d!.body)).toEqual({ type: 'backup_trigger', notification_id: 'n-a' });
    expect(d!.headers).toMatchObject({
      'content-type': 'application/json',
      urgency: 'high',
      ttl: '86400',
    });
    expect(d!.headers.authorization).toBeUndefined();
  });

  it('404 and 410 are dead endpoints; 500 and 429 transient; 413 failed', async () => {
    const s = createUnifiedPushSender({ clock, allowAddresses: loopback });
    const eps = [[404], [410], [500, 201], [429, 201], [413]].map((x) => up.endpoint(x));
    const results = await s.send(eps.map((e) => msg(e)));
    expect(results.map((r) => r.status)).toEqual(['dead', 'dead', 'retry', 'retry', 'failed']);
    expect(results[3]).toMatchObject({ retryAfterMs: 1000 });
    // The 500-then-201 endpoint accepts on the second try.
    expect(await s.send([msg(eps[2]!)])).toEqual([{ status: 'ok' }]);
    expect(up.deliveries(eps[2]!)).toHaveLength(2);
  });

  it('does not follow redirects', async () => {
    const e = up.endpoint([307]);
    const [r] = await createUnifiedPushSender({ clock, allowAddresses: loopback }).send([msg(e)]);
    expect(r).toEqual({ status: 'failed', reason: 'http_307' });
    expect(up.deliveries(e)).toHaveLength(1);
  });

  it('sends a bearer token only to the origin it is configured for', async () => {
    const e = up.endpoint([201]);
    const mine = createUnifiedPushSender({
      clock,
      allowAddresses: loopback,
      bearerByOrigin: new Map([[new URL(up.url).origin, 'up-secret']]),
    });
    const other = createUnifiedPushSender({
      clock,
      allowAddresses: loopback,
      bearerByOrigin: new Map([['https://push.example.com', 'up-secret']]),
    });
    await mine.send([msg(e)]);
    await other.send([msg(e)]);
    expect(up.deliveries(e).map((d) => d.headers.authorization)).toEqual([
      'Bearer up-secret',
      undefined,
    ]);
  });

  it('an unreachable endpoint is transient', async () => {
    const [r] = await createUnifiedPushSender({
      clock,
      timeoutMs: 2000,
      allowAddresses: loopback,
    }).send([msg('http://127.0.0.1:1/up/x')]);
    expect(r).toMatchObject({ status: 'retry' });
  });
});

describe('log sender and redaction', () => {
  it('accepts every message and logs only a redacted address', async () => {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const s = createLogSender({
      info: (obj, m) => lines.push({ obj: obj as Record<string, unknown>, msg: m }),
    });
    const t = 'ExponentPushToken[SECRETSECRETSECRET]';
    const e = 'https://ntfy.example.com/upSECRETSECRET?up=1';
    expect(await s.send([msg(t, 'n1'), msg(e, 'n2')])).toEqual([
      { status: 'ok' },
      { status: 'ok' },
    ]);
    expect(lines.map((l) => l.obj)).toEqual([
      { to: 'ExponentPushToken[SECR…]', notificationId: 'n1' },
      { to: 'https://ntfy.example.com/…', notificationId: 'n2' },
    ]);
    expect(JSON.stringify(lines)).not.toContain('SECRETSECRET');
  });

  it('redacts unknown shapes to a prefix', () => {
    expect(redactAddress('abcdefgh')).toBe('abcd…');
    expect(redactAddress('ExpoPushToken[xy]')).toBe('ExpoPushToken[xy…]');
  });
});
