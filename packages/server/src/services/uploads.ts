/**
 * Handing out upload URLs (docs/API.md "upload_url", "Incremental backups"): the server
 * names every object, records it as a pending upload within the user's limits (counts
 * and bytes, docs/OPERATIONS.md "Storage bounds") and signs a write-once URL for exactly
 * its size; `cancel_upload` gives one back.
 * @module
 */
import type {
  CancelUploadRequest,
  CancelUploadResponse,
  UploadUrlRequest,
  UploadUrlResponse,
  UploadUrlsRequest,
  UploadUrlsResponse,
} from '@noah-backup/core/api';
import { newObjectKey } from '../blob/keys.ts';
import { apiError } from '../errors.ts';
import { rolloutAllows } from '../rollout.ts';
import { chooseSlot } from '../slots.ts';
import type { PresignedPut } from '../stores/blob.ts';
import type { PendingUploadRow } from '../stores/metadata.ts';
import type { ServiceContext } from './context.ts';

/** What only the server itself passes to `uploadUrl`. */
export interface UploadUrlOptions {
  /**
   * The object key, already named by the server and never yet uploaded to (the Noah
   * profile's upload relay names it when it hands out its URL, src/compat/noah/relay.ts).
   * Default: a new one.
   */
  objectKey?: string;
}

/** The upload slice of the backup service. */
export interface UploadMethods {
  uploadUrl(
    userId: string,
    body: UploadUrlRequest,
    opts?: UploadUrlOptions,
  ): Promise<UploadUrlResponse>;
  uploadUrls(userId: string, body: UploadUrlsRequest): Promise<UploadUrlsResponse>;
  cancelUpload(userId: string, body: CancelUploadRequest): Promise<CancelUploadResponse>;
}

/**
 * Builds the upload methods.
 *
 * @param ctx - the service context
 * @returns `uploadUrl`, `uploadUrls` and `cancelUpload`
 */
export function uploadMethods(ctx: ServiceContext): UploadMethods {
  const { metadata, blobs, clock, random, metrics, logger, limits } = ctx;

  const newKey = () => newObjectKey(random);

  async function allowed(userId: string): Promise<void> {
    if (limits.rollout.mode === 'all') return;
    const user = await ctx.requireUser(userId);
    if (!rolloutAllows(limits.rollout, user.pubkey)) throw apiError('backups_not_enabled');
  }

  /**
   * Checks the room for the rows and the total cap for `growth` more bytes, records
   * `rows` within the user's limits, and signs a PUT URL for each; on any failure
   * nothing is left pending and nothing counted.
   */
  async function issue(rows: PendingUploadRow[], growth: number): Promise<PresignedPut[]> {
    await ctx.room.check(rows.reduce((n, r) => n + r.declaredSize, 0));
    await ctx.cap.check(growth);
    let reserved = false;
    try {
      reserved = await metadata.reservePendingUploads(rows, clock.now(), ctx.pendingLimits);
      if (!reserved) throw apiError('quota_exceeded');
      const puts: PresignedPut[] = [];
      for (const r of rows)
        puts.push(
          await ctx.storage('presignPut', () =>
            blobs.presignPut(r.objectKey, {
              size: r.declaredSize,
              expiresInSec: limits.uploadUrlTtlSec,
              ...(r.sha256 === undefined ? {} : { sha256: r.sha256 }),
            }),
          ),
        );
      metrics.uploadUrlsIssued.inc(rows.length);
      return puts;
    } catch (err) {
      ctx.cap.refund(growth);
      if (reserved) for (const r of rows) await metadata.deletePendingUpload(r.objectKey);
      throw err;
    }
  }

  return {
    async uploadUrl(userId, body, opts) {
      if (body.backup_size > limits.maxBackupSize)
        throw apiError(
          'backup_too_large',
          `backup_size ${body.backup_size} exceeds the maximum backup size of ${limits.maxBackupSize} bytes`,
        );
      await allowed(userId);
      const now = clock.now();
      const existing = await metadata.listBackups(userId);
      const version = body.backup_version ?? chooseSlot(existing);
      // The operator's total cap: what this upload adds once it replaces the slot object
      // of the backup in the slot it would take now (the objects that backup references
      // may be shared, so they are not counted as freed).
      const replaces = existing.find((b) => b.version === version)?.size ?? 0;
      const row: PendingUploadRow = {
        objectKey: opts?.objectKey ?? newKey(),
        userId,
        version,
        declaredSize: body.backup_size,
        createdAt: now,
        expiresAt: new Date(now.getTime() + limits.uploadUrlTtlSec * 1000),
        // No slot named: the completion picks it (docs/API.md "complete_upload").
        autoSlot: body.backup_version === undefined,
        ...(body.sha256 === undefined ? {} : { sha256: body.sha256 }),
      };
      const [put] = await issue([row], body.backup_size - replaces);
      return {
        upload_url: put!.url,
        s3_key: row.objectKey,
        backup_version: version,
        expires_at: put!.expiresAt.toISOString(),
        upload_headers: put!.headers,
      };
    },

    async uploadUrls(userId, body) {
      let total = 0;
      for (const [i, o] of body.objects.entries()) {
        if (o.size > limits.maxBackupSize)
          throw apiError(
            'backup_too_large',
            `objects[${i}].size ${o.size} exceeds the maximum backup size of ${limits.maxBackupSize} bytes`,
          );
        total += o.size;
      }
      // A backup (its slot object and every object it references) fits the limit, so
      // objects that do not fit together are refused before anything is uploaded.
      if (total > limits.maxBackupSize)
        throw apiError(
          'backup_too_large',
          `the objects add up to ${total} bytes, more than the maximum backup size of ${limits.maxBackupSize} bytes`,
        );
      await allowed(userId);
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + limits.uploadUrlTtlSec * 1000);
      const rows: PendingUploadRow[] = body.objects.map((o) => ({
        objectKey: newKey(),
        userId,
        // Unused for an object only a backup references (stores/metadata.ts).
        version: 1,
        declaredSize: o.size,
        createdAt: now,
        expiresAt,
        objectOnly: true,
        ...(o.sha256 === undefined ? {} : { sha256: o.sha256 }),
      }));
      const puts = await issue(rows, total);
      logger.debug({ userId, objects: rows.length, bytes: total }, 'object upload URLs issued');
      return {
        objects: rows.map((r, i) => ({
          s3_key: r.objectKey,
          upload_url: puts[i]!.url,
          upload_headers: puts[i]!.headers,
          expires_at: puts[i]!.expiresAt.toISOString(),
        })),
      };
    },

    async cancelUpload(userId, body) {
      // The row first, in one statement: a completion racing this either committed
      // (then nothing is found here and its object is left alone) or finds no row.
      const row = await metadata.cancelPendingUpload(userId, body.s3_key);
      if (!row) throw apiError('upload_not_found');
      await ctx.dropObjects([row.objectKey], row.expiresAt);
      logger.info({ userId }, 'upload cancelled');
      return { cancelled: true };
    },
  };
}
