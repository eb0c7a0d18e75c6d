import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authLimitKey, userLimitKey } from '../src/http/rate-limit.ts';
import { formatRollout, parseRollout, rolloutAllows, rolloutBucket } from '../src/rollout.ts';
import { chooseSlot } from '../src/services/backups.ts';
import type { BackupRow } from '../src/stores/metadata.ts';

const key = (i: number) => `02${i.toString(16).padStart(64, '0')}`;

describe('rollout', () => {
  it('parses and formats the three modes', () => {
    expect(parseRollout('all')).toEqual({ mode: 'all' });
    expect(parseRollout(' OFF ')).toEqual({ mode: 'off' });
    expect(parseRollout('percent:0')).toEqual({ mode: 'percent', percent: 0 });
    expect(parseRollout('percent:100')).toEqual({ mode: 'percent', percent: 100 });
    for (const bad of ['percent:101', 'percent:-1', 'percent:', 'some', 'percent:5.5'])
      expect(parseRollout(bad)).toBeNull();
    expect(formatRollout({ mode: 'percent', percent: 7 })).toBe('percent:7');
  });

  it('buckets by the first 4 bytes of SHA-256 over the raw key, mod 100', () => {
    const k = key(1);
    const d = createHash('sha256').update(Buffer.from(k, 'hex')).digest();
    expect(rolloutBucket(k)).toBe(d.readUInt32BE(0) % 100);
  });

  it('all / off / percent', () => {
    const keys = Array.from({ length: 400 }, (_, i) => key(i));
    expect(keys.every((k) => rolloutAllows({ mode: 'all' }, k))).toBe(true);
    expect(keys.some((k) => rolloutAllows({ mode: 'off' }, k))).toBe(false);
    expect(keys.some((k) => rolloutAllows({ mode: 'percent', percent: 0 }, k))).toBe(false);
    expect(keys.every((k) => rolloutAllows({ mode: 'percent', percent: 100 }, k))).toBe(true);
    const in30 = keys.filter((k) => rolloutAllows({ mode: 'percent', percent: 30 }, k));
    // Roughly 30 % and monotone: raising N only adds users.
    expect(in30.length).toBeGreaterThan(80);
    expect(in30.length).toBeLessThan(160);
    expect(in30.every((k) => rolloutAllows({ mode: 'percent', percent: 31 }, k))).toBe(true);
  });
});

describe('rate-limit keys', () => {
  it('keys the login group by IP and the backup group by user', () => {
    expect(authLimitKey('10.0.0.1')).toBe('ip:10.0.0.1');
    expect(userLimitKey('u1', '10.0.0.1')).toBe('user:u1');
    expect(userLimitKey('u2', '10.0.0.1')).not.toBe(userLimitKey('u1', '10.0.0.1'));
    expect(userLimitKey(null, '10.0.0.2')).toBe('ip:10.0.0.2');
  });
});

describe('chooseSlot', () => {
  const row = (version: 1 | 2, t: number): BackupRow => ({
    userId: 'u',
    version,
    objectKey: `b/${version}`,
    size: 1,
    createdAt: new Date(t),
    totalSize: 1,
    objectCount: 0,
  });
  it('takes an empty slot first, else the older one', () => {
    expect(chooseSlot([])).toBe(1);
    expect(chooseSlot([row(1, 5)])).toBe(2);
    expect(chooseSlot([row(2, 5)])).toBe(1);
    expect(chooseSlot([row(1, 5), row(2, 9)])).toBe(1);
    expect(chooseSlot([row(2, 9), row(1, 10)])).toBe(2);
  });
});
