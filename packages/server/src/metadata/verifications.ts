/**
 * Verifications (docs/API.md "Verification"): a client's last verification per slot,
 * stored with the slot object it applies to. Recording checks, in the same statement,
 * that the slot still holds the verified backup; reading joins on the slot object, so a
 * verification is void once its slot holds another backup or none.
 * @module
 */
import type { MetadataStore, VerificationRow } from '../stores/metadata.ts';
import { assertDate, assertKey, assertVersion, type StoreContext } from './context.ts';
import { ms, toDate, toVersion } from './schema.ts';

/** The verification slice of MetadataStore. */
export type VerificationMethods = Pick<MetadataStore, 'recordVerification' | 'listVerifications'>;

/** Longest error code kept (the report route accepts 500 characters). */
const MAX_ERROR = 500;

/** Builds the verification methods over a store context. */
export function verificationMethods({ db }: StoreContext): VerificationMethods {
  return {
    async recordVerification(args) {
      assertKey('userId', args.userId);
      assertVersion('version', args.version);
      assertDate('backupCreatedAt', args.backupCreatedAt);
      assertDate('verifiedAt', args.verifiedAt);
      if (args.status !== 'success' && args.status !== 'failure')
        throw new RangeError(`status: expected success or failure, got ${String(args.status)}`);
      const error = args.error ?? null;
      if (error !== null && typeof error !== 'string')
        throw new TypeError('error: expected a string or null');
      const values = {
        verified_at: ms(args.verifiedAt),
        status: args.status,
        error: error === null ? null : error.slice(0, MAX_ERROR),
      };
      // INSERT … SELECT from the slot: nothing is written unless the slot holds the
      // backup completed at that instant, whatever a concurrent completion does.
      const r = await db
        .insertInto('verifications')
        .columns(['user_id', 'version', 'object_key', 'verified_at', 'status', 'error'])
        .expression((eb) =>
          eb
            .selectFrom('backups')
            .select((s) => [
              'user_id',
              'version',
              'object_key',
              s.val(values.verified_at).as('verified_at'),
              s.val(values.status).as('status'),
              s.val(values.error).as('error'),
            ])
            .where('user_id', '=', args.userId)
            .where('version', '=', args.version)
            .where('created_at', '=', ms(args.backupCreatedAt)),
        )
        .onConflict((oc) =>
          oc.columns(['user_id', 'version']).doUpdateSet((eb) => ({
            object_key: eb.ref('excluded.object_key'),
            verified_at: eb.ref('excluded.verified_at'),
            status: eb.ref('excluded.status'),
            error: eb.ref('excluded.error'),
          })),
        )
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    async listVerifications(userId) {
      assertKey('userId', userId);
      const rows = await db
        .selectFrom('verifications as v')
        .innerJoin('backups as b', (j) =>
          j
            .onRef('b.user_id', '=', 'v.user_id')
            .onRef('b.version', '=', 'v.version')
            .onRef('b.object_key', '=', 'v.object_key'),
        )
        .select(['v.version', 'b.created_at', 'v.verified_at', 'v.status', 'v.error'])
        .where('v.user_id', '=', userId)
        .orderBy('v.version')
        .execute();
      return rows.map(
        (r): VerificationRow => ({
          version: toVersion(r.version),
          backupCreatedAt: toDate(r.created_at),
          verifiedAt: toDate(r.verified_at),
          status: r.status === 'success' ? 'success' : 'failure',
          error: r.error,
        }),
      );
    },
  };
}
