import { encryptBackupBytes } from '@noah-backup/core/format';
import { createKeyring } from '@noah-backup/core/keys';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import type { FetchFn } from '../src/http.ts';
import { SEQUENCE_KEY } from '../src/sequence.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { addPayment, newMnemonic, deviceSuite, uploadRaw } from './helpers/device.ts';

/** What a device's network did: path (or "blob") and status, and the Range asked for. */
interface Seen {
  what: string;
  status: number;
  range: string | null;
}

describe.each(fullCombos)('sequence and URL refresh on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'seq', 16 * 2 ** 20);
  const device = suite.device;

  /** A fetch that records what it did, and lets a test rewrite a blob response. */
  function recordingFetch(
    seen: Seen[],
    rewrite?: (res: Response, init: RequestInit | undefined) => Promise<Response>,
  ): FetchFn {
    return async (url, init) => {
      const path = new URL(url).pathname;
      const headers = (init?.headers ?? {}) as Record<string, string>;
      const res = await fetch(url, init);
      const blob = !path.startsWith('/v0/');
      seen.push({ what: blob ? 'blob' : path, status: res.status, range: headers.range ?? null });
      return blob && rewrite ? rewrite(res, init) : res;
    };
  }

  it('a new device continues the sequence it finds on the server', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    expect(await a.manager.triggerBackup()).toMatchObject({ sequence: 1n });
    suite.srv.clock.advance(60_000);
    addPayment(a.walletDir, 1);
    expect(await a.manager.triggerBackup()).toMatchObject({ sequence: 2n });

    const seen: Seen[] = [];
    const b = await device(mnemonic, { fetch: recordingFetch(seen) });
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 5 });
    expect(await b.state.get(SEQUENCE_KEY)).toBeNull();
    suite.srv.clock.advance(60_000);
    expect(await b.manager.triggerBackup()).toMatchObject({ sequence: 3n });
    expect(await b.state.get(SEQUENCE_KEY)).toBe('3');
    // Both headers were read with a ranged GET of the header only; the PUT followed.
    const headerReads = seen.filter((s) => s.what === 'blob' && s.range !== null);
    expect(headerReads.map((s) => s.range)).toEqual(['bytes=0-91', 'bytes=0-91']);
    expect(headerReads.every((s) => s.status === 200 || s.status === 206)).toBe(true);

    // Once known, the sequence is not read from the server again.
    seen.length = 0;
    suite.srv.clock.advance(60_000);
    expect(await b.manager.triggerBackup()).toMatchObject({ sequence: 4n });
    expect(seen.filter((s) => s.range !== null)).toEqual([]);
  });

  it('a new device asks before restoring a backup older than the newest on the server', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    await a.manager.triggerBackup();
    const first = await walletDigest(a.walletDir);
    suite.srv.clock.advance(60_000);
    addPayment(a.walletDir, 2);
    await a.manager.triggerBackup();
    const [newest, older] = await a.manager.listBackups();

    const seen: Seen[] = [];
    const headerReads = () => seen.filter((s) => s.what === 'blob' && s.range !== null);
    const fresh = await device(mnemonic, { fetch: recordingFetch(seen) });
    const err = await fresh.manager.restoreBackup(older!.backup_version).catch((e) => e);
    expect(err).toMatchObject({ code: 'rollback_confirmation_required' });
    // Only the newest backup's header was read: the one being restored was already open.
    expect(headerReads().map((s) => s.range)).toEqual(['bytes=0-91']);
    await expect(walletDigest(fresh.walletDir)).rejects.toThrow(); // nothing restored
    const r = await fresh.manager.restoreBackup(older!.backup_version, { confirmRollback: true });
    expect(r.sequence).toBe(1n);
    expect(await walletDigest(fresh.walletDir)).toBe(first);

    seen.length = 0;
    const other = await device(mnemonic, { fetch: recordingFetch(seen) });
    expect(await other.manager.restoreBackup()).toMatchObject({
      backup_version: newest!.backup_version,
      sequence: 2n,
    });
    expect(headerReads().map((s) => s.range)).toEqual(['bytes=0-91']); // the older one's
    expect(await other.state.get(SEQUENCE_KEY)).toBe('2');
  });

  it('reads a slot again that was replaced after the restore opened it', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    await a.manager.triggerBackup();
    const [only] = await a.manager.listBackups();
    const keyring = await createKeyring(mnemonic);
    // Another device's later backup (sequence 9), put into that very slot.
    const later = await encryptBackupBytes(new Uint8Array(1000), {
      keyring,
      createdAt: new Date(suite.srv.clock.now().getTime() + 60_000),
      sequence: 9n,
      payloadKind: 'tar',
    });
    keyring.destroy();
    let replaced = false;
    const fresh = await device(mnemonic, {
      fetch: recordingFetch([], async (res, init) => {
        const range = ((init?.headers ?? {}) as Record<string, string>).range;
        if (replaced || range !== undefined || !res.ok) return res;
        replaced = true;
        // The restore's download has begun: the slot changes before the restore reads the list.
        suite.srv.clock.advance(60_000);
        await uploadRaw(a.api, later, only!.backup_version);
        return res;
      }),
    });
    const err = await fresh.manager.restoreBackup(only!.backup_version).catch((e) => e);
    expect(replaced).toBe(true);
    // The list shows the slot with another creation time: its header is read (sequence 9),
    // so the backup being restored (sequence 1) is older than the newest known.
    expect(err).toMatchObject({ code: 'rollback_confirmation_required' });
    expect(await fresh.state.get(SEQUENCE_KEY)).toBe('9');
  });

  it('headers that do not authenticate, and legacy backups, say nothing', async () => {
    const mnemonic = newMnemonic();
    const legacy = await device(mnemonic, { format: 'seed-v0' });
    await createDemoWallet(legacy.walletDir, { sizeMb: 1 });
    expect(await legacy.manager.triggerBackup()).toMatchObject({ sequence: null });
    // Someone with the account but another key claims sequence 50 in the other slot.
    const foreign = await createKeyring(newMnemonic());
    const forged = await encryptBackupBytes(new Uint8Array(1000), {
      keyring: foreign,
      createdAt: suite.srv.clock.now(),
      sequence: 50n,
      payloadKind: 'tar',
    });
    foreign.destroy();
    suite.srv.clock.advance(60_000);
    await uploadRaw(legacy.api, forged);
    expect(await legacy.manager.listBackups()).toHaveLength(2);

    const b = await device(mnemonic);
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 3 });
    expect(await b.manager.triggerBackup()).toMatchObject({ sequence: 1n });
  });

  it('resumes a download with a fresh URL when the old one expired before the retry', async () => {
    const mnemonic = newMnemonic();
    // One object (a manifest backup's packs: e2e-incremental-faults.test.ts).
    const a = await device(mnemonic, { incremental: false });
    await createDemoWallet(a.walletDir, { sizeMb: 2 });
    await a.manager.triggerBackup();

    const seen: Seen[] = [];
    let broken = false;
    const b = await device(mnemonic, {
      fetch: recordingFetch(seen, async (res, init) => {
        const range = ((init?.headers ?? {}) as Record<string, string>).range;
        if (broken || range !== undefined || !res.ok) return res;
        broken = true;
        // The connection drops after 64 KiB, and the URL's lifetime passes meanwhile.
        return cutAfter(res, 64 * 1024, () => {
          suite.srv.clock.advance(suite.srv.config.downloadUrlTtlSec * 1000 + 1000);
        });
      }),
    });
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 9 });
    await b.state.set(SEQUENCE_KEY, '1'); // no header reads: only the download is seen
    const r = await b.manager.restoreBackup();
    expect(r.sequence).toBe(1n);
    expect(await walletDigest(b.walletDir)).toBe(await walletDigest(a.walletDir));
    expect(seen.map((s) => `${s.what} ${s.status}`).filter((s) => !s.includes('/auth'))).toEqual([
      '/v0/getk1 200',
      '/v0/backup/download_urls 200', // every URL the restore needs: here one object
      'blob 200', // cut after 64 KiB
      'blob 403', // the retry: the URL has expired
      '/v0/backup/download_url 200', // a fresh one for the same backup
      expect.stringMatching(/^blob 20[06]$/), // resumed (fs: from the start, skipping)
      '/v0/backup/report 200',
    ]);
  });

  it('refuses to splice two backups when the slot changed before the retry', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic, { incremental: false });
    await createDemoWallet(a.walletDir, { sizeMb: 2 });
    await a.manager.triggerBackup();
    const [only] = await a.manager.listBackups();

    let broken = false;
    let replaced: Promise<unknown> = Promise.resolve();
    const b = await device(mnemonic, {
      fetch: recordingFetch([], async (res, init) => {
        const range = ((init?.headers ?? {}) as Record<string, string>).range;
        if (broken || range !== undefined || !res.ok) return res;
        broken = true;
        return cutAfter(res, 64 * 1024, () => {
          suite.srv.clock.advance(suite.srv.config.downloadUrlTtlSec * 1000 + 1000);
          // Meanwhile another device overwrites that very slot.
          replaced = uploadRaw(a.api, new Uint8Array(5000), only!.backup_version);
          return replaced;
        });
      }),
    });
    await createDemoWallet(b.walletDir, { sizeMb: 1, seed: 9 });
    const before = await walletDigest(b.walletDir);
    await b.state.set(SEQUENCE_KEY, '1');
    const err = await b.manager.restoreBackup(only!.backup_version).catch((e) => e);
    await replaced;
    expect(err).toMatchObject({ code: 'backup_changed' });
    expect(await walletDigest(b.walletDir)).toBe(before);
  });
});

/**
 * The response's body, cut with a network error after `limit` bytes; `onCut` runs (and
 * is awaited) just before the error.
 */
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
