/**
 * What a daily backup does at once rather than in turn (docs/WALLET.md §5), the manager
 * against the real server on both stacks: the server's list and the device cache are
 * read while the snapshot is taken, and the manifest is built and sent while the packs
 * are still uploading; the completion still comes only after every PUT and is asked
 * while the snapshot's copies are removed, and the backup restores its day. The manifest is sent
 * before the snapshot's integrity check gives its verdict; only the completion waits for
 * it, and a damaged database still completes nothing and gives every upload back. The
 * snapshot is taken while the settings are asked, and nothing is sent before they answer.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import type { FetchFn } from '../src/http.ts';
import type { NodeWalletAdapter } from '../src/node/wallet.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { breakIndex } from './fixtures/node-helpers.ts';
import { deviceSuite, newMnemonic } from './helpers/device.ts';

const DAY = join(import.meta.dirname, 'fixtures', 'node-day.mjs');

/** How long a PUT is held at most waiting for the manifest's URL to be asked. */
const HOLD_MS = 10_000;

/**
 * A network that logs what a backup asks, and holds each PUT sent before the manifest's
 * `upload_url` is asked until it is (or {@link HOLD_MS} passed): a slow uplink on which
 * the packs are still uploading when the manifest is ready. With it, a slow disk: the
 * removal of a snapshot (`slowRemoval`) is held until the completion is asked.
 */
function slowUplink() {
  const log: string[] = [];
  let hold = false;
  let release: () => void = () => {};
  let manifestAsked = Promise.resolve();
  let completing: () => void = () => {};
  let completionAsked = Promise.resolve();
  const fetchFn: FetchFn = async (url, init) => {
    const { pathname } = new URL(url);
    const what = init?.method === 'PUT' ? 'PUT' : pathname.replace(/^\/v0/, '');
    if (what === '/backup/complete_upload') {
      log.push('completion asked');
      completing();
    }
    if (what === '/backup/upload_url') {
      log.push('manifest url asked');
      release();
    }
    if (what === 'PUT' && hold) {
      const held = await Promise.race([
        manifestAsked.then(() => 'released' as const),
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), HOLD_MS)),
      ]);
      log.push(`PUT ${held}`);
    }
    const res = await (globalThis.fetch as unknown as FetchFn)(url, init);
    if (what === 'PUT') log.push('PUT done');
    if (what === '/backup/list') log.push('list answered');
    if (what === '/backup/complete_upload') log.push('completed');
    return res;
  };
  return {
    fetch: fetchFn,
    log,
    /** Runs `remove` once the completion is asked (or {@link HOLD_MS} passed) when holding. */
    async slowRemoval(remove: () => Promise<void>) {
      if (hold) {
        log.push('removal started');
        const held = await Promise.race([
          completionAsked.then(() => 'released' as const),
          new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), HOLD_MS)),
        ]);
        log.push(`removal ${held}`);
      }
      await remove();
    },
    /**
     * From now on, PUTs are held until the next manifest's URL is asked, and a snapshot's
     * removal until the next completion is asked.
     */
    hold() {
      hold = true;
      manifestAsked = new Promise<void>((resolve) => {
        release = resolve;
      });
      completionAsked = new Promise<void>((resolve) => {
        completing = resolve;
      });
    },
  };
}

/** How long the check's verdict is held at most waiting for the manifest's PUT to end. */
const VERDICT_HOLD_MS = 5_000;

/**
 * A network and a wallet adapter that log what a backup does, the adapter's snapshots
 * holding the integrity check's real verdict until the manifest's PUT has ended (or
 * {@link VERDICT_HOLD_MS} passed): a check slower than the uploads.
 */
function slowCheck() {
  const log: string[] = [];
  let manifestUrl: string | undefined;
  let manifestSent: () => void = () => {};
  const fetchFn: FetchFn = async (url, init) => {
    const { pathname } = new URL(url);
    const res = (await globalThis.fetch(url, init as RequestInit)) as Response;
    if (pathname === '/v0/backup/upload_url')
      manifestUrl = ((await res.clone().json()) as { upload_url: string }).upload_url;
    if (init?.method === 'PUT' && url === manifestUrl) {
      log.push('manifest PUT done');
      manifestSent();
    }
    if (pathname === '/v0/backup/complete_upload') log.push('completed');
    return res as unknown as Awaited<ReturnType<FetchFn>>;
  };
  const wallet = (node: NodeWalletAdapter) => ({
    ...node,
    pageSnapshot: async (o: Parameters<typeof node.pageSnapshot>[0]) => {
      const snap = await node.pageSnapshot(o);
      const held = new Promise<string>((resolve) => {
        manifestSent = () => resolve('verdict');
        setTimeout(() => resolve('verdict timeout'), VERDICT_HOLD_MS);
      });
      const checked = Promise.allSettled([snap.checked, held]).then(([verdict, why]) => {
        log.push((why as PromiseFulfilledResult<string>).value);
        if (verdict.status === 'rejected') throw verdict.reason;
      });
      checked.catch(() => {}); // awaited by the backup, or dropped with its failure
      return { ...snap, checked };
    },
  });
  return { fetch: fetchFn, wallet, log };
}

describe.each(fullCombos)('daily backup overlap on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'overlap', 64 * 2 ** 20);

  it('lists during the snapshot, sends the manifest while packs upload, completes last', async () => {
    const net = slowUplink();
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic, {
      fetch: net.fetch,
      wallet: (node) => ({
        ...node,
        pageSnapshot: async (o: Parameters<typeof node.pageSnapshot>[0]) => {
          net.log.push('snapshot started');
          const snap = await node.pageSnapshot(o);
          let removal: Promise<void> | undefined;
          return { ...snap, cleanup: () => (removal ??= net.slowRemoval(() => snap.cleanup())) };
        },
      }),
    });
    await createDemoWallet(a.walletDir, { sizeMb: 2, seed: 8 });
    await a.manager.triggerBackup();
    suite.srv.clock.advance(60_000);
    a.clock.advance(60_000);
    execFileSync(process.execPath, [DAY, join(a.walletDir, 'wallet.sqlite'), '1']);
    const digest = await walletDigest(a.walletDir);
    net.log.length = 0;
    net.hold();
    const daily = await a.manager.triggerBackup();
    expect(daily).toMatchObject({ status: 'completed', incremental: { incremental: true } });

    const log = net.log;
    // Before: the list was answered before the snapshot began.
    expect(log.indexOf('snapshot started')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('snapshot started')).toBeLessThan(log.indexOf('list answered'));
    // Before: every pack's PUT ended before the manifest's URL was asked, so the held
    // PUTs waited in vain until the timeout.
    const held = log.filter((e) => e === 'PUT released' || e === 'PUT timeout');
    expect(held.length).toBeGreaterThanOrEqual(2); // at least one pack and the manifest
    expect(held).not.toContain('PUT timeout');
    // The completion only after every PUT, the manifest's and the packs'.
    expect(log.filter((e) => e === 'PUT done')).toHaveLength(held.length);
    expect(log.lastIndexOf('PUT done')).toBeLessThan(log.indexOf('completed'));
    // Before: the completion was asked only once the snapshot's copies were removed, so
    // the held removal waited in vain; the backup still ends with them removed.
    expect(log).toContain('removal released');
    expect(log).not.toContain('removal timeout');
    expect(log.indexOf('removal started')).toBeLessThan(log.indexOf('completion asked'));
    const tmp = readdirSync(join(a.walletDir, '..', 'tmp'));
    expect(tmp.filter((n) => n.startsWith('noah-snapshot-'))).toEqual([]);

    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(digest);
  });

  it('sends the manifest before the check gives its verdict; a damaged database completes nothing', async () => {
    const net = slowCheck();
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic, { fetch: net.fetch, wallet: net.wallet });
    await createDemoWallet(a.walletDir, { sizeMb: 2, seed: 9 });
    await a.manager.triggerBackup();
    suite.srv.clock.advance(60_000);
    execFileSync(process.execPath, [DAY, join(a.walletDir, 'wallet.sqlite'), '1']);
    const digest = await walletDigest(a.walletDir);
    net.log.length = 0;
    const daily = await a.manager.triggerBackup();
    expect(daily).toMatchObject({ status: 'completed', incremental: { incremental: true } });
    // Before: the manifest's URL was asked only after the verdict, which waited in vain.
    expect(net.log).toEqual(['manifest PUT done', 'verdict', 'completed']);
    const list = await a.manager.listBackups();

    // A damaged database: its check fails, after the manifest was sent.
    suite.srv.clock.advance(60_000);
    execFileSync(process.execPath, [DAY, join(a.walletDir, 'wallet.sqlite'), '2']);
    breakIndex(join(a.walletDir, 'wallet.sqlite'), 'payments', 'payments_created_at', 'created_at');
    net.log.length = 0;
    await expect(a.manager.triggerBackup()).rejects.toMatchObject({
      code: 'corrupt_wallet_database',
    });
    expect(net.log).toEqual(['manifest PUT done', 'verdict']);
    // Every upload given back, both backups as they were, no snapshot left behind.
    const { metadata, clock } = suite.srv;
    const user = await metadata.upsertUser(a.keys.signer.linkingKey, clock.now());
    expect(await metadata.countPendingUploads(user.id, clock.now())).toBe(0);
    expect(await a.manager.listBackups()).toEqual(list);
    const tmp = readdirSync(join(a.walletDir, '..', 'tmp'));
    expect(tmp.filter((n) => n.startsWith('noah-snapshot-'))).toEqual([]);
    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(digest);
  });

  it('takes the snapshot while the settings are asked, and sends nothing before they answer', async () => {
    const log: string[] = [];
    let taken: () => void = () => {};
    let snapshotTaken = Promise.resolve('settings answered');
    /** From now on, the settings' answer waits for the next snapshot. */
    const holdSettings = () => {
      snapshotTaken = new Promise<string>((r) => {
        taken = () => r('settings answered');
      });
    };
    const fetchFn: FetchFn = async (url, init) => {
      const what = init?.method === 'PUT' ? 'PUT' : new URL(url).pathname.replace(/^\/v0/, '');
      log.push(what);
      const res = await (globalThis.fetch as unknown as FetchFn)(url, init);
      if (what === '/backup/settings' && (init?.method ?? 'GET') === 'GET') {
        // A slow answer: held until the snapshot is taken, or HOLD_MS passed.
        const held = await Promise.race([
          snapshotTaken,
          new Promise<string>((r) => setTimeout(() => r('settings timeout'), HOLD_MS)),
        ]);
        log.push(held);
      }
      return res;
    };
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic, {
      fetch: fetchFn,
      wallet: (node) => ({
        ...node,
        pageSnapshot: async (o: Parameters<typeof node.pageSnapshot>[0]) => {
          const snap = await node.pageSnapshot(o);
          log.push('snapshot taken');
          taken();
          return snap;
        },
      }),
    });
    await createDemoWallet(a.walletDir, { sizeMb: 2, seed: 10 });
    await a.manager.triggerBackup();
    suite.srv.clock.advance(60_000);
    execFileSync(process.execPath, [DAY, join(a.walletDir, 'wallet.sqlite'), '1']);
    const digest = await walletDigest(a.walletDir);
    log.length = 0;
    holdSettings();
    const daily = await a.manager.triggerBackup();
    expect(daily).toMatchObject({ status: 'completed', incremental: { incremental: true } });
    // Before: the snapshot began only once the settings had answered (held in vain).
    expect(log).not.toContain('settings timeout');
    const answered = log.indexOf('settings answered');
    expect(log.indexOf('snapshot taken')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('snapshot taken')).toBeLessThan(answered);
    // Only the login and the settings before their answer; one snapshot for the backup.
    const before = log.slice(0, answered).filter((e) => e !== 'snapshot taken');
    expect(before.every((e) => /^\/(getk1|auth\/login|backup\/settings)$/.test(e))).toBe(true);
    expect(log.filter((e) => e === 'snapshot taken')).toHaveLength(1);
    expect(log).toContain('/backup/complete_upload');

    const b = await suite.device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(digest);
  });
});
