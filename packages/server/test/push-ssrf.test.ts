/**
 * UnifiedPush endpoints are chosen by users, and the daily job connects to them
 * (docs/PUSH.md "Endpoint addresses"): an endpoint on a loopback, private, link-local,
 * metadata or other special-purpose address is refused at registration (400
 * `push_endpoint_not_allowed`) and again at send time on the address the connection
 * actually uses, unless the operator allows it (UNIFIEDPUSH_ALLOW_ADDRESSES). The real
 * server on both stacks, a real loopback push server.
 */
import { manualClock } from '@noah-backup/core/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePushConfig } from '../src/config/push.ts';
import { addressAllowed, guardedLookup, parseAddressList } from '../src/push/endpoint-address.ts';
import type { PushMessage } from '../src/push/sender.ts';
import { createUnifiedPushSender } from '../src/push/unifiedpush.ts';
import { call, login, newKey } from './helpers/client.ts';
import { type FakeUnifiedPush, startFakeUnifiedPush } from './helpers/fake-unifiedpush.ts';
import { fullCombos, startTestServer, type TestServer } from './helpers/server.ts';

function push(env: Record<string, string>) {
  const problems: string[] = [];
  const config = parsePushConfig((n) => env[n], problems);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return config;
}

const FORBIDDEN = [
  'http://127.0.0.1:8080/up',
  'https://127.1.2.3/up',
  'https://2130706433/up', // 127.0.0.1 spelled as a number
  'https://0.0.0.0/up',
  'https://[::1]/up',
  'https://[::ffff:127.0.0.1]/up',
  'https://10.1.2.3/up',
  'https://172.16.0.1/up',
  'https://192.168.1.1/up',
  'https://100.64.0.1/up',
  'https://169.254.169.254/latest/meta-data/',
  'https://[fd00:ec2::254]/up',
  'https://[fe80::1]/up',
  'https://224.0.0.1/up',
  'https://localhost/up', // a name that resolves to loopback
];

describe.each(fullCombos)('registration on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  let allowing: TestServer;
  beforeAll(async () => {
    const env = {
      PUSH_PROVIDERS: 'unifiedpush',
      VAPID_SUBJECT: 'mailto:ops@example.com',
      BACKUP_CRON: 'off',
      UNIFIEDPUSH_ALLOW_HTTP: 'true',
    };
    srv = await startTestServer({ ...combo, config: { push: push(env) } });
    allowing = await startTestServer({
      ...combo,
      config: { push: push({ ...env, UNIFIEDPUSH_ALLOW_ADDRESSES: '127.0.0.0/8, ::1' }) },
    });
  });
  afterAll(async () => {
    await srv?.close();
    await allowing?.close();
  });

  let lastUser: { server: TestServer; key: ReturnType<typeof newKey> } | undefined;
  const register = async (s: TestServer, endpoint: string) => {
    const key = newKey();
    lastUser = { server: s, key };
    return call<Record<string, unknown>>(`${s.url}/v0/push/register`, {
      token: await login(s.url, key),
      body: { provider: 'unifiedpush', endpoint, device_id: 'phone' },
    });
  };
  const devices = async () => {
    const { server, key } = lastUser!;
    const user = await server.metadata.upsertUser(key.key, server.clock.now());
    return server.metadata.listDevices(user.id);
  };

  it.each(FORBIDDEN)('refuses %s (400 push_endpoint_not_allowed), stores nothing', async (e) => {
    const r = await register(srv, e);
    expect(r.status).toBe(400);
    expect(await devices()).toEqual([]);
    expect(r.body).toMatchObject({ code: 'push_endpoint_not_allowed' });
    // Never echoes the endpoint: it is a secret.
    expect(JSON.stringify(r.body)).not.toContain(new URL(e).pathname.slice(1) || '§');
  });

  it('accepts public endpoints, and names that do not resolve now (checked at send time)', async () => {
    for (const e of [
      'https://93.184.216.34/up',
      'https://[2606:4700::1111]/up',
      'https://ntfy.example.com/up',
    ])
      expect((await register(srv, e)).status, e).toBe(200);
  });

  it('accepts what UNIFIEDPUSH_ALLOW_ADDRESSES allows, and only that', async () => {
    expect((await register(allowing, 'http://127.0.0.1:8080/up')).status).toBe(200);
    expect((await register(allowing, 'https://[::1]/up')).status).toBe(200);
    expect((await register(allowing, 'https://localhost/up')).status).toBe(200);
    expect((await register(allowing, 'https://10.1.2.3/up')).status).toBe(400);
  });
});

describe('sending', () => {
  const clock = manualClock(Date.UTC(2026, 0, 1, 3, 0, 0));
  const msg = (address: string): PushMessage => ({
    address,
    payload: { type: 'backup_trigger', notification_id: 'n-1' },
  });
  let up: FakeUnifiedPush;
  beforeAll(async () => {
    up = await startFakeUnifiedPush();
  });
  afterAll(() => up.close());

  it('never connects to a forbidden address, by IP or by a name resolving to one', async () => {
    const sender = createUnifiedPushSender({ clock });
    const byIp = up.endpoint([201]);
    const byName = up.endpoint([201]).replace('127.0.0.1', 'localhost');
    const results = await sender.send([msg(byIp), msg(byName)]);
    expect(results).toEqual([
      { status: 'failed', reason: 'endpoint_not_allowed' },
      { status: 'failed', reason: 'endpoint_not_allowed' },
    ]);
    expect(up.deliveries(byIp)).toHaveLength(0);
    expect(up.deliveries(byName.replace('localhost', '127.0.0.1'))).toHaveLength(0);
  });

  it('delivers to allowed addresses', async () => {
    const sender = createUnifiedPushSender({
      clock,
      allowAddresses: parseAddressList('127.0.0.1')!,
    });
    const e = up.endpoint([201]);
    const byName = up.endpoint([201]);
    expect(await sender.send([msg(e), msg(byName.replace('127.0.0.1', 'localhost'))])).toEqual([
      { status: 'ok' },
      { status: 'ok' },
    ]);
    expect(up.deliveries(e)).toHaveLength(1);
    expect(up.deliveries(byName)).toHaveLength(1);
  });

  it('the connection uses exactly the addresses the check saw (no second resolution)', async () => {
    // A resolver that answers a public address once, then loopback (DNS rebinding).
    let calls = 0;
    const rebinding = (
      _host: string,
      _opts: object,
      cb: (err: Error | null, addresses: { address: string; family: number }[]) => void,
    ) => {
      calls++;
      cb(null, [{ address: calls === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }]);
    };
    const lookup = guardedLookup(null, rebinding);
    const first = await new Promise<unknown>((resolve) =>
      lookup('up.example', { all: true }, (err, a) => resolve(err ?? a)),
    );
    expect(first).toEqual([{ address: '93.184.216.34', family: 4 }]);
    const second = await new Promise<unknown>((resolve) =>
      lookup('up.example', {}, (err, a) => resolve(err ?? a)),
    );
    expect(second).toBeInstanceOf(Error);
    expect((second as Error & { code: string }).code).toBe('ENDPOINT_NOT_ALLOWED');
    expect(calls).toBe(2);
  });

  it('classifies addresses', () => {
    const allow = parseAddressList('10.9.0.0/16,fd12::/64');
    for (const a of ['93.184.216.34', '2606:4700::1111', '10.9.1.1', 'fd12::5'])
      expect(addressAllowed(a, allow), a).toBe(true);
    for (const a of [
      '127.0.0.1',
      '10.8.0.1',
      '::1',
      '::ffff:10.0.0.1',
      'fd13::1',
      '64:ff9b::a00:1',
    ])
      expect(addressAllowed(a, allow), a).toBe(false);
    expect(parseAddressList('not-an-ip')).toBeNull();
    expect(parseAddressList('10.0.0.0/33')).toBeNull();
    expect(() => push({ UNIFIEDPUSH_ALLOW_ADDRESSES: '10.0.0.0/8,nope' })).toThrow(
      /^UNIFIEDPUSH_ALLOW_ADDRESSES=/,
    );
  });
});
