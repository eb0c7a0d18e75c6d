/**
 * Versioned schema migrations for every MetadataStore backend: one append-only list,
 * written with Kysely's schema builder so the same steps mean the same thing on SQLite,
 * libSQL and PostgreSQL (schema.ts states the type conventions). They run at store open
 * via Kysely's Migrator, which on PostgreSQL holds a session advisory lock while it
 * applies them, so several server instances may open one database at the same time.
 *
 * Rules: never edit or reorder a migration once committed; add a new one with the next
 * number.
 * @module
 */
import { type Kysely, type Migration, Migrator, PostgresAdapter, sql } from 'kysely';

/** Called with the names of the migrations a store open applied. */
export type MigrationObserver = (applied: string[]) => void;

// Kysely's Migration.up takes Kysely<any>: migrations describe schemas, not typed rows.
// biome-ignore lint/suspicious/noExplicitAny: the migrator's own signature.
type AnyDb = Kysely<any>;

const initial: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pubkey', 'text', (c) => c.notNull().unique())
      .addColumn('backup_enabled', 'boolean', (c) => c.notNull().defaultTo(true))
      .addColumn('last_backup_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('challenges')
      .addColumn('k1', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('challenges_expires_at')
      .on('challenges')
      .column('expires_at')
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('sessions_expires_at')
      .on('sessions')
      .column('expires_at')
      .execute();
    await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();

    // docs/API.md "Backups": at most two completed backups per user, slots 1 and 2.
    await db.schema
      .createTable('backups')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('object_key', 'text', (c) => c.notNull().unique())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('backups_pk', ['user_id', 'version'])
      .addCheckConstraint('backups_version_slot', sql`version in (1, 2)`)
      .execute();

    await db.schema
      .createTable('pending_uploads')
      .addColumn('object_key', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('declared_size', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addCheckConstraint('pending_uploads_version_slot', sql`version in (1, 2)`)
      .execute();
    await db.schema
      .createIndex('pending_uploads_expires_at')
      .on('pending_uploads')
      .column('expires_at')
      .execute();
    await db.schema
      .createIndex('pending_uploads_user_expires')
      .on('pending_uploads')
      .columns(['user_id', 'expires_at'])
      .execute();

    await db.schema
      .createTable('object_deletions')
      .addColumn('object_key', 'text', (c) => c.primaryKey())
      .addColumn('enqueued_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('object_deletions_enqueued_at')
      .on('object_deletions')
      .columns(['enqueued_at', 'object_key'])
      .execute();

    await db.schema
      .createTable('leases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

// The daily trigger (docs/PUSH.md §5): devices, the per-day trigger rows whose primary
// key is the dedupe, Expo tickets awaiting receipts, and the job records.
const push: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('devices')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('devices_pk', ['user_id', 'device_id'])
      .addCheckConstraint('devices_provider', sql`provider in ('expo', 'unifiedpush')`)
      .execute();

    await db.schema
      .createTable('push_triggers')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('notification_id', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('messages', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('outcome_at', 'bigint')
      .addPrimaryKeyConstraint('push_triggers_pk', ['user_id', 'day'])
      .addCheckConstraint('push_triggers_status', sql`status in ('claimed', 'sent', 'failed')`)
      .addCheckConstraint(
        'push_triggers_outcome',
        sql`outcome is null or outcome in ('success', 'failure')`,
      )
      .execute();
    await db.schema
      .createIndex('push_triggers_created_at')
      .on('push_triggers')
      .column('created_at')
      .execute();

    await db.schema
      .createTable('push_tickets')
      .addColumn('ticket_id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('push_tickets_created_at')
      .on('push_tickets')
      .columns(['created_at', 'ticket_id'])
      .execute();

    await db.schema
      .createTable('push_jobs')
      .addColumn('day', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .addColumn('runs', 'integer', (c) => c.notNull())
      .addColumn('triggered', 'bigint', (c) => c.notNull())
      .addColumn('failed', 'bigint', (c) => c.notNull())
      .addColumn('pruned', 'bigint', (c) => c.notNull())
      .execute();
  },
};

// The daily job writes a million trigger rows a day: keep only the primary key on
// them. Reports find their trigger by (user_id, notification_id) through the primary
// key's user_id prefix (a user has a row per day, a few days kept); the share of
// triggers that led to a backup is counted per day in push_jobs.succeeded instead of
// scanning triggers by creation time. SQLite cannot drop a UNIQUE column constraint,
// so the table is rebuilt (it holds at most a few days of rows).
const pushLean: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('push_triggers_v3')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('notification_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('messages', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('outcome_at', 'bigint')
      .addPrimaryKeyConstraint('push_triggers_v3_pk', ['user_id', 'day'])
      .addCheckConstraint('push_triggers_v3_status', sql`status in ('claimed', 'sent', 'failed')`)
      .addCheckConstraint(
        'push_triggers_v3_outcome',
        sql`outcome is null or outcome in ('success', 'failure')`,
      )
      .execute();
    await sql`insert into push_triggers_v3 (user_id, day, notification_id, status, messages, created_at, outcome, outcome_at)
      select user_id, day, notification_id, status, messages, created_at, outcome, outcome_at from push_triggers`.execute(
      db,
    );
    await db.schema.dropTable('push_triggers').execute();
    await db.schema.alterTable('push_triggers_v3').renameTo('push_triggers').execute();
    await db.schema
      .alterTable('push_jobs')
      .addColumn('succeeded', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};

// PostgreSQL only (SQLite has neither cost): the trigger rows' foreign key makes every
// claim take a FOR KEY SHARE lock on its user through a per-row check, which doubled
// the cost of the daily claims; the rows live three days and users are never deleted
// (orphans would be pruned with the rest). Fill factor 70 leaves room on each page, so
// settling a trigger (status, messages: no indexed column) is a HOT update that writes
// no index entry.
const pushPostgresLean: Migration = {
  async up(db: AnyDb) {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    const fks = await sql<{ conname: string }>`
      select conname from pg_constraint
      where conrelid = 'push_triggers'::regclass and contype = 'f'`.execute(db);
    for (const { conname } of fks.rows)
      await sql`alter table push_triggers drop constraint ${sql.id(conname)}`.execute(db);
    await sql`alter table push_triggers set (fillfactor = 70)`.execute(db);
  },
};

// Overlapping uploads (docs/API.md "complete_upload"): an upload whose client named no
// slot takes its slot at completion, so the pending row remembers which kind it is.
const autoSlot: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .alterTable('pending_uploads')
      .addColumn('auto_slot', 'boolean', (c) => c.notNull().defaultTo(false))
      .execute();
  },
};

// Storage bounds (docs/OPERATIONS.md "Storage bounds"): the key of a replaced, deleted
// or cancelled object keeps an empty placeholder, deleted only once every upload URL for
// it is dead, so a queued deletion may have to wait.
const deletionNotBefore: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .alterTable('object_deletions')
      .addColumn('not_before', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};

// Incremental backups (docs/API.md "Incremental backups"): a backup is its slot object
// plus the objects it references, kept while either slot references them. The totals a
// `list` shows live on the backup row; the bytes a user's backups hold (each object
// once) on the user row, so the storage totals sum one row per user.
const referencedObjects: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('backup_objects')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('object_key', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('backup_objects_pk', ['user_id', 'version', 'object_key'])
      .addCheckConstraint('backup_objects_version_slot', sql`version in (1, 2)`)
      .execute();
    await db.schema
      .createIndex('backup_objects_object_key')
      .on('backup_objects')
      .column('object_key')
      .execute();
    await db.schema
      .alterTable('backups')
      .addColumn('objects_size', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('backups')
      .addColumn('object_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable('pending_uploads')
      .addColumn('object_only', 'boolean', (c) => c.notNull().defaultTo(false))
      .execute();
    await db.schema
      .alterTable('users')
      .addColumn('stored_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`update users set stored_bytes = (select coalesce(sum(b.size), 0) from backups b where b.user_id = users.id)
      where exists (select 1 from backups b where b.user_id = users.id)`.execute(db);
  },
};

// UnifiedPush as Web Push (docs/PUSH.md "Encryption"): a device's RFC 8291 keys, both
// null for a device that registered without them (sent in plain text).
const pushKeys: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('devices').addColumn('webpush_p256dh', 'text').execute();
    await db.schema.alterTable('devices').addColumn('webpush_auth', 'text').execute();
  },
};

// Checksums and the scrub (docs/OPERATIONS.md "Scrub"): the SHA-256 a client declared
// at upload_url, and per stored object (a slot object or one a backup references, each
// once) its SHA-256 — null until the client, the store or the scrub supplies it — and
// when the scrub last read it (0: never). Existing objects are listed for the scrub.
const objectChecksums: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('pending_uploads').addColumn('sha256', 'text').execute();
    await db.schema
      .createTable('object_checksums')
      .addColumn('object_key', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text')
      .addColumn('recorded_at', 'bigint', (c) => c.notNull())
      .addColumn('scrubbed_at', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex('object_checksums_scrubbed_at')
      .on('object_checksums')
      .columns(['scrubbed_at', 'object_key'])
      .execute();
    await sql`insert into object_checksums (object_key, user_id, size, recorded_at)
      select object_key, user_id, size, created_at from backups`.execute(db);
    await sql`insert into object_checksums (object_key, user_id, size, recorded_at)
      select o.object_key, min(o.user_id), min(o.size), 0 from backup_objects o
      where not exists (select 1 from object_checksums c where c.object_key = o.object_key)
      group by o.object_key`.execute(db);
  },
};

// Verification (docs/API.md "Verification"): a client's last verification per slot,
// with the slot object it applies to; a read joins on that key, so a verification is
// void as soon as the slot holds another backup, without touching the completions.
const verifications: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('verifications')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('object_key', 'text', (c) => c.notNull())
      .addColumn('verified_at', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addPrimaryKeyConstraint('verifications_pk', ['user_id', 'version'])
      .addCheckConstraint('verifications_version_slot', sql`version in (1, 2)`)
      .addCheckConstraint('verifications_status', sql`status in ('success', 'failure')`)
      .execute();
  },
};

/** Every migration, in order. Append only. */
export const metadataMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_initial': initial,
  '0002_push': push,
  '0003_push_lean': pushLean,
  '0004_push_postgres_lean': pushPostgresLean,
  '0005_auto_slot': autoSlot,
  '0006_deletion_not_before': deletionNotBefore,
  '0007_referenced_objects': referencedObjects,
  '0008_push_keys': pushKeys,
  '0009_object_checksums': objectChecksums,
  '0010_verifications': verifications,
});

/**
 * Brings the database to the latest schema. Safe to run at every open and from several
 * processes at once on PostgreSQL (advisory lock); on SQLite the migrations run in one
 * `BEGIN IMMEDIATE` transaction per open (sqlite.ts, libsql.ts).
 *
 * @param db a Kysely instance on the metadata database.
 * @param onApplied told which migrations this call applied (none on a current schema).
 * @throws Error naming the failed migration, with the driver error as `cause`.
 */
export async function migrateToLatest(db: AnyDb, onApplied?: MigrationObserver): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...metadataMigrations }) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'setup';
    throw new Error(`metadata migration failed (${failed})`, { cause: error });
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  if (applied.length > 0) onApplied?.(applied);
}
