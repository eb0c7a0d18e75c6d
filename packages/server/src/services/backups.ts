/**
 * The backup endpoints' logic (docs/API.md "Backups"): the server
 * names every object, an upload goes to a new object, the slot switches to it only after
 * the object was checked, and only then is the replaced object dropped (services/
 * storage.ts: deleted, or its key retired while an upload URL for it may still be used).
 * A backup may reference objects besides its slot object (docs/API.md "Incremental
 * backups"); they are kept while either slot references them. Every blob-store failure
 * becomes 503 `storage_unavailable` with nothing changed. Uploads are in uploads.ts,
 * completion in completion.ts.
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
  DownloadUrlsRequest,
  DownloadUrlsResponse,
  ReportRequest,
  SettingsResponse,
  SlotVerification,
  UploadUrlRequest,
  UploadUrlResponse,
  UploadUrlsRequest,
  UploadUrlsResponse,
} from '@noah-backup/core/api';
import { apiError } from '../errors.ts';
import { scrubSecrets } from '../logging.ts';
import { countReport } from '../metrics-reports.ts';
import { rolloutRefusal } from '../rollout.ts';
import type { BackupRow, UserRow, VerificationRow } from '../stores/metadata.ts';
import { completionMethod } from './completion.ts';
import {
  type BackupLimits,
  backupInfo,
  createServiceContext,
  type ServiceDeps,
} from './context.ts';
import { type UploadUrlOptions, uploadMethods } from './uploads.ts';

export { chooseSlot } from '../slots.ts';
export type { BackupLimits } from './context.ts';

/** What the backup routes call. Every method throws HttpError for client-visible failures. */
export interface BackupService {
  uploadUrl(
    userId: string,
    body: UploadUrlRequest,
    opts?: UploadUrlOptions,
  ): Promise<UploadUrlResponse>;
  uploadUrls(userId: string, body: UploadUrlsRequest): Promise<UploadUrlsResponse>;
  completeUpload(userId: string, body: CompleteUploadRequest): Promise<BackupInfo>;
  cancelUpload(userId: string, body: CancelUploadRequest): Promise<CancelUploadResponse>;
  list(userId: string): Promise<BackupInfo[]>;
  downloadUrl(userId: string, body: DownloadUrlRequest): Promise<DownloadUrlResponse>;
  downloadUrls(userId: string, body: DownloadUrlsRequest): Promise<DownloadUrlsResponse>;
  remove(userId: string, version: BackupVersion): Promise<DeleteResponse>;
  getSettings(userId: string): Promise<SettingsResponse>;
  setSettings(userId: string, enabled: boolean): Promise<SettingsResponse>;
  report(userId: string, body: ReportRequest): Promise<{ received: true }>;
}

/** The settings, with the size limit a client checks before it encrypts (docs/API.md). */
function settings(
  user: UserRow,
  limits: BackupLimits,
  verifications: readonly VerificationRow[],
): SettingsResponse {
  const refusal = rolloutRefusal(limits.rollout, user.pubkey);
  let last: VerificationRow | null = null;
  for (const v of verifications) if (!last || v.verifiedAt > last.verifiedAt) last = v;
  return {
    backup_enabled: user.backupEnabled,
    last_backup_at: user.lastBackupAt?.toISOString() ?? null,
    max_backup_size: limits.maxBackupSize,
    backups_allowed: refusal === null,
    backups_not_allowed_reason: refusal,
    last_verification: last && slotVerification(last),
  };
}

/** A stored verification as the API shows it (docs/API.md "Verification"). */
function slotVerification(v: VerificationRow): SlotVerification {
  return {
    backup_version: v.version,
    backup_created_at: v.backupCreatedAt.toISOString(),
    verified_at: v.verifiedAt.toISOString(),
    status: v.status,
    error: v.error,
  };
}

/**
 * Creates the backup service over the two stores.
 *
 * @param deps - stores, clock, randomness, metrics, logger and limits
 * @returns the service
 */
export function createBackupService(deps: ServiceDeps): BackupService {
  const ctx = createServiceContext(deps);
  const { metadata, blobs, metrics, logger, limits } = ctx;

  /** The backup in `version`, or the latest when null. */
  async function pick(userId: string, version: BackupVersion | null): Promise<BackupRow> {
    const row =
      version === null
        ? newest(await metadata.listBackups(userId))
        : await metadata.getBackup(userId, version);
    if (!row) throw apiError('backup_not_found');
    return row;
  }

  return {
    ...uploadMethods(ctx),
    completeUpload: completionMethod(ctx),

    async list(userId) {
      const rows = await metadata.listBackups(userId);
      // Read after the slots: a verification of a backup replaced in between is void
      // (its object no longer matches) and one recorded in between names its backup.
      const verified = await metadata.listVerifications(userId);
      return [...rows]
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .map((row) => {
          const v = verified.find(
            (x) =>
              x.version === row.version && x.backupCreatedAt.getTime() === row.createdAt.getTime(),
          );
          return backupInfo(
            row,
            v
              ? { verified_at: v.verifiedAt.toISOString(), status: v.status, error: v.error }
              : null,
          );
        });
    },

    async downloadUrl(userId, body) {
      const row = await pick(userId, body.backup_version ?? null);
      const get = await ctx.storage('presignGet', () =>
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

    async downloadUrls(userId, body) {
      const { version } = await pick(userId, body.backup_version ?? null);
      // The slot and its objects read at one instant: never a mix of two backups.
      const got = await metadata.getBackupObjects(userId, version);
      if (!got) throw apiError('backup_not_found');
      const { backup, objects } = got;
      const sign = (key: string) =>
        ctx.storage('presignGet', () =>
          blobs.presignGet(key, { expiresInSec: limits.downloadUrlTtlSec }),
        );
      // Signed first, so it expires first: its expiry is every URL's lower bound.
      const get = await sign(backup.objectKey);
      const targets = [];
      for (const o of objects)
        targets.push({
          s3_key: o.objectKey,
          size: o.size,
          download_url: (await sign(o.objectKey)).url,
        });
      return {
        download_url: get.url,
        backup_size: backup.size,
        backup_version: backup.version,
        created_at: backup.createdAt.toISOString(),
        expires_at: get.expiresAt.toISOString(),
        s3_key: backup.objectKey,
        objects: targets,
      };
    },

    async remove(userId, version) {
      // Metadata first: once the row is gone nobody can reach the objects; a failed
      // object delete is queued and retried by the sweeper.
      const deleted = await metadata.deleteBackup(userId, version);
      if (!deleted) throw apiError('backup_not_found');
      // Every object it referenced was uploaded before it completed.
      await ctx.dropObjects(
        [deleted.backup.objectKey, ...deleted.releasedObjectKeys],
        ctx.urlDeadline(deleted.backup.createdAt),
      );
      return { deleted: true, backup_version: version };
    },

    async getSettings(userId) {
      const user = await ctx.requireUser(userId);
      return settings(user, limits, await metadata.listVerifications(userId));
    },

    async setSettings(userId, enabled) {
      const user = await metadata.setBackupEnabled(userId, enabled);
      if (!user) throw apiError('unauthorized');
      return settings(user, limits, await metadata.listVerifications(userId));
    },

    async report(userId, body) {
      countReport(metrics, body);
      if (
        body.kind === 'verify' &&
        body.backup_version !== undefined &&
        body.backup_created_at !== undefined
      ) {
        const backupCreatedAt = new Date(body.backup_created_at);
        // A report of a backup the slot no longer holds records nothing (and is no error:
        // the device may have verified just before another backup replaced it).
        if (Number.isFinite(backupCreatedAt.getTime()))
          await metadata.recordVerification({
            userId,
            version: body.backup_version,
            backupCreatedAt,
            verifiedAt: ctx.clock.now(),
            status: body.status,
            error:
              body.status === 'failure' && body.error !== undefined
                ? scrubSecrets(body.error)
                : null,
          });
      }
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
