/**
 * The incremental backup pipeline (docs/FORMAT.md §8): page-stable snapshot → page
 * digests → changed pages against the device cache → the core plan (compaction) →
 * packs encrypted and spooled, and sent in batches while the next are sealed
 * (`upload_urls`, PUTs four at a time: pack-upload.ts) → the manifest → `upload_url` +
 * PUT (while the packs' last PUTs run) → the integrity check's verdict and every PUT
 * ended → `complete_upload {objects, base}` → the cache, while the snapshot is released
 * (its copies removed, its pinned read transactions ended). The server's list and the device cache are read while the snapshot is taken.
 * The check runs beside all of it: uploads are referenced by nothing until the
 * completion, so only the completion waits for its verdict, and a failed check gives
 * every upload back (docs/WALLET.md §5).
 * Every object's SHA-256 (measured as it is encrypted, and recorded in the manifest) is
 * named to the server, so its store refuses a body altered on the way (docs/API.md
 * "Checksums").
 * Nothing here deletes: a failure at any step leaves both of the server's backups as
 * they were (unreferenced uploads are given back or swept), and the cache is saved only
 * after the completion, so a cache never describes a backup the server does not hold.
 * @module
 */
import type { BackupInfo, UploadTarget } from '@noah-backup/core/api';
import {
  buildManifest,
  type BackupPlan,
  createDigester,
  type Digester,
  encryptManifest,
  encryptPack,
  type Manifest,
  type ManifestPack,
  planBackup,
  type TreeEntry,
} from '@noah-backup/core/incremental';
import { bytesToHex } from '@noah-backup/core/bytes';
import { fromBytes } from '@noah-backup/core/stream';
import { ApiError, BackupTooLargeError, mib, throwIfAborted } from '../errors.ts';
import type {
  DeviceCacheStore,
  IncrementalWalletAdapter,
  PageSnapshot,
  SpooledBlob,
} from '../ports.ts';
import { knownSequence, SEQUENCE_KEY } from '../sequence.ts';
import { refuseLostDatabases } from '../wallet-databases.ts';
import { notAWallet } from '../wallet-refusals.ts';
import { cacheMatches, type DeviceCache, identityOf, loadCache, saveCache } from './cache.ts';
import type { PipelineContext } from './context.ts';
import { type PackSender, packSender, UPLOAD_CONCURRENCY } from './pack-upload.ts';
import type { BackupResult, IncrementalStats } from './results.ts';

export { UPLOAD_CONCURRENCY } from './pack-upload.ts';

export type { IncrementalStats } from './results.ts';

/** A completed incremental backup. */
export interface IncrementalResult extends BackupResult {
  incremental: IncrementalStats;
  /** The databases the backup holds (the next snapshot checks each is still one). */
  databases: readonly string[];
}

/** Today's tree and page digests of a snapshot, with the pages changed since `cache`. */
async function treeOf(
  snap: PageSnapshot,
  digester: Digester,
  cache: DeviceCache | null,
  signal: AbortSignal,
): Promise<{ tree: TreeEntry[]; pages: Map<string, Uint8Array>; changed: number; total: number }> {
  const tree: TreeEntry[] = [];
  const pages = new Map<string, Uint8Array>();
  let changedCount = 0;
  let total = 0;
  for (const item of snap.items) {
    throwIfAborted(signal);
    if (item.type === 'directory') tree.push(item);
    else if (item.type === 'file') {
      // Transient reads: each chunk is hashed before the next is asked for.
      const digest = await digester.file(snap.read(item.path, 0, item.size, TRANSIENT));
      tree.push({ ...item, digest });
    } else {
      const { path, pageSize, pageCount } = item;
      const pds = new Uint8Array(pageCount * 16);
      let at = 0;
      for await (const chunk of snap.read(path, 0, pageCount * pageSize, TRANSIENT)) {
        pds.set(await digester.pages(chunk, pageSize), at);
        at += (chunk.length / pageSize) * 16;
      }
      const old = cache?.pages.get(path);
      // Without a cached map every page is written anyway (`changed` is then ignored):
      // no list of a million page numbers.
      const changed: number[] = [];
      if (old)
        for (let p = 0; p < pageCount; p++) {
          const o = p * 16;
          if (o + 16 > old.length || !sameDigest(pds, old, o)) changed.push(p + 1);
        }
      changedCount += old ? changed.length : pageCount;
      total += pageCount;
      pages.set(path, pds);
      tree.push({ ...item, digest: digester.database(pageSize, pds), changed });
    }
  }
  return { tree, pages, changed: changedCount, total };
}

const TRANSIENT = { transient: true } as const;

/**
 * Bounds of a sealed pack's size over its plaintext, for deciding whether a backup can
 * pass the server's limit before any pack is sealed: v2 adds a 16-byte tag per 256 KiB
 * chunk and zstd at most 3 bytes per 128 KiB block (SEAL_GROWTH, rounded up), plus the
 * v2 header and frame headers per object (SEAL_OVERHEAD, rounded up).
 */
const SEAL_GROWTH = 1 / 4096;
const SEAL_OVERHEAD = 4096;

function sameDigest(a: Uint8Array, b: Uint8Array, o: number): boolean {
  for (let i = o; i < o + 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The plaintext of a planned pack, read from today's snapshot. */
async function* packPlaintext(
  snap: PageSnapshot,
  items: BackupPlan['packs'][number]['items'],
): AsyncGenerator<Uint8Array> {
  for (const it of items) {
    if (it.type === 'file') yield* snap.read(it.path, 0, it.size);
    else yield* snap.read(it.path, (it.first - 1) * it.pageSize, it.count * it.pageSize);
  }
}

/** Runs `fn` over `items`, at most `n` at a time; the first failure stops new starts. */
async function bounded<T>(items: readonly T[], n: number, fn: (x: T, i: number) => Promise<void>) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: n }, worker));
  const bad = results.find((r) => r.status === 'rejected');
  if (bad) throw (bad as PromiseRejectedResult).reason;
}

/** Gives pending uploads back, best effort (the sweeper frees them anyway). */
async function giveBack(ctx: PipelineContext, keys: readonly string[]): Promise<void> {
  await bounded(keys, UPLOAD_CONCURRENCY, async (s3_key) => {
    await ctx.api.cancelUpload({ s3_key }).catch(() => {});
  }).catch(() => {});
}

/**
 * Why a backup was a full one: the plan's reason, or, without a usable cache, whether
 * there was none (`no_previous`), it described a backup no longer on the server
 * (`replaced`), or another device replaced the base during this backup (`base_changed`).
 */
function fullReason(plan: BackupPlan, hadCache: boolean, forced: boolean): string {
  if (forced) return 'base_changed';
  if (plan.reason !== 'no_previous') return plan.reason ?? 'no_previous';
  return hadCache ? 'replaced' : 'no_previous';
}

/** True when a completion failed because the previous backup's objects are gone. */
function chainBroken(err: unknown): boolean {
  return (
    err instanceof ApiError && (err.code === 'base_changed' || err.code === 'upload_not_found')
  );
}

/**
 * Runs one incremental backup; the caller holds the lock. A completion refused because
 * another device replaced the backup this one builds on (`base_changed`) is redone once
 * as a full backup.
 * @throws what a step throws; temp files are removed either way
 */
export async function runIncrementalBackup(
  ctx: PipelineContext & { wallet: IncrementalWalletAdapter },
  cacheStore: DeviceCacheStore,
  databases: readonly string[],
  opts: {
    full?: boolean;
    acceptMissingDatabases?: boolean;
    limit?: number | null;
    /** The first attempt's snapshot, already started with `databases` (a retry takes its own). */
    snapshot?: Promise<PageSnapshot>;
  } = {},
): Promise<IncrementalResult> {
  const accept = opts.acceptMissingDatabases === true;
  // The server's size limit (docs/API.md, settings): given by the caller, which asked for
  // it already, or asked here once for both attempts; null = no limit.
  const limit =
    opts.limit !== undefined
      ? (opts.limit ?? undefined)
      : (await ctx.api.getSettings({ signal: ctx.signal })).max_backup_size;
  try {
    return await attempt(
      ctx,
      cacheStore,
      databases,
      opts.full === true,
      accept,
      limit,
      opts.snapshot,
    );
  } catch (err) {
    if (opts.full || !chainBroken(err)) throw err;
    ctx.logger.warn('another device replaced the backup this one built on; making a full backup', {
      code: (err as ApiError).code,
    });
    return attempt(ctx, cacheStore, databases, true, accept, limit);
  }
}

async function attempt(
  ctx: PipelineContext & { wallet: IncrementalWalletAdapter },
  cacheStore: DeviceCacheStore,
  databases: readonly string[],
  forceFull: boolean,
  acceptMissingDatabases: boolean,
  limit: number | undefined,
  early?: Promise<PageSnapshot>,
): Promise<IncrementalResult> {
  const { api, signal, keyring } = ctx;
  const sequence = (await knownSequence(ctx)) + 1n;
  // The server's list and the device cache are read while the snapshot is taken: both
  // are on their way before its SQLite work blocks this thread, and neither changes what
  // the snapshot holds.
  const listed = api.list({ signal });
  const cached = forceFull ? Promise.resolve(null) : loadCache(cacheStore, keyring, ctx.logger);
  listed.catch(() => {}); // awaited after the snapshot, or dropped with its failure
  cached.catch(() => {});
  const createdAt = ctx.clock.now();
  const writeOpts = {
    key: keyring.v2Key(),
    createdAt,
    sequence,
    compression: ctx.compression.algorithm,
    compressionLevel: ctx.compression.level,
  };
  const spooled: SpooledBlob[] = [];
  let snap: PageSnapshot | undefined;
  let sender: PackSender | undefined;
  let puts: Promise<PromiseSettledResult<void>[]> | undefined;
  let removed: Promise<void> | undefined;
  const pending: string[] = [];
  try {
    if (early) snap = await early;
    else {
      ctx.progress('snapshot', 0);
      snap = await ctx.wallet.pageSnapshot({
        signal,
        databases,
        onProgress: (bytes, total) => ctx.progress('snapshot', bytes, total),
      });
    }
    if (snap.databases.length === 0)
      throw notAWallet('the wallet data holds no database, so there is no wallet to back up');
    // A database of the last backup that is gone refuses it (docs/WALLET.md §1).
    refuseLostDatabases(databases, snap, acceptMissingDatabases);
    const list = await listed;
    const loaded = await cached;
    const cache = loaded && cacheMatches(loaded, list) ? loaded : null;
    const digester = createDigester(keyring.digestKey());
    const today = await treeOf(snap, digester, cache, signal);
    // The cached digests have told what changed; nothing reads them again, and the
    // backup's slowest part (sealing, uploading, the integrity check) is still ahead:
    // 4 MiB at a 1 GiB database, released now rather than at the end.
    cache?.pages.clear();
    const previous: Manifest | undefined = cache?.manifest;
    const plan = planBackup(previous, today.tree);
    // Every new pack is sealed into the spooler (its size and SHA-256 known before its URL
    // is asked) and, when the backup cannot pass the server's limit, sent while the next
    // ones are sealed. Near the limit, every pack is sealed first, so a backup over it
    // stops before any upload.
    const summaries: Omit<ManifestPack, 'key'>[] = [];
    const planned = plan.packs.reduce((n, p) => n + p.plainSize, 0);
    const kept = plan.full || !previous ? [] : plan.kept.map((i) => previous.packs[i]!);
    const keptBytes = kept.reduce((n, p) => n + p.size, 0);
    const eager =
      limit === undefined ||
      planned * (1 + SEAL_GROWTH) + SEAL_OVERHEAD * (plan.packs.length + 1) + keptBytes <= limit;
    sender = packSender(ctx, pending);
    let newBytes = 0;
    let done = 0;
    for (const layout of plan.packs) {
      throwIfAborted(signal);
      const sealed = encryptPack(packPlaintext(snap, layout.items), writeOpts);
      const blob = await ctx.spooler.spool(sealed.stream, { signal });
      spooled.push(blob);
      summaries.push(sealed.summary());
      newBytes += sealed.summary().size;
      done += layout.plainSize;
      ctx.progress('encrypt', done, planned);
      // Over the server's limit: stop now, before more work.
      if (limit !== undefined && newBytes + keptBytes > limit)
        throw new BackupTooLargeError(
          limit,
          snap.bytes,
          `stopped after encrypting ${mib(done)} of ${mib(planned)} of wallet data`,
        );
      await sender.add(blob, sealed.summary(), eager);
    }
    // The packs' PUTs go on while the manifest (which names their keys) is built and sent.
    const targets: UploadTarget[] = await sender.targets();
    const written = summaries.map((s, i) => ({ key: targets[i]!.s3_key, ...s }));
    const manifest = buildManifest(plan.full ? undefined : previous, today.tree, plan, written);
    const sealed = await encryptManifest(manifest, writeOpts);
    const size = sealed.bytes.length;
    if (limit !== undefined && newBytes + keptBytes + size > limit)
      throw new BackupTooLargeError(limit, snap.bytes, 'the manifest takes it over the limit');
    const sha256 = bytesToHex(sealed.sha256);
    const target = await api.uploadUrl({ backup_size: size, sha256 }, { signal });
    pending.push(target.s3_key);
    // Through the spooler like the packs: a browser's gives a Blob body, since Chromium
    // sends a streamed request body only over HTTP/2 (ERR_ALPN_NEGOTIATION_FAILED).
    const manifestBlob = await ctx.spooler.spool(fromBytes(sealed.bytes), { signal });
    spooled.push(manifestBlob);
    // Every PUT ended, the manifest's and the packs', before the completion or a cleanup.
    // They run while the integrity check's verdict is awaited: an upload is referenced by
    // nothing until the completion, which the verdict still comes before.
    puts = Promise.allSettled([api.upload(target, manifestBlob, { signal }), sender.finish()]);
    // The snapshot's integrity check ran beside the work above: a damaged database stops
    // the backup here, before its completion, and every upload is given back
    // (docs/WALLET.md §5).
    await snap.checked;
    // Nothing reads the snapshot any more (every pack is sealed, the check is done): it is
    // released while the last PUTs end, the completion is asked and the cache saved
    // (unlinking a 100 MB copy takes tens of ms); `finally` waits for the release.
    removed = snap.cleanup();
    removed.catch(() => {}); // awaited in `finally`
    const failed = (await puts).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const base = !plan.full && cache ? cache.identity.s3_key : '';
    const backup: BackupInfo = await api.completeUpload(
      {
        s3_key: target.s3_key,
        backup_version: target.backup_version,
        backup_size: size,
        sha256,
        // Kept packs too: the manifest holds each one's checksum from when it was written.
        objects: manifest.packs.map((p) => ({
          s3_key: p.key,
          size: p.size,
          sha256: bytesToHex(p.sha256),
        })),
        ...(base ? { base } : {}),
      },
      { signal },
    );
    pending.length = 0;
    await ctx.state.set(SEQUENCE_KEY, sequence.toString());
    const identity = identityOf(backup, target.s3_key, sealed.sha256, sequence);
    // The backup stands whatever happens to the cache: a cache not saved makes the next
    // backup a full one, never a wrong one.
    await saveCache(
      cacheStore,
      keyring,
      { identity, manifest, pages: today.pages },
      createdAt,
    ).catch((err: unknown) =>
      ctx.logger.warn('could not save the device cache; the next backup is a full one', {
        code: (err as { code?: string }).code ?? 'unexpected',
      }),
    );
    const sent = newBytes + size;
    const total = manifest.packs.reduce((n, p) => n + p.size, 0) + size;
    ctx.progress('complete', sent, sent);
    const stats: IncrementalStats = {
      incremental: !plan.full,
      ...(plan.full ? { fullReason: fullReason(plan, loaded !== null, forceFull) } : {}),
      changedPages: plan.full ? today.total : today.changed,
      totalPages: today.total,
      sentBytes: sent,
      totalBytes: total,
      packsSent: summaries.length,
    };
    ctx.logger.info('incremental backup completed', { version: backup.backup_version, ...stats });
    return { backup, sequence, bytes: sent, incremental: stats, databases: snap.databases };
  } catch (err) {
    await sender?.settle(); // no PUT still reading a spool file or holding a key
    await puts; // the manifest's too (settled: never rejects)
    if (pending.length > 0) await giveBack(ctx, pending);
    throw err;
  } finally {
    await Promise.allSettled([removed, snap?.cleanup(), ...spooled.map((s) => s.cleanup())]);
  }
}
