/**
 * The metadata tables as Kysely sees them, and the one place where values cross between
 * JavaScript and SQL (times, booleans, 64-bit integers). The same schema serves SQLite,
 * libSQL and PostgreSQL (migrations.ts); what differs per dialect is in `SqlFlavor`.
 *
 * Conventions (one rule for every backend):
 * - times are integer milliseconds since the Unix epoch in `bigint` columns;
 * - booleans are `boolean` columns: PostgreSQL's native type, SQLite stores 0/1;
 * - PostgreSQL returns `bigint`, `count` and `sum` as strings, SQLite as numbers, so
 *   every read goes through `num`.
 * @module
 */
import type { BackupVersion } from '@noah-backup/core/api';
import type { ColumnType, Selectable } from 'kysely';
import type { BackupRow, PendingUploadRow, UserRow } from '../stores/metadata.ts';

/** A 64-bit integer as the drivers return it: number (SQLite) or string (PostgreSQL). */
type Int64 = ColumnType<number | string, number, number>;
/** A boolean as the drivers return it: boolean (PostgreSQL) or 0/1 (SQLite). */
type Bool = ColumnType<boolean | number, boolean | number, boolean | number>;

/** `users`: one row per LNURL-auth linking key. */
export interface UsersTable {
  id: string;
  pubkey: string;
  backup_enabled: Bool;
  last_backup_at: ColumnType<number | string | null, number | null, number | null>;
  created_at: Int64;
  /** Migration 0007: bytes the user's backups hold, each object once. */
  stored_bytes: ColumnType<number | string, number | undefined, number>;
}

/** `challenges`: outstanding LUD-04 k1 values. */
export interface ChallengesTable {
  k1: string;
  expires_at: Int64;
}

/** `sessions`: bearer sessions by SHA-256 of the token. */
export interface SessionsTable {
  token_hash: string;
  user_id: string;
  expires_at: Int64;
  revoked: Bool;
  created_at: Int64;
}

/** `backups`: completed backups, primary key (user_id, version). */
export interface BackupsTable {
  user_id: string;
  version: number;
  object_key: string;
  size: Int64;
  created_at: Int64;
  /** Migration 0007: bytes of the objects the backup references. */
  objects_size: ColumnType<number | string, number | undefined, number>;
  /** Migration 0007: how many objects it references. */
  object_count: ColumnType<number | string, number | undefined, number>;
}

/** `backup_objects`: the objects a backup references, primary key (user_id, version, object_key). */
export interface BackupObjectsTable {
  user_id: string;
  version: number;
  object_key: string;
  size: Int64;
  /** Order in the completion's list (0-based). */
  position: number;
}

/** `pending_uploads`: upload URLs handed out, not yet completed. */
export interface PendingUploadsTable {
  object_key: string;
  user_id: string;
  version: number;
  declared_size: Int64;
  created_at: Int64;
  expires_at: Int64;
  /** Migration 0005: the slot is chosen at completion (the client named none). */
  auto_slot: ColumnType<boolean | number, boolean | number | undefined, boolean | number>;
  /** Migration 0007: from `upload_urls`, only ever referenced by a backup. */
  object_only: ColumnType<boolean | number, boolean | number | undefined, boolean | number>;
  /** Migration 0009: the SHA-256 the client declared, lowercase hex, or null. */
  sha256: ColumnType<string | null, string | null | undefined, string | null>;
}

/** `object_checksums` (migration 0009): one row per stored object, for the scrub. */
export interface ObjectChecksumsTable {
  object_key: string;
  user_id: string;
  size: Int64;
  /** SHA-256 of the ciphertext, lowercase hex; null until known. */
  sha256: ColumnType<string | null, string | null | undefined, string | null>;
  recorded_at: Int64;
  /** When the scrub last read the object (ms; 0 = never). */
  scrubbed_at: ColumnType<number | string, number | undefined, number>;
}

/**
 * `verifications` (migration 0010): a client's last verification per slot, naming the
 * slot object it applies to, so it is void once the slot holds another.
 */
export interface VerificationsTable {
  user_id: string;
  version: number;
  object_key: string;
  verified_at: Int64;
  status: string;
  error: ColumnType<string | null, string | null | undefined, string | null>;
}

/** `object_deletions`: blobs to delete, retried by the sweeper. */
export interface ObjectDeletionsTable {
  object_key: string;
  enqueued_at: Int64;
  /** Migration 0006: not deleted before this time (ms; 0 = at once). */
  not_before: ColumnType<number | string, number | undefined, number>;
}

/** `leases`: named leases (one scheduler across instances). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: Int64;
}

/** `devices`: push registrations, primary key (user_id, device_id), address unique. */
export interface DevicesTable {
  user_id: string;
  device_id: string;
  provider: string;
  address: string;
  created_at: Int64;
  updated_at: Int64;
  /** Migration 0008: the device's RFC 8291 keys (base64url), or null (plain mode). */
  webpush_p256dh: ColumnType<string | null, string | null | undefined, string | null>;
  webpush_auth: ColumnType<string | null, string | null | undefined, string | null>;
}

/** `push_triggers`: one row per user and UTC day, primary key (user_id, day). */
export interface PushTriggersTable {
  user_id: string;
  day: string;
  notification_id: string;
  status: string;
  messages: ColumnType<number | string, number | undefined, number>;
  created_at: Int64;
  outcome: string | null;
  outcome_at: ColumnType<number | string | null, number | null | undefined, number | null>;
}

/** `push_tickets`: Expo tickets awaiting their receipts. */
export interface PushTicketsTable {
  ticket_id: string;
  user_id: string;
  address: string;
  created_at: Int64;
}

/** A counter column: read as number or string (bigint), written as a number or `col + n`. */
type Counter = ColumnType<number | string, number, number | string>;

/** `push_jobs`: one row per day's trigger job. */
export interface PushJobsTable {
  day: string;
  holder: string;
  started_at: Int64;
  finished_at: ColumnType<number | string | null, number | null | undefined, number | null>;
  runs: Counter;
  triggered: Counter;
  failed: Counter;
  pruned: Counter;
  succeeded: ColumnType<number | string, number | undefined, number | string>;
}

/** The whole metadata database. */
export interface MetadataDb {
  users: UsersTable;
  challenges: ChallengesTable;
  sessions: SessionsTable;
  backups: BackupsTable;
  backup_objects: BackupObjectsTable;
  pending_uploads: PendingUploadsTable;
  object_checksums: ObjectChecksumsTable;
  verifications: VerificationsTable;
  object_deletions: ObjectDeletionsTable;
  leases: LeasesTable;
  devices: DevicesTable;
  push_triggers: PushTriggersTable;
  push_tickets: PushTicketsTable;
  push_jobs: PushJobsTable;
}

/** What differs between the SQL dialects, kept small on purpose. */
export interface SqlFlavor {
  /**
   * Backend name ("sqlite" | "libsql" | "postgres"), for logs and metrics only: queries
   * branch on the capabilities below, never on the name.
   */
  readonly kind: 'sqlite' | 'libsql' | 'postgres';
  /**
   * True where `SELECT … FOR UPDATE` exists (PostgreSQL). SQLite has no row locks; its
   * write transactions are `BEGIN IMMEDIATE` and therefore already serialised.
   */
  readonly rowLocks: boolean;
  /**
   * True where a whole column of values binds as one array parameter (`unnest($1::text[])`,
   * `= any($1::text[])`: PostgreSQL), so a batch of thousands of rows is one statement of
   * a few parameters. Elsewhere batches go as IN lists and VALUES rows in chunks.
   */
  readonly arrayParameters: boolean;
  /** A JavaScript boolean as this dialect binds it. */
  bool(value: boolean): boolean | number;
}

/** PostgreSQL: native booleans, row locks and array parameters. */
export const postgresFlavor: SqlFlavor = {
  kind: 'postgres',
  rowLocks: true,
  arrayParameters: true,
  bool: (v) => v,
};

/** SQLite-family flavour: booleans bound as 0/1 (better-sqlite3 cannot bind booleans). */
export function sqliteFlavor(kind: 'sqlite' | 'libsql'): SqlFlavor {
  return { kind, rowLocks: false, arrayParameters: false, bool: (v) => (v ? 1 : 0) };
}

/**
 * A numeric column or aggregate as a JavaScript number (SQL NULL, as from `sum` over no
 * rows, is 0).
 * @throws RangeError when the value is not numeric or beyond Number.MAX_SAFE_INTEGER.
 */
export function num(v: number | string | bigint | null | undefined): number {
  if (v === null || v === undefined) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || Math.abs(n) > Number.MAX_SAFE_INTEGER)
    throw new RangeError(`database returned a non-numeric or unsafe value: ${String(v)}`);
  return n;
}

/** A millisecond column as a Date. */
export function toDate(v: number | string): Date {
  return new Date(num(v));
}

/** A Date as the millisecond value stored in the database. */
export function ms(d: Date): number {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RangeError('invalid Date');
  return t;
}

/** A boolean column as a JavaScript boolean (PostgreSQL true/false, SQLite 1/0). */
export function toBool(v: boolean | number): boolean {
  return v === true || v === 1;
}

/** A slot number read back from the database. */
export function toVersion(v: number): BackupVersion {
  if (v !== 1 && v !== 2) throw new RangeError(`backup slot out of range: ${v}`);
  return v;
}

/** Maps a `users` row. */
export function userFromRow(r: Selectable<UsersTable>): UserRow {
  return {
    id: r.id,
    pubkey: r.pubkey,
    backupEnabled: toBool(r.backup_enabled),
    lastBackupAt: r.last_backup_at === null ? null : toDate(r.last_backup_at),
    createdAt: toDate(r.created_at),
  };
}

/** Maps a `backups` row. */
export function backupFromRow(r: Selectable<BackupsTable>): BackupRow {
  return {
    userId: r.user_id,
    version: toVersion(r.version),
    objectKey: r.object_key,
    size: num(r.size),
    createdAt: toDate(r.created_at),
    totalSize: num(r.size) + num(r.objects_size),
    objectCount: num(r.object_count),
  };
}

/** Maps a `pending_uploads` row. */
export function pendingFromRow(r: Selectable<PendingUploadsTable>): PendingUploadRow {
  return {
    objectKey: r.object_key,
    userId: r.user_id,
    version: toVersion(r.version),
    declaredSize: num(r.declared_size),
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
    autoSlot: toBool(r.auto_slot),
    objectOnly: toBool(r.object_only),
    ...(r.sha256 === null ? {} : { sha256: r.sha256 }),
  };
}
