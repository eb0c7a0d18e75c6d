/**
 * MetadataStore lease and operations methods: the scheduler's lease (docs/PUSH.md §5:
 * run by exactly one server instance at a time), stats and readiness.
 * @module
 */
import { sql } from 'kysely';
import type { MetadataStore } from '../stores/metadata.ts';
import { assertCount, assertDate, assertKey, type StoreContext } from './context.ts';
import { ms, num } from './schema.ts';

/** The lease and operations slice of MetadataStore (without `close`). */
export type OpsMethods = Pick<MetadataStore, 'tryAcquireLease' | 'releaseLease' | 'stats' | 'ping'>;

/** Builds the lease and operations methods over a store context. */
export function opsMethods({ db, flavor }: StoreContext): OpsMethods {
  return {
    async tryAcquireLease(name, holder, now, ttlMs) {
      assertKey('name', name);
      assertKey('holder', holder);
      assertDate('now', now);
      assertCount('ttlMs', ttlMs);
      const t = ms(now);
      // One statement decides a race: insert, or take over only if the lease expired or
      // is already ours. A refused conflict updates nothing and returns no row (same
      // ON CONFLICT … DO UPDATE … WHERE semantics in SQLite and PostgreSQL).
      const rows = await db
        .insertInto('leases')
        .values({ name, holder, expires_at: t + ttlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({
              holder: (eb) => eb.ref('excluded.holder'),
              expires_at: (eb) => eb.ref('excluded.expires_at'),
            })
            .where((eb) =>
              eb.or([eb('leases.expires_at', '<=', t), eb('leases.holder', '=', holder)]),
            ),
        )
        .returning('holder')
        .execute();
      return rows.length === 1 && rows[0]?.holder === holder;
    },

    async releaseLease(name, holder) {
      assertKey('name', name);
      assertKey('holder', holder);
      await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
    },

    /** `now` is accepted for the interface; the counts do not depend on it yet. */
    async stats(_now) {
      const users = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      const enabled = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('backup_enabled', '=', flavor.bool(true))
        .executeTakeFirstOrThrow();
      const backups = await db
        .selectFrom('backups')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      // Slot objects and referenced objects, each once per user (completion.ts).
      const stored = await db
        .selectFrom('users')
        .select((eb) => eb.fn.coalesce(eb.fn.sum('stored_bytes'), sql<number>`0`).as('bytes'))
        .executeTakeFirstOrThrow();
      return {
        users: num(users.n),
        enabledUsers: num(enabled.n),
        backups: num(backups.n),
        bytesStored: num(stored.bytes),
      };
    },

    async ping() {
      await sql`select 1`.execute(db);
    },
  };
}
