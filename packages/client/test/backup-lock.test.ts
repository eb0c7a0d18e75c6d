import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeviceStateStore } from '../src/adapters.ts';
import { createBackupLock, LOCK_KEY } from '../src/backup-lock.ts';
import { createFileStateStore } from '../src/node/state.ts';

let dir: string;
let state: DeviceStateStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-lock-'));
  state = createFileStateStore(join(dir, 'state.json'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = async () => JSON.parse((await state.get(LOCK_KEY)) ?? 'null');

describe('backup lock', () => {
  it('admits one holder at a time and frees on release', async () => {
    const clock = manualClock(1_000_000);
    const lock = createBackupLock({ state, clock, ttlMs: 60_000 });
    const [a, b] = await Promise.all([lock.acquire(), lock.acquire()]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await lock.isHeld()).toBe(true);
    expect(await lock.acquire()).toBeNull();
    await (a ?? b)!.release();
    expect(await lock.isHeld()).toBe(false);
    const c = await lock.acquire();
    expect(c).not.toBeNull();
    await c!.release();
  });

  it('takes over a crashed holder’s lock once it has expired', async () => {
    const clock = manualClock(1_000_000);
    await state.set(LOCK_KEY, JSON.stringify({ owner: 'crashed', expiresAt: 1_060_000 }));
    const lock = createBackupLock({ state, clock, ttlMs: 60_000 });
    expect(await lock.acquire()).toBeNull();
    clock.advance(60_001);
    const lease = await lock.acquire();
    expect(lease).not.toBeNull();
    expect((await record()).owner).not.toBe('crashed');
    await lease!.release();
  });

  it('treats a corrupt lock record as free', async () => {
    await state.set(LOCK_KEY, '{not json');
    const lease = await createBackupLock({ state, clock: manualClock(0) }).acquire();
    expect(lease).not.toBeNull();
    await lease!.release();
  });

  it('keeps a slow holder’s lock alive by renewing it', async () => {
    const clock = manualClock(1_000_000);
    const lock = createBackupLock({ state, clock, ttlMs: 60_000, renewEveryMs: 10 });
    const lease = await lock.acquire();
    clock.advance(10 * 60_000); // far past the first expiry
    await vi.waitFor(async () =>
      expect((await record()).expiresAt).toBeGreaterThan(clock.now().getTime()),
    );
    expect(await lock.acquire()).toBeNull();
    expect(lease!.lost.aborted).toBe(false);
    await lease!.release();
  });

  it('signals a holder whose lock was taken over, and release leaves the new owner alone', async () => {
    const clock = manualClock(1_000_000);
    const lock = createBackupLock({ state, clock, ttlMs: 60_000, renewEveryMs: 10 });
    const lease = await lock.acquire();
    const other = JSON.stringify({ owner: 'other', expiresAt: 9_999_999 });
    await state.set(LOCK_KEY, other);
    await vi.waitFor(() => expect(lease!.lost.aborted).toBe(true));
    await lease!.release();
    expect(await state.get(LOCK_KEY)).toBe(other);
  });
});
