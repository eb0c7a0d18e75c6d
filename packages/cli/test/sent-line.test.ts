/**
 * The backup's result line writes page counts as `toLocaleString('en-US')` would,
 * without ICU (its first use costs every backup command tens of milliseconds).
 */
import { describe, expect, it } from 'vitest';
import { grouped, sentLine } from '../src/commands/client.ts';

describe('sentLine', () => {
  it('groups digits as en-US does', () => {
    for (const n of [0, 1, 12, 999, 1000, 1041, 12_800, 999_999, 1_000_000, 262_144, 2 ** 31])
      expect(grouped(n)).toBe(n.toLocaleString('en-US'));
  });

  it('says what an incremental backup sent', () => {
    const line = sentLine({
      bytes: 2 * 2 ** 20,
      incremental: {
        incremental: true,
        changedPages: 1041,
        totalPages: 25_600,
        totalBytes: 2 ** 27,
      },
    });
    expect(line).toBe('sent 2.00 MiB of 128.00 MiB (incremental: 1,041 pages of 25,600 changed)');
    expect(
      sentLine({
        bytes: 4096,
        incremental: { incremental: true, changedPages: 1, totalPages: 1, totalBytes: 8192 },
      }),
    ).toMatch(/\(incremental: 1 page of 1 changed\)$/);
  });
});
