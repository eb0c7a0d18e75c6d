/**
 * The daily trigger job and scheduler (docs/PUSH.md §5) over real stores (SQLite file,
 * PostgreSQL) and local fake Expo / UnifiedPush servers, driven by a manual clock: who
 * gets a trigger, once per user and day across racing instances, lease takeover after a
 * leader dies, resume after a restart, retries, pruning of dead tokens, receipts, and
 * pacing in clock time.
 */
import { manualClock } from '@noah-backup/core/clock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMetadataStore } from '../src/metadata/index.ts';
import { parseAddressList } from '../src/push/endpoint-address.ts';
import { createSenders } from '../src/push/index.ts';
import { utcDay } from '../src/push/day.ts';
import { runTriggerJob } from '../src/push/job.ts';
import type { PushConfig } from '../src/config/push.ts';
import { createTriggerScheduler } from '../src/push/scheduler.ts';
import type { PushSender, SenderSet } from '../src/push/sender.ts';
import { rolloutAllows } from '../src/rollout.ts';
import type { MetadataStore } from '../src/stores/metadata.ts';
import { type FakeExpo, startFakeExpo } from './helpers/fake-expo.ts';
import { type FakeUnifiedPush, startFakeUnifiedPush } from './helpers/fake-unifiedpush.ts';
import { createTestDatabase, type MetadataStoreKind } from './helpers/metadata.ts';
import { expoToken, HOUR, jobDeps, type ManualClock, seedUser } from './helpers/push.ts';

const AT_3 = Date.UTC(2026, 0, 10, 3, 0, 0);
const DAY = '2026-01-10';
const silent = { info() {}, warn() {} } as unknown as Parameters<typeof createSenders>[1]['logger'];

let expo: FakeExpo;
let up: FakeUnifiedPush;
beforeAll(async () => {
  expo = await startFakeExpo();
  up = await startFakeUnifiedPush();
});
afterAll(async () => {
  await expo.close();
  await up.close();
});

function pushConfig(): PushConfig {
  return {
    providers: ['expo', 'unifiedpush'],
    expoPushUrl: expo.url,
    expoAccessToken: null,
    unifiedPushBearer: new Map(),
    unifiedPushAllowHttp: true,
    // The fake UnifiedPush server is on loopback (docs/PUSH.md "Endpoint addresses").
    unifiedPushAllowAddresses: parseAddressList('127.0.0.1'),
    cron: '0 3 * * *',
    staleAfterSec: 20 * 3600,
    spreadSec: 0,
    rate: 0,
    receiptDelaySec: 900,
    maxDevicesPerUser: 10,
    vapidPrivateKey: null,
    vapidSubject: 'mailto:ops@example.com',
  };
}

/** Messages the fake Expo received for each of `tokens`. */
const expoCount = (tokens: readonly string[]) =>
  tokens.map((t) => expo.messages.filter((m) => m.to === t).length);

describe.each(['sqlite', 'postgres'] as MetadataStoreKind[])('trigger job (%s)', (kind) => {
  let url: string;
  let dropDb: () => Promise<void>;
  const open: MetadataStore[] = [];
  let store: MetadataStore;
  let clock: ManualClock;
  let senders: SenderSet;

  beforeEach(async () => {
    const db = await createTestDatabase(kind);
    url = db.url;
    dropDb = db.cleanup;
    store = await openStore();
    clock = manualClock(AT_3);
    senders = createSenders(pushConfig(), { clock, logger: silent });
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await dropDb();
  });
  async function openStore(): Promise<MetadataStore> {
    const s = await createMetadataStore(url);
    open.push(s);
    return s;
  }
  const now = () => clock.now();

  it('triggers only stale, enabled users with devices, once a day, with the data-only payload', async () => {
    const upOk = up.endpoint([201]);
    const stale = await seedUser(store, now(), {
      backupHoursAgo: 21,
      devices: [
        { provider: 'expo', address: expoToken() },
        { provider: 'unifiedpush', address: upOk },
      ],
    });
    const never = await seedUser(store, now(), { backupHoursAgo: null });
    const fresh = await seedUser(store, now(), { backupHoursAgo: 19 });
    const disabled = await seedUser(store, now(), { backupHoursAgo: null, enabled: false });
    // docs/API.md "settings": backups are opt-in; a user who never opted in is left alone.
    const neverOptedIn = await seedUser(store, now(), { backupHoursAgo: null, enabled: 'never' });
    const deviceless = await seedUser(store, now(), { backupHoursAgo: null, devices: [] });

    const r = await runTriggerJob(jobDeps(store, senders, clock), DAY);
    expect(r).toMatchObject({
      status: 'done',
      candidates: 2,
      triggered: 2,
      failed: 0,
      sent: { expo: 2, unifiedpush: 1 },
    });
    expect(expoCount([stale.addresses[0]!, never.addresses[0]!])).toEqual([1, 1]);
    expect(
      expoCount([...fresh.addresses, ...disabled.addresses, ...neverOptedIn.addresses]),
    ).toEqual([0, 0, 0]);
    expect(await store.getTrigger(neverOptedIn.id, DAY)).toBeNull();
    expect(await store.getTrigger(fresh.id, DAY)).toBeNull();
    expect(await store.getTrigger(deviceless.id, DAY)).toBeNull();

    // One notification id per user, the same on all its devices, in the trigger row.
    const trigger = await store.getTrigger(stale.id, DAY);
    expect(trigger).toMatchObject({ status: 'sent', messages: 2 });
    const viaExpo = expo.messages.find((m) => m.to === stale.addresses[0]);
    expect(viaExpo?.data).toEqual({
      type: 'backup_trigger',
      notification_id: trigger?.notificationId,
    });
    expect(JSON.parse(up.deliveries(upOk)[0]!.body)).toEqual(viaExpo?.data);

    const job = await store.getPushJob(DAY);
    expect(job).toMatchObject({ triggered: 2, failed: 0, runs: 1 });
    expect(job?.finishedAt).not.toBeNull();

    // Again the same day (a second cron fire, `--now`, another instance): nothing.
    clock.advance(HOUR);
    const again = await runTriggerJob(jobDeps(store, senders, clock), DAY);
    expect(again).toMatchObject({ status: 'done', candidates: 0, triggered: 0 });
    expect(expoCount([stale.addresses[0]!, never.addresses[0]!])).toEqual([1, 1]);
  });

  it('respects the rollout', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => seedUser(store, now())));
    const rollout = { mode: 'percent', percent: 50 } as const;
    const r = await runTriggerJob(jobDeps(store, senders, clock, { rollout }), DAY);
    const allowed = users.filter((u) => rolloutAllows(rollout, u.pubkey));
    expect(r.triggered).toBe(allowed.length);
    expect(r.skippedRollout).toBe(users.length - allowed.length);
    for (const u of users)
      expect(expoCount(u.addresses)).toEqual([rolloutAllows(rollout, u.pubkey) ? 1 : 0]);
  });

  it('two instances racing the same day send once per user (lease, and claims even without it)', async () => {
    const users = await Promise.all(Array.from({ length: 40 }, () => seedUser(store, now())));
    const other = await openStore();
    const a = jobDeps(store, senders, clock, { pageSize: 7, holder: 'instance-a' });
    const b = jobDeps(other, senders, clock, { pageSize: 7, holder: 'instance-b' });
    const [ra, rb] = await Promise.all([runTriggerJob(a, DAY), runTriggerJob(b, DAY)]);
    expect([ra.status, rb.status].sort()).toEqual(['done', 'lease_held']);
    expect(users.flatMap((u) => expoCount(u.addresses))).toEqual(users.map(() => 1));

    // The next day, with the lease out of the way (as if it had expired under both),
    // only the trigger rows stand between them: still one message per user.
    clock.advance(24 * HOUR);
    const noLease = (s: MetadataStore): MetadataStore =>
      Object.assign(Object.create(s) as MetadataStore, { tryAcquireLease: async () => true });
    const day2 = utcDay(clock.now());
    const [r1, r2] = await Promise.all([
      runTriggerJob({ ...a, store: noLease(store) }, day2),
      runTriggerJob({ ...b, store: noLease(other) }, day2),
    ]);
    expect(r1.triggered + r2.triggered).toBe(users.length);
    expect(r1.claimedElsewhere + r2.claimedElsewhere).toBeGreaterThanOrEqual(0);
    expect(users.flatMap((u) => expoCount(u.addresses))).toEqual(users.map(() => 2));
  });

  it("a dead leader's lease is taken over after expiry and the new leader resumes", async () => {
    clock.set(AT_3 - 60_000);
    const users = await Promise.all(Array.from({ length: 30 }, () => seedUser(store, now())));
    const follower = createTriggerScheduler({
      ...jobDeps(await openStore(), senders, clock, { holder: 'follower', pageSize: 3 }),
      cron: '0 3 * * *',
      receiptDelayMs: 900_000,
    });
    clock.set(AT_3);

    // The leader sends its first batch, then hangs in its second send and, from then on,
    // neither renews its lease nor claims more users, as a killed process would (a leader
    // still claiming pages on a slow machine would otherwise renew the lease after the
    // clock moved on). What it already sent is still recorded.
    let hung!: () => void;
    const reachedHang = new Promise<void>((resolve) => {
      hung = resolve;
    });
    let dead = false;
    let calls = 0;
    const expoSender = senders.expo!;
    const dying: PushSender = {
      ...expoSender,
      send: (msgs) => {
        if (++calls === 1) return expoSender.send(msgs);
        dead = true;
        hung();
        return new Promise(() => {});
      },
    };
    const leaderSenders: SenderSet = { forProvider: () => dying, expo: dying };
    const frozen = new Set(['tryAcquireLease', 'listTriggerCandidates', 'claimTriggers']);
    const leaderStore = new Proxy(store, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || !frozen.has(String(key))) return value;
        return (...args: unknown[]) =>
          dead
            ? new Promise(() => {})
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    void runTriggerJob(
      jobDeps(leaderStore, leaderSenders, clock, {
        holder: 'leader',
        pageSize: 3,
        leaseTtlMs: 60_000,
      }),
      DAY,
    );
    await reachedHang;

    const blocked = await follower.tick();
    expect(blocked.jobs.map((j) => j.status)).toEqual(['lease_held']);
    expect(follower.dueDays()).toEqual([DAY]);

    clock.advance(61_000);
    const taken = await follower.tick();
    expect(taken.jobs).toMatchObject([{ status: 'done', claimedElsewhere: 0 }]);
    expect(taken.jobs[0]!.triggered).toBeGreaterThanOrEqual(15);
    expect(follower.dueDays()).toEqual([]);

    // Every user was claimed by one of the two; those the leader claimed but never
    // sent (it died holding them) get nothing today: at most once per user and day.
    const rows = await Promise.all(users.map((u) => store.getTrigger(u.id, DAY)));
    const counts = users.map((u) => expoCount(u.addresses)[0] ?? 0);
    rows.forEach((row, i) => {
      expect(row).not.toBeNull();
      expect(counts[i]).toBe(row?.status === 'sent' ? 1 : 0);
    });
    expect(counts.filter((c) => c === 1)).toHaveLength(3 + taken.jobs[0]!.triggered);
    const job = await store.getPushJob(DAY);
    expect(job).toMatchObject({
      runs: 2,
      holder: 'follower',
      triggered: 3 + taken.jobs[0]!.triggered,
    });
    expect(job?.finishedAt).not.toBeNull();
  });

  it('a restart mid-run resumes the day without double-sending', async () => {
    clock.set(AT_3);
    const users = await Promise.all(Array.from({ length: 12 }, () => seedUser(store, now())));
    const stopper = new AbortController();
    let pages = 0;
    const expoSender = senders.expo!;
    const stopping: PushSender = {
      ...expoSender,
      send: async (msgs) => {
        if (++pages === 1) stopper.abort();
        return expoSender.send(msgs);
      },
    };
    const first = await runTriggerJob(
      {
        ...jobDeps(store, { forProvider: () => stopping, expo: stopping }, clock, { pageSize: 2 }),
        signal: stopper.signal,
      },
      DAY,
    );
    expect(first.status).toBe('aborted');
    expect(first.triggered).toBeGreaterThan(0);
    expect(first.triggered).toBeLessThan(users.length);
    expect((await store.getPushJob(DAY))?.finishedAt).toBeNull();

    // A new process: the scheduler sees today's 03:00 fire unfinished and resumes it.
    clock.advance(10 * 60_000);
    const restarted = createTriggerScheduler({
      ...jobDeps(await openStore(), senders, clock, { pageSize: 2 }),
      cron: '0 3 * * *',
      receiptDelayMs: 900_000,
    });
    expect(restarted.dueDays()).toEqual([DAY]);
    const { jobs } = await restarted.tick();
    expect(jobs).toMatchObject([{ status: 'done', triggered: users.length - first.triggered }]);
    expect(users.flatMap((u) => expoCount(u.addresses))).toEqual(users.map(() => 1));
    expect(await restarted.tick()).toEqual({ jobs: [], receipts: null });
  });

  it('retries transient failures with backoff, prunes dead tokens and endpoints', async () => {
    const deadTicket = expoToken();
    const deadReceipt = expoToken();
    expo.behave(deadTicket, { ticketError: 'DeviceNotRegistered' });
    expo.behave(deadReceipt, { receiptError: 'DeviceNotRegistered' });
    const flaky = up.endpoint([500, 200]);
    const gone404 = up.endpoint([404]);
    const gone410 = up.endpoint([410]);
    const a = await seedUser(store, now(), {
      devices: [
        { provider: 'expo', address: deadTicket },
        { provider: 'unifiedpush', address: gone404 },
      ],
    });
    const b = await seedUser(store, now(), {
      devices: [
        { provider: 'expo', address: deadReceipt },
        { provider: 'unifiedpush', address: flaky },
        { provider: 'unifiedpush', address: gone410 },
      ],
    });

    const t0 = clock.now().getTime();
    const r = await runTriggerJob(jobDeps(store, senders, clock), DAY);
    expect(r).toMatchObject({ status: 'done', triggered: 1, failed: 1, pruned: 3, retries: 1 });
    // The retry waited its backoff in clock time (1 s), not in real time.
    expect(clock.now().getTime() - t0).toBeGreaterThanOrEqual(1000);
    expect(up.deliveries(flaky)).toHaveLength(2);
    expect(await store.listDevices(a.id)).toEqual([]);
    expect((await store.listDevices(b.id)).map((d) => d.address).sort()).toEqual(
      [deadReceipt, flaky].sort(),
    );
    expect(await store.getTrigger(a.id, DAY)).toMatchObject({ status: 'failed', messages: 0 });
    expect(await store.getTrigger(b.id, DAY)).toMatchObject({ status: 'sent', messages: 2 });

    // Receipts: not before PUSH_RECEIPT_DELAY; then DeviceNotRegistered prunes the token.
    const scheduler = createTriggerScheduler({
      ...jobDeps(store, senders, clock),
      cron: null,
      receiptDelayMs: 15 * 60_000,
    });
    expect(await scheduler.collectReceipts()).toMatchObject({ checked: 0 });
    clock.advance(15 * 60_000);
    expect(await scheduler.collectReceipts()).toMatchObject({ checked: 1, pruned: 1 });
    expect((await store.listDevices(b.id)).map((d) => d.address)).toEqual([flaky]);
    expect(await store.listTickets(clock.now(), null, 10)).toEqual([]);
  });

  it('gives up after the retries and marks the trigger failed', async () => {
    const u = await seedUser(store, now());
    expo.failNextSends(4, 503);
    const r = await runTriggerJob(
      jobDeps(store, senders, clock, { retry: { attempts: 3, baseMs: 1000, maxMs: 30_000 } }),
      DAY,
    );
    expect(r).toMatchObject({ triggered: 0, failed: 1, retries: 3, messageFailures: 1 });
    expect(await store.getTrigger(u.id, DAY)).toMatchObject({ status: 'failed' });
    expect(await store.listDevices(u.id)).toHaveLength(1); // transient: not pruned
  });

  it('stopping the scheduler cuts a pacing wait short and leaves the day resumable', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => seedUser(store, now())));
    const scheduler = createTriggerScheduler({
      // Real sleeps: one user every 20 minutes would keep a shutdown waiting.
      ...jobDeps(store, senders, clock, { spreadSec: 7200, pageSize: 1, sleep: undefined }),
      cron: null,
      receiptDelayMs: 900_000,
    });
    const running = scheduler.runNow();
    const sent = () => users.flatMap((u) => expoCount(u.addresses)).reduce((a, b) => a + b, 0);
    while (sent() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await scheduler.stop();
    const r = await running;
    expect(r.status).toBe('aborted');
    expect(r.triggered).toBeLessThan(users.length);
    expect(users.flatMap((u) => expoCount(u.addresses)).every((c) => c <= 1)).toBe(true);
    expect((await store.getPushJob(DAY))?.finishedAt).toBeNull();
  });

  it('the cron and the pacing run on the injected clock', async () => {
    clock.set(AT_3 - 5 * 60_000);
    const users = await Promise.all(Array.from({ length: 10 }, () => seedUser(store, now())));
    const scheduler = createTriggerScheduler({
      // One user per page, so each goes in its own batch (a batch goes out at once).
      ...jobDeps(store, senders, clock, { spreadSec: 100, pageSize: 1 }),
      cron: '0 3 * * *',
      receiptDelayMs: 900_000,
    });
    expect(scheduler.nextRunAt()).toEqual(new Date(AT_3));
    expect(await scheduler.tick()).toEqual({ jobs: [], receipts: null });
    expect(expo.messages.filter((m) => users.some((u) => u.addresses.includes(m.to)))).toEqual([]);

    clock.set(AT_3);
    const { jobs } = await scheduler.tick();
    expect(jobs).toMatchObject([{ status: 'done', triggered: 10 }]);
    // 10 users over a 100 s spread: one every 10 s, the last one 90 s after the first.
    expect(clock.now().getTime() - AT_3).toBeGreaterThanOrEqual(90_000);
    expect(scheduler.nextRunAt()).toEqual(new Date(AT_3 + 24 * HOUR));
  });
});
