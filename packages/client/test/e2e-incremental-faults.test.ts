/**
 * Faults of incremental backups (docs/FORMAT.md §8), the manager against the real server
 * on both stacks: a network failure at every step of a backup (packs uploaded, manifest
 * not; manifest uploaded, completion not; completion committed, its answer and the cache
 * lost) and in the middle of a restore leaves both previous backups restorable and the
 * next backup succeeding; a damaged or lost pack is refused with the wallet untouched;
 * two devices on one seedphrase: the second's completion meets `base_changed` and it
 * makes a full backup, both restorable; a one-object client works beside them.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DecryptionError } from '@noah-backup/core/errors';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import type { FetchFn } from '../src/http.ts';
import { fullCombos, putRawObject } from '../../server/test/helpers/server.ts';
import { type Device, deviceSuite, newMnemonic } from './helpers/device.ts';

const DAY = join(import.meta.dirname, 'fixtures', 'node-day.mjs');

function day(dev: Device, n: number): void {
  execFileSync(process.execPath, [DAY, join(dev.walletDir, 'wallet.sqlite'), String(n)]);
}

/** A network that fails every request `when` says, as a dropped connection does. */
function faulty() {
  let when: ((url: string, init?: Parameters<FetchFn>[1]) => 'before' | 'after' | null) | null =
    null;
  const fetchFn: FetchFn = async (url, init) => {
    const at = when?.(url, init) ?? null;
    if (at === 'before') throw new TypeError('fetch failed');
    const res = await (globalThis.fetch as unknown as FetchFn)(url, init);
    if (at === 'after') {
      await res.arrayBuffer?.().catch(() => {});
      throw new TypeError('fetch failed');
    }
    return res;
  };
  return {
    fetch: fetchFn,
    fail(rule: typeof when) {
      when = rule;
    },
  };
}

const route = (name: string) => (url: string) => new URL(url).pathname === `/v0/backup/${name}`;
const isPut = (_url: string, init?: Parameters<FetchFn>[1]) => init?.method === 'PUT';

describe.each(fullCombos)('incremental faults on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'inc-faults', 64 * 2 ** 20);

  /** A device with two completed backups (full, then incremental) and their digests. */
  async function twoBackups(mnemonic: string, net: ReturnType<typeof faulty>) {
    const a = await suite.device(mnemonic, { fetch: net.fetch });
    await createDemoWallet(a.walletDir, { sizeMb: 2, seed: 17 });
    await a.manager.triggerBackup();
    const first = await walletDigest(a.walletDir);
    suite.srv.clock.advance(60_000);
    day(a, 1);
    await a.manager.triggerBackup();
    const second = await walletDigest(a.walletDir);
    const list = await a.manager.listBackups();
    expect(list.map((b) => b.object_count! > 0)).toEqual([true, true]);
    return {
      a,
      list,
      digests: new Map([
        [list[1]!.backup_version, first],
        [list[0]!.backup_version, second],
      ]),
    };
  }

  /** Both listed backups restore on a new device, each to its own day. */
  async function bothRestore(
    mnemonic: string,
    list: { backup_version: 1 | 2 }[],
    digests: Map<number, string>,
  ) {
    for (const { backup_version } of list) {
      const b = await suite.device(mnemonic);
      await b.manager.restoreBackup(backup_version, { confirmRollback: true });
      expect(await walletDigest(b.walletDir)).toBe(digests.get(backup_version));
    }
  }

  const steps: [
    string,
    (url: string, init?: Parameters<FetchFn>[1]) => 'before' | 'after' | null,
  ][] = [
    ['packs uploaded, the manifest not', (u) => (route('upload_url')(u) ? 'before' : null)],
    ['a pack PUT fails midway', (u, i) => (isPut(u, i) ? 'before' : null)],
    [
      'the manifest uploaded, the completion not',
      (u) => (route('complete_upload')(u) ? 'before' : null),
    ],
    [
      'the completion committed, its answer and the cache lost',
      (u) => (route('complete_upload')(u) ? 'after' : null),
    ],
  ];

  it.each(steps)('%s: both backups restore, the next backup succeeds', async (_name, rule) => {
    const mnemonic = newMnemonic();
    const net = faulty();
    const g = await twoBackups(mnemonic, net);
    suite.srv.clock.advance(60_000);
    day(g.a, 2);
    net.fail(rule);
    await expect(g.a.manager.triggerBackup()).rejects.toMatchObject({ code: 'network_error' });
    net.fail(null);
    const now = await g.a.manager.listBackups();
    if (now[0]!.created_at === g.list[0]!.created_at) {
      expect(now).toEqual(g.list); // nothing committed: both stand as they were
      await bothRestore(mnemonic, g.list, g.digests);
    } else {
      // Committed (only its answer was lost): the newer backup of the two stands too.
      expect(now[1]).toEqual(g.list[0]);
      const digests = new Map(g.digests);
      digests.set(now[0]!.backup_version, await walletDigest(g.a.walletDir));
      await bothRestore(mnemonic, now, digests);
    }
    suite.srv.clock.advance(60_000);
    day(g.a, 3);
    const next = await g.a.manager.triggerBackup();
    expect(next.status).toBe('completed');
    const latest = await suite.device(mnemonic);
    await latest.manager.restoreBackup();
    expect(await walletDigest(latest.walletDir)).toBe(await walletDigest(g.a.walletDir));
  });

  it('a restore cut off mid-way changes nothing; the next attempt restores', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic, faulty());
    const net = faulty();
    const b = await suite.device(mnemonic, { fetch: net.fetch });
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 99 });
    const before = await walletDigest(b.walletDir);
    let gets = 0;
    // Every object GET after the manifest's first pack fails, retries included.
    net.fail((u, i) =>
      (i?.method === 'GET' || i?.method === undefined) && !u.includes('/v0/') && ++gets > 2
        ? 'before'
        : null,
    );
    await expect(b.manager.restoreBackup()).rejects.toMatchObject({ code: 'network_error' });
    expect(await walletDigest(b.walletDir)).toBe(before);
    net.fail(null);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(g.digests.get(g.list[0]!.backup_version));
  });

  it('a pack whose URL expired during the restore is fetched with a fresh one', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic, faulty());
    const seen: string[] = [];
    let cut = false;
    let blobs = 0;
    // A large pack's connection drops after 64 KiB, and the URLs' lifetime passes.
    const cutting: FetchFn = async (url, init) => {
      const path = new URL(url).pathname;
      const res = (await fetch(url, init as RequestInit)) as Response;
      const blob = !path.startsWith('/v0/');
      seen.push(blob ? `blob ${res.status}` : path);
      const size = Number(res.headers.get('content-length'));
      // The manifest is first; then the largest pack (the first backup's) is cut.
      if (!blob || cut || !res.ok || ++blobs < 2 || !(size > 256 * 1024)) return res as never;
      cut = true;
      return cutAfter(res, 64 * 1024, () => {
        suite.srv.clock.advance(suite.srv.config.downloadUrlTtlSec * 1000 + 1000);
      }) as never;
    };
    const b = await suite.device(mnemonic, { fetch: cutting });
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(g.digests.get(g.list[0]!.backup_version));
    expect(cut).toBe(true);
    expect(seen).toContain('blob 403'); // the expired URL, refused
    expect(seen.filter((s) => s === '/v0/backup/download_urls').length).toBeGreaterThanOrEqual(2);
  });

  it('a damaged or lost pack is refused; the wallet is untouched', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic, faulty());
    const { objects } = await g.a.api.downloadUrls();
    const pack = objects[0]!;
    const bytes = new Uint8Array(await (await fetch(pack.download_url)).arrayBuffer());
    const b = await suite.device(mnemonic);
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 98 });
    const before = await walletDigest(b.walletDir);
    const flipped = bytes.slice();
    flipped[Math.floor(flipped.length / 2)]! ^= 1;
    await putRawObject(suite.srv, pack.s3_key, flipped);
    await expect(b.manager.restoreBackup()).rejects.toBeInstanceOf(DecryptionError);
    await expect(b.manager.verifyBackup()).rejects.toBeInstanceOf(DecryptionError);
    expect(await walletDigest(b.walletDir)).toBe(before);
    await suite.srv.blobs.delete(pack.s3_key);
    await expect(b.manager.restoreBackup()).rejects.toMatchObject({ code: 'backup_not_found' });
    expect(await walletDigest(b.walletDir)).toBe(before);
  });

  it('two devices on one seedphrase: base_changed, a full backup, both restorable', async () => {
    const mnemonic = newMnemonic();
    let meanwhile: (() => Promise<void>) | null = null;
    const completions: number[] = [];
    // Device a's network: just before its completion, the other phone backs up twice.
    const racing: FetchFn = async (url, init) => {
      if (route('complete_upload')(url) && meanwhile) {
        const run = meanwhile;
        meanwhile = null;
        await run();
      }
      const res = await (globalThis.fetch as unknown as FetchFn)(url, init);
      if (route('complete_upload')(url)) completions.push(res.status);
      return res;
    };
    const a = await suite.device(mnemonic, { fetch: racing });
    await createDemoWallet(a.walletDir, { sizeMb: 2, seed: 17 });
    await a.manager.triggerBackup();
    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    suite.srv.clock.advance(60_000);
    day(a, 7);
    meanwhile = async () => {
      for (const n of [5, 6]) {
        suite.srv.clock.advance(60_000);
        day(b, n);
        await b.manager.triggerBackup();
      }
    };
    completions.length = 0;
    const r = await a.manager.triggerBackup();
    // The incremental completion met base_changed; the redo was a full backup.
    expect(completions).toEqual([409, 200]);
    expect(r).toMatchObject({
      status: 'completed',
      incremental: { incremental: false, fullReason: 'base_changed' },
    });
    const list = await a.manager.listBackups();
    await bothRestore(
      mnemonic,
      list,
      new Map([
        [list[0]!.backup_version, await walletDigest(a.walletDir)],
        [list[1]!.backup_version, await walletDigest(b.walletDir)],
      ]),
    );
  });

  it('a server without upload_urls gets one-object backups, which restore', async () => {
    const mnemonic = newMnemonic();
    // An older server: the incremental routes are unknown to it (404 not_found).
    const older: FetchFn = async (url, init) => {
      const path = new URL(url).pathname;
      if (path === '/v0/backup/upload_urls' || path === '/v0/backup/download_urls')
        return new Response(JSON.stringify({ code: 'not_found', message: 'Route not found' }), {
          status: 404,
          headers: { 'content-type': 'application/json' },
        }) as never;
      return (await fetch(url, init as RequestInit)) as never;
    };
    const a = await suite.device(mnemonic, { fetch: older });
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 4 });
    const r = await a.manager.triggerBackup();
    expect(r.status === 'completed' && r.incremental).toBeUndefined();
    expect((await a.manager.listBackups())[0]).toMatchObject({ object_count: 0 });
    const b = await suite.device(mnemonic, { fetch: older });
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(await walletDigest(a.walletDir));
  });

  it('a one-object client backs up and restores beside incremental backups', async () => {
    const mnemonic = newMnemonic();
    const g = await twoBackups(mnemonic, faulty());
    const old = await suite.reopen(g.a, mnemonic, { incremental: false });
    suite.srv.clock.advance(60_000);
    day(old, 8);
    const r = await old.manager.triggerBackup();
    expect(r).toMatchObject({ status: 'completed' });
    expect(r.status === 'completed' && r.incremental).toBeFalsy();
    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(await walletDigest(old.walletDir));
    // The incremental one of the two still restores, and the next incremental backup works.
    const [, older] = await old.manager.listBackups();
    const c = await suite.device(mnemonic);
    await c.manager.restoreBackup(older!.backup_version, { confirmRollback: true });
    expect(await walletDigest(c.walletDir)).toBe(g.digests.get(older!.backup_version));
    const again = await suite.reopen(g.a, mnemonic);
    suite.srv.clock.advance(60_000);
    day(again, 9);
    await expect(again.manager.triggerBackup()).resolves.toMatchObject({ status: 'completed' });
  });
});

/** The response's body, cut with a network error after `limit` bytes (`onCut` first). */
function cutAfter(res: Response, limit: number, onCut: () => unknown): Response {
  const reader = res.body!.getReader();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= limit) {
        await onCut();
        await reader.cancel().catch(() => {});
        controller.error(new TypeError('terminated'));
        return;
      }
      const r = await reader.read();
      if (r.done) {
        controller.close();
        return;
      }
      const chunk = r.value.subarray(0, limit - sent);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return new Response(body, { status: res.status, headers: res.headers });
}
