/**
 * The scheduled verification (docs/API.md "Verification"): the newest backup is read
 * as a restore would read it, into nothing but memory and the wallet port's scratch
 * space. A one-object backup is verified whole (`verifyTarget`: every database checked).
 * Of a manifest backup the manifest is always opened and its pack list checked against
 * the objects the server names; the packs are read a share at a time — each pack
 * belongs to one of `shares` buckets by its key, and each run reads one bucket — so
 * that every pack is read once every `shares` runs. A pack read is checked as a restore
 * checks it: the v2 AEAD as it streams, its size, its ciphertext's SHA-256 and its
 * plaintext size against the manifest's record, and every piece the manifest places in
 * it present (docs/FORMAT.md §8.7).
 * @module
 */
import type { BackupVersion, DownloadUrlsResponse } from '@noah-backup/core/api';
import { openPack, restorePlan, slicePack } from '@noah-backup/core/incremental';
import type { PipelineContext } from './context.ts';
import { freshUrl, openRemoteManifest } from './incremental-restore.ts';
import { UPLOAD_CONCURRENCY } from './incremental.ts';
import { targetOf, verifyTarget } from './restore.ts';

/** Which share of a manifest backup's packs a run reads. */
export interface VerifyShare {
  /** The bucket read, 0..of-1. */
  index: number;
  /** Buckets; 1 reads every pack and checks every database (a whole verify). */
  of: number;
}

/** What a scheduled verification read. */
export interface ScheduledVerifyResult {
  backup_version: BackupVersion;
  created_at: string;
  /** 'whole': every object read and every database checked; 'share': one bucket of packs. */
  scope: 'whole' | 'share';
  /** Packs read, and the backup's packs (both 0 for a one-object backup). */
  packsRead: number;
  packsTotal: number;
}

/**
 * The bucket of a pack: FNV-1a of its key. A pack keeps its key for life, so it stays
 * in one bucket across the backups that reference it, and is read once per cycle.
 */
export function shareOf(key: string, of: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % of;
}

/**
 * Verifies the newest backup, a share of it for a manifest backup.
 * @param onTarget - told which backup is being verified before any of it is read (so a
 *   failure can name it)
 * @throws what the download, decryption and checks throw (as `runVerify`)
 */
export async function runScheduledVerify(
  ctx: PipelineContext,
  share: VerifyShare,
  onTarget: (target: DownloadUrlsResponse) => void,
): Promise<ScheduledVerifyResult> {
  const target = await targetOf(ctx, undefined);
  onTarget(target);
  const described = { backup_version: target.backup_version, created_at: target.created_at };
  if (target.objects.length === 0 || share.of <= 1) {
    await verifyTarget(ctx, target);
    const packs = target.objects.length;
    return { ...described, scope: 'whole', packsRead: packs, packsTotal: packs };
  }
  const remote = await openRemoteManifest(ctx, target);
  const manifest = remote.manifest;
  const picked = restorePlan(manifest).filter(
    (p) => shareOf(p.record.key, share.of) === share.index,
  );
  const urls = new Map(target.objects.map((o) => [o.s3_key, o]));
  const total = picked.reduce((n, p) => n + p.record.size, 0);
  let read = 0;
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < picked.length) {
      const p = picked[next++]!;
      const object = urls.get(p.record.key)!;
      try {
        const download = ctx.api.download(
          { download_url: object.download_url, backup_size: object.size },
          { signal: ctx.signal, refresh: () => freshUrl(ctx, target, object.s3_key) },
        );
        const opened = await openPack(download, { key: ctx.keyring.v2Key(), pack: p.record });
        // Read to the end: the pack's checks run as its stream ends.
        for await (const _slice of slicePack(opened.plaintext, manifest, p)) {
          // Only the reading counts here; a restore would place the slice.
        }
      } catch (err) {
        failed = true; // the other workers take no new pack
        throw err;
      }
      read += p.record.size;
      ctx.progress('verify', read, total);
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(UPLOAD_CONCURRENCY, picked.length) }, worker),
  );
  const bad = results.find((r) => r.status === 'rejected');
  if (bad) throw (bad as PromiseRejectedResult).reason;
  return {
    ...described,
    scope: 'share',
    packsRead: picked.length,
    packsTotal: manifest.packs.length,
  };
}
