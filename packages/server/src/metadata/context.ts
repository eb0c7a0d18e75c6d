/**
 * What the query modules share: the Kysely handle, the dialect flavour, the id source,
 * and the argument checks at the store boundary (validate every argument:
 * TypeError for a wrong type, RangeError for a wrong range, the argument's name in the
 * message).
 * @module
 */
import type { BackupVersion } from '@noah-backup/core/api';
import type { Kysely, Transaction } from 'kysely';
import type { MetadataDb, SqlFlavor } from './schema.ts';

/** The shared state of one store instance. */
export interface StoreContext {
  db: Kysely<MetadataDb>;
  flavor: SqlFlavor;
  /** Produces a new, unique, opaque user id. */
  newId(): string;
}

/** Asserts a non-empty string argument. */
export function assertKey(name: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v.length === 0)
    throw new TypeError(`${name}: expected a non-empty string`);
}

/** Asserts a valid Date argument. */
export function assertDate(name: string, v: unknown): asserts v is Date {
  if (!(v instanceof Date)) throw new TypeError(`${name}: expected a Date`);
  if (!Number.isFinite(v.getTime())) throw new RangeError(`${name}: invalid Date`);
}

/** Asserts a backup slot (docs/API.md "Backups": slots 1 and 2). */
export function assertVersion(name: string, v: unknown): asserts v is BackupVersion {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected 1 or 2`);
  if (v !== 1 && v !== 2) throw new RangeError(`${name}: expected 1 or 2, got ${v}`);
}

/** Asserts a non-negative safe integer (sizes, limits, durations). */
export function assertCount(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name}: expected a number`);
  if (!Number.isSafeInteger(v) || v < 0)
    throw new RangeError(`${name}: expected a non-negative integer, got ${v}`);
}

/**
 * Serialises a user's writes that must see each other (completions, deletions, pending
 * upload reservations). PostgreSQL: a row lock on the user, and READ COMMITTED
 * statements after it see what the previous holder committed. SQLite: transactions are
 * BEGIN IMMEDIATE, already exclusive.
 */
export async function lockUserRow(
  trx: Transaction<MetadataDb>,
  flavor: SqlFlavor,
  userId: string,
): Promise<void> {
  if (flavor.rowLocks)
    await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
}
