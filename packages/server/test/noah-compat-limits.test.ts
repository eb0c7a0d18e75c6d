/**
 * The Noah profile's bounds (docs/API.md "Noah compatibility"): off by default, the
 * server's own clients unchanged beside it, and the limits of the server's own API —
 * per-user rate limit, pending-upload quota, ROLLOUT, the per-address limit of uploads —
 * applying to Noah's app too.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient } from '@noah-backup/client/api-client';
import { createSessionKeys } from '@noah-backup/client/keys';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { describe, expect, it } from 'vitest';
import type { ServerConfig } from '../src/config.ts';
import { NoahApp } from './helpers/noah-app.ts';
import { expoToken } from './helpers/push.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const SECRET = 'noah-compat-test-secret-0123456789abcdef';
const noahCompat = { jwtSecret: SECRET, tokenTtlSec: 72 * 3600 };

/** Runs `fn` against a fresh SQLite + fs server with the profile and `config`. */
async function withServer(
  config: Partial<ServerConfig>,
  fn: (srv: TestServer, root: string) => Promise<void>,
  blobKind: 'fs' | 's3' = 'fs',
): Promise<void> {
  const srv = await startTestServer({ metadataKind: 'sqlite', blobKind, config });
  const root = await mkdtemp(join(tmpdir(), 'noah-compat-limits-'));
  try {
    await fn(srv, root);
  } finally {
    await srv.close();
    await rm(root, { recursive: true, force: true });
  }
}

const put = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
    body,
  });

describe('the profile and the server’s own API', () => {
  it('without NOAH_COMPAT, Noah’s login and routes are refused as before', async () => {
    const srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
    const root = await mkdtemp(join(tmpdir(), 'noah-compat-off-'));
    try {
      const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
      await expect(app.login()).rejects.toThrow(/HTTP 401: .*invalid_signature/);
      const r = await app.http('POST', '/register_push_token', { push_token: expoToken() });
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'not_found' });
    } finally {
      await srv.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('with NOAH_COMPAT, the server’s own clients still use the same paths unchanged', async () => {
    const srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: { noahCompat: { jwtSecret: SECRET, tokenTtlSec: 72 * 3600 } },
    });
    const keys = await createSessionKeys(generateMnemonic(wordlist), srv.url);
    try {
      const api = createApiClient({ baseUrl: srv.url, signer: keys.signer, sleep: async () => {} });
      expect(await api.list()).toEqual([]);
      const res = await fetch(`${srv.url}/v0/backup/upload_url`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer abc' },
        body: JSON.stringify({ backup_version: 1 }),
      });
      // Not a JWT: the server's own route answers, in its own envelope.
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'unauthorized' });
    } finally {
      keys.destroy();
      await srv.close();
    }
  });
});

describe('limits under the profile', () => {
  it('rate limits Noah’s routes per user, in its envelope', async () => {
    const srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: {
        noahCompat: { jwtSecret: SECRET, tokenTtlSec: 72 * 3600 },
        rateLimit: {
          authPerMinute: 100,
          userPerMinute: 3,
          blobPerMinute: 100,
          badTokenPerMinute: 100,
        },
      },
    });
    const root = await mkdtemp(join(tmpdir(), 'noah-compat-limit-'));
    try {
      const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
      for (let i = 0; i < 3; i++) await app.listBackups();
      await expect(app.listBackups()).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    } finally {
      await srv.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('counts relayed uploads against each client’s address, not the server’s', async () => {
    const srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: {
        noahCompat: { jwtSecret: SECRET, tokenTtlSec: 72 * 3600 },
        trustProxy: true,
        rateLimit: {
          authPerMinute: 100,
          userPerMinute: 100,
          blobPerMinute: 2,
          badTokenPerMinute: 100,
        },
      },
    });
    const root = await mkdtemp(join(tmpdir(), 'noah-compat-relay-'));
    try {
      for (let i = 0; i < 3; i++) {
        const app = new NoahApp(srv.url, generateMnemonic(wordlist), join(root, String(i)));
        const { upload_url } = await app.post<{ upload_url: string }>('/backup/upload_url', {
          backup_version: 1,
        });
        const put = await fetch(upload_url, {
          method: 'PUT',
          headers: {
            'Content-Type': 'application/octet-stream',
            'X-Forwarded-For': `203.0.113.${i}`,
          },
          body: 'QUJD',
        });
        expect(put.status).toBe(200);
      }
    } finally {
      await srv.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('quota and rollout under the profile', () => {
  it('counts relayed uploads against the pending-upload quota', async () => {
    await withServer({ noahCompat, maxPendingUploads: 1 }, async (srv, root) => {
      const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
      const a = await app.post<{ upload_url: string }>('/backup/upload_url', { backup_version: 1 });
      const b = await app.post<{ upload_url: string }>('/backup/upload_url', { backup_version: 1 });
      expect((await put(a.upload_url, 'QUJD')).status).toBe(200);
      // The first is not completed yet: no room for a second.
      const r = await put(b.upload_url, 'QUJD');
      expect(r.status).toBe(429);
      expect(await r.json()).toMatchObject({ code: 'quota_exceeded' });
    });
  });

  it('refuses new uploads when ROLLOUT is off, in Noah’s envelope', async () => {
    await withServer({ noahCompat, rollout: { mode: 'off' } }, async (srv, root) => {
      const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
      await expect(app.post('/backup/upload_url', { backup_version: 1 })).rejects.toMatchObject({
        status: 403,
        code: 'BACKUPS_NOT_ENABLED',
      });
      expect(await app.listBackups()).toEqual([]);
    });
  });
});

describe.each(['fs', 's3'] as const)('a relayed PUT cut short (%s)', (blobKind) => {
  it('stores nothing and gives its pending upload back', async () => {
    await withServer(
      { noahCompat, maxPendingUploads: 1 },
      async (srv, root) => {
        const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
        const { upload_url, s3_key } = await app.post<{ upload_url: string; s3_key: string }>(
          '/backup/upload_url',
          { backup_version: 1 },
        );
        await new Promise<void>((resolve) => {
          const req = request(upload_url, {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream', 'content-length': '4000' },
          });
          req.on('error', () => resolve());
          req.write('A'.repeat(1000), () => setTimeout(() => req.destroy(), 200));
          req.on('close', () => resolve());
        });
        const user = (
          await srv.metadata.upsertUser(
            JSON.parse(Buffer.from(app.token!.split('.')[1]!, 'base64url').toString()).sub,
            srv.clock.now(),
          )
        ).id;
        // The relay gives the upload back once the store's PUT fails.
        for (let i = 0; i < 50; i++) {
          const mine = await srv.metadata.findUserObjects(user, [s3_key]);
          if (mine.pending.length === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(await srv.metadata.findUserObjects(user, [s3_key])).toEqual({
          pending: [],
          referenced: [],
        });
        const head = await srv.blobs.head(s3_key);
        expect(head === null || head.size === 0).toBe(true);
        // The client's doing, not a server fault: no error line (operators alert on those).
        expect(srv.logs.filter((l) => l.includes('"level":50'))).toEqual([]);
        // The quota slot is free again: a whole backup goes through.
        const again = new NoahApp(srv.url, app.mnemonic, join(root, 'd'));
        await mkdir(again.dataDir, { recursive: true });
        await writeFile(join(again.dataDir, 'db.sqlite'), 'SQLite format 3\0');
        await again.performBackup();
        expect(await again.listBackups()).toHaveLength(1);
      },
      blobKind,
    );
  });
});

describe('the app’s failure report', () => {
  it('keeps the upload URL’s signature out of the logs when the app quotes it', async () => {
    await withServer({ noahCompat, maxBackupSize: 4096 }, async (srv, root) => {
      const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
      await mkdir(app.dataDir, { recursive: true });
      await writeFile(join(app.dataDir, 'db.sqlite'), randomBytes(8192));
      // The trigger's backup fails at the PUT (too large); the app reports ky's message,
      // which quotes the upload URL.
      const k1 = 'n'.repeat(32);
      await app.onBackgroundNotification({
        data: {
          body: JSON.stringify({ notification_type: 'backup_trigger', notification_k1: k1 }),
        },
      });
      const report = app.reports[0] as { status: string; error_message: string };
      expect(report.status).toBe('failure');
      const quoted = /PUT (\S+)/.exec(report.error_message)?.[1];
      expect(quoted).toContain('/v0/noah/upload?');
      const mac = [...new URL(quoted!).searchParams.values()].filter((v) => v.length >= 40);
      expect(mac).toHaveLength(1);
      const logs = srv.logs.join('\n');
      expect(logs).toContain('client report');
      expect(logs).not.toContain(mac[0]);
    });
  });
});

describe('a deleted wallet', () => {
  it('has its push token removed, so no trigger wakes the phone any more', async () => {
    await withServer({ noahCompat }, async (srv, root) => {
      const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
      expect(await app.registerPushToken(expoToken())).toEqual({ success: true });
      const sub = JSON.parse(Buffer.from(app.token!.split('.')[1]!, 'base64url').toString()).sub;
      const user = await srv.metadata.upsertUser(sub, srv.clock.now());
      // A token of this user under another device id (as Noah's server kept them, one
      // per user, whatever brought it here): Noah's deregister drops every one.
      await srv.metadata.registerDevice({
        userId: user.id,
        deviceId: 'imported',
        provider: 'expo',
        address: expoToken(),
        now: srv.clock.now(),
        maxDevices: 10,
      });
      expect(await srv.metadata.listDevices(user.id)).toHaveLength(2);
      // useDeleteWallet: deregister first, then the wallet's files go.
      expect(await app.deregister()).toEqual({ success: true });
      expect(await srv.metadata.listDevices(user.id)).toEqual([]);
    });
  });
});

describe('a store that refuses an upload once', () => {
  it('lets the app’s own retry of the PUT (ky’s default) store the backup', async () => {
    await withServer(
      { noahCompat },
      async (srv, root) => {
        const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
        await mkdir(app.dataDir, { recursive: true });
        await writeFile(join(app.dataDir, 'db.sqlite'), 'SQLite format 3\0');
        srv.blob.s3!.faults.slowDownUploads = 1;
        await app.performBackup();
        expect(srv.blob.s3!.rejections).toContainEqual(expect.objectContaining({ status: 503 }));
        expect(await app.listBackups()).toHaveLength(1);
      },
      's3',
    );
  });
});

describe('two PUTs at once to one upload URL', () => {
  it('stores one and refuses the other with 409, not a server error', async () => {
    await withServer({ noahCompat }, async (srv, root) => {
      const app = new NoahApp(srv.url, generateMnemonic(wordlist), root);
      // Ten tries: the two requests check the key at the same moment in most of them.
      for (let i = 0; i < 10; i++) {
        const { upload_url, s3_key } = await app.post<{ upload_url: string; s3_key: string }>(
          '/backup/upload_url',
          { backup_version: 1 },
        );
        const both = await Promise.all([put(upload_url, 'QUJD'), put(upload_url, 'QUJD')]);
        expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
        await app.post('/backup/complete_upload', { s3_key, backup_version: 1, backup_size: 4 });
      }
      expect(srv.logs.filter((l) => l.includes('"level":50'))).toEqual([]);
    });
  });
});
