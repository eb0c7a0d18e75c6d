import { randomBytes } from 'node:crypto';
import { InvalidMnemonicError } from '@noah-backup/core/errors';
import { verifyK1 } from '@noah-backup/core/lnurl';
import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from '../src/errors.ts';
import { createSessionKeys, serviceDomain } from '../src/keys.ts';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  parseRetryAfter,
  withRetry,
} from '../src/retry.ts';
import { parseStatus, sameUtcDay, summarizeError } from '../src/status.ts';

const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

describe('session keys', () => {
  it('signs k1 challenges with a per-domain linking key that the server verifies', async () => {
    const a = await createSessionKeys(MNEMONIC, 'https://Backup.Example.com:8443/api');
    const b = await createSessionKeys(MNEMONIC, 'https://backup.example.com');
    const c = await createSessionKeys(MNEMONIC, 'https://other.example.com');
    expect(a.domain).toBe('backup.example.com');
    expect(a.signer.linkingKey).toBe(b.signer.linkingKey); // port and case do not matter
    expect(a.signer.linkingKey).not.toBe(c.signer.linkingKey); // LUD-05: one key per domain
    const k1 = randomBytes(32).toString('hex');
    expect(verifyK1(k1, a.signer.signK1(k1), a.signer.linkingKey)).toBe(true);
    expect(verifyK1(k1, c.signer.signK1(k1), a.signer.linkingKey)).toBe(false);
    a.destroy();
    expect(() => a.signer.signK1(k1)).toThrow('destroyed');
    expect(() => a.keyring.v2Key()).toThrow();
    b.destroy();
    c.destroy();
  });

  it('refuses a seedphrase that is not BIP39 and a URL that is not http(s)', async () => {
    await expect(
      createSessionKeys('not a real seed phrase at all', 'https://x.example'),
    ).rejects.toBeInstanceOf(InvalidMnemonicError);
    expect(() => serviceDomain('ftp://x.example')).toThrow(TypeError);
    expect(() => serviceDomain('x.example')).toThrow(TypeError);
  });
});

describe('retry helpers', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
  it('full jitter stays below the doubling cap', () => {
    expect(backoffDelay(0, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(400);
    expect(backoffDelay(30, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(5, policy, () => 0)).toBe(0);
  });

  it('parses Retry-After seconds and dates, ignores garbage', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('retries network errors, 5xx and 429 only', () => {
    const api = (status: number) => new ApiError({ status, code: 'internal', message: 'm' });
    expect(isRetryable(new NetworkError('network_error', 'x'))).toBe(true);
    expect([500, 502, 503, 429].map((s) => isRetryable(api(s)))).toEqual([true, true, true, true]);
    expect([400, 401, 403, 404, 409, 413].map((s) => isRetryable(api(s)))).toEqual(
      Array(6).fill(false),
    );
    expect(isRetryable(new Error('boom'))).toBe(false);
  });

  it('retries 408 (a server timeout) and 507 storage_full; waits out a long Retry-After never', async () => {
    const api = (status: number) => new ApiError({ status, code: 'internal', message: 'm' });
    expect([408, 507].map((s) => isRetryable(api(s)))).toEqual([true, true]);
    const full = new ApiError({
      status: 507,
      code: 'storage_full',
      message: 'm',
      retryAfterMs: 3_600_000,
    });
    const slept: number[] = [];
    let calls = 0;
    const run = withRetry(
      async () => {
        calls++;
        throw full;
      },
      {
        policy: DEFAULT_RETRY_POLICY,
        sleep: async (ms) => void slept.push(ms),
        random: () => 0.5,
      },
    );
    await expect(run).rejects.toBe(full);
    expect([calls, slept]).toEqual([1, []]);
  });
});

describe('status helpers', () => {
  it('compares UTC calendar days', () => {
    expect(sameUtcDay(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T23:59:59Z'))).toBe(
      true,
    );
    expect(sameUtcDay(new Date('2026-01-01T23:59:59Z'), new Date('2026-01-02T00:00:00Z'))).toBe(
      false,
    );
    expect(sameUtcDay(new Date('2026-01-01T12:00:00Z'), new Date('2027-01-01T12:00:00Z'))).toBe(
      false,
    );
  });

  it('reads a persisted status defensively', () => {
    expect(parseStatus(null).state).toBe('idle');
    expect(parseStatus('{oops').state).toBe('idle');
    expect(parseStatus('{"state":"exploded","lastSuccessAt":5}')).toEqual({
      state: 'idle',
      lastSuccessAt: null,
      lastAttemptAt: null,
      lastError: null,
    });
    const ok = {
      state: 'failed',
      lastSuccessAt: 'a',
      lastAttemptAt: 'b',
      lastError: { code: 'c', message: 'd' },
    };
    expect(parseStatus(JSON.stringify(ok))).toEqual(ok);
  });

  it('summarises errors by code, cutting foreign messages short', () => {
    expect(summarizeError(new NetworkError('timeout', 'the request timed out'))).toEqual({
      code: 'timeout',
      message: 'the request timed out',
    });
    expect(summarizeError(new Error('x'.repeat(1000))).message.length).toBe(300);
    expect(summarizeError('weird')).toEqual({ code: 'unexpected', message: 'unexpected error' });
  });
});
