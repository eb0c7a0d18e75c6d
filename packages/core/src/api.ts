/**
 * Wire types of the Noah Backup HTTP API (docs/API.md). JSON over HTTP; every backup
 * route is `POST /v0/backup/<name>` with the field names of docs/API.md.
 * Shared by the server (validation, OpenAPI) and the client SDK.
 * @module
 */

/** A backup slot. Each user has at most two completed backups, in slots 1 and 2. */
export type BackupVersion = 1 | 2;
/** The slots, in order. */
export const BACKUP_VERSIONS: readonly BackupVersion[] = [1, 2];

/** `GET /v0/getk1` response (LUD-04). */
export interface GetK1Response {
  /** 32 random bytes, hex (64 chars). Single use, expires after 10 minutes. */
  k1: string;
  tag: 'login';
}

/** `POST /v0/auth/login` request (LUD-04). */
export interface LoginRequest {
  /** The k1 from `getk1`, hex. */
  k1: string;
  /** DER-encoded ECDSA signature over the raw 32 bytes of k1, hex. */
  sig: string;
  /** 33-byte compressed secp256k1 linking public key, hex. */
  key: string;
}

/** `POST /v0/auth/login` response. */
export interface LoginResponse {
  access_token: string;
  token_type: 'Bearer';
  /** RFC 3339. */
  expires_at: string;
  /** Only for a login of Noah's app (the server's Noah compatibility profile). */
  expires_in_seconds?: number;
}

/** `POST /v0/backup/upload_url` request. */
export interface UploadUrlRequest {
  /** Exact number of bytes the client will PUT. */
  backup_size: number;
  /** Slot to write; absent = the server picks an empty slot, else the older one. */
  backup_version?: BackupVersion;
  /**
   * SHA-256 of the bytes that will be PUT, lowercase hex: the URL then takes no other
   * body (docs/API.md "Checksums"), and the server's scrub checks the stored object
   * against it. Optional.
   */
  sha256?: string;
}

/** `POST /v0/backup/upload_url` response. */
export interface UploadUrlResponse {
  /** Pre-signed PUT URL; a secret, never log it. Expires in 15 minutes. */
  upload_url: string;
  /** Opaque object key named by the server; pass it back to `complete_upload`. */
  s3_key: string;
  backup_version: BackupVersion;
  /** RFC 3339. */
  expires_at: string;
  /** Headers the PUT must carry besides Content-Length (may be empty). */
  upload_headers: Record<string, string>;
}

/**
 * Upload URLs `POST /v0/backup/upload_urls` hands out in one call, at most
 * (docs/API.md "Incremental backups").
 */
export const MAX_UPLOAD_URLS_PER_CALL = 1024;

/** Objects one backup may reference besides its slot object, at most. */
export const MAX_BACKUP_OBJECTS = 4096;

/**
 * `POST /v0/backup/upload_urls` request: pre-signed PUT URLs for several objects a
 * backup will reference (the packs of an incremental backup, docs/FORMAT.md §8).
 */
export interface UploadUrlsRequest {
  /** One entry per object, 1 to {@link MAX_UPLOAD_URLS_PER_CALL}. */
  objects: { size: number; sha256?: string }[];
}

/** One object's upload target, as `upload_urls` returns it. */
export interface UploadTarget {
  /** Opaque object key named by the server; reference it in `complete_upload`. */
  s3_key: string;
  /** Pre-signed PUT URL; a secret, never log it. */
  upload_url: string;
  /** Headers the PUT must carry besides Content-Length (may be empty). */
  upload_headers: Record<string, string>;
  /** RFC 3339. */
  expires_at: string;
}

/** `POST /v0/backup/upload_urls` response: one target per requested object, in order. */
export interface UploadUrlsResponse {
  objects: UploadTarget[];
}

/** An object a backup references: its key and size in bytes. */
export interface ObjectRef {
  s3_key: string;
  size: number;
  /** SHA-256 of its bytes, lowercase hex (docs/API.md "Checksums"); optional. */
  sha256?: string;
}

/** `POST /v0/backup/complete_upload` request. */
export interface CompleteUploadRequest {
  s3_key: string;
  backup_version: BackupVersion;
  backup_size: number;
  /**
   * SHA-256 of the slot object, lowercase hex (docs/API.md "Checksums"); optional. A
   * value other than the one given at `upload_url`, or than the stored object's, is
   * refused with `409 checksum_mismatch`.
   */
  sha256?: string;
  /**
   * The objects the backup references besides its slot object (an incremental backup's
   * packs): each an upload of this user that was PUT (from `upload_urls`), or an object
   * one of this user's backups already references. Absent = a one-object backup.
   */
  objects?: ObjectRef[];
  /**
   * The `s3_key` of the backup this one builds on: the completion is refused with
   * `409 base_changed` unless one of the user's slots still holds it.
   */
  base?: string;
}

/**
 * `POST /v0/backup/cancel_upload` request: give up a pending upload, so that it no
 * longer counts against the user's pending uploads and its URL stores nothing more.
 */
export interface CancelUploadRequest {
  s3_key: string;
}

/** `POST /v0/backup/cancel_upload` response. */
export interface CancelUploadResponse {
  cancelled: true;
}

/** One completed backup, as `list` returns it. */
export interface BackupInfo {
  backup_version: BackupVersion;
  /** RFC 3339. */
  created_at: string;
  backup_size: number;
  /**
   * Bytes of the slot object and every object the backup references; equals
   * `backup_size` for a one-object backup. Absent from servers older than this field.
   */
  total_size?: number;
  /** Objects the backup references besides its slot object (0 for a one-object backup). */
  object_count?: number;
  /**
   * The last verification a client reported of this backup (docs/API.md
   * "Verification"), null when none; gone once the slot holds another backup. Absent
   * from servers older than this field.
   */
  verification?: Verification | null;
}

/**
 * A client's verification of one stored backup: downloaded, decrypted and every database
 * checked as a restore would (docs/API.md "Verification").
 */
export interface Verification {
  /** RFC 3339, the server's time of the report. */
  verified_at: string;
  status: 'success' | 'failure';
  /** The client's error code, for a failure; null otherwise. */
  error: string | null;
}

/** The newest verification of a backup a slot holds now (`SettingsResponse`). */
export interface SlotVerification extends Verification {
  backup_version: BackupVersion;
  /** RFC 3339: when the verified backup was completed. */
  backup_created_at: string;
}

/** `POST /v0/backup/complete_upload` response. */
export type CompleteUploadResponse = BackupInfo;

/** `POST /v0/backup/list` response: newest first. */
export type ListResponse = BackupInfo[];

/** `POST /v0/backup/download_url` request. */
export interface DownloadUrlRequest {
  /** Absent or null = the latest backup. */
  backup_version?: BackupVersion | null;
}

/** `POST /v0/backup/download_url` response. */
export interface DownloadUrlResponse {
  /** Pre-signed GET URL; a secret, never log it. Expires in 5 minutes. */
  download_url: string;
  backup_size: number;
  backup_version: BackupVersion;
  created_at: string;
  expires_at: string;
}

/** `POST /v0/backup/download_urls` request. */
export type DownloadUrlsRequest = DownloadUrlRequest;

/** One referenced object's download URL, as `download_urls` returns it. */
export interface DownloadTarget extends ObjectRef {
  /** Pre-signed GET URL; a secret, never log it. Expires with `expires_at`. */
  download_url: string;
}

/**
 * `POST /v0/backup/download_urls` response: every URL a restore needs, the slot object's
 * and those of the objects it references (in the order `complete_upload` listed them;
 * empty for a one-object backup).
 */
export interface DownloadUrlsResponse extends DownloadUrlResponse {
  /**
   * The slot object's key (the manifest of an incremental backup): what a later
   * `complete_upload` names as its `base`. Always sent by this server; a client meets
   * its absence only from an older one.
   */
  s3_key?: string;
  objects: DownloadTarget[];
}

/** `POST /v0/backup/delete` request. */
export interface DeleteRequest {
  backup_version: BackupVersion;
}

/** `POST /v0/backup/delete` response. */
export interface DeleteResponse {
  deleted: true;
  backup_version: BackupVersion;
}

/** `POST /v0/backup/settings` request. */
export interface SettingsRequest {
  backup_enabled: boolean;
}

/** `GET|POST /v0/backup/settings` response. */
export interface SettingsResponse {
  backup_enabled: boolean;
  /** RFC 3339, or null before the first completed backup. */
  last_backup_at: string | null;
  /**
   * The largest `backup_size` the server accepts, in bytes (its MAX_BACKUP_SIZE), so a
   * client can stop before the work; absent from servers older than this field.
   */
  max_backup_size?: number;
  /**
   * Whether the server takes new backups of this user now (its rollout switch,
   * docs/OPERATIONS.md "Rollout"); when false, `upload_url` answers `403
   * backups_not_enabled` and the app explains why instead. Absent from older servers.
   */
  backups_allowed?: boolean;
  /**
   * Why backups are not allowed, null when they are: `rollout_paused` (the operator
   * takes no new backups at the moment), `rollout_pending` (backups are being rolled out
   * to a share of users, not yet this one).
   */
  backups_not_allowed_reason?: BackupsNotAllowedReason | null;
  /**
   * The newest verification of a backup a slot holds now, null when none (a
   * verification is void once its slot holds another backup). Absent from older servers.
   */
  last_verification?: SlotVerification | null;
}

/** Why the server takes no new backups of a user (`SettingsResponse`). */
export type BackupsNotAllowedReason = 'rollout_paused' | 'rollout_pending';

/**
 * `POST /v0/backup/report` request: the client's outcome of a backup, a restore or a
 * verification of a stored backup.
 */
export interface ReportRequest {
  notification_id?: string;
  kind: 'backup' | 'restore' | 'verify';
  status: 'success' | 'failure';
  /** A short error code or sentence; never a secret. */
  error?: string;
  /**
   * `verify` only: the slot verified and its backup's `created_at` (RFC 3339, as `list`
   * gave it). The server records the verification on the slot when it still holds that
   * backup, and ignores it otherwise (docs/API.md "Verification").
   */
  backup_version?: BackupVersion;
  backup_created_at?: string;
}

/** Push providers a device can register. */
export type PushProvider = 'expo' | 'unifiedpush';

/** `POST /v0/push/register` request. */
export interface PushRegisterRequest {
  provider: PushProvider;
  /** Expo push token (provider "expo"). */
  token?: string;
  /** UnifiedPush endpoint URL (provider "unifiedpush"). */
  endpoint?: string;
  /**
   * The device's Web Push message-encryption keys (RFC 8291; provider "unifiedpush"), as
   * its distributor gives them, base64url: `p256dh` the P-256 public key (65 bytes
   * uncompressed), `auth` the 16-byte authentication secret. With them the trigger is
   * sent encrypted, with VAPID (RFC 8292); without them in plain text.
   */
  keys?: { p256dh: string; auth: string };
  /** Stable per-install id chosen by the device; re-registering updates it. */
  device_id: string;
}

/** `POST /v0/push/unregister` request. */
export interface PushUnregisterRequest {
  device_id: string;
}

/** The data payload of the daily silent push. */
export interface BackupTriggerPayload {
  type: 'backup_trigger';
  notification_id: string;
  /** Only with the server's Noah compatibility profile: the names Noah's app reads. */
  notification_type?: 'backup_trigger';
  /** Only with the server's Noah compatibility profile: `notification_id` again. */
  notification_k1?: string;
}

/**
 * Stable error codes. Every error response is
 * `{"code": ErrorCode, "message": string, "request_id": string}` with the HTTP status
 * from the server's catalog.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'token_expired'
  | 'invalid_k1'
  | 'invalid_key'
  | 'invalid_signature'
  | 'forbidden'
  | 'backups_not_enabled'
  | 'push_endpoint_not_allowed'
  | 'not_found'
  | 'backup_not_found'
  | 'upload_not_found'
  | 'upload_incomplete'
  | 'size_mismatch'
  | 'checksum_mismatch'
  | 'conflict'
  | 'base_changed'
  | 'backup_too_large'
  | 'quota_exceeded'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'range_not_satisfiable'
  | 'method_not_allowed'
  | 'signature_invalid'
  | 'url_expired'
  | 'rate_limited'
  | 'storage_unavailable'
  | 'storage_full'
  | 'not_ready'
  | 'internal';

/** Error response body. */
export interface ErrorResponse {
  code: ErrorCode;
  message: string;
  request_id?: string;
}
