import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../src/api-client.ts';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { createSessionKeys, type SessionKeys } from '../src/keys.ts';
import { type BackupManager, createBackupManager } from '../src/manager.ts';
import { createFileSpooler } from '../src/node/spool.ts';
import { createFileStateStore } from '../src/node/state.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import { useBackupManager } from '../src/react.ts';
import type { ManagerSnapshot } from '../src/status.ts';
import { apiError, json, type LocalServer, startLocalServer } from './helpers/http.ts';

const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

let dir: string;
let server: LocalServer;
let keys: SessionKeys;

/** A server whose auth works, with no backups, and whose `upload_url` refuses: a failing run. */
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-react-'));
  let enabled = false;
  server = await startLocalServer((req, res) => {
    if (req.path === '/v0/getk1') return json(res, 200, { k1: 'ab'.repeat(32), tag: 'login' });
    if (req.path === '/v0/auth/login')
      return json(res, 200, {
        access_token: 't',
        token_type: 'Bearer',
        expires_at: '2100-01-01T00:00:00Z',
      });
    if (req.path === '/v0/backup/list') return json(res, 200, []);
    if (req.path === '/v0/backup/settings') {
      if (req.method === 'POST') enabled = JSON.parse(req.body.toString()).backup_enabled;
      return json(res, 200, { backup_enabled: enabled, last_backup_at: null });
    }
    return apiError(res, 400, 'bad_request');
  });
  keys = await createSessionKeys(MNEMONIC, server.url);
});
afterEach(async () => {
  keys.destroy();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function manager(statePath = join(dir, 'state.json')): BackupManager {
  return createBackupManager({
    api: createApiClient({ baseUrl: server.url, signer: keys.signer, retry: { maxAttempts: 1 } }),
    keys,
    wallet: createNodeWalletAdapter({ dataDir: join(dir, 'wallet') }),
    spooler: createFileSpooler(dir),
    state: createFileStateStore(statePath),
    clock: manualClock(Date.parse('2026-05-01T10:00:00Z')),
  });
}

function StatusCard({ m }: { m: BackupManager }) {
  const { status, isBackupEnabled, activity } = useBackupManager(m);
  return createElement(
    'p',
    null,
    `state=${status.state} last=${status.lastSuccessAt ?? 'never'} enabled=${String(isBackupEnabled)} activity=${activity ?? 'none'}`,
  );
}

/** Renders the hook's last verification. */
function Verified({ m }: { m: BackupManager }) {
  const { lastVerification: v } = useBackupManager(m);
  return createElement(
    'p',
    null,
    v ? `${v.status} slot=${v.backupVersion} at=${v.at} ${v.error?.code}` : 'none',
  );
}

describe('useBackupManager', () => {
  it('renders the persisted status and the enabled flag', async () => {
    const path = join(dir, 'state.json');
    await createFileStateStore(path).set(
      'backup_status',
      JSON.stringify({
        state: 'success',
        lastSuccessAt: '2026-04-30T03:00:00.000Z',
        lastAttemptAt: '2026-04-30T02:59:00.000Z',
        lastError: null,
      }),
    );
    const m = manager(path);
    await m.ready;
    expect(renderToString(createElement(StatusCard, { m }))).toContain(
      'state=success last=2026-04-30T03:00:00.000Z enabled=null activity=none',
    );
    await m.setBackupEnabled(true);
    expect(renderToString(createElement(StatusCard, { m }))).toContain('enabled=true');
  });

  it('renders the last verification a device kept (when, outcome, slot)', async () => {
    const path = join(dir, 'state.json');
    const verification = {
      at: '2026-04-30T03:01:00.000Z',
      status: 'failure',
      backupVersion: 2,
      backupCreatedAt: '2026-04-30T03:00:00.000Z',
      scope: 'share',
      packsRead: 3,
      packsTotal: 20,
      error: { code: 'decryption_failed', message: 'wrong seedphrase, or tampered' },
    };
    await createFileStateStore(path).set(
      'backup_status',
      JSON.stringify({
        state: 'success',
        lastSuccessAt: null,
        lastAttemptAt: null,
        lastError: null,
        lastVerification: verification,
      }),
    );
    const m = manager(path);
    await m.ready;
    expect(renderToString(createElement(Verified, { m }))).toContain(
      'failure slot=2 at=2026-04-30T03:01:00.000Z decryption_failed',
    );
    expect(m.getStatus().lastVerification).toEqual(verification);
  });

  it('publishes one immutable snapshot per change through subscribe/getSnapshot', async () => {
    const m = manager();
    await m.ready;
    const first = m.getSnapshot();
    expect(m.getSnapshot()).toBe(first); // stable while nothing changes
    const seen: ManagerSnapshot[] = [];
    const off = m.subscribe((s) => seen.push(s));
    await m.setBackupEnabled(true);
    expect(m.getSnapshot()).not.toBe(first);
    expect(m.getSnapshot().backupEnabled).toBe(true);
    expect(first.backupEnabled).toBeNull(); // old snapshots are never mutated
    off();
    const count = seen.length;
    await m.setBackupEnabled(false);
    expect(seen).toHaveLength(count);
    expect(m.getSnapshot().backupEnabled).toBe(false);
  });

  it('streams a run’s activity, progress and final status to subscribers', async () => {
    await createDemoWallet(join(dir, 'wallet'), { sizeMb: 1 });
    const m = manager();
    await m.ready;
    const seen: ManagerSnapshot[] = [];
    m.subscribe((s) => seen.push(s));
    await expect(m.triggerBackup()).rejects.toMatchObject({ code: 'bad_request' });
    expect(seen.some((s) => s.activity === 'backup' && s.status.state === 'in_progress')).toBe(
      true,
    );
    const phases = new Set(seen.map((s) => s.progress?.phase).filter(Boolean));
    expect([...phases]).toEqual(expect.arrayContaining(['snapshot', 'encrypt']));
    const last = seen.at(-1)!;
    expect(last.activity).toBeNull();
    expect(last.progress).toBeNull();
    expect(last.status).toMatchObject({
      state: 'failed',
      lastAttemptAt: '2026-05-01T10:00:00.000Z',
      lastSuccessAt: null,
      lastError: { code: 'bad_request' },
    });
    // Persisted: a new manager over the same state sees the failure.
    const again = manager();
    await again.ready;
    expect(again.getStatus()).toEqual(last.status);
  });
});
