/**
 * MetadataStore auth methods: LUD-04 challenges, users, sessions. Each is one statement
 * (plus a read-back for users), so atomicity comes from the database, not from locks.
 * @module
 */
import type { MetadataStore } from '../stores/metadata.ts';
import { assertDate, assertKey, type StoreContext } from './context.ts';
import { precompile } from './precompiled.ts';
import { ms, num, toDate, userFromRow } from './schema.ts';

/** The auth slice of MetadataStore. */
export type AuthMethods = Pick<
  MetadataStore,
  | 'createChallenge'
  | 'consumeChallenge'
  | 'pruneChallenges'
  | 'upsertUser'
  | 'findUserByPubkey'
  | 'getUser'
  | 'createSession'
  | 'getSession'
  | 'revokeSession'
  | 'pruneSessions'
>;

/** Builds the auth methods over a store context. */
export function authMethods({ db, flavor, newId }: StoreContext): AuthMethods {
  // Every authenticated request runs this one (a primary-key point query).
  const liveSession = precompile(
    db,
    db
      .selectFrom('sessions')
      .select(['user_id', 'expires_at'])
      .where('token_hash', '=', '')
      .where('revoked', '=', flavor.bool(false))
      .where('expires_at', '>', 0),
    3,
  );
  return {
    async createChallenge(k1, expiresAt) {
      assertKey('k1', k1);
      assertDate('expiresAt', expiresAt);
      await db
        .insertInto('challenges')
        .values({ k1, expires_at: ms(expiresAt) })
        .execute();
    },

    async consumeChallenge(k1, now) {
      assertKey('k1', k1);
      assertDate('now', now);
      // LUD-04: a k1 is single use. One DELETE … RETURNING decides the race: of N
      // concurrent consumers exactly one sees the row (SQLite ≥ 3.35, PostgreSQL).
      const rows = await db
        .deleteFrom('challenges')
        .where('k1', '=', k1)
        .where('expires_at', '>', ms(now))
        .returning('k1')
        .execute();
      return rows.length === 1;
    },

    async pruneChallenges(now) {
      assertDate('now', now);
      const r = await db
        .deleteFrom('challenges')
        .where('expires_at', '<=', ms(now))
        .executeTakeFirst();
      return num(r.numDeletedRows);
    },

    async upsertUser(pubkey, now) {
      assertKey('pubkey', pubkey);
      assertDate('now', now);
      // Two first logins may race: ON CONFLICT DO NOTHING lets both succeed, then both
      // read the one row that won.
      await db
        .insertInto('users')
        .values({
          id: newId(),
          pubkey,
          // Opt-in (docs/API.md "settings"): off until the wallet turns it on. The
          // column's default stays as created so no existing user is flipped.
          backup_enabled: flavor.bool(false),
          last_backup_at: null,
          created_at: ms(now),
        })
        .onConflict((oc) => oc.column('pubkey').doNothing())
        .execute();
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('pubkey', '=', pubkey)
        .executeTakeFirstOrThrow();
      return userFromRow(row);
    },

    async getUser(userId) {
      assertKey('userId', userId);
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', userId)
        .executeTakeFirst();
      return row ? userFromRow(row) : null;
    },

    async findUserByPubkey(pubkey) {
      assertKey('pubkey', pubkey);
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('pubkey', '=', pubkey)
        .executeTakeFirst();
      return row ? userFromRow(row) : null;
    },

    async createSession(tokenHash, userId, expiresAt, now) {
      assertKey('tokenHash', tokenHash);
      assertKey('userId', userId);
      assertDate('expiresAt', expiresAt);
      assertDate('now', now);
      await db
        .insertInto('sessions')
        .values({
          token_hash: tokenHash,
          user_id: userId,
          expires_at: ms(expiresAt),
          revoked: flavor.bool(false),
          created_at: ms(now),
        })
        .execute();
    },

    async getSession(tokenHash, now) {
      assertKey('tokenHash', tokenHash);
      assertDate('now', now);
      const [row] = await liveSession([tokenHash, flavor.bool(false), ms(now)]);
      return row ? { userId: row.user_id, expiresAt: toDate(row.expires_at) } : null;
    },

    async revokeSession(tokenHash) {
      assertKey('tokenHash', tokenHash);
      await db
        .updateTable('sessions')
        .set({ revoked: flavor.bool(true) })
        .where('token_hash', '=', tokenHash)
        .execute();
    },

    async pruneSessions(now) {
      assertDate('now', now);
      const r = await db
        .deleteFrom('sessions')
        .where('expires_at', '<=', ms(now))
        .executeTakeFirst();
      return num(r.numDeletedRows);
    },
  };
}
