/**
 * MetadataStore storage figures per user (docs/OPERATIONS.md "Metrics"): the
 * distribution of stored bytes and objects over users, bucketed inside the database so
 * that a million users come back as a few dozen rows, and the largest users for
 * `noah-backup admin stats`. A backup is its slot object plus the objects it references
 * (docs/API.md "Incremental backups"); an object two slots share counts once.
 * @module
 */
import { type Expression, type RawBuilder, sql } from 'kysely';
import type { MetadataStore } from '../stores/metadata.ts';
import { assertCount, type StoreContext } from './context.ts';
import { num, toDate } from './schema.ts';

/** The storage slice of MetadataStore. */
export type StorageStatsMethods = Pick<MetadataStore, 'storageDistribution' | 'largestUsers'>;

/** Asserts ascending non-negative safe integers. */
function assertBounds(name: string, v: unknown): asserts v is readonly number[] {
  if (!Array.isArray(v)) throw new TypeError(`${name}: expected an array of numbers`);
  v.forEach((b, i) => {
    assertCount(`${name}[${i}]`, b);
    if (i > 0 && b <= v[i - 1]) throw new RangeError(`${name}: expected ascending bounds`);
  });
}

/** `case when x <= b0 then 0 when x <= b1 then 1 … else n end`: the bucket of `x`. */
function bucketOf(x: Expression<unknown>, bounds: readonly number[]): RawBuilder<number> {
  if (bounds.length === 0) return sql<number>`0`;
  const arms = bounds.map((b, i) => sql`when ${x} <= ${b} then ${sql.lit(i)}`);
  return sql<number>`case ${sql.join(arms, sql` `)} else ${sql.lit(bounds.length)} end`;
}

/** Builds the storage methods over a store context. */
export function storageStatsMethods({ db }: StoreContext): StorageStatsMethods {
  // Bytes: the user row's stored_bytes (each object once, kept by completion.ts).
  // Objects: the slot objects plus the distinct objects the slots reference.
  const perUser = () =>
    db
      .selectFrom('backups')
      .innerJoin('users', 'users.id', 'backups.user_id')
      .select((eb) => [
        'backups.user_id as user_id',
        eb.fn.max('users.stored_bytes').as('bytes'),
        sql<
          number | string
        >`count(*) + (select count(distinct bo.object_key) from backup_objects bo where bo.user_id = backups.user_id)`.as(
          'objects',
        ),
        eb.fn.max('backups.created_at').as('newest'),
      ])
      .groupBy('backups.user_id');

  return {
    async storageDistribution(bounds) {
      assertBounds('bounds.bytes', bounds?.bytes);
      assertBounds('bounds.objects', bounds?.objects);
      const rows = await db
        .selectFrom(
          db
            .selectFrom(perUser().as('u'))
            .select((eb) => [
              bucketOf(eb.ref('u.bytes'), bounds.bytes).as('bb'),
              bucketOf(eb.ref('u.objects'), bounds.objects).as('ob'),
              'u.bytes',
              'u.objects',
            ])
            .as('b'),
        )
        .select((eb) => [
          'b.bb',
          'b.ob',
          eb.fn.countAll<number | string>().as('users'),
          eb.fn.sum<number | string>('b.bytes').as('bytes'),
          eb.fn.sum<number | string>('b.objects').as('objects'),
        ])
        .groupBy(['b.bb', 'b.ob'])
        .execute();
      const out = {
        users: 0,
        bytes: { counts: new Array<number>(bounds.bytes.length + 1).fill(0), sum: 0 },
        objects: { counts: new Array<number>(bounds.objects.length + 1).fill(0), sum: 0 },
      };
      for (const r of rows) {
        const users = num(r.users);
        out.users += users;
        out.bytes.counts[num(r.bb)]! += users;
        out.objects.counts[num(r.ob)]! += users;
        out.bytes.sum += num(r.bytes);
        out.objects.sum += num(r.objects);
      }
      return out;
    },

    async largestUsers(limit) {
      assertCount('limit', limit);
      const rows = await perUser()
        .orderBy('bytes', 'desc')
        .orderBy('user_id')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        userId: r.user_id,
        bytes: num(r.bytes),
        objects: num(r.objects),
        newestAt: toDate(r.newest as number | string),
      }));
    },
  };
}
