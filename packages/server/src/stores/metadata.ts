/**
 * MetadataStore: everything the server remembers except blobs (docs/OPERATIONS.md
 * "Configuration reference").
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
  /** The slot object (an incremental backup's manifest). */
  objectKey: string;
  /** Bytes of the slot object. */
  size: number;
  createdAt: Date;
  /** Bytes of the slot object and of every object the backup references. */
  totalSize: number;
  /** Objects the backup references besides its slot object (0: a one-object backup). */
  objectCount: number;
}

/** An object a backup references (docs/API.md "Incremental backups"). */
export interface ObjectRef {
  objectKey: string;
  size: number;
  /**
   * For `completeUpload`: the object's SHA-256 (lowercase hex) to record for the scrub
   * when this completion first stores it; null or absent when not known.
   */
  sha256?: string | null;
}

/**
 * A client's verification of the backup a slot holds (docs/API.md "Verification"): one
 * per slot, void once the slot holds another backup.
 */
export interface VerificationRow {
  version: BackupVersion;
  /** When the verified backup was completed (its `createdAt`). */
  backupCreatedAt: Date;
  verifiedAt: Date;
  status: 'success' | 'failure';
  /** The client's error code for a failure; null otherwise. */
  error: string | null;
}

/** A stored object as the scrub sees it (docs/OPERATIONS.md "Scrub"). */
export interface ObjectChecksumRow {
  objectKey: string;
  userId: string;
  size: number;
  /** SHA-256 of the ciphertext, lowercase hex; null until known. */
  sha256: string | null;
  /** When the scrub last read it; null for never. */
  scrubbedAt: Date | null;
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
  /**
   * True for an upload from `upload_urls`: a backup may reference it, it never becomes
   * a slot's object, and it counts against the pending objects, not the pending uploads
   * (`version` is then unused). Absent means false.
   */
  objectOnly?: boolean;
  /**
   * The SHA-256 the client declared at upload time (lowercase hex), which the upload URL
   * was signed for; absent when it declared none.
   */
  sha256?: string;
}

/** What a user's live pending uploads hold (docs/OPERATIONS.md "Storage bounds"). */
export interface PendingUsage {
  /** Pending uploads from `upload_url` (slot objects). */
  uploads: number;
  /** Pending uploads from `upload_urls` (objects only a backup references). */
  objects: number;
  /** Declared bytes of both kinds. */
  bytes: number;
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
  /**
   * Objects the replaced backup referenced that no slot references any more: the caller
   * drops them after the commit, like the replaced object (their upload URLs expired by
   * `replacedCreatedAt` plus the URL lifetime at the latest).
   */
  releasedObjectKeys: string[];
}

/** A deleted backup, and the objects it referenced that no slot references any more. */
export interface DeletedBackup {
  backup: BackupRow;
  releasedObjectKeys: string[];
}

/**
 * `completeUpload` refused to commit and changed nothing: `base_changed`, no slot holds
 * the `base` the caller named; `object_unavailable`, `objectKey` is neither a pending
 * upload of the user nor an object one of the user's backups references (someone
 * else's, never issued, cancelled, swept, or released by a backup replaced meanwhile),
 * or has another size than the one given.
 */
export class CompletionRefusedError extends Error {
  readonly reason: 'base_changed' | 'object_unavailable';
  readonly objectKey: string | null;
  constructor(reason: 'base_changed' | 'object_unavailable', objectKey: string | null = null) {
    super(`completion refused: ${reason}`);
    this.name = 'CompletionRefusedError';
    this.reason = reason;
    this.objectKey = objectKey;
  }
}

/**
 * Stored bytes and objects per user, bucketed (users holding at least one object): one
 * count per bucket, `counts[i]` the users whose value is at most `bounds[i]` and above
 * `bounds[i - 1]`, the last count the users above every bound.
 */
export interface StorageDistribution {
  /** Users holding at least one object. */
  users: number;
  bytes: { counts: number[]; sum: number };
  objects: { counts: number[]; sum: number };
}

/** One user's stored bytes and objects (`admin stats`). */
export interface UserStorage {
  /** The opaque user id (never the linking key). */
  userId: string;
  bytes: number;
  objects: number;
  /** When the newest of these objects was completed. */
  newestAt: Date;
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
  /**
   * Returns the user for `pubkey`, creating it on first login with backups off (opt-in:
   * the wallet turns them on with `setBackupEnabled`); an existing user is unchanged.
   */
  upsertUser(pubkey: string, now: Date): Promise<UserRow>;
  getUser(userId: string): Promise<UserRow | null>;
  /** The user of `pubkey`, or null; never creates one (`admin import-noah`'s dry run). */
  findUserByPubkey(pubkey: string): Promise<UserRow | null>;
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
  /** Number of pending uploads (of both kinds) of a user not yet expired at `now`. */
  countPendingUploads(userId: string, now: Date): Promise<number>;
  /** What the user's pending uploads not yet expired at `now` hold. */
  pendingUsage(userId: string, now: Date): Promise<PendingUsage>;
  /**
   * Records uploads of one user the client is about to PUT, all or none: in one
   * transaction serialised per user, only if the user's live pending uploads at `now`
   * plus these stay within `limits` (uploads and objects counted by kind, bytes of
   * both). Returns false, recording nothing, when they would not.
   */
  reservePendingUploads(
    rows: readonly PendingUploadRow[],
    now: Date,
    limits: { maxUploads: number; maxObjects: number; maxBytes: number },
  ): Promise<boolean>;
  /**
   * Which of `objectKeys` are the user's: its pending uploads among them (of both
   * kinds), and the objects its backups reference among them (each once, with its size).
   * Someone else's keys and unknown ones are in neither list.
   */
  findUserObjects(
    userId: string,
    objectKeys: readonly string[],
  ): Promise<{ pending: PendingUploadRow[]; referenced: ObjectRef[] }>;
  /**
   * A backup and the objects it references, in the order its completion listed them,
   * read at one instant (one statement); null when the slot is empty.
   */
  getBackupObjects(
    userId: string,
    version: BackupVersion,
  ): Promise<{ backup: BackupRow; objects: ObjectRef[] } | null>;
  /**
   * Removes the caller's own pending upload and returns it; null when there is none (an
   * unknown key, someone else's, or one already completed, cancelled or swept). Atomic
   * against `completeUpload`: exactly one of them wins, so the key of a completed
   * backup is never handed back here.
   */
  cancelPendingUpload(userId: string, objectKey: string): Promise<PendingUploadRow | null>;
  /**
   * Bytes the metadata accounts for: completed backups (their slot objects and the
   * objects they reference, each counted once per user), and the declared sizes of
   * pending uploads not yet expired at `now` (the operator's total storage cap).
   */
  storageUsage(now: Date): Promise<{ backupBytes: number; pendingBytes: number }>;
  /**
   * In one transaction: point a slot at `objectKey` with `size` and `createdAt = now`,
   * make it reference `objects` (none: a one-object backup), remove the pending rows of
   * `objectKey` and of the objects, set the user's `lastBackupAt = now`. The slot is
   * `version` for an upload whose client named it; for an `autoSlot` upload it is
   * chosen here, under the transaction's lock (an empty slot, else the older completed
   * backup), so overlapping uploads never replace a backup completed after the older
   * one. `version` must equal the pending upload's. Every object must be a pending
   * upload of this user or an object one of its backups references, of the given size,
   * and when `base` is given a slot must hold it, checked under the same lock; else
   * it throws {@link CompletionRefusedError} and changes nothing. Returns null when
   * there is no such pending upload of this user (or it is `objectOnly`) and none of
   * the user's slots already points at `objectKey`. Idempotent: a repeat returns the
   * backup with `alreadyCompleted: true` and nothing to drop, whatever `base` says.
   */
  completeUpload(args: {
    userId: string;
    objectKey: string;
    version: BackupVersion;
    size: number;
    now: Date;
    objects?: readonly ObjectRef[];
    base?: string;
    /** The slot object's SHA-256 to record (lowercase hex); null or absent: unknown. */
    sha256?: string | null;
  }): Promise<CompleteUploadResult | null>;
  /**
   * Removes a completed backup, in one transaction serialised with completions, and
   * returns it with the objects it referenced that the other slot does not (so they can
   * be deleted); null if absent.
   */
  deleteBackup(userId: string, version: BackupVersion): Promise<DeletedBackup | null>;
  setBackupEnabled(userId: string, enabled: boolean): Promise<UserRow | null>;

  // ---- verifications (docs/API.md "Verification") ----
  /**
   * Records a verification of the backup in slot `version`, replacing the slot's
   * previous one, only when the slot still holds the backup completed at
   * `backupCreatedAt` (one statement: a completion that replaced it meanwhile wins).
   * Returns false, recording nothing, when it does not (replaced, deleted, never there).
   */
  recordVerification(args: {
    userId: string;
    version: BackupVersion;
    backupCreatedAt: Date;
    verifiedAt: Date;
    status: 'success' | 'failure';
    error?: string | null;
  }): Promise<boolean>;
  /**
   * The verifications of the backups the user's slots hold now, slot order; a slot
   * replaced or deleted since its verification has none.
   */
  listVerifications(userId: string): Promise<VerificationRow[]>;

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
  /**
   * True when a completed backup (as its slot object or a referenced object) or a
   * pending upload references the key.
   */
  isObjectReferenced(objectKey: string): Promise<boolean>;

  // ---- checksums and the scrub (docs/OPERATIONS.md "Scrub") ----
  /**
   * The stored objects (slot objects and referenced ones, each once) with their
   * checksums. `completeUpload` records an object when it first stores it (with the
   * `sha256` it was given) and forgets the ones it releases; so does `deleteBackup`.
   */
  getObjectChecksums(objectKeys: readonly string[]): Promise<ObjectChecksumRow[]>;
  /** Stored objects, the least recently scrubbed first (never scrubbed before any). */
  listScrubDue(limit: number): Promise<ObjectChecksumRow[]>;
  /** How many stored objects there are (the scrub's daily share is a fraction). */
  countStoredObjects(): Promise<number>;
  /**
   * Marks an object read by the scrub at `now`, recording `sha256` when it had none.
   * Idempotent; an object no longer stored is left alone.
   */
  markScrubbed(objectKey: string, now: Date, sha256?: string): Promise<void>;

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
  /**
   * Stored bytes and objects per user as histograms over `bounds` (ascending,
   * non-negative integers), computed in one pass over the stored objects; for metrics,
   * read at most every few minutes (src/metrics-storage.ts).
   */
  storageDistribution(bounds: {
    bytes: readonly number[];
    objects: readonly number[];
  }): Promise<StorageDistribution>;
  /** The `limit` users storing the most bytes, largest first (ties by user id). */
  largestUsers(limit: number): Promise<UserStorage[]>;
  /** Throws when the database cannot answer (readiness). */
  ping(): Promise<void>;
  /**
   * Free bytes on the disk holding a local database file (SQLite, local libSQL);
   * absent for remote databases. For readiness and the free-space check of uploads.
   */
  freeBytes?(): Promise<number>;
  close(): Promise<void>;
}
