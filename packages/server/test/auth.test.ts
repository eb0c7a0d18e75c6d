import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { signK1 } from '@noah-backup/core/lnurl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, call, getK1, login, newKey } from './helpers/client.ts';
import { type TestServer, fullCombos, startTestServer } from './helpers/server.ts';

describe.each(fullCombos)('auth (LUD-04) on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  const loginWith = (body: unknown) => call(`${srv.url}/v0/auth/login`, { body });

  it('getk1 gives a fresh 32-byte hex k1 with tag "login"', async () => {
    const a = await call<{ k1: string; tag: string }>(`${srv.url}/v0/getk1`, { method: 'GET' });
    const b = await call<{ k1: string; tag: string }>(`${srv.url}/v0/getk1`, { method: 'GET' });
    expect(a.status).toBe(200);
    expect(a.body.tag).toBe('login');
    expect(a.body.k1).toMatch(/^[0-9a-f]{64}$/);
    expect(b.body.k1).not.toBe(a.body.k1);
  });

  it('logs in, creates the user, and the token works', async () => {
    const key = newKey();
    const k1 = await getK1(srv.url);
    const r = await loginWith({ k1, sig: signK1(k1, key.privateKey), key: key.key });
    expect(r.status).toBe(200);
    const body = r.body as { access_token: string; token_type: string; expires_at: string };
    expect(body.token_type).toBe('Bearer');
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expires_at) - srv.clock.now().getTime()).toBe(86400_000);
    const s = await backupApi(srv.url, body.access_token)('settings', undefined, 'GET');
    expect(s.status).toBe(200);
    // Opt-in: a new user's backups are off until the wallet turns them on.
    expect(s.body).toEqual({
      backup_enabled: false,
      last_backup_at: null,
      max_backup_size: srv.config.maxBackupSize,
      backups_allowed: true,
      backups_not_allowed_reason: null,
      last_verification: null,
    });
  });

  it('the same key logs in to the same user', async () => {
    const key = newKey();
    const t1 = await login(srv.url, key);
    expect((await backupApi(srv.url, t1)('settings', { backup_enabled: true })).status).toBe(200);
    const t2 = await login(srv.url, key);
    expect(t2).not.toBe(t1);
    const s = await backupApi(srv.url, t2)('settings', undefined, 'GET');
    expect(s.body).toMatchObject({ backup_enabled: true });
  });

  it('refuses a replayed k1', async () => {
    const key = newKey();
    const k1 = await getK1(srv.url);
    const body = { k1, sig: signK1(k1, key.privateKey), key: key.key };
    expect((await loginWith(body)).status).toBe(200);
    const again = await loginWith(body);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ code: 'invalid_k1' });
  });

  it('lets exactly one of several concurrent logins with one k1 succeed', async () => {
    const k1 = await getK1(srv.url);
    const keys = Array.from({ length: 6 }, () => newKey());
    const results = await Promise.all(
      keys.map((k) => loginWith({ k1, sig: signK1(k1, k.privateKey), key: k.key })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401, 401, 401]);
    for (const r of results.filter((x) => x.status === 401))
      expect(r.body).toMatchObject({ code: 'invalid_k1' });
  });

  it('refuses an expired k1 and an unknown one', async () => {
    const key = newKey();
    const k1 = await getK1(srv.url);
    srv.clock.advance(601_000);
    const r = await loginWith({ k1, sig: signK1(k1, key.privateKey), key: key.key });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_k1' });
    const unknown = 'ab'.repeat(32);
    const u = await loginWith({ k1: unknown, sig: signK1(unknown, key.privateKey), key: key.key });
    expect(u.body).toMatchObject({ code: 'invalid_k1' });
  });

  it('refuses a bad signature, and the k1 is spent by the attempt', async () => {
    const key = newKey();
    const k1 = await getK1(srv.url);
    const other = await getK1(srv.url);
    const r = await loginWith({ k1, sig: signK1(other, key.privateKey), key: key.key });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_signature' });
    const garbage = await loginWith({ k1: other, sig: '3006020101020101', key: key.key });
    expect(garbage.body).toMatchObject({ code: 'invalid_signature' });
    // Single use even on failure: the right signature no longer helps.
    const retry = await loginWith({ k1, sig: signK1(k1, key.privateKey), key: key.key });
    expect(retry.body).toMatchObject({ code: 'invalid_k1' });
  });

  it('refuses a signature made by another key', async () => {
    const alice = newKey();
    const mallory = newKey();
    const k1 = await getK1(srv.url);
    const r = await loginWith({ k1, sig: signK1(k1, mallory.privateKey), key: alice.key });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'invalid_signature' });
  });

  it('refuses malformed keys with 400 invalid_key without spending the k1', async () => {
    const key = newKey();
    const k1 = await getK1(srv.url);
    const sig = signK1(k1, key.privateKey);
    const bad = [
      'zz'.repeat(33),
      key.key.slice(0, 64),
      `04${key.key.slice(2)}`,
      `02${'ff'.repeat(32)}`, // x beyond the field: not a point
      `${key.key}00`,
    ];
    for (const k of bad) {
      const r = await loginWith({ k1, sig, key: k });
      expect(r.status, k).toBe(400);
      expect(r.body).toMatchObject({ code: 'invalid_key' });
    }
    expect((await loginWith({ k1, sig, key: key.key })).status).toBe(200);
  });

  it('validates the body shape (400 bad_request naming the field)', async () => {
    const r = await loginWith({ k1: 'xyz', sig: '00', key: newKey().key });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'bad_request' });
    expect((r.body as { message: string }).message).toContain('k1');
    const extra = await loginWith({ k1: 'ab'.repeat(32), sig: '00', key: 'x', admin: true });
    expect(extra.status).toBe(400);
    expect((extra.body as { message: string }).message).toContain('admin');
  });

  it('expires tokens (token_expired) and refuses unknown ones (unauthorized)', async () => {
    const token = await login(srv.url);
    const api = backupApi(srv.url, token);
    expect((await api('list')).status).toBe(200);
    srv.clock.advance(86400_000 + 1000);
    const r = await api('list');
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'token_expired' });
    const forged = await backupApi(srv.url, 'A'.repeat(43))('list');
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({ code: 'unauthorized' });
  });

  it('requires a bearer token on every backup route', async () => {
    for (const [name, method] of [
      ['upload_url', 'POST'],
      ['complete_upload', 'POST'],
      ['list', 'POST'],
      ['download_url', 'POST'],
      ['delete', 'POST'],
      ['settings', 'POST'],
      ['settings', 'GET'],
      ['report', 'POST'],
    ] as const) {
      const r = await call(`${srv.url}/v0/backup/${name}`, {
        method,
        ...(method === 'POST' ? { body: {} } : {}),
      });
      expect(r.status, name).toBe(401);
      expect(r.body).toMatchObject({ code: 'unauthorized' });
      const basic = await call(`${srv.url}/v0/backup/${name}`, {
        method,
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
      });
      expect(basic.status).toBe(401);
    }
  });

  it('logout revokes the token', async () => {
    const token = await login(srv.url);
    const odd = await call(`${srv.url}/v0/auth/logout`, { token, body: { everywhere: true } });
    expect(odd.status).toBe(400);
    const out = await call(`${srv.url}/v0/auth/logout`, { token });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ revoked: true });
    const r = await backupApi(srv.url, token)('list');
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 'unauthorized' });
    expect((await call(`${srv.url}/v0/auth/logout`, { token })).status).toBe(401);
  });
});

describe('token storage (sqlite)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
  });
  afterAll(() => srv?.close());

  it('stores only the SHA-256 of tokens', async () => {
    const token = await login(srv.url);
    const hash = createHash('sha256').update(token).digest('hex');
    expect(await srv.metadata.getSession(hash, srv.clock.now())).not.toBeNull();
    // The database files (main and WAL) hold the hash, never the token itself.
    const dir = dirname(srv.metadataUrl.replace(/^sqlite:/, ''));
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));
    expect(files.some((b) => b.includes(hash))).toBe(true);
    expect(files.some((b) => b.includes(token))).toBe(false);
  });
});
