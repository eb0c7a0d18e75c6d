/**
 * MetadataStore methods of the sweeper (src/sweeper.ts): expired pending uploads, the
 * queue of objects to delete, and whether anything still references an object.
 * @module
 */
import type { MetadataStore } from '../stores/metadata.ts';
import { assertCount, assertDate, assertKey, type StoreContext } from './context.ts';
import { ms, pendingFromRow, toBool } from './schema.ts';

/** The sweeping slice of MetadataStore. */
export type SweepingMethods = Pick<
  MetadataStore,
  | 'listExpiredPendingUploads'
  | 'deletePendingUpload'
  | 'enqueueObjectDeletion'
  | 'listObjectDeletions'
  | 'removeObjectDeletion'
  | 'isObjectReferenced'
>;

/** Builds the sweeping methods over a store context. */
export function sweepingMethods({ db }: StoreContext): SweepingMethods {
  return {
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
                .selectFrom('backup_objects')
                .select('object_key')
                .where('object_key', '=', objectKey),
            )
            .as('in_objects'),
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
      return toBool(r.in_backups) || toBool(r.in_objects) || toBool(r.in_pending);
    },
  };
}
