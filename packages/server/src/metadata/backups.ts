/**
 * MetadataStore backup methods: completed backups (two slots per user), pending uploads,
 * and the sweeper's queues. `completeUpload` is the one multi-statement transaction.
 *
 * DESIGN.md "Server rules that protect data": the metadata switches to a new object only
 * at completion, the replaced object's key is handed back for deletion after the commit,
 * and an abandoned upload never costs the user a good backup.
 * @module
 */
import { sql } from 'kysely';
import { chooseSlot } from '../slots.ts';
import type { CompleteUploadResult, MetadataStore } from '../stores/metadata.ts';
import { assertCount, assertDate, assertKey, assertVersion, type StoreContext } from './context.ts';
import { precompile } from './precompiled.ts';
import { backupFromRow, ms, num, pendingFromRow, toBool, userFromRow } from './schema.ts';

/** The backup and sweeping slice of MetadataStore. */
export type BackupMethods = Pick<
  MetadataStore,
  | 'listBackups'
  | 'getBackup'
  | 'createPendingUpload'
  | 'getPendingUpload'
  | 'countPendingUploads'
  | 'cancelPendingUpload'
  | 'storageUsage'
  | 'completeUpload'
  | 'deleteBackup'
  | 'setBackupEnabled'
  | 'listExpiredPendingUploads'
  | 'deletePendingUpload'
  | 'enqueueObjectDeletion'
  | 'listObjectDeletions'
  | 'removeObjectDeletion'
  | 'isObjectReferenced'
>;

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

    async createPendingUpload(row) {
      assertKey('objectKey', row.objectKey);
      assertKey('userId', row.userId);
      assertVersion('version', row.version);
      assertCount('declaredSize', row.declaredSize);
      assertDate('createdAt', row.createdAt);
      assertDate('expiresAt', row.expiresAt);
      await db
        .insertInto('pending_uploads')
        .values({
          object_key: row.objectKey,
          user_id: row.userId,
          version: row.version,
          declared_size: row.declaredSize,
          created_at: ms(row.createdAt),
          expires_at: ms(row.expiresAt),
          auto_slot: flavor.bool(row.autoSlot === true),
        })
        .execute();
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

    async countPendingUploads(userId, now) {
      assertKey('userId', userId);
      assertDate('now', now);
      const [r] = await livePendingCount([userId, ms(now)]);
      return num(r?.n);
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
      const backups = await db
        .selectFrom('backups')
        .select((eb) => eb.fn.coalesce(eb.fn.sum('size'), sql<number>`0`).as('bytes'))
        .executeTakeFirstOrThrow();
      const pending = await db
        .selectFrom('pending_uploads')
        .select((eb) => eb.fn.coalesce(eb.fn.sum('declared_size'), sql<number>`0`).as('bytes'))
        .where('expires_at', '>', ms(now))
        .executeTakeFirstOrThrow();
      return { backupBytes: num(backups.bytes), pendingBytes: num(pending.bytes) };
    },

    /**
     * A pending upload past its `expiresAt` can still be completed until the sweeper
     * removes its row; a sweeper must therefore delete the row (deletePendingUpload)
     * before it checks isObjectReferenced and deletes the object.
     */
    async completeUpload({ userId, objectKey, version, size, now }) {
      assertKey('userId', userId);
      assertKey('objectKey', objectKey);
      assertVersion('version', version);
      assertCount('size', size);
      assertDate('now', now);
      return db.transaction().execute(async (trx): Promise<CompleteUploadResult | null> => {
        // Serialise completions per user. PostgreSQL: a row lock, and READ COMMITTED
        // statements after it see what the previous holder committed. SQLite: the
        // transaction is BEGIN IMMEDIATE, already exclusive.
        if (flavor.rowLocks)
          await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
        // Locked (PostgreSQL), so that a cancel or a sweep deleting the row waits for this
        // transaction and then finds nothing, instead of deleting the object of the
        // backup this transaction is committing.
        let pendingQuery = trx
          .selectFrom('pending_uploads')
          .select(['version', 'auto_slot'])
          .where('object_key', '=', objectKey)
          .where('user_id', '=', userId);
        if (flavor.rowLocks) pendingQuery = pendingQuery.forUpdate();
        const pending = await pendingQuery.executeTakeFirst();
        // Both slots, read under the lock: the slot of an autoSlot upload is chosen from
        // what is committed now, not from what was there at upload_url.
        const slots = (
          await trx
            .selectFrom('backups')
            .selectAll()
            .where('user_id', '=', userId)
            .orderBy('created_at', 'desc')
            .orderBy('version', 'desc')
            .execute()
        ).map(backupFromRow);
        if (!pending || pending.version !== version) {
          const done = slots.find((b) => b.objectKey === objectKey);
          return done
            ? {
                backup: done,
                replacedObjectKey: null,
                replacedCreatedAt: null,
                alreadyCompleted: true,
              }
            : null;
        }
        const target = toBool(pending.auto_slot) ? chooseSlot(slots) : version;
        const slot = slots.find((b) => b.version === target);
        const values = { object_key: objectKey, size, created_at: ms(now) };
        const row = await trx
          .insertInto('backups')
          .values({ user_id: userId, version: target, ...values })
          .onConflict((oc) => oc.columns(['user_id', 'version']).doUpdateSet(values))
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx.deleteFrom('pending_uploads').where('object_key', '=', objectKey).execute();
        await trx
          .updateTable('users')
          .set({ last_backup_at: ms(now) })
          .where('id', '=', userId)
          .execute();
        return {
          backup: backupFromRow(row),
          replacedObjectKey: slot ? slot.objectKey : null,
          replacedCreatedAt: slot ? slot.createdAt : null,
          alreadyCompleted: false,
        };
      });
    },

    async deleteBackup(userId, version) {
      assertKey('userId', userId);
      assertVersion('version', version);
      const row = await db
        .deleteFrom('backups')
        .where('user_id', '=', userId)
        .where('version', '=', version)
        .returningAll()
        .executeTakeFirst();
      return row ? backupFromRow(row) : null;
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

    async listExpiredPendingUploads(before, limit) {
      assertDate('before', before);
      assertCount('limit', limit);
      const rows = await db
        .selectFrom('pending_uploads')
        .selectAll()
        .where('expires_at', '<', ms(before))
        .orderBy('expires_at')
        .orderBy('object_key')
        .limit(limit)
        .execute();
      return rows.map(pendingFromRow);
    },

    async deletePendingUpload(objectKey) {
      assertKey('objectKey', objectKey);
      await db.deleteFrom('pending_uploads').where('object_key', '=', objectKey).execute();
    },

    async enqueueObjectDeletion(objectKey, now, notBefore) {
      assertKey('objectKey', objectKey);
      assertDate('now', now);
      if (notBefore !== undefined) assertDate('notBefore', notBefore);
      const due = notBefore === undefined ? 0 : ms(notBefore);
      await db
        .insertInto('object_deletions')
        .values({ object_key: objectKey, enqueued_at: ms(now), not_before: due })
        .onConflict((oc) =>
          oc
            .column('object_key')
            .doUpdateSet({ not_before: (eb) => eb.ref('excluded.not_before') })
            .where('object_deletions.not_before', '<', due),
        )
        .execute();
    },

    async listObjectDeletions(limit, now) {
      assertCount('limit', limit);
      if (now !== undefined) assertDate('now', now);
      let q = db
        .selectFrom('object_deletions')
        .select('object_key')
        .orderBy('enqueued_at')
        .orderBy('object_key')
        .limit(limit);
      if (now !== undefined) q = q.where('not_before', '<=', ms(now));
      const rows = await q.execute();
      return rows.map((r) => r.object_key);
    },

    async removeObjectDeletion(objectKey) {
      assertKey('objectKey', objectKey);
      await db.deleteFrom('object_deletions').where('object_key', '=', objectKey).execute();
    },

    async isObjectReferenced(objectKey) {
      assertKey('objectKey', objectKey);
      const r = await db
        .selectNoFrom((eb) => [
          eb
            .exists(
              eb.selectFrom('backups').select('object_key').where('object_key', '=', objectKey),
            )
            .as('in_backups'),
          eb
            .exists(
              eb
                .selectFrom('pending_uploads')
                .select('object_key')
                .where('object_key', '=', objectKey),
            )
            .as('in_pending'),
        ])
        .executeTakeFirstOrThrow();
      return toBool(r.in_backups) || toBool(r.in_pending);
    },
  };
}
