/**
 * Test helpers of the daily trigger: users in every state the scheduler distinguishes
 * (stale, fresh, disabled, without a device), and a job's dependencies driven by a
 * manual clock (its sleep advances the clock instead of waiting).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { manualClock } from '@noah-backup/core/clock';
import type { PushProvider } from '@noah-backup/core/api';
import { parseRollout, type Rollout } from '../../src/rollout.ts';
import type { TriggerJobDeps } from '../../src/push/job-types.ts';
import type { SenderSet } from '../../src/push/sender.ts';
import type { MetadataStore, UserRow } from '../../src/stores/metadata.ts';
import { freshKey, freshPubkey } from './metadata.ts';

/** A manual clock. */
export type ManualClock = ReturnType<typeof manualClock>;

export const HOUR = 3_600_000;

/** A fresh Expo push token. */
export const expoToken = (): string => `ExponentPushToken[${randomBytes(11).toString('hex')}]`;

/** What a seeded user looks like. */
export interface SeedUser {
  /** Hours before `now` of the last completed backup; null = never. */
  backupHoursAgo?: number | null;
  /**
   * Backups switched on (default) or off by the wallet; `'never'` leaves the user as
   * created, never opted in.
   */
  enabled?: boolean | 'never';
  /** The devices' providers and addresses (default: one Expo device). */
  devices?: { provider: PushProvider; address: string }[];
}

/** A seeded user and its device addresses. */
export interface SeededUser extends UserRow {
  addresses: string[];
}

/**
 * Creates a user in the requested state, with times relative to `now`.
 *
 * @returns the user row (as created) and its device addresses
 */
export async function seedUser(
  store: MetadataStore,
  now: Date,
  spec: SeedUser = {},
): Promise<SeededUser> {
  const t = now.getTime();
  const user = await store.upsertUser(freshPubkey(), new Date(t - 30 * 24 * HOUR));
  if (spec.enabled !== 'never') await store.setBackupEnabled(user.id, spec.enabled ?? true);
  const devices = spec.devices ?? [{ provider: 'expo', address: expoToken() }];
  for (const [i, d] of devices.entries())
    await store.registerDevice({
      userId: user.id,
      deviceId: `device-${i}`,
      provider: d.provider,
      address: d.address,
      now: new Date(t - 24 * HOUR),
      maxDevices: 10,
    });
  const ago = spec.backupHoursAgo ?? null;
  if (ago !== null) {
    const when = new Date(t - ago * HOUR);
    const objectKey = freshKey('b');
    await store.createPendingUpload({
      objectKey,
      userId: user.id,
      version: 1,
      declaredSize: 100,
      createdAt: when,
      expiresAt: new Date(when.getTime() + HOUR),
    });
    await store.completeUpload({ userId: user.id, objectKey, version: 1, size: 100, now: when });
  }
  return { ...user, addresses: devices.map((d) => d.address) };
}

/**
 * A job's dependencies over a manual clock: no pacing, no real waits (sleep advances
 * the clock), retries from 1 s.
 */
export function jobDeps(
  store: MetadataStore,
  senders: SenderSet,
  clock: ManualClock,
  overrides: Partial<TriggerJobDeps> = {},
): TriggerJobDeps {
  return {
    store,
    senders,
    clock,
    random: (n) => new Uint8Array(randomBytes(n)),
    sleep: async (ms) => clock.advance(ms),
    rollout: parseRollout('all') as Rollout,
    holder: freshKey('holder'),
    staleAfterSec: 20 * 3600,
    spreadSec: 0,
    rate: 0,
    ...overrides,
  };
}
