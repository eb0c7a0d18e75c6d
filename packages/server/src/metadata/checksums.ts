/**
 * Checksums of the stored objects and the scrub's bookkeeping (docs/OPERATIONS.md
 * "Scrub"): one `object_checksums` row per object a slot holds or a backup references,
 * written and removed by the completion transactions (completion.ts, via
 * {@link recordStored} and {@link forgetStored}), read and stamped by the scrub.
 * @module
 */
import type { Transaction } from 'kysely';
import { assertSha256 } from '../blob/keys.ts';
import type { MetadataStore, ObjectChecksumRow } from '../stores/metadata.ts';
import { assertCount, assertDate, assertKey, type StoreContext } from './context.ts';
import { chunks, IN_LIST_CHUNK } from './devices.ts';
import { type MetadataDb, ms, num } from './schema.ts';

/** The checksum slice of MetadataStore. */
export type ChecksumMethods = Pick<
  MetadataStore,
  'getObjectChecksums' | 'listScrubDue' | 'countStoredObjects' | 'markScrubbed'
>;

type Trx = Transaction<MetadataDb>;

/** An object a completion stores for the first time. */
export interface StoredObject {
  objectKey: string;
  size: number;
  sha256?: string | null;
}

/**
 * Records objects a completion stores (inside its transaction); an object already
 * recorded keeps its row (its checksum and scrub time).
 */
export async function recordStored(
  trx: Trx,
  userId: string,
  objects: readonly StoredObject[],
  now: Date,
): Promise<void> {
  const rows = objects.map((o) => ({
    object_key: o.objectKey,
    user_id: userId,
    size: o.size,
    sha256: o.sha256 ?? null,
    recorded_at: ms(now),
  }));
  for (const part of chunks(rows, IN_LIST_CHUNK))
    await trx
      .insertInto('object_checksums')
      .values(part)
      .onConflict((oc) => oc.column('object_key').doNothing())
      .execute();
}

/** Forgets objects no slot holds any more (inside the transaction that released them). */
export async function forgetStored(trx: Trx, objectKeys: readonly string[]): Promise<void> {
  for (const part of chunks(objectKeys, IN_LIST_CHUNK))
    await trx.deleteFrom('object_checksums').where('object_key', 'in', part).execute();
}

function fromRow(r: {
  object_key: string;
  user_id: string;
  size: number | string;
  sha256: string | null;
  scrubbed_at: number | string;
}): ObjectChecksumRow {
  const at = num(r.scrubbed_at);
  return {
    objectKey: r.object_key,
    userId: r.user_id,
    size: num(r.size),
    sha256: r.sha256,
    scrubbedAt: at === 0 ? null : new Date(at),
  };
}

const COLUMNS = ['object_key', 'user_id', 'size', 'sha256', 'scrubbed_at'] as const;

/** Builds the checksum methods over a store context. */
export function checksumMethods({ db }: StoreContext): ChecksumMethods {
  return {
    async getObjectChecksums(objectKeys) {
      if (!Array.isArray(objectKeys)) throw new TypeError('objectKeys: expected an array');
      for (const [i, k] of objectKeys.entries()) assertKey(`objectKeys[${i}]`, k);
      const out: ObjectChecksumRow[] = [];
      for (const part of chunks(objectKeys, IN_LIST_CHUNK)) {
        const rows = await db
          .selectFrom('object_checksums')
          .select(COLUMNS)
          .where('object_key', 'in', part)
          .execute();
        out.push(...rows.map(fromRow));
      }
      return out;
    },

    async listScrubDue(limit) {
      assertCount('limit', limit);
      if (limit === 0) return [];
      const rows = await db
        .selectFrom('object_checksums')
        .select(COLUMNS)
        .orderBy('scrubbed_at')
        .orderBy('object_key')
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },

    async countStoredObjects() {
      const r = await db
        .selectFrom('object_checksums')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return num(r.n as number | string);
    },

    async markScrubbed(objectKey, now, sha256) {
      assertKey('objectKey', objectKey);
      assertDate('now', now);
      assertSha256('sha256', sha256);
      await db
        .updateTable('object_checksums')
        .set((eb) => ({
          scrubbed_at: ms(now),
          ...(sha256 === undefined ? {} : { sha256: eb.fn.coalesce('sha256', eb.val(sha256)) }),
        }))
        .where('object_key', '=', objectKey)
        .execute();
    },
  };
}
