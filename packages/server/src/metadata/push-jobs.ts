/**
 * MetadataStore methods of the daily job's bookkeeping (docs/PUSH.md §5, §6): Expo tickets
 * awaiting their receipts, the per-day job records (counts accumulated over every
 * holder that ran the day, and the day's successes), and the figures for `admin
 * stats` and metrics.
 * @module
 */
import { type Selectable, sql } from 'kysely';
import type { PushJobRow, PushStore, TicketRow } from '../stores/push.ts';
import { assertCount, assertDate, assertKey, type StoreContext } from './context.ts';
import { chunks, IN_LIST_CHUNK } from './devices.ts';
import { type PushJobsTable, ms, num, toDate } from './schema.ts';
import { assertDay } from './triggers.ts';

/** The bookkeeping slice of the push store. */
export type PushJobMethods = Pick<
  PushStore,
  | 'triggerOutcomeStats'
  | 'saveTickets'
  | 'listTickets'
  | 'deleteTickets'
  | 'startPushJob'
  | 'addPushJobCounts'
  | 'finishPushJob'
  | 'getPushJob'
  | 'pushStats'
>;

function jobFromRow(r: Selectable<PushJobsTable>): PushJobRow {
  return {
    day: r.day,
    holder: r.holder,
    startedAt: toDate(r.started_at),
    finishedAt: r.finished_at === null ? null : toDate(r.finished_at),
    runs: num(r.runs),
    triggered: num(r.triggered),
    failed: num(r.failed),
    pruned: num(r.pruned),
    succeeded: num(r.succeeded),
  };
}

/** Builds the bookkeeping methods over a store context. */
export function pushJobMethods({ db, flavor }: StoreContext): PushJobMethods {
  return {
    async triggerOutcomeStats(fromDay, toDay) {
      assertDay('fromDay', fromDay);
      assertDay('toDay', toDay);
      const r = await db
        .selectFrom('push_jobs')
        .select((eb) => [
          eb.fn.coalesce(eb.fn.sum('triggered'), sql<number>`0`).as('sent'),
          eb.fn.coalesce(eb.fn.sum('succeeded'), sql<number>`0`).as('ok'),
        ])
        .where('day', '>=', fromDay)
        .where('day', '<', toDay)
        .executeTakeFirstOrThrow();
      return { sent: num(r.sent), succeededWithinDay: num(r.ok) };
    },

    async saveTickets(rows) {
      if (!Array.isArray(rows)) throw new TypeError('rows: expected an array');
      for (const r of rows) {
        assertKey('ticketId', r.ticketId);
        assertKey('userId', r.userId);
        assertKey('address', r.address);
        assertDate('createdAt', r.createdAt);
      }
      if (flavor.arrayParameters) {
        // One array per column (unnest): one statement of four parameters, cheap to
        // parse and plan, instead of a VALUES list of thousands.
        if (rows.length > 0)
          await sql`insert into push_tickets (ticket_id, user_id, address, created_at)
            select * from unnest(${rows.map((r) => r.ticketId)}::text[], ${rows.map((r) => r.userId)}::text[],
              ${rows.map((r) => r.address)}::text[], ${rows.map((r) => ms(r.createdAt))}::bigint[])
            on conflict (ticket_id) do nothing`.execute(db);
        return;
      }
      for (const part of chunks(rows, IN_LIST_CHUNK))
        await db
          .insertInto('push_tickets')
          .values(
            part.map((r) => ({
              ticket_id: r.ticketId,
              user_id: r.userId,
              address: r.address,
              created_at: ms(r.createdAt),
            })),
          )
          .onConflict((oc) => oc.column('ticket_id').doNothing())
          .execute();
    },

    async listTickets(createdBefore, after, limit) {
      assertDate('createdBefore', createdBefore);
      assertCount('limit', limit);
      let q = db
        .selectFrom('push_tickets')
        .selectAll()
        .where('created_at', '<=', ms(createdBefore));
      if (after !== null) {
        assertDate('after.createdAt', after.createdAt);
        assertKey('after.ticketId', after.ticketId);
        const t = ms(after.createdAt);
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '>', t),
            eb.and([eb('created_at', '=', t), eb('ticket_id', '>', after.ticketId)]),
          ]),
        );
      }
      const rows = await q.orderBy('created_at').orderBy('ticket_id').limit(limit).execute();
      return rows.map(
        (r): TicketRow => ({
          ticketId: r.ticket_id,
          userId: r.user_id,
          address: r.address,
          createdAt: toDate(r.created_at),
        }),
      );
    },

    async deleteTickets(ticketIds) {
      if (!Array.isArray(ticketIds)) throw new TypeError('ticketIds: expected an array');
      for (const part of chunks(ticketIds, IN_LIST_CHUNK))
        await db.deleteFrom('push_tickets').where('ticket_id', 'in', part).execute();
    },

    async startPushJob(day, holder, now) {
      assertDay('day', day);
      assertKey('holder', holder);
      assertDate('now', now);
      const t = ms(now);
      const row = await db
        .insertInto('push_jobs')
        .values({
          day,
          holder,
          started_at: t,
          finished_at: null,
          runs: 1,
          triggered: 0,
          failed: 0,
          pruned: 0,
        })
        .onConflict((oc) =>
          oc.column('day').doUpdateSet((eb) => ({
            holder,
            finished_at: null,
            runs: eb('push_jobs.runs', '+', 1),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return jobFromRow(row);
    },

    async addPushJobCounts(day, counts) {
      assertDay('day', day);
      assertCount('triggered', counts.triggered);
      assertCount('failed', counts.failed);
      assertCount('pruned', counts.pruned);
      await db
        .updateTable('push_jobs')
        .set((eb) => ({
          triggered: eb('triggered', '+', counts.triggered),
          failed: eb('failed', '+', counts.failed),
          pruned: eb('pruned', '+', counts.pruned),
        }))
        .where('day', '=', day)
        .execute();
    },

    async finishPushJob(day, now) {
      assertDay('day', day);
      assertDate('now', now);
      await db
        .updateTable('push_jobs')
        .set({ finished_at: ms(now) })
        .where('day', '=', day)
        .execute();
    },

    async getPushJob(day) {
      assertDay('day', day);
      const row = await db
        .selectFrom('push_jobs')
        .selectAll()
        .where('day', '=', day)
        .executeTakeFirst();
      return row ? jobFromRow(row) : null;
    },

    async pushStats(staleBefore) {
      assertDate('staleBefore', staleBefore);
      const t = ms(staleBefore);
      const devices = await db
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      const stale = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('users.backup_enabled', '=', flavor.bool(true))
        .where((eb) =>
          eb.or([eb('users.last_backup_at', 'is', null), eb('users.last_backup_at', '<', t)]),
        )
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('devices')
              .select(sql`1`.as('one'))
              .whereRef('devices.user_id', '=', 'users.id'),
          ),
        )
        .executeTakeFirstOrThrow();
      const last = await db
        .selectFrom('push_jobs')
        .selectAll()
        .orderBy('started_at', 'desc')
        .orderBy('day', 'desc')
        .limit(1)
        .executeTakeFirst();
      return {
        devices: num(devices.n),
        staleUsers: num(stale.n),
        lastJob: last ? jobFromRow(last) : null,
      };
    },
  };
}
