/**
 * The backup endpoints' logic (issue 3 item 3; DESIGN.md "Server rules that protect
 * data"): the server names every object, an upload goes to a new object, the slot
 * switches to it only after the object was checked, and only then is the replaced
 * object dropped (services/storage.ts: deleted, or its key retired while an upload URL
 * for it may still be used). Every blob-store failure becomes 503 `storage_unavailable`
 * with nothing changed.
 * @module
 */
import type {
  BackupInfo,
  BackupVersion,
  CancelUploadRequest,
  CancelUploadResponse,
  CompleteUploadRequest,
  DeleteResponse,
  DownloadUrlRequest,
  DownloadUrlResponse,
  ReportRequest,
  SettingsResponse,
  UploadUrlRequest,
  UploadUrlResponse,
} from '@noah-backup/core/api';
import type { Clock, RandomBytes } from '@noah-backup/core/clock';
import type { Logger } from 'pino';
import { apiError } from '../errors.ts';
import { scrubSecrets } from '../logging.ts';
import type { Metrics } from '../metrics.ts';
import { type Rollout, rolloutAllows } from '../rollout.ts';
import { type BlobStore, BlobStoreFullError } from '../stores/blob.ts';
import { chooseSlot } from '../slots.ts';
import {
  createFreeSpaceCheck,
  createObjectDropper,
  createStorageCap,
  storageFull,
} from './storage.ts';
import type { BackupRow, MetadataStore, UserRow } from '../stores/metadata.ts';

export { chooseSlot } from '../slots.ts';

/** What the backup routes call. Every method throws HttpError for client-visible failures. */
export interface BackupService {
  uploadUrl(userId: string, body: UploadUrlRequest): Promise<UploadUrlResponse>;
  completeUpload(userId: string, body: CompleteUploadRequest): Promise<BackupInfo>;
  cancelUpload(userId: string, body: CancelUploadRequest): Promise<CancelUploadResponse>;
  list(userId: string): Promise<BackupInfo[]>;
  downloadUrl(userId: string, body: DownloadUrlRequest): Promise<DownloadUrlResponse>;
  remove(userId: string, version: BackupVersion): Promise<DeleteResponse>;
  getSettings(userId: string): Promise<SettingsResponse>;
  setSettings(userId: string, enabled: boolean): Promise<SettingsResponse>;
  report(userId: string, body: ReportRequest): Promise<{ received: true }>;
}

/** Limits and lifetimes the service enforces. */
export interface BackupLimits {
  maxBackupSize: number;
  uploadUrlTtlSec: number;
  downloadUrlTtlSec: number;
  maxPendingUploads: number;
  /** The operator's total cap in bytes (0 = none). */
  maxTotalStorage: number;
  /** How long a PUT may still run after its URL expired (REQUEST_TIMEOUT). */
  inFlightGraceSec: number;
  /** Free bytes a local store's disk keeps (MIN_FREE_SPACE). */
  minFreeSpace: number;
  rollout: Rollout;
}

function info(row: BackupRow): BackupInfo {
  return {
    backup_version: row.version,
    created_at: row.createdAt.toISOString(),
    backup_size: row.size,
  };
}

/** The settings, with the size limit a client checks before it encrypts (docs/API.md). */
function settings(user: UserRow, maxBackupSize: number): SettingsResponse {
  return {
    backup_enabled: user.backupEnabled,
    last_backup_at: user.lastBackupAt?.toISOString() ?? null,
    max_backup_size: maxBackupSize,
  };
}

/**
 * Creates the backup service over the two stores.
 *
 * @param deps - stores, clock, randomness, metrics, logger and limits
 * @returns the service
 */
export function createBackupService(deps: {
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  random: RandomBytes;
  metrics: Metrics;
  logger: Logger;
  limits: BackupLimits;
}): BackupService {
  const { metadata, blobs, clock, random, metrics, logger, limits } = deps;

  /**
   * Runs a blob-store call; any failure is a 503 (a full store a 507) and the caller
   * changes nothing.
   */
  async function storage<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      logger.warn({ err, op: what, store: blobs.kind }, 'blob store call failed');
      if (err instanceof BlobStoreFullError) throw storageFull('the blob store is full');
      throw apiError('storage_unavailable', undefined, { cause: err });
    }
  }

  // An object no backup references: deleted, or its key retired while an upload URL
  // for it may still be used (services/storage.ts).
  const dropObject = createObjectDropper({
    metadata,
    blobs,
    clock,
    logger,
    inFlightGraceSec: limits.inFlightGraceSec,
  });
  /** When the upload URL of a backup completed at `createdAt` expired, at the latest. */
  const urlDeadline = (createdAt: Date) =>
    new Date(createdAt.getTime() + limits.uploadUrlTtlSec * 1000);
  const cap = createStorageCap({ metadata, clock, maxTotalStorage: limits.maxTotalStorage });
  const room = createFreeSpaceCheck({ metadata, blobs, minFreeSpace: limits.minFreeSpace });

  async function requireUser(userId: string): Promise<UserRow> {
    const user = await metadata.getUser(userId);
    if (!user) throw apiError('unauthorized');
    return user;
  }

  return {
    async uploadUrl(userId, body) {
      if (body.backup_size > limits.maxBackupSize)
        throw apiError(
          'backup_too_large',
          `backup_size ${body.backup_size} exceeds the maximum backup size of ${limits.maxBackupSize} bytes`,
        );
      if (limits.rollout.mode !== 'all') {
        const user = await requireUser(userId);
        if (!rolloutAllows(limits.rollout, user.pubkey)) throw apiError('backups_not_enabled');
      }
      const now = clock.now();
      // Per-user quota: a bounded number of live pending uploads (objects not yet
      // verified); completed backups are bounded by the two slots × the size limit.
      if ((await metadata.countPendingUploads(userId, now)) >= limits.maxPendingUploads)
        throw apiError('quota_exceeded');
      const existing = await metadata.listBackups(userId);
      const version = body.backup_version ?? chooseSlot(existing);
      // The operator's total cap: what this upload adds once it replaces the backup in
      // the slot it would take now.
      const replaces = existing.find((b) => b.version === version)?.size ?? 0;
      await room.check(body.backup_size);
      await cap.check(body.backup_size - replaces);
      // DESIGN.md "Server rules": the server names every key; opaque, no pubkey, new each time.
      const objectKey = `b/${Buffer.from(random(16)).toString('hex')}`;
      const expiresAt = new Date(now.getTime() + limits.uploadUrlTtlSec * 1000);
      await metadata.createPendingUpload({
        objectKey,
        userId,
        version,
        declaredSize: body.backup_size,
        createdAt: now,
        expiresAt,
        // No slot named: the completion picks it (docs/API.md "complete_upload").
        autoSlot: body.backup_version === undefined,
      });
      let put: Awaited<ReturnType<BlobStore['presignPut']>>;
      try {
        put = await storage('presignPut', () =>
          blobs.presignPut(objectKey, {
            size: body.backup_size,
            expiresInSec: limits.uploadUrlTtlSec,
          }),
        );
      } catch (err) {
        await metadata.deletePendingUpload(objectKey);
        throw err;
      }
      metrics.uploadUrlsIssued.inc();
      return {
        upload_url: put.url,
        s3_key: objectKey,
        backup_version: version,
        expires_at: put.expiresAt.toISOString(),
        upload_headers: put.headers,
      };
    },

    async completeUpload(userId, body) {
      const { s3_key: objectKey, backup_version: version, backup_size: size } = body;
      const pending = await metadata.getPendingUpload(userId, objectKey);
      if (!pending) {
        // Idempotent repeat: a slot already points at this object (for an upload whose
        // slot was chosen at completion, not necessarily the one offered).
        const done = (await metadata.listBackups(userId)).find((b) => b.objectKey === objectKey);
        if (done && done.size === size) return info(done);
        throw apiError('upload_not_found');
      }
      if (pending.version !== version)
        throw apiError('bad_request', 'backup_version does not match the one of this upload');
      if (pending.declaredSize !== size)
        throw apiError('bad_request', 'backup_size does not match the size declared at upload_url');
      const head = await storage('head', () => blobs.head(objectKey));
      if (!head) {
        metrics.backupsFailed.inc({ reason: 'incomplete' });
        throw apiError('upload_incomplete');
      }
      if (head.size !== pending.declaredSize || head.size > limits.maxBackupSize) {
        // The bad object goes; the slot and the good backup in it are untouched.
        const tooLarge = head.size > limits.maxBackupSize;
        metrics.backupsFailed.inc({ reason: tooLarge ? 'too_large' : 'size_mismatch' });
        await metadata.deletePendingUpload(objectKey);
        await dropObject(objectKey, pending.expiresAt);
        throw tooLarge
          ? apiError('backup_too_large')
          : apiError(
              'size_mismatch',
              `the uploaded object has ${head.size} bytes, ${pending.declaredSize} were declared; request a new upload_url`,
            );
      }
      const result = await metadata.completeUpload({
        userId,
        objectKey,
        version,
        size: head.size,
        now: clock.now(),
      });
      if (!result) throw apiError('upload_not_found');
      if (!result.alreadyCompleted) {
        metrics.backupsCompleted.inc();
        metrics.bytesUploaded.inc(head.size);
        logger.info({ userId, version, size: head.size }, 'backup completed');
      }
      // Only after the commit: the replaced backup's object (DESIGN.md "Server rules").
      if (result.replacedObjectKey && result.replacedObjectKey !== objectKey)
        await dropObject(
          result.replacedObjectKey,
          urlDeadline(result.replacedCreatedAt ?? clock.now()),
        );
      return info(result.backup);
    },

    async cancelUpload(userId, body) {
      // The row first, in one statement: a completion racing this either committed
      // (then nothing is found here and its object is left alone) or finds no row.
      const row = await metadata.cancelPendingUpload(userId, body.s3_key);
      if (!row) throw apiError('upload_not_found');
      await dropObject(row.objectKey, row.expiresAt);
      logger.info({ userId }, 'upload cancelled');
      return { cancelled: true };
    },

    async list(userId) {
      const rows = await metadata.listBackups(userId);
      return [...rows].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).map(info);
    },

    async downloadUrl(userId, body) {
      const version = body.backup_version ?? null;
      const row =
        version === null
          ? newest(await metadata.listBackups(userId))
          : await metadata.getBackup(userId, version);
      if (!row) throw apiError('backup_not_found');
      const get = await storage('presignGet', () =>
        blobs.presignGet(row.objectKey, { expiresInSec: limits.downloadUrlTtlSec }),
      );
      return {
        download_url: get.url,
        backup_size: row.size,
        backup_version: row.version,
        created_at: row.createdAt.toISOString(),
        expires_at: get.expiresAt.toISOString(),
      };
    },

    async remove(userId, version) {
      // Metadata first: once the row is gone nobody can reach the object; a failed
      // object delete is queued and retried by the sweeper.
      const row = await metadata.deleteBackup(userId, version);
      if (!row) throw apiError('backup_not_found');
      await dropObject(row.objectKey, urlDeadline(row.createdAt));
      return { deleted: true, backup_version: version };
    },

    async getSettings(userId) {
      return settings(await requireUser(userId), limits.maxBackupSize);
    },

    async setSettings(userId, enabled) {
      const user = await metadata.setBackupEnabled(userId, enabled);
      if (!user) throw apiError('unauthorized');
      return settings(user, limits.maxBackupSize);
    },

    async report(userId, body) {
      metrics.clientReports.inc({ kind: body.kind, status: body.status });
      logger.info(
        {
          userId,
          kind: body.kind,
          status: body.status,
          notificationId: body.notification_id,
          // Free text from the client: it may quote a URL or a header.
          clientError: body.error === undefined ? undefined : scrubSecrets(body.error),
        },
        'client report',
      );
      return { received: true };
    },
  };
}

function newest(rows: readonly BackupRow[]): BackupRow | null {
  let best: BackupRow | null = null;
  for (const r of rows) if (!best || r.createdAt > best.createdAt) best = r;
  return best;
}
