/**
 * `complete_upload` (docs/API.md "complete_upload", "Incremental backups"): the slot
 * object is checked as an upload always was (the caller's own pending upload, PUT, of
 * the declared size); every object the backup references must be the caller's own — an
 * upload of its that was PUT, of the declared size, or an object one of its backups
 * already references — and the whole backup within MAX_BACKUP_SIZE; `base`, when given,
 * must still be in a slot. Then one transaction switches the slot (the store checks the
 * references and `base` again under its lock), and only after the commit are the
 * objects no slot references any more dropped. A refusal changes nothing.
 *
 * Checksums (docs/API.md "Checksums"): each object the backup stores first gets the
 * SHA-256 the client declared at upload time (the store refused any other body), else
 * the one the store can tell (S3's recorded checksum, the fs store's file), else the
 * one the client gives now, else none (the scrub fills it in). A value given now that
 * contradicts one known is refused with `checksum_mismatch`.
 * @module
 */
import type { BackupInfo, CompleteUploadRequest } from '@noah-backup/core/api';
import { apiError } from '../errors.ts';
import { CompletionRefusedError, type ObjectRef } from '../stores/metadata.ts';
import { backupInfo, eachLimited, type ServiceContext } from './context.ts';

/** Blob-store HEADs at once while checking the referenced uploads. */
const HEAD_CONCURRENCY = 16;

/**
 * Builds `completeUpload`.
 *
 * @param ctx - the service context
 * @returns the method
 */
export function completionMethod(
  ctx: ServiceContext,
): (userId: string, body: CompleteUploadRequest) => Promise<BackupInfo> {
  const { metadata, blobs, clock, metrics, logger, limits } = ctx;

  /** The request's references, checked for repeats. */
  function references(body: CompleteUploadRequest): ObjectRef[] {
    const seen = new Set([body.s3_key]);
    return (body.objects ?? []).map((o, i) => {
      if (seen.has(o.s3_key))
        throw apiError(
          'bad_request',
          `objects[${i}].s3_key is listed twice, or is the backup's own s3_key`,
        );
      seen.add(o.s3_key);
      return { objectKey: o.s3_key, size: o.size, ...(o.sha256 ? { sha256: o.sha256 } : {}) };
    });
  }

  /**
   * The SHA-256 to record for an object this backup stores first (see the module doc):
   * `declared` at upload time, `given` now.
   * @throws checksum_mismatch when `given` contradicts what is known
   */
  async function settle(
    key: string,
    declared: string | undefined,
    given: string | undefined,
    what: string,
  ): Promise<string | null> {
    const known = declared ?? (await ctx.storage('head', () => blobs.checksum(key))) ?? undefined;
    if (given !== undefined && known !== undefined && given !== known) {
      metrics.backupsFailed.inc({ reason: 'checksum_mismatch' });
      throw apiError(
        'checksum_mismatch',
        `${what} does not have the SHA-256 given; nothing was changed, upload it again with a new upload URL`,
      );
    }
    return known ?? given ?? null;
  }

  /**
   * Checks that every reference is the user's own, uploaded, of its size; returns the
   * bytes of the references that were pending uploads (what this backup uploaded).
   */
  async function checkReferences(userId: string, objects: ObjectRef[]): Promise<number> {
    if (objects.length === 0) return 0;
    const found = await metadata.findUserObjects(
      userId,
      objects.map((o) => o.objectKey),
    );
    const pending = new Map(found.pending.map((r) => [r.objectKey, r]));
    const referenced = new Map(found.referenced.map((r) => [r.objectKey, r.size]));
    const recorded = new Map(
      (await metadata.getObjectChecksums(found.referenced.map((r) => r.objectKey))).map((r) => [
        r.objectKey,
        r.sha256,
      ]),
    );
    const toHead: { i: number; o: ObjectRef }[] = [];
    for (const [i, o] of objects.entries()) {
      const size = referenced.get(o.objectKey);
      if (size !== undefined) {
        if (size !== o.size)
          throw apiError(
            'size_mismatch',
            `objects[${i}] has ${size} bytes, not ${o.size}; nothing was changed`,
          );
        const sum = recorded.get(o.objectKey);
        if (o.sha256 && sum && o.sha256 !== sum)
          throw apiError(
            'checksum_mismatch',
            `objects[${i}] was stored with another SHA-256; nothing was changed`,
          );
        continue;
      }
      const row = pending.get(o.objectKey);
      if (!row)
        throw apiError(
          'upload_not_found',
          `objects[${i}] is neither a pending upload of yours nor an object one of your backups references; nothing was changed`,
        );
      if (row.declaredSize !== o.size)
        throw apiError(
          'bad_request',
          `objects[${i}].size does not match the size declared at upload_urls`,
        );
      toHead.push({ i, o });
    }
    await eachLimited(toHead, HEAD_CONCURRENCY, async ({ i, o }) => {
      const head = await ctx.storage('head', () => blobs.head(o.objectKey));
      if (!head) {
        metrics.backupsFailed.inc({ reason: 'incomplete' });
        throw apiError(
          'upload_incomplete',
          `objects[${i}] has not been uploaded; PUT it to its upload_url first`,
        );
      }
      if (head.size !== o.size) {
        metrics.backupsFailed.inc({ reason: 'size_mismatch' });
        throw apiError(
          'size_mismatch',
          `objects[${i}] has ${head.size} bytes, ${o.size} were declared; nothing was changed, request new upload URLs`,
        );
      }
      const declared = pending.get(o.objectKey)?.sha256;
      o.sha256 = await settle(o.objectKey, declared, o.sha256 ?? undefined, `objects[${i}]`);
    });
    return toHead.reduce((n, { o }) => n + o.size, 0);
  }

  return async (userId, body) => {
    const { s3_key: objectKey, backup_version: version, backup_size: size, base } = body;
    const objects = references(body);
    const pending = await metadata.getPendingUpload(userId, objectKey);
    if (!pending) {
      // Idempotent repeat: a slot already points at this object (for an upload whose
      // slot was chosen at completion, not necessarily the one offered).
      const done = (await metadata.listBackups(userId)).find((b) => b.objectKey === objectKey);
      if (done && done.size === size) return backupInfo(done);
      throw apiError('upload_not_found');
    }
    if (pending.objectOnly)
      throw apiError(
        'bad_request',
        "s3_key is an object from upload_urls, which a backup may only reference; upload the backup's own object with upload_url",
      );
    if (pending.version !== version)
      throw apiError('bad_request', 'backup_version does not match the one of this upload');
    if (pending.declaredSize !== size)
      throw apiError('bad_request', 'backup_size does not match the size declared at upload_url');
    const total = objects.reduce((n, o) => n + o.size, size);
    if (total > limits.maxBackupSize)
      throw apiError(
        'backup_too_large',
        `the backup and its objects add up to ${total} bytes, more than the maximum backup size of ${limits.maxBackupSize} bytes; nothing was changed`,
      );
    // Early answer to the common case; the transaction checks again under its lock.
    if (
      base !== undefined &&
      !(await metadata.listBackups(userId)).some((b) => b.objectKey === base)
    )
      throw baseChanged(metrics);
    const head = await ctx.storage('head', () => blobs.head(objectKey));
    if (!head) {
      metrics.backupsFailed.inc({ reason: 'incomplete' });
      throw apiError('upload_incomplete');
    }
    if (head.size !== pending.declaredSize || head.size > limits.maxBackupSize) {
      // The bad object goes; the slot and the good backup in it are untouched.
      const tooLarge = head.size > limits.maxBackupSize;
      metrics.backupsFailed.inc({ reason: tooLarge ? 'too_large' : 'size_mismatch' });
      await metadata.deletePendingUpload(objectKey);
      await ctx.dropObjects([objectKey], pending.expiresAt);
      throw tooLarge
        ? apiError('backup_too_large')
        : apiError(
            'size_mismatch',
            `the uploaded object has ${head.size} bytes, ${pending.declaredSize} were declared; request a new upload_url`,
          );
    }
    const sha256 = await settle(objectKey, pending.sha256, body.sha256, 'the uploaded object');
    const uploaded = await checkReferences(userId, objects);
    let result: Awaited<ReturnType<typeof metadata.completeUpload>>;
    try {
      result = await metadata.completeUpload({
        userId,
        objectKey,
        version,
        size: head.size,
        now: clock.now(),
        ...(body.objects === undefined ? {} : { objects }),
        ...(base === undefined ? {} : { base }),
        sha256,
      });
    } catch (err) {
      if (!(err instanceof CompletionRefusedError)) throw err;
      if (err.reason === 'base_changed') throw baseChanged(metrics);
      // Between the checks above and the transaction, a cancel, a sweep or a backup
      // replaced meanwhile took the object away.
      const i = objects.findIndex((o) => o.objectKey === err.objectKey);
      throw apiError(
        'upload_not_found',
        `objects[${i}] is no longer a pending upload of yours nor an object one of your backups references; nothing was changed`,
      );
    }
    if (!result) throw apiError('upload_not_found');
    if (!result.alreadyCompleted) {
      metrics.backupsCompleted.inc();
      metrics.bytesUploaded.inc(head.size + uploaded);
      logger.info(
        { userId, version: result.backup.version, size: head.size, objects: objects.length },
        'backup completed',
      );
    }
    // Only after the commit: the replaced backup's object, and the objects it referenced
    // that no slot references any more (docs/API.md "Backups").
    const drop = [...result.releasedObjectKeys];
    if (result.replacedObjectKey && result.replacedObjectKey !== objectKey)
      drop.unshift(result.replacedObjectKey);
    if (drop.length > 0)
      await ctx.dropObjects(drop, ctx.urlDeadline(result.replacedCreatedAt ?? clock.now()));
    return backupInfo(result.backup);
  };
}

function baseChanged(metrics: ServiceContext['metrics']) {
  metrics.backupsFailed.inc({ reason: 'base_changed' });
  return apiError('base_changed');
}
