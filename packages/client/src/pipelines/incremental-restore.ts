/**
 * Restore and verify of an incremental backup (docs/FORMAT.md §8.7): the manifest is
 * fetched and opened, its pack list checked against the objects the server names, then
 * the packs are fetched four at a time — each checked by the SHA-256 of its ciphertext
 * and the v2 AEAD as it streams, resumed after a break — and their pages written with
 * positioned writes into the staged files. At the end every page was written exactly
 * once and every database and file digest equals the manifest's: the staged databases
 * are byte for byte the snapshot that passed `PRAGMA integrity_check` at backup time.
 * @module
 */
import type { DownloadUrlsResponse } from '@noah-backup/core/api';
import {
  createDigester,
  createRestoreCheck,
  type Manifest,
  openManifest,
  openPack,
  restorePlan,
  slicePack,
} from '@noah-backup/core/incremental';
import type { V2Header } from '@noah-backup/core/v2';
import { NoahError } from '@noah-backup/core/errors';
import { IntegrityError } from '../errors.ts';
import type { TreeFill } from '../ports.ts';
import type { PipelineContext } from './context.ts';
import { UPLOAD_CONCURRENCY } from './incremental.ts';

/** An opened manifest backup, packs not yet read. */
export interface RemoteManifest {
  header: V2Header;
  manifest: Manifest;
  /** The manifest's encoding: the plaintext it was decoded from. */
  encoded: Uint8Array;
  /** SHA-256 of the manifest object. */
  sha256: Uint8Array;
}

/**
 * Downloads and opens the manifest of `target`, and checks that the objects the server
 * names are exactly the packs it lists (keys and sizes, as a set).
 * @throws IntegrityError if they differ; what the download and `openManifest` throw
 */
export async function openRemoteManifest(
  ctx: PipelineContext,
  target: DownloadUrlsResponse,
): Promise<RemoteManifest> {
  const download = ctx.api.download(target, {
    signal: ctx.signal,
    onProgress: (bytes, total) => ctx.progress('download', bytes, total),
  });
  const { header, manifest, encoded, sha256 } = await openManifest(download, {
    key: ctx.keyring.v2Key(),
  });
  const listed = new Map(manifest.packs.map((p) => [p.key, p.size]));
  const same =
    target.objects.length === manifest.packs.length &&
    target.objects.every((o) => listed.get(o.s3_key) === o.size);
  if (!same)
    throw new IntegrityError(
      'the objects the server holds for this backup are not the ones its manifest lists',
    );
  return { header, manifest, encoded, sha256 };
}

/**
 * A fresh URL for one object of the backup `target` describes, once its URL expired
 * (a large restore outlasts `expires_at`).
 * @throws NoahError `backup_changed` if the slot meanwhile holds another backup
 */
export async function freshUrl(
  ctx: PipelineContext,
  target: DownloadUrlsResponse,
  key: string,
): Promise<string> {
  ctx.logger.info('an object URL was refused, asking for fresh ones', {
    backup_version: target.backup_version,
  });
  const fresh = await ctx.api.downloadUrls(
    { backup_version: target.backup_version },
    { signal: ctx.signal },
  );
  const object = fresh.objects.find((o) => o.s3_key === key);
  if (fresh.created_at !== target.created_at || !object)
    throw new NoahError(
      'backup_changed',
      `backup ${target.backup_version} was replaced during the download; start again`,
    );
  return object.download_url;
}

/**
 * The fill of a manifest restore: directories and files made, every pack fetched (four
 * at a time) and placed, then the proof (`createRestoreCheck`). Resolves with each
 * database's page digests by path, for the device cache.
 * @param onPages - receives the page digests once the proof has passed
 */
export function manifestFill(
  ctx: PipelineContext,
  target: DownloadUrlsResponse,
  remote: RemoteManifest,
  onPages: (pages: Map<string, Uint8Array>) => void,
): TreeFill {
  return async (sink) => {
    const { manifest } = remote;
    for (const e of manifest.entries) {
      if (e.type === 'directory') await sink.mkdir(e.path);
      else if (e.type === 'file') await sink.create(e.path, e.size, 'file');
      else await sink.create(e.path, e.pageCount * e.pageSize, 'database');
    }
    const check = createRestoreCheck(manifest, createDigester(ctx.keyring.digestKey()));
    const urls = new Map(target.objects.map((o) => [o.s3_key, o]));
    const plan = restorePlan(manifest);
    const total = manifest.packs.reduce((n, p) => n + p.size, 0);
    let fetched = 0;
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < plan.length) {
        const p = plan[next++]!;
        const object = urls.get(p.record.key)!;
        const download = ctx.api.download(
          { download_url: object.download_url, backup_size: object.size },
          { signal: ctx.signal, refresh: () => freshUrl(ctx, target, object.s3_key) },
        );
        try {
          // Transient: each chunk is written and digested before the next is asked for
          // (slicePack copies the partial pages it keeps), so one buffer serves them all.
          const opened = await openPack(download, {
            key: ctx.keyring.v2Key(),
            pack: p.record,
            transient: true,
          });
          for await (const slice of slicePack(opened.plaintext, manifest, p)) {
            const entry = manifest.entries[slice.piece.entry]!;
            await sink.write(entry.path, slice.position, slice.data);
            await check.add(slice);
          }
        } catch (err) {
          failed = true; // the other workers take no new pack
          throw err;
        }
        fetched += p.record.size;
        ctx.progress('download', fetched, total);
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(UPLOAD_CONCURRENCY, plan.length) }, worker),
    );
    const bad = results.find((r) => r.status === 'rejected');
    if (bad) throw (bad as PromiseRejectedResult).reason;
    const digests = check.finish();
    const pages = new Map<string, Uint8Array>();
    for (const [i, d] of digests) pages.set(manifest.entries[i]!.path, d);
    onPages(pages);
  };
}
