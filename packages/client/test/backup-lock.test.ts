import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeviceStateStore } from '../src/ports.ts';
import { createBackupLock, LOCK_KEY } from '../src/backup-lock.ts';
import { nodeProcessProbe } from '../src/node/process.ts';
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
/**
 * How long a renewal may take to land: each is a durable write of the state file, which
 * on a loaded machine (a busy disk, other processes' fsyncs) can take seconds; `vi.waitFor`'s
 * default of one second made these tests fail there.
 */
const SETTLE = { timeout: 20_000, interval: 20 };

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

  it('keeps a slow holder’s lock alive by renewing it, even after a suspension', async () => {
    const clock = manualClock(1_000_000);
    const { store, idle } = counted(state);
    const lock = createBackupLock({ state: store, clock, ttlMs: 60_000, renewEveryMs: 10 });
    const lease = await lock.acquire();
    await new Promise((r) => setTimeout(r, 50));
    // The app suspended between renewals, far past the lease: nobody took the lock, so
    // the first renewal after it keeps it.
    await idle();
    clock.advance(10 * 60_000);
    await vi.waitFor(
      async () => expect((await record()).expiresAt).toBeGreaterThan(clock.now().getTime()),
      SETTLE,
    );
    expect(await lock.acquire()).toBeNull();
    expect(lease!.lost.aborted).toBe(false);
    await lease!.release();
  });

  it('release waits for every renewal: none lands after it, even one slower than the next', async () => {
    // A state store whose first renewal is slow (a stalled disk) and the others quick, so
    // renewals overlap and finish out of order, as they did under load.
    let calls = 0;
    let running = 0;
    const slow: DeviceStateStore = {
      ...state,
      get: (k) => state.get(k),
      async compareAndSet(k, v, can) {
        const n = ++calls; // 1: the acquire; 2: the first renewal
        running++;
        try {
          if (n === 2) await new Promise((r) => setTimeout(r, 300));
          return await state.compareAndSet(k, v, can);
        } finally {
          running--;
        }
      },
    };
    const clock = manualClock(1_000_000);
    const lock = createBackupLock({ state: slow, clock, ttlMs: 60_000, renewEveryMs: 10 });
    const lease = await lock.acquire();
    await new Promise((r) => setTimeout(r, 100));
    await lease!.release();
    expect(running).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(await record()).toMatchObject({ expiresAt: 0 });
    expect(await lock.isHeld()).toBe(false);
  });

  it('signals a holder whose lock was taken over, and release leaves the new owner alone', async () => {
    const clock = manualClock(1_000_000);
    const lock = createBackupLock({ state, clock, ttlMs: 60_000, renewEveryMs: 10 });
    const lease = await lock.acquire();
    const other = JSON.stringify({ owner: 'other', expiresAt: 9_999_999 });
    await state.set(LOCK_KEY, other);
    await vi.waitFor(() => expect(lease!.lost.aborted).toBe(true), SETTLE);
    await lease!.release();
    expect(await state.get(LOCK_KEY)).toBe(other);
  });

  it('signals a holder whose renewal cannot land before its lease runs out', async () => {
    // Taking the lock works; every renewal after it hangs (a stalled disk).
    let calls = 0;
    const stalled: DeviceStateStore = {
      ...counted(state).store,
      compareAndSet: (k, v, can) =>
        calls++ === 0 ? state.compareAndSet(k, v, can) : new Promise<boolean>(() => {}),
    };
    const clock = manualClock(1_000_000);
    const lock = createBackupLock({ state: stalled, clock, ttlMs: 60_000, renewEveryMs: 10 });
    const lease = await lock.acquire();
    await new Promise((r) => setTimeout(r, 100));
    expect(lease!.lost.aborted).toBe(false); // a renewal hangs, most of the lease is left
    clock.advance(59_995); // less than one renewal period of it is left
    await vi.waitFor(() => expect(lease!.lost.aborted).toBe(true), SETTLE);
    void lease!.release(); // stops the timer; the hung renewal never settles
  });

  it('signals a holder whose renewals keep failing once its lease is about to end', async () => {
    let calls = 0;
    const failing: DeviceStateStore = {
      ...counted(state).store,
      compareAndSet: (k, v, can) =>
        calls++ === 0 ? state.compareAndSet(k, v, can) : Promise.reject(new Error('EIO')),
    };
    const clock = manualClock(1_000_000);
    const lock = createBackupLock({ state: failing, clock, ttlMs: 60_000, renewEveryMs: 10 });
    const lease = await lock.acquire();
    await new Promise((r) => setTimeout(r, 100));
    expect(lease!.lost.aborted).toBe(false);
    clock.advance(59_995);
    await vi.waitFor(() => expect(lease!.lost.aborted).toBe(true), SETTLE);
    await expect(lease!.release()).rejects.toThrow('EIO'); // the store still fails
  });

  it('frees at once the lock of a process that has ended, never of a live one', async () => {
    const clock = manualClock(1_000_000);
    const gone = await deadPid();
    const probe = nodeProcessProbe();
    const host = probe.self.slice(0, probe.self.lastIndexOf(':'));
    expect(probe.isGone(`${host}:${gone}`)).toBe(true);
    expect(probe.isGone(probe.self)).toBe(false);
    expect(probe.isGone(`another-host:${gone}`)).toBe(false); // cannot tell: keep it
    const lock = createBackupLock({ state, clock, ttlMs: 60_000, processProbe: probe });

    const held = (proc: string) =>
      JSON.stringify({ owner: 'killed', expiresAt: 1_060_000, process: proc });
    await state.set(LOCK_KEY, held(`another-host:${gone}`));
    expect(await lock.isHeld()).toBe(true);
    expect(await lock.acquire()).toBeNull();
    await state.set(LOCK_KEY, held(`${host}:${process.ppid}`)); // alive
    expect(await lock.acquire()).toBeNull();
    await state.set(LOCK_KEY, held(`${host}:${gone}`));
    expect(await lock.isHeld()).toBe(false);
    const lease = await lock.acquire();
    expect(await record()).toMatchObject({ process: probe.self });
    await lease!.release();
  });
});

/** `inner`, and a wait for the moment none of its calls is running. */
function counted(inner: DeviceStateStore) {
  let running = 0;
  const track = <T>(p: Promise<T>): Promise<T> => {
    running++;
    return p.finally(() => {
      running--;
    });
  };
  const store: DeviceStateStore = {
    get: (k) => track(inner.get(k)),
    set: (k, v) => track(inner.set(k, v)),
    delete: (k) => track(inner.delete(k)),
    compareAndSet: (k, v, can) => track(inner.compareAndSet(k, v, can)),
  };
  return {
    store,
    async idle() {
      while (running > 0) await new Promise((r) => setTimeout(r, 1));
    },
  };
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}
