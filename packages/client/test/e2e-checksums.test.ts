/**
 * Checksums of uploaded objects (docs/API.md "Checksums"), the manager against the real
 * server on both stacks: every object a backup stores (packs, manifest, a one-object
 * backup) is recorded with the SHA-256 the client named, which is its stored bytes'; a
 * pack body altered on the way is refused by the store, the backup fails and both
 * previous backups stand and restore.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import type { FetchFn } from '../src/http.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { type Device, deviceSuite, newMnemonic } from './helpers/device.ts';

const DAY = join(import.meta.dirname, 'fixtures', 'node-day.mjs');

function day(dev: Device, n: number): void {
  execFileSync(process.execPath, [DAY, join(dev.walletDir, 'wallet.sqlite'), String(n)]);
}

/**
 * A network that records the `sha256` values the device names when it asks for upload
 * URLs, and, while `tamper` is on, flips one byte of every PUT body (same size).
 */
function network() {
  const named = new Set<string>();
  const net = {
    named,
    tamper: false,
    tampered: 0,
    fetch: (async (url, init) => {
      const path = new URL(url).pathname;
      if (path === '/v0/backup/upload_url' || path === '/v0/backup/upload_urls') {
        const body = JSON.parse(String(init?.body)) as {
          sha256?: string;
          objects?: { sha256?: string }[];
        };
        for (const s of [body.sha256, ...(body.objects ?? []).map((o) => o.sha256)])
          if (s) named.add(s);
      }
      if (init?.method === 'PUT' && net.tamper) {
        const bytes = new Uint8Array(await new Response(init.body as BodyInit).arrayBuffer());
        bytes[bytes.length >> 1]! ^= 0x01;
        net.tampered++;
        const { duplex: _, ...rest } = init;
        return (await fetch(url, { ...(rest as RequestInit), body: bytes })) as never;
      }
      return (await fetch(url, init as RequestInit)) as never;
    }) as FetchFn,
  };
  return net;
}

describe.each(fullCombos)('checksums on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'checksums', 64 * 2 ** 20);

  /** Every object of the account's backups: the client named its recorded checksum, its bytes have it. */
  async function checkRecorded(dev: Device, named: Set<string>) {
    const keys: string[] = [];
    for (const b of await dev.manager.listBackups()) {
      const r = await dev.api.downloadUrls({ backup_version: b.backup_version });
      if (!r.s3_key) throw new Error('the server named no slot object');
      keys.push(r.s3_key, ...r.objects.map((o) => o.s3_key));
    }
    const rows = await suite.srv.metadata.getObjectChecksums(keys);
    expect(rows.map((r) => r.objectKey).sort()).toEqual([...new Set(keys)].sort());
    for (const row of rows) {
      expect(row.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(named.has(row.sha256!)).toBe(true);
      expect((await suite.srv.blobs.digest(row.objectKey))?.sha256).toBe(row.sha256);
    }
    return rows.length;
  }

  it('incremental: every stored object has the checksum the client named; an altered pack is refused', async () => {
    const mnemonic = newMnemonic();
    const net = network();
    const a = await suite.device(mnemonic, { fetch: net.fetch });
    await createDemoWallet(a.walletDir, { sizeMb: 2, seed: 23 });
    await a.manager.triggerBackup();
    const first = await walletDigest(a.walletDir);
    suite.srv.clock.advance(60_000);
    a.clock.advance(60_000);
    day(a, 1);
    expect(await a.manager.triggerBackup()).toMatchObject({ incremental: { incremental: true } });
    const second = await walletDigest(a.walletDir);
    const list = await a.manager.listBackups();
    expect(list).toHaveLength(2);
    // Two manifests and at least one pack each.
    expect(await checkRecorded(a, net.named)).toBeGreaterThanOrEqual(4);

    suite.srv.clock.advance(60_000);
    a.clock.advance(60_000);
    day(a, 2);
    net.tamper = true;
    await expect(a.manager.triggerBackup()).rejects.toMatchObject({ status: 400 });
    net.tamper = false;
    expect(net.tampered).toBeGreaterThan(0);
    // Nothing changed: both backups stand as they were and restore to their days.
    expect(await a.manager.listBackups()).toEqual(list);
    const digests = new Map([
      [list[1]!.backup_version, first],
      [list[0]!.backup_version, second],
    ]);
    for (const { backup_version } of list) {
      const b = await suite.device(mnemonic);
      await b.manager.restoreBackup(backup_version, { confirmRollback: true });
      expect(await walletDigest(b.walletDir)).toBe(digests.get(backup_version));
    }
    // The next backup, unaltered, goes through.
    expect((await a.manager.triggerBackup()).status).toBe('completed');
    await checkRecorded(a, net.named);
  });

  it('one object: the stored backup has the checksum the client named; an altered body is refused', async () => {
    const mnemonic = newMnemonic();
    const net = network();
    const a = await suite.device(mnemonic, { fetch: net.fetch, incremental: false });
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 29 });
    await a.manager.triggerBackup();
    expect(await checkRecorded(a, net.named)).toBe(1);
    const list = await a.manager.listBackups();
    suite.srv.clock.advance(60_000);
    a.clock.advance(60_000);
    net.tamper = true;
    await expect(a.manager.triggerBackup()).rejects.toMatchObject({ status: 400 });
    net.tamper = false;
    expect(await a.manager.listBackups()).toEqual(list);
  });
});
