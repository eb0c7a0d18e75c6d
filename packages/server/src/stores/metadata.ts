/**
 * MetadataStore: everything the server remembers except blobs (DESIGN.md "Seams").
 * Implementations: `sqlite` (better-sqlite3 file, or libSQL/Turso for `libsql://`) and
 * `postgres`, chosen by DATABASE_URL. One contract suite (test/metadata-contract) runs
 * against each. All times come from the caller (the injected Clock); the store never
 * reads the wall clock.
 *
 * Error contract: "not found" is `null` (or `false`), never an exception; methods marked
 * idempotent may be repeated safely; any other failure throws (the HTTP layer turns it
 * into a logged 500 / 503).
 * @module
 */
import type { BackupVersion } from '@noah-backup/core/api';
import type { PushStore } from './push.ts';

export interface UserRow {
  id: string;
  /** 33-byte compressed secp256k1 linking key, lowercase hex. */
  pubkey: string;
  backupEnabled: boolean;
  lastBackupAt: Date | null;
  createdAt: Date;
}

export interface BackupRow {
  userId: string;
  version: BackupVersion;
  objectKey: string;
  size: number;
  createdAt: Date;
}

export interface PendingUploadRow {
  objectKey: string;
  userId: string;
  version: BackupVersion;
  declaredSize: number;
  createdAt: Date;
  expiresAt: Date;
  /**
   * True when the client named no slot: the completion then takes an empty slot, else
   * the one holding the older completed backup, decided inside its transaction, and
   * `version` is only the slot offered at `upload_url` (docs/API.md "complete_upload").
   * Absent means false (the client named `version`).
   */
  autoSlot?: boolean;
}

export interface CompleteUploadResult {
  backup: BackupRow;
  /** The object the new backup replaced; the caller deletes it after the commit. */
  replacedObjectKey: string | null;
  /**
   * When the replaced backup was completed (null when none): its upload URL expired at
   * most one upload-URL lifetime after that, which tells the caller how long the
   * object's key must keep refusing PUTs.
   */
  replacedCreatedAt: Date | null;
  /** True when this exact upload had already been completed (idempotent repeat). */
  alreadyCompleted: boolean;
}

/** The whole store; the daily trigger's slice is {@link PushStore} (stores/push.ts). */
export interface MetadataStore extends PushStore {
  /** Backend name for logs and metrics ("sqlite" | "libsql" | "postgres"). */
  readonly kind: string;

  // ---- auth (LUD-04 challenges, sessions) ----
  /** Stores a fresh k1 challenge (lowercase hex). */
  createChallenge(k1: string, expiresAt: Date): Promise<void>;
  /**
   * Atomically consumes a challenge: true exactly once for an existing, unexpired k1,
   * even when callers race; false for unknown, expired or already used. Deletes it.
   */
  consumeChallenge(k1: string, now: Date): Promise<boolean>;
  /** Deletes expired challenges; returns how many. Idempotent. */
  pruneChallenges(now: Date): Promise<number>;
  /** Returns the user for `pubkey`, creating it (backups enabled) on first login. */
  upsertUser(pubkey: string, now: Date): Promise<UserRow>;
  getUser(userId: string): Promise<UserRow | null>;
  /** Stores a session by the SHA-256 hash of its token (hex); the token itself is never stored. */
  createSession(tokenHash: string, userId: string, expiresAt: Date, now: Date): Promise<void>;
  /** The live session for a token hash; null when unknown, expired or revoked. */
  getSession(tokenHash: string, now: Date): Promise<{ userId: string; expiresAt: Date } | null>;
  /** Revokes a session. Idempotent. */
  revokeSession(tokenHash: string): Promise<void>;
  /** Deletes expired sessions; returns how many. */
  pruneSessions(now: Date): Promise<number>;

  // ---- backups ----
  /** The user's completed backups, newest first (at most two). */
  listBackups(userId: string): Promise<BackupRow[]>;
  getBackup(userId: string, version: BackupVersion): Promise<BackupRow | null>;
  /** Records an upload the client is about to PUT. */
  createPendingUpload(row: PendingUploadRow): Promise<void>;
  /** The caller's own pending upload by object key; null if none (or someone else's). */
  getPendingUpload(userId: string, objectKey: string): Promise<PendingUploadRow | null>;
  /** Number of pending uploads of a user not yet expired at `now`. */
  countPendingUploads(userId: string, now: Date): Promise<number>;
  /**
   * Removes the caller's own pending upload and returns it; null when there is none (an
   * unknown key, someone else's, or one already completed, cancelled or swept). Atomic
   * against `completeUpload`: exactly one of them wins, so the key of a completed
   * backup is never handed back here.
   */
  cancelPendingUpload(userId: string, objectKey: string): Promise<PendingUploadRow | null>;
  /**
   * Bytes the metadata accounts for: completed backups, and the declared sizes of
   * pending uploads not yet expired at `now` (the operator's total storage cap).
   */
  storageUsage(now: Date): Promise<{ backupBytes: number; pendingBytes: number }>;
  /**
   * In one transaction: point a slot at `objectKey` with `size` and `createdAt = now`,
   * remove the pending row, set the user's `lastBackupAt = now`. The slot is `version`
   * for an upload whose client named it; for an `autoSlot` upload it is chosen here,
   * under the transaction's lock (an empty slot, else the older completed backup), so
   * overlapping uploads never replace a backup completed after the older one.
   * `version` must equal the pending upload's. Returns null when there is no such
   * pending upload of this user and none of the user's slots already points at
   * `objectKey`. Idempotent: a repeat returns the backup with `alreadyCompleted: true`
   * and no replaced key.
   */
  completeUpload(args: {
    userId: string;
    objectKey: string;
    version: BackupVersion;
    size: number;
    now: Date;
  }): Promise<CompleteUploadResult | null>;
  /** Removes a completed backup and returns it (so its object can be deleted); null if absent. */
  deleteBackup(userId: string, version: BackupVersion): Promise<BackupRow | null>;
  setBackupEnabled(userId: string, enabled: boolean): Promise<UserRow | null>;

  // ---- sweeping (abandoned uploads, replaced or orphaned objects) ----
  /** Pending uploads that expired before `before`, oldest first. */
  listExpiredPendingUploads(before: Date, limit: number): Promise<PendingUploadRow[]>;
  /** Removes a pending upload row. Idempotent. */
  deletePendingUpload(objectKey: string): Promise<void>;
  /**
   * Queues an object for deletion (retried by the sweeper until the blob store confirms),
   * not before `notBefore` (default: at once) — a key whose upload URL may still be used
   * is kept until the URL is dead. Idempotent; queuing a queued key again keeps the later
   * of the two times.
   */
  enqueueObjectDeletion(objectKey: string, now: Date, notBefore?: Date): Promise<void>;
  /** Queued keys, oldest first; with `now`, only those due at `now`. */
  listObjectDeletions(limit: number, now?: Date): Promise<string[]>;
  /** Idempotent. */
  removeObjectDeletion(objectKey: string): Promise<void>;
  /** True when a completed backup or a pending upload references the key. */
  isObjectReferenced(objectKey: string): Promise<boolean>;

  // ---- leases (one scheduler across instances) ----
  /**
   * Takes or renews the named lease for `holder` until `now + ttlMs`; true if `holder`
   * now holds it. A lease whose expiry passed may be taken by anyone.
   */
  tryAcquireLease(name: string, holder: string, now: Date, ttlMs: number): Promise<boolean>;
  /** Releases the lease if `holder` holds it. Idempotent. */
  releaseLease(name: string, holder: string): Promise<void>;

  // ---- operations ----
  /** Counts for `admin stats` and metrics. */
  stats(
    now: Date,
  ): Promise<{ users: number; enabledUsers: number; backups: number; bytesStored: number }>;
  /** Throws when the database cannot answer (readiness). */
  ping(): Promise<void>;
  /**
   * Free bytes on the disk holding a local database file (SQLite, local libSQL);
   * absent for remote databases. For readiness and the free-space check of uploads.
   */
  freeBytes?(): Promise<number>;
  close(): Promise<void>;
}
