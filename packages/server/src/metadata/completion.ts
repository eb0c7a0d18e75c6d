/**
 * The two transactions that change what a user's slots hold: `completeUpload` (a slot
 * switches to a new backup) and `deleteBackup`. A backup is its slot object plus the
 * objects it references (docs/API.md "Incremental backups"); both transactions keep
 * every object either slot references and hand back, for deletion after the commit,
 * those no slot references any more.
 *
 * docs/API.md "Backups": the metadata switches to a new object only
 * at completion, and an abandoned upload never costs the user a good backup.
 * @module
 */
import type { Transaction } from 'kysely';
import { assertSha256 } from '../blob/keys.ts';
import { chooseSlot } from '../slots.ts';
import {
  type CompleteUploadResult,
  CompletionRefusedError,
  type MetadataStore,
  type ObjectRef,
} from '../stores/metadata.ts';
import {
  assertCount,
  assertDate,
  assertKey,
  assertVersion,
  lockUserRow,
  type StoreContext,
} from './context.ts';
import { forgetStored, recordStored } from './checksums.ts';
import { chunks, IN_LIST_CHUNK } from './devices.ts';
import { backupFromRow, type MetadataDb, ms, num, type SqlFlavor, toBool } from './schema.ts';

/** The completion slice of MetadataStore. */
export type CompletionMethods = Pick<MetadataStore, 'completeUpload' | 'deleteBackup'>;

type Trx = Transaction<MetadataDb>;

/**
 * Asserts a list of object references: keys unique, none equal to `slotKey`, sizes
 * non-negative integers.
 */
export function assertObjectRefs(
  name: string,
  objects: unknown,
  slotKey: string,
): asserts objects is readonly ObjectRef[] {
  if (!Array.isArray(objects)) throw new TypeError(`${name}: expected an array`);
  const seen = new Set<string>([slotKey]);
  objects.forEach((o: ObjectRef, i) => {
    assertKey(`${name}[${i}].objectKey`, o?.objectKey);
    assertCount(`${name}[${i}].size`, o.size);
    if (seen.has(o.objectKey))
      throw new RangeError(`${name}[${i}].objectKey: listed twice, or the slot object`);
    seen.add(o.objectKey);
  });
}

/** The user's referenced objects, both slots. */
async function referencedBy(trx: Trx, userId: string) {
  const rows = await trx
    .selectFrom('backup_objects')
    .select(['version', 'object_key', 'size'])
    .where('user_id', '=', userId)
    .execute();
  return rows.map((r) => ({ version: r.version, objectKey: r.object_key, size: num(r.size) }));
}

/**
 * Records the bytes the user's backups hold, each object once: the slot objects, and
 * the union of the referenced objects (`refs`, as they are after the change).
 */
async function setStoredBytes(
  trx: Trx,
  userId: string,
  slotBytes: number,
  refs: Iterable<ObjectRef>,
  lastBackupAt?: Date,
): Promise<void> {
  const union = new Map<string, number>();
  for (const r of refs) union.set(r.objectKey, r.size);
  let bytes = slotBytes;
  for (const n of union.values()) bytes += n;
  await trx
    .updateTable('users')
    .set({
      stored_bytes: bytes,
      ...(lastBackupAt === undefined ? {} : { last_backup_at: ms(lastBackupAt) }),
    })
    .where('id', '=', userId)
    .execute();
}

/** The user's pending uploads among `keys` (locked on PostgreSQL), key → declared size. */
async function pendingSizes(
  trx: Trx,
  flavor: SqlFlavor,
  userId: string,
  keys: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const part of chunks(keys, IN_LIST_CHUNK)) {
    // Locked, so that a cancel or a sweep deleting one of these rows waits for this
    // transaction and then finds nothing, instead of deleting an object it references.
    let q = trx
      .selectFrom('pending_uploads')
      .select(['object_key', 'declared_size'])
      .where('user_id', '=', userId)
      .where('object_key', 'in', part);
    if (flavor.rowLocks) q = q.forUpdate();
    for (const r of await q.execute()) out.set(r.object_key, num(r.declared_size));
  }
  return out;
}

/** Builds the completion methods over a store context. */
export function completionMethods({ db, flavor }: StoreContext): CompletionMethods {
  return {
    /**
     * A pending upload past its `expiresAt` can still be completed, or referenced, until
     * the sweeper removes its row; a sweeper must therefore delete the row
     * (deletePendingUpload) before it checks isObjectReferenced and deletes the object.
     */
    async completeUpload({ userId, objectKey, version, size, now, objects = [], base, sha256 }) {
      assertKey('userId', userId);
      assertKey('objectKey', objectKey);
      assertVersion('version', version);
      assertCount('size', size);
      assertDate('now', now);
      assertObjectRefs('objects', objects, objectKey);
      if (base !== undefined) assertKey('base', base);
      if (sha256 !== undefined && sha256 !== null) assertSha256('sha256', sha256);
      for (const [i, o] of objects.entries())
        if (o.sha256 !== undefined && o.sha256 !== null)
          assertSha256(`objects[${i}].sha256`, o.sha256);
      return db.transaction().execute(async (trx): Promise<CompleteUploadResult | null> => {
        await lockUserRow(trx, flavor, userId);
        let pendingQuery = trx
          .selectFrom('pending_uploads')
          .select(['version', 'auto_slot', 'object_only'])
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
        if (!pending || pending.version !== version || toBool(pending.object_only)) {
          const done = slots.find((b) => b.objectKey === objectKey);
          return done
            ? {
                backup: done,
                replacedObjectKey: null,
                replacedCreatedAt: null,
                alreadyCompleted: true,
                releasedObjectKeys: [],
              }
            : null;
        }
        // Compare-and-swap on what the slots hold: two devices on one seedphrase never
        // build on a backup that one of them has replaced.
        if (base !== undefined && !slots.some((b) => b.objectKey === base))
          throw new CompletionRefusedError('base_changed');
        const target = toBool(pending.auto_slot) ? chooseSlot(slots) : version;
        const slot = slots.find((b) => b.version === target);
        const held = await referencedBy(trx, userId);
        const heldSize = new Map(held.map((r) => [r.objectKey, r.size]));
        const uploaded = await pendingSizes(
          trx,
          flavor,
          userId,
          objects.map((o) => o.objectKey).filter((k) => !heldSize.has(k)),
        );
        for (const o of objects)
          if ((heldSize.get(o.objectKey) ?? uploaded.get(o.objectKey)) !== o.size)
            throw new CompletionRefusedError('object_unavailable', o.objectKey);

        let objectsSize = 0;
        for (const o of objects) objectsSize += o.size;
        const values = {
          object_key: objectKey,
          size,
          created_at: ms(now),
          objects_size: objectsSize,
          object_count: objects.length,
        };
        const row = await trx
          .insertInto('backups')
          .values({ user_id: userId, version: target, ...values })
          .onConflict((oc) => oc.columns(['user_id', 'version']).doUpdateSet(values))
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx
          .deleteFrom('backup_objects')
          .where('user_id', '=', userId)
          .where('version', '=', target)
          .execute();
        const refs = objects.map((o, position) => ({
          user_id: userId,
          version: target,
          object_key: o.objectKey,
          size: o.size,
          position,
        }));
        for (const part of chunks(refs, IN_LIST_CHUNK))
          await trx.insertInto('backup_objects').values(part).execute();
        for (const part of chunks([objectKey, ...uploaded.keys()], IN_LIST_CHUNK))
          await trx
            .deleteFrom('pending_uploads')
            .where('user_id', '=', userId)
            .where('object_key', 'in', part)
            .execute();

        const other = held.filter((r) => r.version !== target);
        const kept = new Set([...other, ...objects].map((r) => r.objectKey));
        const released = held
          .filter((r) => r.version === target && !kept.has(r.objectKey))
          .map((r) => r.objectKey);
        // The scrub's list (docs/OPERATIONS.md "Scrub"): what this backup stores first,
        // minus what no slot holds any more.
        await recordStored(
          trx,
          userId,
          [{ objectKey, size, sha256 }, ...objects.filter((o) => uploaded.has(o.objectKey))],
          now,
        );
        await forgetStored(trx, [...released, ...(slot ? [slot.objectKey] : [])]);
        const otherSlot = slots.find((b) => b.version !== target);
        await setStoredBytes(
          trx,
          userId,
          size + (otherSlot?.size ?? 0),
          [...other, ...objects],
          now,
        );
        return {
          backup: backupFromRow(row),
          replacedObjectKey: slot ? slot.objectKey : null,
          replacedCreatedAt: slot ? slot.createdAt : null,
          alreadyCompleted: false,
          releasedObjectKeys: released,
        };
      });
    },

    async deleteBackup(userId, version) {
      assertKey('userId', userId);
      assertVersion('version', version);
      return db.transaction().execute(async (trx) => {
        await lockUserRow(trx, flavor, userId);
        const row = await trx
          .deleteFrom('backups')
          .where('user_id', '=', userId)
          .where('version', '=', version)
          .returningAll()
          .executeTakeFirst();
        if (!row) return null;
        const held = await referencedBy(trx, userId);
        await trx
          .deleteFrom('backup_objects')
          .where('user_id', '=', userId)
          .where('version', '=', version)
          .execute();
        const other = held.filter((r) => r.version !== version);
        const kept = new Set(other.map((r) => r.objectKey));
        const otherSlot = await trx
          .selectFrom('backups')
          .select('size')
          .where('user_id', '=', userId)
          .executeTakeFirst();
        await setStoredBytes(trx, userId, otherSlot ? num(otherSlot.size) : 0, other);
        const releasedObjectKeys = held
          .filter((r) => r.version === version && !kept.has(r.objectKey))
          .map((r) => r.objectKey);
        await forgetStored(trx, [row.object_key, ...releasedObjectKeys]);
        return { backup: backupFromRow(row), releasedObjectKeys };
      });
    },
  };
}
