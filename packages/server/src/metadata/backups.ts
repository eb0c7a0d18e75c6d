/**
 * MetadataStore backup methods: reading completed backups (two slots per user) and the
 * objects they reference, pending uploads and what they hold, the storage total. The
 * transactions that change a slot are in completion.ts, the sweeper's methods in
 * sweeping.ts.
 * @module
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type {
  MetadataStore,
  ObjectRef,
  PendingUploadRow,
  PendingUsage,
} from '../stores/metadata.ts';
import {
  assertCount,
  assertDate,
  assertKey,
  assertVersion,
  lockUserRow,
  type StoreContext,
} from './context.ts';
import { assertSha256 } from '../blob/keys.ts';
import { chunks, IN_LIST_CHUNK } from './devices.ts';
import { precompile } from './precompiled.ts';
import {
  backupFromRow,
  type MetadataDb,
  ms,
  num,
  pendingFromRow,
  type SqlFlavor,
  userFromRow,
} from './schema.ts';

/** The backup slice of MetadataStore. */
export type BackupMethods = Pick<
  MetadataStore,
  | 'listBackups'
  | 'getBackup'
  | 'getBackupObjects'
  | 'createPendingUpload'
  | 'reservePendingUploads'
  | 'getPendingUpload'
  | 'findUserObjects'
  | 'countPendingUploads'
  | 'pendingUsage'
  | 'cancelPendingUpload'
  | 'storageUsage'
  | 'setBackupEnabled'
>;

function assertPendingRow(row: PendingUploadRow): void {
  assertKey('objectKey', row.objectKey);
  assertKey('userId', row.userId);
  assertVersion('version', row.version);
  assertCount('declaredSize', row.declaredSize);
  assertDate('createdAt', row.createdAt);
  assertDate('expiresAt', row.expiresAt);
  assertSha256('sha256', row.sha256);
}

function pendingValues(flavor: SqlFlavor, row: PendingUploadRow) {
  return {
    object_key: row.objectKey,
    user_id: row.userId,
    version: row.version,
    declared_size: row.declaredSize,
    created_at: ms(row.createdAt),
    expires_at: ms(row.expiresAt),
    auto_slot: flavor.bool(row.autoSlot === true),
    object_only: flavor.bool(row.objectOnly === true),
    sha256: row.sha256 ?? null,
  };
}

/** What the user's pending uploads not yet expired at `now` hold. */
async function usage(
  q: Kysely<MetadataDb> | Transaction<MetadataDb>,
  flavor: SqlFlavor,
  userId: string,
  now: Date,
): Promise<PendingUsage> {
  const r = await q
    .selectFrom('pending_uploads')
    .select((eb) => [
      eb.fn.countAll().as('n'),
      sql<number>`coalesce(sum(case when object_only = ${flavor.bool(true)} then 1 else 0 end), 0)`.as(
        'objects',
      ),
      eb.fn.coalesce(eb.fn.sum('declared_size'), sql<number>`0`).as('bytes'),
    ])
    .where('user_id', '=', userId)
    .where('expires_at', '>', ms(now))
    .executeTakeFirstOrThrow();
  const objects = num(r.objects);
  return { uploads: num(r.n) - objects, objects, bytes: num(r.bytes) };
}

/** Builds the backup methods over a store context. */
export function backupMethods({ db, flavor }: StoreContext): BackupMethods {
  // The per-request reads of `list`, `upload_url` and `download_url`.
  const userBackups = precompile(
    db,
    db
      .selectFrom('backups')
      .selectAll()
      .where('user_id', '=', '')
      .orderBy('created_at', 'desc')
      .orderBy('version', 'desc'),
    1,
  );
  const livePendingCount = precompile(
    db,
    db
      .selectFrom('pending_uploads')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', '')
      .where('expires_at', '>', 0),
    2,
  );
  return {
    async listBackups(userId) {
      assertKey('userId', userId);
      const rows = await userBackups([userId]);
      return rows.map(backupFromRow);
    },

    async getBackup(userId, version) {
      assertKey('userId', userId);
      assertVersion('version', version);
      const row = await db
        .selectFrom('backups')
        .selectAll()
        .where('user_id', '=', userId)
        .where('version', '=', version)
        .executeTakeFirst();
      return row ? backupFromRow(row) : null;
    },

    async getBackupObjects(userId, version) {
      assertKey('userId', userId);
      assertVersion('version', version);
      // One statement: a completion replacing the slot meanwhile cannot mix two backups.
      const rows = await db
        .selectFrom('backups as b')
        .leftJoin('backup_objects as o', (j) =>
          j.onRef('o.user_id', '=', 'b.user_id').onRef('o.version', '=', 'b.version'),
        )
        .selectAll('b')
        .select(['o.object_key as ref_key', 'o.size as ref_size'])
        .where('b.user_id', '=', userId)
        .where('b.version', '=', version)
        .orderBy('o.position')
        .execute();
      const [first] = rows;
      if (!first) return null;
      const objects: ObjectRef[] = [];
      for (const r of rows)
        if (r.ref_key !== null) objects.push({ objectKey: r.ref_key, size: num(r.ref_size) });
      return { backup: backupFromRow(first), objects };
    },

    async createPendingUpload(row) {
      assertPendingRow(row);
      await db.insertInto('pending_uploads').values(pendingValues(flavor, row)).execute();
    },

    async reservePendingUploads(rows, now, limits) {
      if (!Array.isArray(rows)) throw new TypeError('rows: expected an array');
      assertDate('now', now);
      assertCount('limits.maxUploads', limits.maxUploads);
      assertCount('limits.maxObjects', limits.maxObjects);
      assertCount('limits.maxBytes', limits.maxBytes);
      for (const r of rows) assertPendingRow(r);
      const userId = rows[0]?.userId;
      if (userId === undefined) return true;
      if (rows.some((r) => r.userId !== userId))
        throw new RangeError('rows: expected the uploads of one user');
      let uploads = 0;
      let objects = 0;
      let bytes = 0;
      for (const r of rows) {
        if (r.objectOnly === true) objects++;
        else uploads++;
        bytes += r.declaredSize;
      }
      return db.transaction().execute(async (trx) => {
        // Serialised per user, so that concurrent requests cannot each pass the limits.
        await lockUserRow(trx, flavor, userId);
        const held = await usage(trx, flavor, userId, now);
        if (
          (uploads > 0 && held.uploads + uploads > limits.maxUploads) ||
          (objects > 0 && held.objects + objects > limits.maxObjects) ||
          held.bytes + bytes > limits.maxBytes
        )
          return false;
        for (const part of chunks(rows, IN_LIST_CHUNK))
          await trx
            .insertInto('pending_uploads')
            .values(part.map((r) => pendingValues(flavor, r)))
            .execute();
        return true;
      });
    },

    async getPendingUpload(userId, objectKey) {
      assertKey('userId', userId);
      assertKey('objectKey', objectKey);
      const row = await db
        .selectFrom('pending_uploads')
        .selectAll()
        .where('object_key', '=', objectKey)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row ? pendingFromRow(row) : null;
    },

    async findUserObjects(userId, objectKeys) {
      assertKey('userId', userId);
      if (!Array.isArray(objectKeys)) throw new TypeError('objectKeys: expected an array');
      for (const [i, k] of objectKeys.entries()) assertKey(`objectKeys[${i}]`, k);
      const pending = [];
      const referenced = new Map<string, number>();
      for (const part of chunks([...new Set(objectKeys)], IN_LIST_CHUNK)) {
        const rows = await db
          .selectFrom('pending_uploads')
          .selectAll()
          .where('user_id', '=', userId)
          .where('object_key', 'in', part)
          .execute();
        pending.push(...rows.map(pendingFromRow));
        const refs = await db
          .selectFrom('backup_objects')
          .select(['object_key', 'size'])
          .where('user_id', '=', userId)
          .where('object_key', 'in', part)
          .execute();
        for (const r of refs) referenced.set(r.object_key, num(r.size));
      }
      return {
        pending,
        referenced: [...referenced].map(([objectKey, size]) => ({ objectKey, size })),
      };
    },

    async countPendingUploads(userId, now) {
      assertKey('userId', userId);
      assertDate('now', now);
      const [r] = await livePendingCount([userId, ms(now)]);
      return num(r?.n);
    },

    async pendingUsage(userId, now) {
      assertKey('userId', userId);
      assertDate('now', now);
      return usage(db, flavor, userId, now);
    },

    async cancelPendingUpload(userId, objectKey) {
      assertKey('userId', userId);
      assertKey('objectKey', objectKey);
      // One statement: it waits for a completion holding the row (PostgreSQL: the row
      // lock completeUpload takes; SQLite: the write lock) and then finds nothing.
      const row = await db
        .deleteFrom('pending_uploads')
        .where('object_key', '=', objectKey)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      return row ? pendingFromRow(row) : null;
    },

    async storageUsage(now) {
      assertDate('now', now);
      // One row per user, each object counted once (completion.ts keeps stored_bytes).
      const stored = await db
        .selectFrom('users')
        .select((eb) => eb.fn.coalesce(eb.fn.sum('stored_bytes'), sql<number>`0`).as('bytes'))
        .executeTakeFirstOrThrow();
      const pending = await db
        .selectFrom('pending_uploads')
        .select((eb) => eb.fn.coalesce(eb.fn.sum('declared_size'), sql<number>`0`).as('bytes'))
        .where('expires_at', '>', ms(now))
        .executeTakeFirstOrThrow();
      return { backupBytes: num(stored.bytes), pendingBytes: num(pending.bytes) };
    },

    async setBackupEnabled(userId, enabled) {
      assertKey('userId', userId);
      if (typeof enabled !== 'boolean') throw new TypeError('enabled: expected a boolean');
      const row = await db
        .updateTable('users')
        .set({ backup_enabled: flavor.bool(enabled) })
        .where('id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      return row ? userFromRow(row) : null;
    },
  };
}
