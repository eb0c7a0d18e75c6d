/**
 * Overlapping uploads (docs/API.md "complete_upload"): when the client names no slot, the
 * slot a completion replaces is decided at completion — an empty slot, else the older
 * completed backup — so however uploads overlap, the two most recently completed backups
 * survive. On both stacks, through the real server.
 */
import { randomBytes } from 'node:crypto';
import type { BackupInfo, DownloadUrlResponse, UploadUrlResponse } from '@noah-backup/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupApi, getBytes, login, newKey, putBytes } from './helpers/client.ts';
import { type TestServer, fullCombos, startTestServer } from './helpers/server.ts';

type Api = ReturnType<typeof backupApi>;

describe.each(fullCombos)('overlapping uploads on $metadataKind + $blobKind', (combo) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(combo);
  });
  afterAll(() => srv?.close());

  const user = async () => backupApi(srv.url, await login(srv.url, newKey()));

  /** upload_url + PUT; the completion is left to the test. */
  async function staged(api: Api, size: number, version?: 1 | 2) {
    const r = await api<UploadUrlResponse>('upload_url', {
      backup_size: size,
      ...(version ? { backup_version: version } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const bytes = new Uint8Array(randomBytes(size));
    const put = await putBytes(r.body.upload_url, bytes, r.body.upload_headers);
    expect(put.status, put.text).toBe(200);
    return { up: r.body, bytes };
  }

  async function complete(api: Api, s: Awaited<ReturnType<typeof staged>>) {
    srv.clock.advance(1000);
    const r = await api<BackupInfo>('complete_upload', {
      s3_key: s.up.s3_key,
      backup_version: s.up.backup_version,
      backup_size: s.bytes.length,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  }

  /** The bytes of every listed backup, newest first. */
  async function contents(api: Api): Promise<Buffer[]> {
    const list = (await api<BackupInfo[]>('list')).body;
    const out: Buffer[] = [];
    for (const b of list) {
      const d = await api<DownloadUrlResponse>('download_url', {
        backup_version: b.backup_version,
      });
      const got = await getBytes(d.body.download_url);
      expect(got.status).toBe(200);
      out.push(Buffer.from(got.bytes));
    }
    return out;
  }

  it('URL X, then Y; complete Y, then X: both survive, the older backups go', async () => {
    const api = await user();
    const a = await staged(api, 100);
    await complete(api, a);
    const b = await staged(api, 110);
    await complete(api, b);
    const x = await staged(api, 120);
    const y = await staged(api, 130);
    await complete(api, y);
    await complete(api, x);
    expect(await contents(api)).toEqual([Buffer.from(x.bytes), Buffer.from(y.bytes)]);
  });

  it('from no backup at all: two overlapping uploads fill both slots', async () => {
    const api = await user();
    const x = await staged(api, 40);
    const y = await staged(api, 50);
    // Both were offered the empty slot 1 …
    expect([x.up.backup_version, y.up.backup_version]).toEqual([1, 1]);
    const yDone = await complete(api, y);
    const xDone = await complete(api, x);
    // … and the completions took one slot each.
    expect(new Set([xDone.backup_version, yDone.backup_version])).toEqual(new Set([1, 2]));
    expect(await contents(api)).toEqual([Buffer.from(x.bytes), Buffer.from(y.bytes)]);
    // A repeated completion answers the same backup (found in the slot it took).
    const again = await api<BackupInfo>('complete_upload', {
      s3_key: x.up.s3_key,
      backup_version: x.up.backup_version,
      backup_size: 40,
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(xDone);
  });

  it('concurrent completions of four overlapping uploads keep exactly two intact backups', async () => {
    const api = await user();
    const ups = [];
    for (const size of [60, 61, 62, 63]) ups.push(await staged(api, size));
    srv.clock.advance(1000);
    const results = await Promise.all(
      ups.map((s) =>
        api<BackupInfo>('complete_upload', {
          s3_key: s.up.s3_key,
          backup_version: s.up.backup_version,
          backup_size: s.bytes.length,
        }),
      ),
    );
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const list = (await api<BackupInfo[]>('list')).body;
    expect(list.map((b) => b.backup_version).sort()).toEqual([1, 2]);
    const got = await contents(api);
    const uploaded = ups.map((s) => Buffer.from(s.bytes));
    for (const g of got) expect(uploaded.some((u) => u.equals(g))).toBe(true);
  });

  it('a slot the client names is still the slot it gets', async () => {
    const api = await user();
    const keep = await staged(api, 70, 2);
    await complete(api, keep);
    const x = await staged(api, 71, 1);
    const y = await staged(api, 72, 1);
    expect((await complete(api, y)).backup_version).toBe(1);
    expect((await complete(api, x)).backup_version).toBe(1);
    expect(await contents(api)).toEqual([Buffer.from(x.bytes), Buffer.from(keep.bytes)]);
  });
});
