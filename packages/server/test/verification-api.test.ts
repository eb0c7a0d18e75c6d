/**
 * Verifications through the API (docs/API.md "Verification"): a client's `verify`
 * report naming a slot and its backup's `created_at` is recorded on that slot; `list`
 * and the settings return it; a report of a backup the slot no longer holds records
 * nothing; once the slot holds another backup, or none, the verification is gone.
 * Both metadata stores.
 */
import { randomBytes } from 'node:crypto';
import type {
  BackupInfo,
  BackupVersion,
  SettingsResponse,
  UploadUrlResponse,
} from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, login, putBytes } from './helpers/client.ts';
import { fullCombos, type TestServer, startTestServer } from './helpers/server.ts';

describe.each(fullCombos)('verifications through the API ($metadataKind, $blobKind)', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  async function session() {
    const api = backupApi(srv.url, await login(srv.url));
    const backup = async (version: BackupVersion): Promise<BackupInfo> => {
      const up = (
        await api<UploadUrlResponse>('upload_url', { backup_size: 64, backup_version: version })
      ).body;
      await putBytes(up.upload_url, new Uint8Array(randomBytes(64)), up.upload_headers);
      srv.clock.advance(1000);
      const done = await api<BackupInfo>('complete_upload', {
        s3_key: up.s3_key,
        backup_version: version,
        backup_size: 64,
      });
      expect(done.status).toBe(200);
      return done.body;
    };
    const report = (b: BackupInfo, status: 'success' | 'failure', error?: string) =>
      api('report', {
        kind: 'verify',
        status,
        backup_version: b.backup_version,
        backup_created_at: b.created_at,
        ...(error === undefined ? {} : { error }),
      });
    const list = async () => (await api<BackupInfo[]>('list', {})).body;
    const settings = async () => (await api<SettingsResponse>('settings', undefined, 'GET')).body;
    return { api, backup, report, list, settings };
  }

  it('list and settings return the verification a report recorded', async () => {
    const s = await session();
    const b = await s.backup(1);
    expect(b.verification).toBeNull();
    expect((await s.list())[0]?.verification).toBeNull();
    expect((await s.settings()).last_verification).toBeNull();
    srv.clock.advance(60_000);
    const r = await s.report(b, 'success');
    expect(r.status).toBe(200);
    const verifiedAt = srv.clock.now().toISOString();
    expect((await s.list())[0]?.verification).toEqual({
      verified_at: verifiedAt,
      status: 'success',
      error: null,
    });
    expect((await s.settings()).last_verification).toEqual({
      backup_version: 1,
      backup_created_at: b.created_at,
      verified_at: verifiedAt,
      status: 'success',
      error: null,
    });
  });

  it('a failed verification is kept with its code; the newest of the slots is in the settings', async () => {
    const s = await session();
    const one = await s.backup(1);
    const two = await s.backup(2);
    await s.report(two, 'success');
    srv.clock.advance(1000);
    await s.report(one, 'failure', 'integrity_error');
    const [newest, older] = await s.list();
    expect(newest?.verification?.status).toBe('success');
    expect(older?.verification).toMatchObject({ status: 'failure', error: 'integrity_error' });
    expect((await s.settings()).last_verification).toMatchObject({
      backup_version: 1,
      status: 'failure',
      error: 'integrity_error',
    });
    // A failure without a code is kept as one, with none.
    await s.report(two, 'failure');
    expect((await s.list())[0]?.verification).toMatchObject({ status: 'failure', error: null });
  });

  it('a report of a backup the slot no longer holds records nothing; a new backup voids it', async () => {
    const s = await session();
    const first = await s.backup(1);
    await s.report(first, 'success');
    const second = await s.backup(1);
    expect((await s.list())[0]?.verification).toBeNull();
    expect((await s.settings()).last_verification).toBeNull();
    // Late: the device verified the backup just replaced.
    expect((await s.report(first, 'success')).status).toBe(200);
    expect((await s.list())[0]?.verification).toBeNull();
    await s.report(second, 'success');
    expect((await s.list())[0]?.verification?.status).toBe('success');
    expect((await s.api('delete', { backup_version: 1 })).status).toBe(200);
    expect((await s.settings()).last_verification).toBeNull();
  });

  it('a verify report without a slot is counted but records nothing; a bad time is refused', async () => {
    const s = await session();
    const b = await s.backup(2);
    expect((await s.api('report', { kind: 'verify', status: 'success' })).status).toBe(200);
    expect((await s.list())[0]?.verification).toBeNull();
    const bad = await s.api('report', {
      kind: 'verify',
      status: 'success',
      backup_version: 2,
      backup_created_at: 'yesterday',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'bad_request' });
    expect((await s.list())[0]?.verification).toBeNull();
    expect(b.backup_version).toBe(2);
  });
});
