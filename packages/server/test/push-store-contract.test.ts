/**
 * MetadataStore contract, part 3 (docs/PUSH.md §5): devices, per-day trigger rows,
 * outcomes, Expo tickets and job records, against every backend. Tests that read global
 * state (candidate scans, stats) get a fresh database each.
 */
import { describe, expect, it } from 'vitest';
import { createMetadataStore } from '../src/metadata/index.ts';
import type { MetadataStore, UserRow } from '../src/stores/metadata.ts';
import {
  at,
  createTestDatabase,
  freshKey,
  freshPubkey,
  freshTestMetadataStores,
  HOUR,
  metadataStoreKinds,
  MIN,
} from './helpers/metadata.ts';

const DAY = '2026-01-01';
const token = () => `ExponentPushToken[${freshKey('t')}]`;

describe.each(metadataStoreKinds)('MetadataStore contract (%s): push', (kind) => {
  const { fresh, defer } = freshTestMetadataStores(kind);
  const register = (store: MetadataStore, user: UserRow, deviceId: string, address: string) =>
    store.registerDevice({
      userId: user.id,
      deviceId,
      provider: 'expo',
      address,
      now: at(0),
      maxDevices: 10,
    });
  async function backedUp(store: MetadataStore, user: UserRow, when: Date): Promise<void> {
    const objectKey = freshKey('obj');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version: 1,
      declaredSize: 10,
      createdAt: when,
      expiresAt: new Date(when.getTime() + HOUR),
    });
    await store.completeUpload({ userId: user.id, objectKey, version: 1, size: 10, now: when });
  }

  describe('devices', () => {
    it('registers several devices per user and updates one on re-registration', async () => {
      const store = await fresh();
      const u = await store.upsertUser(freshPubkey(), at(0));
      const a = await register(store, u, 'phone', token());
      expect(a).toMatchObject({ updated: false, displaced: 0, evicted: 0 });
      await register(store, u, 'tablet', token());
      const newToken = token();
      const again = await store.registerDevice({
        userId: u.id,
        deviceId: 'phone',
        provider: 'expo',
        address: newToken,
        now: at(5),
        maxDevices: 10,
      });
      expect(again.updated).toBe(true);
      expect(again.device).toMatchObject({ address: newToken, updatedAt: at(5), createdAt: at(0) });
      const list = await store.listDevices(u.id);
      expect(list.map((d) => d.deviceId)).toEqual(['phone', 'tablet']);
    });

    it('an address moves to the latest registration, across users and device ids', async () => {
      const store = await fresh();
      const [a, b] = await Promise.all([1, 2].map(() => store.upsertUser(freshPubkey(), at(0))));
      if (!a || !b) throw new Error('users');
      const shared = token();
      await register(store, a, 'dev-a', shared);
      const moved = await register(store, b, 'dev-b', shared);
      expect(moved.displaced).toBe(1);
      expect(await store.listDevices(a.id)).toEqual([]);
      expect((await store.listDevices(b.id)).map((d) => d.address)).toEqual([shared]);
      // The same user's other device id: the address moves too.
      expect((await register(store, b, 'dev-b2', shared)).displaced).toBe(1);
      expect((await store.listDevices(b.id)).map((d) => d.deviceId)).toEqual(['dev-b2']);
    });

    it('a device id belongs to its user: another user registering it leaves the first alone', async () => {
      const store = await fresh();
      const [a, b] = await Promise.all([1, 2].map(() => store.upsertUser(freshPubkey(), at(0))));
      if (!a || !b) throw new Error('users');
      await register(store, a, 'same-id', token());
      await register(store, b, 'same-id', token());
      expect(await store.listDevices(a.id)).toHaveLength(1);
      expect(await store.listDevices(b.id)).toHaveLength(1);
      expect(await store.unregisterDevice(b.id, 'same-id')).toBe(true);
      expect(await store.unregisterDevice(b.id, 'same-id')).toBe(false);
      expect(await store.listDevices(a.id)).toHaveLength(1);
    });

    it('keeps at most maxDevices per user, evicting the least recently updated', async () => {
      const store = await fresh();
      const u = await store.upsertUser(freshPubkey(), at(0));
      for (const [i, id] of ['d1', 'd2', 'd3'].entries())
        await store.registerDevice({
          userId: u.id,
          deviceId: id,
          provider: 'unifiedpush',
          address: `https://push.example/${freshKey('up')}`,
          now: at(i),
          maxDevices: 2,
        });
      expect((await store.listDevices(u.id)).map((d) => d.deviceId)).toEqual(['d3', 'd2']);
    });

    it('racing registrations of one address leave exactly one owner', async () => {
      const store = await fresh();
      const users = await Promise.all(
        Array.from({ length: 6 }, () => store.upsertUser(freshPubkey(), at(0))),
      );
      const shared = token();
      await Promise.all(users.map((u, i) => register(store, u, `dev-${i}`, shared)));
      const lists = await Promise.all(users.map((u) => store.listDevices(u.id)));
      expect(lists.flat().filter((d) => d.address === shared)).toHaveLength(1);
    });

    it('prunes by address and cascades when a user goes', async () => {
      const store = await fresh();
      const u = await store.upsertUser(freshPubkey(), at(0));
      const dead = token();
      await register(store, u, 'dead', dead);
      await register(store, u, 'live', token());
      expect(await store.pruneAddresses([dead, token()])).toBe(1);
      expect(await store.pruneAddresses([dead])).toBe(0);
      expect((await store.listDevices(u.id)).map((d) => d.deviceId)).toEqual(['live']);
    });

    it('validates arguments', async () => {
      const store = await fresh();
      const u = await store.upsertUser(freshPubkey(), at(0));
      await expect(
        store.registerDevice({
          userId: u.id,
          deviceId: 'x',
          provider: 'apns' as 'expo',
          address: 'a',
          now: at(0),
          maxDevices: 1,
        }),
      ).rejects.toThrow(RangeError);
      await expect(store.unregisterDevice(u.id, '')).rejects.toThrow(TypeError);
      const keyed = (provider: 'expo' | 'unifiedpush', keys: unknown) =>
        store.registerDevice({
          userId: u.id,
          deviceId: 'k',
          provider,
          address: `https://push.example/${freshKey('up')}`,
          keys: keys as { p256dh: string; auth: string },
          now: at(0),
          maxDevices: 1,
        });
      await expect(keyed('expo', { p256dh: 'a', auth: 'b' })).rejects.toThrow(RangeError);
      await expect(keyed('unifiedpush', { p256dh: 'a' })).rejects.toThrow(TypeError);
      await expect(keyed('unifiedpush', { p256dh: '', auth: 'b' })).rejects.toThrow(RangeError);
    });

    it('keeps Web Push keys with the device, replaces them on re-registration, hands them to the job', async () => {
      const store = await fresh();
      const u = await store.upsertUser(freshPubkey(), at(0));
      await store.setBackupEnabled(u.id, true);
      const endpoint = `https://push.example/${freshKey('up')}`;
      const keys = { p256dh: `B${freshKey('p')}`, auth: freshKey('a') };
      const reg = (k: typeof keys | null | undefined, t: number, address = endpoint) =>
        store.registerDevice({
          userId: u.id,
          deviceId: 'phone',
          provider: 'unifiedpush',
          address,
          ...(k === undefined ? {} : { keys: k }),
          now: at(t),
          maxDevices: 10,
        });
      expect((await reg(keys, 0)).device.keys).toEqual(keys);
      expect((await store.listDevices(u.id))[0]?.keys).toEqual(keys);
      const [candidate] = await store.listTriggerCandidates({
        day: DAY,
        staleBefore: at(0),
        afterId: null,
        limit: 10,
      });
      expect(candidate?.devices).toEqual([
        { deviceId: 'phone', provider: 'unifiedpush', address: endpoint, keys },
      ]);
      // New keys replace the old; a registration without keys leaves none.
      const rotated = { p256dh: `B${freshKey('p')}`, auth: freshKey('a') };
      expect((await reg(rotated, 1)).device.keys).toEqual(rotated);
      expect((await reg(undefined, 2)).device.keys).toBeNull();
      expect((await store.listDevices(u.id))[0]?.keys).toBeNull();
      // An Expo device has none.
      await register(store, u, 'tablet', token());
      expect((await store.listDevices(u.id)).map((d) => d.keys)).toEqual([null, null]);
    });
  });

  describe('the daily job', () => {
    it('candidates: enabled, stale, with a device, not yet triggered that day; keyset pages', async () => {
      const store = await fresh();
      const mk = async (opts: {
        enabled?: boolean | 'never';
        device?: boolean;
        backupAt?: Date;
      }) => {
        const u = await store.upsertUser(freshPubkey(), at(-48 * HOUR));
        if (opts.enabled !== 'never') await store.setBackupEnabled(u.id, opts.enabled ?? true);
        if (opts.device !== false) await register(store, u, 'd', token());
        if (opts.backupAt) await backedUp(store, u, opts.backupAt);
        return u;
      };
      const never = await mk({});
      const old = await mk({ backupAt: at(-21 * HOUR) });
      await mk({ backupAt: at(-19 * HOUR) }); // fresh
      await mk({ enabled: false }); // disabled
      await mk({ enabled: 'never' }); // never opted in
      await mk({ device: false }); // no device
      const triggered = await mk({});
      expect(
        await store.claimTriggers(DAY, [{ userId: triggered.id, notificationId: 'n-t' }], at(0)),
      ).toEqual([triggered.id]);

      const staleBefore = at(-20 * HOUR);
      const expected = [never.id, old.id].sort();
      expect(await store.countTriggerCandidates({ day: DAY, staleBefore })).toBe(2);
      const first = await store.listTriggerCandidates({
        day: DAY,
        staleBefore,
        afterId: null,
        limit: 1,
      });
      expect(first.map((c) => c.id)).toEqual([expected[0]]);
      const second = await store.listTriggerCandidates({
        day: DAY,
        staleBefore,
        afterId: first[0]!.id,
        limit: 1,
      });
      expect(second.map((c) => c.id)).toEqual([expected[1]]);
      expect(
        await store.listTriggerCandidates({
          day: DAY,
          staleBefore,
          afterId: second[0]!.id,
          limit: 1,
        }),
      ).toEqual([]);
      // The next day the triggered user is a candidate again.
      expect(await store.countTriggerCandidates({ day: '2026-01-02', staleBefore })).toBe(3);
      expect(first[0]?.pubkey).toMatch(/^02[0-9a-f]{64}$/);
      expect(first[0]?.devices).toEqual([
        {
          deviceId: 'd',
          provider: 'expo',
          address: expect.stringMatching(/^ExponentPushToken\[/),
          keys: null,
        },
      ]);
    });

    it('claims are the dedupe: of racing claimers exactly one gets each user', async () => {
      const store = await fresh();
      const users = await Promise.all(
        Array.from({ length: 20 }, () => store.upsertUser(freshPubkey(), at(0))),
      );
      const attempt = (tag: string) =>
        store.claimTriggers(
          DAY,
          users.map((u) => ({ userId: u.id, notificationId: `${tag}-${u.id}` })),
          at(0),
        );
      const results = await Promise.all(['a', 'b', 'c', 'd'].map(attempt));
      const all = results.flat();
      expect(all.sort()).toEqual(users.map((u) => u.id).sort());
      expect(await attempt('e')).toEqual([]);
      const t = await store.getTrigger(users[0]!.id, DAY);
      expect(t).toMatchObject({ status: 'claimed', messages: 0, outcome: null, createdAt: at(0) });
    });

    it('settles triggers and records outcomes; a success is final', async () => {
      const store = await fresh();
      const [u, other] = await Promise.all(
        [1, 2].map(() => store.upsertUser(freshPubkey(), at(0))),
      );
      if (!u || !other) throw new Error('users');
      await store.claimTriggers(DAY, [{ userId: u.id, notificationId: 'n-1' }], at(0));
      await store.settleTriggers(DAY, [{ userId: u.id, status: 'sent', messages: 2 }]);
      expect(await store.getTrigger(u.id, DAY)).toMatchObject({ status: 'sent', messages: 2 });
      // Someone else's notification id is not theirs to report on.
      expect(
        await store.recordTriggerOutcome({
          userId: other.id,
          notificationId: 'n-1',
          status: 'success',
          now: at(1),
        }),
      ).toBeNull();
      const failed = await store.recordTriggerOutcome({
        userId: u.id,
        notificationId: 'n-1',
        status: 'failure',
        now: at(HOUR),
      });
      expect(failed).toMatchObject({
        changed: true,
        trigger: { outcome: 'failure', outcomeAt: at(HOUR) },
      });
      const report = (status: 'success' | 'failure', t: number) =>
        store.recordTriggerOutcome({ userId: u.id, notificationId: 'n-1', status, now: at(t) });
      expect((await report('failure', 90 * MIN))?.changed).toBe(false);
      expect(await report('success', 2 * HOUR)).toMatchObject({
        changed: true,
        trigger: { outcome: 'success', outcomeAt: at(2 * HOUR) },
      });
      expect(await report('failure', 3 * HOUR)).toMatchObject({
        changed: false,
        trigger: { outcome: 'success', outcomeAt: at(2 * HOUR) },
      });
      expect((await report('success', 4 * HOUR))?.changed).toBe(false);
    });

    it('outcome stats: successes within a day are counted per job day', async () => {
      const store = await fresh();
      const users = await Promise.all(
        Array.from({ length: 4 }, () => store.upsertUser(freshPubkey(), at(0))),
      );
      await store.startPushJob(DAY, 'h', at(0));
      await store.claimTriggers(
        DAY,
        users.map((u, i) => ({ userId: u.id, notificationId: `n${i}` })),
        at(0),
      );
      await store.addPushJobCounts(DAY, { triggered: 3, failed: 1, pruned: 0 });
      const report = (i: number, status: 'success' | 'failure', t: number) =>
        store.recordTriggerOutcome({
          userId: users[i]!.id,
          notificationId: `n${i}`,
          status,
          now: at(t),
        });
      await report(0, 'success', HOUR);
      await report(0, 'success', 2 * HOUR); // a repeat is not counted again
      await report(1, 'success', 25 * HOUR); // too late: more than a day after
      await report(2, 'failure', HOUR);
      expect(await store.triggerOutcomeStats(DAY, '2026-01-02')).toEqual({
        sent: 3,
        succeededWithinDay: 1,
      });
      expect((await store.getPushJob(DAY))?.succeeded).toBe(1);
      expect(await store.triggerOutcomeStats('2026-01-02', '2026-01-09')).toEqual({
        sent: 0,
        succeededWithinDay: 0,
      });
    });

    it('prunes trigger rows of days before a cutoff, in batches, idempotently', async () => {
      const store = await fresh();
      const users = await Promise.all(
        Array.from({ length: 12 }, () => store.upsertUser(freshPubkey(), at(0))),
      );
      for (const day of ['2025-12-30', '2025-12-31', DAY])
        await store.claimTriggers(
          day,
          users.map((u) => ({ userId: u.id, notificationId: `${day}-${u.id}` })),
          at(0),
        );
      expect(await store.pruneTriggers(DAY)).toBe(24);
      expect(await store.pruneTriggers(DAY)).toBe(0);
      expect(await store.getTrigger(users[0]!.id, '2025-12-31')).toBeNull();
      expect(await store.getTrigger(users[0]!.id, DAY)).not.toBeNull();
    });

    it('tickets: saved idempotently, listed oldest first with a keyset cursor, deleted', async () => {
      const store = await fresh();
      const mk = (id: string, t: number) => ({
        ticketId: id,
        userId: 'u',
        address: `addr-${id}`,
        createdAt: at(t),
      });
      await store.saveTickets([mk('b', 0), mk('a', 0), mk('c', 10), mk('late', 100)]);
      await store.saveTickets([mk('a', 0)]);
      const page1 = await store.listTickets(at(50), null, 2);
      expect(page1.map((t) => t.ticketId)).toEqual(['a', 'b']);
      const last = page1[1]!;
      const page2 = await store.listTickets(
        at(50),
        { createdAt: last.createdAt, ticketId: last.ticketId },
        2,
      );
      expect(page2).toEqual([mk('c', 10)]);
      await store.deleteTickets(['a', 'c', 'missing']);
      expect((await store.listTickets(at(1000), null, 10)).map((t) => t.ticketId)).toEqual([
        'b',
        'late',
      ]);
    });

    it('bulk statements keep values with array and quoting metacharacters intact', async () => {
      const store = await fresh();
      const odd = ['a,b', 'q"uote', 'br{a}ce', 'back\\slash', "it's", 'NULL', 'sp ace', 'ü'];
      const users = await Promise.all(odd.map(() => store.upsertUser(freshPubkey(), at(0))));
      const claimed = await store.claimTriggers(
        DAY,
        users.map((u, i) => ({ userId: u.id, notificationId: `n-${odd[i]}` })),
        at(0),
      );
      expect(claimed.sort()).toEqual(users.map((u) => u.id).sort());
      await store.settleTriggers(
        DAY,
        users.map((u) => ({ userId: u.id, status: 'sent' as const, messages: 1 })),
      );
      for (const [i, u] of users.entries())
        expect(await store.getTrigger(u.id, DAY)).toMatchObject({
          notificationId: `n-${odd[i]}`,
          status: 'sent',
        });
      await store.saveTickets(
        odd.map((o, i) => ({
          ticketId: `t-${o}`,
          userId: users[i]!.id,
          address: o,
          createdAt: at(i),
        })),
      );
      const tickets = await store.listTickets(at(100), null, 100);
      expect(tickets.map((t) => t.address)).toEqual(odd);
      expect(tickets.map((t) => t.ticketId)).toEqual(odd.map((o) => `t-${o}`));
    });

    it('job records accumulate over runs and holders', async () => {
      const store = await fresh();
      expect(await store.getPushJob(DAY)).toBeNull();
      const first = await store.startPushJob(DAY, 'a', at(0));
      expect(first).toMatchObject({ holder: 'a', runs: 1, finishedAt: null, triggered: 0 });
      await store.addPushJobCounts(DAY, { triggered: 5, failed: 1, pruned: 2 });
      const resumed = await store.startPushJob(DAY, 'b', at(10));
      expect(resumed).toMatchObject({ holder: 'b', runs: 2, startedAt: at(0), triggered: 5 });
      await store.addPushJobCounts(DAY, { triggered: 3, failed: 0, pruned: 0 });
      await store.finishPushJob(DAY, at(20));
      expect(await store.getPushJob(DAY)).toMatchObject({
        triggered: 8,
        failed: 1,
        pruned: 2,
        finishedAt: at(20),
      });
      await expect(store.getPushJob('2026-1-1')).rejects.toThrow(RangeError);
    });

    it('push stats: devices, stale users with devices, last job', async () => {
      const store = await fresh();
      expect(await store.pushStats(at(0))).toEqual({ devices: 0, staleUsers: 0, lastJob: null });
      const [a, b, c] = await Promise.all(
        [1, 2, 3].map(() => store.upsertUser(freshPubkey(), at(-5 * HOUR))),
      );
      if (!a || !b || !c) throw new Error('users');
      for (const u of [a, b, c]) await store.setBackupEnabled(u.id, true);
      await register(store, a, 'd1', token());
      await register(store, a, 'd2', token());
      await register(store, b, 'd1', token());
      await backedUp(store, b, at(-1 * HOUR));
      await store.startPushJob('2025-12-31', 'x', at(-24 * HOUR));
      await store.startPushJob(DAY, 'y', at(0));
      const stats = await store.pushStats(at(-2 * HOUR));
      expect(stats).toMatchObject({ devices: 3, staleUsers: 1 });
      expect(stats.lastJob?.day).toBe(DAY);
    });
  });

  it('two instances on one database share devices and trigger claims', async () => {
    const database = await createTestDatabase(kind);
    defer(database.cleanup);
    const a = await createMetadataStore(database.url);
    const b = await createMetadataStore(database.url);
    try {
      const u = await a.upsertUser(freshPubkey(), at(0));
      await register(a, u, 'd', token());
      expect(await b.listDevices(u.id)).toHaveLength(1);
      const [ca, cb] = await Promise.all([
        a.claimTriggers(DAY, [{ userId: u.id, notificationId: 'na' }], at(0)),
        b.claimTriggers(DAY, [{ userId: u.id, notificationId: 'nb' }], at(0)),
      ]);
      expect([...(ca ?? []), ...(cb ?? [])]).toEqual([u.id]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
