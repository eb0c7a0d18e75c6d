/**
 * Incremental backups end to end (docs/FORMAT.md §8), the manager against the real
 * server on both stacks: the daily backup sends about the changed pages, either slot
 * restores the exact databases of its day, a restored device's next backup is
 * incremental, an unusable cache or another device's backup makes a full one.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import type { FetchFn } from '../src/http.ts';
import { type Device, deviceSuite, newMnemonic } from './helpers/device.ts';

const DAY = join(import.meta.dirname, 'fixtures', 'node-day.mjs');

/** A day of writes by another process. */
function day(dev: Device, n: number): void {
  execFileSync(process.execPath, [DAY, join(dev.walletDir, 'wallet.sqlite'), String(n)]);
}

/**
 * The live database as SQLite reads it, WAL included, page for page (page 1 too: a copy by
 * SQLite's backup API would rewrite its counters) up to its page count: its file and WAL
 * copied aside and checkpointed. What the backup's snapshot read in place.
 */
async function pages(dev: Device, dir: string): Promise<Buffer> {
  const src = join(dev.walletDir, 'wallet.sqlite');
  const out = join(dir, `copy-${Math.random().toString(16).slice(2)}.db`);
  await fsp.copyFile(src, out);
  await fsp.copyFile(`${src}-wal`, `${out}-wal`).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  const db = new Database(out);
  let size: number;
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    // SQLite's own size: a file may run past it (pages it no longer counts).
    size =
      Number(db.pragma('page_count', { simple: true })) *
      Number(db.pragma('page_size', { simple: true }));
  } finally {
    db.close();
  }
  return (await fsp.readFile(out)).subarray(0, size);
}

/** The objects a slot's backup references and its manifest size, from the server. */
async function objectsOf(dev: Device, version: 1 | 2) {
  const r = await dev.api.downloadUrls({ backup_version: version });
  return { manifest: r.backup_size, objects: new Map(r.objects.map((o) => [o.s3_key, o.size])) };
}

describe.each(fullCombos)('incremental backups on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'incremental', 64 * 2 ** 20);

  it('the second backup sends about the changed pages; either slot restores its day exactly', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 4, seed: 5 });
    const first = await a.manager.triggerBackup();
    expect(first).toMatchObject({
      status: 'completed',
      incremental: { incremental: false, fullReason: 'no_previous' },
    });
    const day1 = await pages(a, suite.root);
    suite.srv.clock.advance(60_000);
    a.clock.advance(60_000);
    day(a, 1);
    const second = await a.manager.triggerBackup();
    if (second.status !== 'completed') throw new Error('skipped');
    const stats = second.incremental!;
    expect(stats.incremental).toBe(true);
    expect(stats.changedPages).toBeGreaterThan(0);
    expect(stats.changedPages).toBeLessThan(stats.totalPages * 0.2);
    const day2 = await pages(a, suite.root);

    // What the second backup added on the server: its new objects and its manifest.
    const v1 = first.status === 'completed' ? first.backup.backup_version : 1;
    const old = await objectsOf(a, v1);
    const now = await objectsOf(a, second.backup.backup_version);
    let added = now.manifest;
    for (const [key, size] of now.objects) if (!old.objects.has(key)) added += size;
    expect(added).toBe(second.bytes);
    const full = [...old.objects.values()].reduce((n, s) => n + s, old.manifest);
    expect(added).toBeLessThan(full * 0.35);
    const list = await a.manager.listBackups();
    expect(list[0]).toMatchObject({ object_count: now.objects.size });

    // Rollback detection reads the manifest's sequence (docs/FORMAT.md §6.6).
    const seen = await suite.device(mnemonic);
    await seen.manager.restoreBackup();
    await expect(seen.manager.restoreBackup(v1)).rejects.toMatchObject({
      code: 'rollback_confirmation_required',
    });
    expect((await fsp.readFile(join(seen.walletDir, 'wallet.sqlite'))).equals(day2)).toBe(true);

    // Either slot, on a new device: the databases of that day, byte for byte.
    for (const [version, expected] of [
      [v1, day1],
      [second.backup.backup_version, day2],
    ] as const) {
      const b = await suite.device(mnemonic);
      await b.manager.restoreBackup(version, { confirmRollback: true });
      const restored = await fsp.readFile(join(b.walletDir, 'wallet.sqlite'));
      expect(restored.equals(expected)).toBe(true);
      await expect(b.manager.verifyBackup(version)).resolves.toMatchObject({ databases: 1 });
    }
  });

  it("a backup asks the server's settings once: the limit is passed down", async () => {
    let settings = 0;
    // Counts what the device asks; changes nothing.
    const counting: FetchFn = async (url, init) => {
      if (new URL(url).pathname === '/v0/backup/settings' && (init?.method ?? 'GET') === 'GET')
        settings++;
      return (await fetch(url, init as RequestInit)) as never;
    };
    const a = await suite.device(newMnemonic(), { fetch: counting });
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 6 });
    expect(await a.manager.triggerBackup()).toMatchObject({ incremental: { incremental: false } });
    expect(settings).toBe(1);
    suite.srv.clock.advance(60_000);
    a.clock.advance(60_000);
    day(a, 2);
    settings = 0;
    expect(await a.manager.triggerBackup()).toMatchObject({ incremental: { incremental: true } });
    expect(settings).toBe(1);
  });

  it('packs are sent while later ones are sealed: URLs in batches, PUTs between them', async () => {
    const seen: string[] = [];
    // Records what the device asks, in order; changes nothing.
    const recording: FetchFn = async (url, init) => {
      const path = new URL(url).pathname;
      if (path === '/v0/backup/upload_urls') seen.push('urls');
      else if (init?.method === 'PUT' && !path.startsWith('/v0/')) seen.push('put');
      return (await fetch(url, init as RequestInit)) as never;
    };
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic, { fetch: recording });
    await createDemoWallet(a.walletDir, { sizeMb: 14, seed: 8 });
    const good = await walletDigest(a.walletDir);
    const r = await a.manager.triggerBackup();
    if (r.status !== 'completed') throw new Error(`backup ${r.status}`);
    const packs = r.incremental?.packsSent ?? 0;
    expect(packs).toBeGreaterThanOrEqual(3);
    // 2 packs, then the rest: the first batch's PUTs start before the last URLs are asked.
    expect(seen.filter((x) => x === 'urls').length).toBeGreaterThanOrEqual(2);
    expect(seen.indexOf('put')).toBeLessThan(seen.lastIndexOf('urls'));
    // Every pack and the manifest were PUT, and the backup restores.
    expect(seen.filter((x) => x === 'put').length).toBe(packs + 1);
    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(good);
  });

  it("a restored device's next backup names the restored manifest as its base", async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 4 });
    await a.manager.triggerBackup();
    let restoredKey: string | undefined;
    const bases: (string | undefined)[] = [];
    // Reads what the device sends and hears; changes nothing.
    const watching: FetchFn = async (url, init) => {
      const path = new URL(url).pathname;
      if (path === '/v0/backup/complete_upload')
        bases.push((JSON.parse(String(init?.body)) as { base?: string }).base);
      const res = await fetch(url, init as RequestInit);
      if (path === '/v0/backup/download_urls' && res.ok)
        restoredKey = ((await res.clone().json()) as { s3_key: string }).s3_key;
      return res as never;
    };
    // No scheduled verification: its download_urls would name the new backup.
    const b = await suite.device(mnemonic, { fetch: watching, verifyEveryMs: 0 });
    await b.manager.restoreBackup();
    expect(restoredKey).toMatch(/^b\//);
    suite.srv.clock.advance(60_000);
    b.clock.advance(60_000);
    day(b, 2);
    expect(await b.manager.triggerBackup()).toMatchObject({ incremental: { incremental: true } });
    // The compare-and-swap on what the slot held (docs/FORMAT.md §8.8).
    expect(bases).toEqual([restoredKey]);
  });

  it('a restored device backs up incrementally; a lost or foreign cache means a full backup', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 2, seed: 9 });
    await a.manager.triggerBackup();
    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    suite.srv.clock.advance(60_000);
    b.clock.advance(60_000);
    day(b, 2);
    const next = await b.manager.triggerBackup();
    expect(next).toMatchObject({ status: 'completed', incremental: { incremental: true } });

    // Tampered: one byte flipped.
    const cacheFile = join(b.walletDir, '..', 'state.cache');
    const sealed = await fsp.readFile(cacheFile);
    sealed[sealed.length - 5]! ^= 1;
    await fsp.writeFile(cacheFile, sealed);
    day(b, 3);
    suite.srv.clock.advance(60_000);
    const tampered = await b.manager.triggerBackup();
    expect(tampered).toMatchObject({
      incremental: { incremental: false, fullReason: 'no_previous' },
    });
    // Another seedphrase's cache: does not open.
    const other = await suite.device(newMnemonic());
    await createDemoWallet(other.walletDir, { sizeMb: 1, seed: 3 });
    await other.manager.triggerBackup();
    await fsp.copyFile(join(other.walletDir, '..', 'state.cache'), cacheFile);
    suite.srv.clock.advance(60_000);
    const foreign = await b.manager.triggerBackup();
    expect(foreign).toMatchObject({ incremental: { incremental: false } });
    // Missing.
    await fsp.rm(cacheFile);
    suite.srv.clock.advance(60_000);
    const missing = await b.manager.triggerBackup();
    expect(missing).toMatchObject({ incremental: { incremental: false } });
    const expected = await pages(b, suite.root);
    const c = await suite.device(mnemonic);
    await c.manager.restoreBackup();
    expect((await fsp.readFile(join(c.walletDir, 'wallet.sqlite'))).equals(expected)).toBe(true);
  });

  it('a cache whose backup another device replaced means a full backup, which says so', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 12 });
    await a.manager.triggerBackup();
    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    for (const n of [1, 2]) {
      suite.srv.clock.advance(60_000);
      day(b, n);
      await b.manager.triggerBackup();
    }
    suite.srv.clock.advance(60_000);
    day(a, 3);
    const r = await a.manager.triggerBackup();
    expect(r).toMatchObject({ incremental: { incremental: false, fullReason: 'replaced' } });
    const expected = await pages(a, suite.root);
    const c = await suite.device(mnemonic);
    // Device a continued its own sequence, below b's: a yes is needed (FORMAT.md §6.6).
    await c.manager.restoreBackup(undefined, { confirmRollback: true });
    expect((await fsp.readFile(join(c.walletDir, 'wallet.sqlite'))).equals(expected)).toBe(true);
  });
});
