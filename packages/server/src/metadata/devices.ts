/**
 * MetadataStore device methods (docs/PUSH.md §2): push registrations. A device is keyed
 * by (user, device id); its address (Expo token or UnifiedPush endpoint) is unique
 * across all devices, so one install is triggered for one user only: the latest to
 * register it.
 * @module
 */
import type { PushProvider } from '@noah-backup/core/api';
import { type Selectable, sql } from 'kysely';
import type { DeviceRow, PushKeys, PushStore } from '../stores/push.ts';
import { assertCount, assertDate, assertKey, type StoreContext } from './context.ts';
import { type DevicesTable, ms, num, toDate } from './schema.ts';

/** The device slice of the push store. */
export type DeviceMethods = Pick<
  PushStore,
  'registerDevice' | 'unregisterDevice' | 'listDevices' | 'pruneAddresses'
>;

/** Rows per `IN (…)` list, well under every dialect's bound-parameter limit. */
export const IN_LIST_CHUNK = 1000;

/** Splits a list into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Asserts a push provider. */
export function assertProvider(name: string, v: unknown): asserts v is PushProvider {
  if (typeof v !== 'string') throw new TypeError(`${name}: expected "expo" or "unifiedpush"`);
  if (v !== 'expo' && v !== 'unifiedpush')
    throw new RangeError(`${name}: expected "expo" or "unifiedpush", got ${JSON.stringify(v)}`);
}

/** A device's Web Push keys from its row (both columns set, or none). */
export function keysFromRow(r: {
  webpush_p256dh: string | null;
  webpush_auth: string | null;
}): PushKeys | null {
  return r.webpush_p256dh !== null && r.webpush_auth !== null
    ? { p256dh: r.webpush_p256dh, auth: r.webpush_auth }
    : null;
}

/** Asserts optional Web Push keys: absent, null, or two non-empty strings. */
function assertKeys(name: string, v: unknown): asserts v is PushKeys | null | undefined {
  if (v === undefined || v === null) return;
  const k = v as Partial<PushKeys>;
  if (typeof v !== 'object' || typeof k.p256dh !== 'string' || typeof k.auth !== 'string')
    throw new TypeError(`${name}: expected {p256dh, auth} strings or null`);
  if (k.p256dh === '' || k.auth === '') throw new RangeError(`${name}: empty key`);
}

/** Maps a `devices` row. */
export function deviceFromRow(r: Selectable<DevicesTable>): DeviceRow {
  const provider = r.provider;
  assertProvider('provider', provider);
  return {
    userId: r.user_id,
    deviceId: r.device_id,
    provider,
    address: r.address,
    keys: keysFromRow(r),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** Builds the device methods over a store context. */
export function deviceMethods({ db, flavor }: StoreContext): DeviceMethods {
  const register: PushStore['registerDevice'] = async (args) => {
    const { userId, deviceId, provider, address, now, maxDevices } = args;
    const t = ms(now);
    const webpush_p256dh = args.keys?.p256dh ?? null;
    const webpush_auth = args.keys?.auth ?? null;
    return db.transaction().execute(async (trx) => {
      // Serialise registrations of one address. PostgreSQL: a transaction-scoped advisory
      // lock on the address's hash (READ COMMITTED statements after it see what the
      // previous holder committed). SQLite: the transaction is BEGIN IMMEDIATE already.
      if (flavor.rowLocks)
        await sql`select pg_advisory_xact_lock(hashtext(${address}))`.execute(trx);
      // The address moves to this registration: one install, one owner.
      const displaced = await trx
        .deleteFrom('devices')
        .where('address', '=', address)
        .where((eb) => eb.or([eb('user_id', '<>', userId), eb('device_id', '<>', deviceId)]))
        .executeTakeFirst();
      const before = await trx
        .selectFrom('devices')
        .select('device_id')
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .executeTakeFirst();
      const row = await trx
        .insertInto('devices')
        .values({
          user_id: userId,
          device_id: deviceId,
          provider,
          address,
          webpush_p256dh,
          webpush_auth,
          created_at: t,
          updated_at: t,
        })
        .onConflict((oc) =>
          oc
            .columns(['user_id', 'device_id'])
            .doUpdateSet({ provider, address, webpush_p256dh, webpush_auth, updated_at: t }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      // Per-user cap: the least recently updated devices go first.
      const keep = await trx
        .selectFrom('devices')
        .select('device_id')
        .where('user_id', '=', userId)
        .orderBy('updated_at', 'desc')
        .orderBy('device_id')
        .limit(maxDevices)
        .execute();
      const evicted = await trx
        .deleteFrom('devices')
        .where('user_id', '=', userId)
        .where(
          'device_id',
          'not in',
          keep.map((k) => k.device_id),
        )
        .executeTakeFirst();
      return {
        device: deviceFromRow(row),
        updated: before !== undefined,
        displaced: num(displaced.numDeletedRows),
        evicted: num(evicted.numDeletedRows),
      };
    });
  };

  return {
    async registerDevice(args) {
      assertKey('userId', args.userId);
      assertKey('deviceId', args.deviceId);
      assertProvider('provider', args.provider);
      assertKey('address', args.address);
      assertKeys('keys', args.keys);
      if (args.keys && args.provider !== 'unifiedpush')
        throw new RangeError('keys: only UnifiedPush devices have Web Push keys');
      assertDate('now', args.now);
      assertCount('maxDevices', args.maxDevices);
      if (args.maxDevices < 1) throw new RangeError('maxDevices: expected at least 1');
      return register(args);
    },

    async unregisterDevice(userId, deviceId) {
      assertKey('userId', userId);
      assertKey('deviceId', deviceId);
      const r = await db
        .deleteFrom('devices')
        .where('user_id', '=', userId)
        .where('device_id', '=', deviceId)
        .executeTakeFirst();
      return num(r.numDeletedRows) > 0;
    },

    async listDevices(userId) {
      assertKey('userId', userId);
      const rows = await db
        .selectFrom('devices')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('updated_at', 'desc')
        .orderBy('device_id')
        .execute();
      return rows.map(deviceFromRow);
    },

    async pruneAddresses(addresses) {
      if (!Array.isArray(addresses)) throw new TypeError('addresses: expected an array');
      let n = 0;
      for (const part of chunks(addresses, IN_LIST_CHUNK)) {
        const r = await db.deleteFrom('devices').where('address', 'in', part).executeTakeFirst();
        n += num(r.numDeletedRows);
      }
      return n;
    },
  };
}
