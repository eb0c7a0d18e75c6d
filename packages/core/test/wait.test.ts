import { describe, expect, it } from 'vitest';
import { parseRetryAfter, sleep } from '../src/wait.ts';

describe('parseRetryAfter', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it.each([
    ['120', 120_000],
    [' 3 ', 3000],
    ['0', 0],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 00:00:00 GMT', 0],
  ])('%j is %d ms', (value, ms) => expect(parseRetryAfter(value, now)).toBe(ms));
  it.each([null, undefined, '', '   ', 'soon', '-5', '1.5'])('%j is no delay', (value) =>
    expect(parseRetryAfter(value, now)).toBeUndefined(),
  );
});

describe('sleep', () => {
  it('resolves true once the time has passed', async () => {
    const t = performance.now();
    await expect(sleep(20)).resolves.toBe(true);
    expect(performance.now() - t).toBeGreaterThanOrEqual(15);
  });

  it('resolves false, without waiting, when the signal has already aborted', async () => {
    const c = new AbortController();
    c.abort();
    const t = performance.now();
    await expect(sleep(60_000, c.signal)).resolves.toBe(false);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('resolves false when the signal aborts during the wait, and never rejects', async () => {
    const c = new AbortController();
    const waiting = sleep(60_000, c.signal);
    setTimeout(() => c.abort(new Error('stop')), 5);
    await expect(waiting).resolves.toBe(false);
  });
});
