/**
 * MetadataStore methods of the daily job (docs/PUSH.md §5): the keyset scan of users to
 * trigger, the per-day trigger rows whose primary key (user_id, day) is the dedupe
 * (inserted before anything is sent, so two instances or a restart cannot double-send),
 * outcome reports, and pruning. Tickets and job records are in push-jobs.ts.
 * @module
 */
import { type ExpressionBuilder, type Selectable, sql } from 'kysely';
import type { PushStore, TriggerCandidate, TriggerRow } from '../stores/push.ts';
import { assertCount, assertDate, assertKey, type StoreContext } from './context.ts';
import { assertProvider, chunks, IN_LIST_CHUNK, keysFromRow } from './devices.ts';
import {
  type MetadataDb,
  ms,
  num,
  type PushTriggersTable,
  type SqlFlavor,
  toDate,
} from './schema.ts';

/** The trigger slice of the push store. */
export type TriggerMethods = Pick<
  PushStore,
  | 'listTriggerCandidates'
  | 'countTriggerCandidates'
  | 'claimTriggers'
  | 'settleTriggers'
  | 'getTrigger'
  | 'recordTriggerOutcome'
  | 'pruneTriggers'
>;

const DAY_MS = 86_400_000;
/** Trigger rows per pruning statement (about). */
const PRUNE_BATCH = 5000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Asserts a `YYYY-MM-DD` day. */
export function assertDay(name: string, v: unknown): asserts v is string {
  if (typeof v !== 'string') throw new TypeError(`${name}: expected a YYYY-MM-DD string`);
  if (!DAY_RE.test(v))
    throw new RangeError(`${name}: expected YYYY-MM-DD, got ${JSON.stringify(v)}`);
}

function triggerFromRow(r: Selectable<PushTriggersTable>): TriggerRow {
  const status = r.status;
  if (status !== 'claimed' && status !== 'sent' && status !== 'failed')
    throw new RangeError(`trigger status out of range: ${status}`);
  const outcome = r.outcome;
  if (outcome !== null && outcome !== 'success' && outcome !== 'failure')
    throw new RangeError(`trigger outcome out of range: ${outcome}`);
  return {
    userId: r.user_id,
    day: r.day,
    notificationId: r.notification_id,
    status,
    messages: num(r.messages),
    createdAt: toDate(r.created_at),
    outcome,
    outcomeAt: r.outcome_at === null ? null : toDate(r.outcome_at),
  };
}

/**
 * The candidate predicate of a `users` row (docs/PUSH.md §5). `afterId`, the
 * keyset cursor, is repeated inside the subqueries: logically redundant, it lets
 * PostgreSQL's merge joins start at the cursor instead of at the start of each index
 * (without it every page rescans all devices before the cursor: quadratic).
 */
function candidate(flavor: SqlFlavor, day: string, staleBefore: number, afterId: string | null) {
  return (eb: ExpressionBuilder<MetadataDb, 'users'>) => {
    let devices = eb
      .selectFrom('devices')
      .select(sql`1`.as('one'))
      .whereRef('devices.user_id', '=', 'users.id');
    let triggers = eb
      .selectFrom('push_triggers')
      .select(sql`1`.as('one'))
      .whereRef('push_triggers.user_id', '=', 'users.id')
      .where('push_triggers.day', '=', day);
    const conds = [
      eb('users.backup_enabled', '=', flavor.bool(true)),
      eb.or([eb('users.last_backup_at', 'is', null), eb('users.last_backup_at', '<', staleBefore)]),
    ];
    if (afterId !== null) {
      devices = devices.where('devices.user_id', '>', afterId);
      triggers = triggers.where('push_triggers.user_id', '>', afterId);
      conds.push(eb('users.id', '>', afterId));
    }
    return eb.and([...conds, eb.exists(devices), eb.not(eb.exists(triggers))]);
  };
}

/** Builds the job methods over a store context. */
export function triggerMethods({ db, flavor }: StoreContext): TriggerMethods {
  return {
    async listTriggerCandidates({ day, staleBefore, afterId, limit }) {
      assertDay('day', day);
      assertDate('staleBefore', staleBefore);
      if (afterId !== null) assertKey('afterId', afterId);
      assertCount('limit', limit);
      const users = await db
        .selectFrom('users')
        .select(['users.id', 'users.pubkey'])
        .where(candidate(flavor, day, ms(staleBefore), afterId))
        .orderBy('users.id')
        .limit(limit)
        .execute();
      if (users.length === 0) return [];
      // Their devices: one range scan of the devices' primary key over the page's ids
      // (devices of non-candidates in the range are skipped below).
      const devices = await db
        .selectFrom('devices')
        .select(['user_id', 'device_id', 'provider', 'address', 'webpush_p256dh', 'webpush_auth'])
        .where('user_id', '>=', users[0]!.id)
        .where('user_id', '<=', users[users.length - 1]!.id)
        .orderBy('user_id')
        .orderBy('device_id')
        .execute();
      const byId = new Map<string, TriggerCandidate>();
      const out = users.map((u) => {
        const c: TriggerCandidate = { id: u.id, pubkey: u.pubkey, devices: [] };
        byId.set(u.id, c);
        return c;
      });
      for (const d of devices) {
        const c = byId.get(d.user_id);
        if (!c) continue;
        const provider = d.provider;
        assertProvider('provider', provider);
        c.devices.push({
          deviceId: d.device_id,
          provider,
          address: d.address,
          keys: keysFromRow(d),
        });
      }
      return out;
    },

    async countTriggerCandidates({ day, staleBefore }) {
      assertDay('day', day);
      assertDate('staleBefore', staleBefore);
      const r = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where(candidate(flavor, day, ms(staleBefore), null))
        .executeTakeFirstOrThrow();
      return num(r.n);
    },

    async claimTriggers(day, rows, now) {
      assertDay('day', day);
      assertDate('now', now);
      if (!Array.isArray(rows)) throw new TypeError('rows: expected an array');
      for (const r of rows) {
        assertKey('userId', r.userId);
        assertKey('notificationId', r.notificationId);
      }
      const t = ms(now);
      if (flavor.arrayParameters) {
        if (rows.length === 0) return [];
        // One array per column (unnest) instead of a VALUES list of thousands of
        // parameters: PostgreSQL parses and plans it in microseconds.
        const r = await sql<{ user_id: string }>`
          insert into push_triggers (user_id, day, notification_id, status, created_at)
          select x.u, ${day}, x.n, 'claimed', ${t}
          from unnest(${rows.map((r) => r.userId)}::text[], ${rows.map((r) => r.notificationId)}::text[]) as x(u, n)
          on conflict (user_id, day) do nothing
          returning user_id`.execute(db);
        return r.rows.map((row) => row.user_id);
      }
      const claimed: string[] = [];
      // 4 parameters per row: chunks stay far below every dialect's parameter limit.
      for (const part of chunks(rows, IN_LIST_CHUNK)) {
        const inserted = await db
          .insertInto('push_triggers')
          .values(
            part.map((r) => ({
              user_id: r.userId,
              day,
              notification_id: r.notificationId,
              status: 'claimed',
              created_at: t,
            })),
          )
          .onConflict((oc) => oc.columns(['user_id', 'day']).doNothing())
          .returning('user_id')
          .execute();
        for (const r of inserted) claimed.push(r.user_id);
      }
      return claimed;
    },

    async settleTriggers(day, rows) {
      assertDay('day', day);
      if (!Array.isArray(rows)) throw new TypeError('rows: expected an array');
      // One UPDATE per (status, messages) group: a page is mostly one group.
      type Group = { status: 'sent' | 'failed'; messages: number; ids: string[] };
      const groups = new Map<string, Group>();
      for (const r of rows) {
        assertKey('userId', r.userId);
        assertCount('messages', r.messages);
        const key = `${r.status}:${r.messages}`;
        const g: Group = groups.get(key) ?? { status: r.status, messages: r.messages, ids: [] };
        groups.set(key, g);
        g.ids.push(r.userId);
      }
      for (const g of groups.values()) {
        if (flavor.arrayParameters) {
          await sql`update push_triggers set status = ${g.status}, messages = ${g.messages}
            where day = ${day} and user_id = any(${g.ids}::text[])`.execute(db);
          continue;
        }
        for (const part of chunks(g.ids, IN_LIST_CHUNK))
          await db
            .updateTable('push_triggers')
            .set({ status: g.status, messages: g.messages })
            .where('day', '=', day)
            .where('user_id', 'in', part)
            .execute();
      }
    },

    async getTrigger(userId, day) {
      assertKey('userId', userId);
      assertDay('day', day);
      const row = await db
        .selectFrom('push_triggers')
        .selectAll()
        .where('user_id', '=', userId)
        .where('day', '=', day)
        .executeTakeFirst();
      return row ? triggerFromRow(row) : null;
    },

    async recordTriggerOutcome({ userId, notificationId, status, now }) {
      assertKey('userId', userId);
      assertKey('notificationId', notificationId);
      if (status !== 'success' && status !== 'failure')
        throw new RangeError(`status: expected "success" or "failure", got ${String(status)}`);
      assertDate('now', now);
      // A success is final: a later failure (another device of the user, a retry) does
      // not undo a completed backup. A repeated report changes nothing.
      return db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('push_triggers')
          .set({ outcome: status, outcome_at: ms(now) })
          .where('user_id', '=', userId)
          .where('notification_id', '=', notificationId)
          .where((eb) =>
            status === 'success'
              ? eb.or([eb('outcome', 'is', null), eb('outcome', '=', 'failure')])
              : eb('outcome', 'is', null),
          )
          .executeTakeFirst();
        const row = await trx
          .selectFrom('push_triggers')
          .selectAll()
          .where('user_id', '=', userId)
          .where('notification_id', '=', notificationId)
          .executeTakeFirst();
        if (!row) return null;
        const trigger = triggerFromRow(row);
        const changed = num(updated.numUpdatedRows) > 0;
        if (changed && status === 'success' && ms(now) - trigger.createdAt.getTime() <= DAY_MS)
          await trx
            .updateTable('push_jobs')
            .set((eb) => ({ succeeded: eb('succeeded', '+', 1) }))
            .where('day', '=', trigger.day)
            .execute();
        return { trigger, changed };
      });
    },

    async pruneTriggers(beforeDay) {
      assertDay('beforeDay', beforeDay);
      // Keyset batches over the primary key's user_id, so each statement touches a
      // bounded slice and a large table never holds the write lock for long.
      let n = 0;
      let after: string | null = null;
      for (;;) {
        let bound = db.selectFrom('push_triggers').select('user_id');
        if (after !== null) bound = bound.where('user_id', '>', after);
        const upper = await bound
          .orderBy('user_id')
          .offset(PRUNE_BATCH)
          .limit(1)
          .executeTakeFirst();
        let del = db.deleteFrom('push_triggers').where('day', '<', beforeDay);
        if (after !== null) del = del.where('user_id', '>', after);
        if (upper) del = del.where('user_id', '<=', upper.user_id);
        n += num((await del.executeTakeFirst()).numDeletedRows);
        if (!upper) return n;
        after = upper.user_id;
      }
    },
  };
}
