/**
 * The rollout switch (docs/OPERATIONS.md "Configuration reference", `ROLLOUT`): `off` (no
 * new uploads), `percent:N` (a stable share of users by a hash of their linking key) or
 * `all`. `upload_url` and the daily trigger both ask {@link rolloutAllows}.
 * @module
 */
import { createHash } from 'node:crypto';
import type { BackupsNotAllowedReason } from '@noah-backup/core/api';

/** Who may start new backups. */
export type Rollout = { mode: 'all' } | { mode: 'off' } | { mode: 'percent'; percent: number };

/**
 * Parses `all`, `off` or `percent:N` (N an integer 0–100).
 *
 * @param text - the ROLLOUT value
 * @returns the rollout, or null when `text` is not one
 * @example
 * ```ts
 * parseRollout('percent:10'); // { mode: 'percent', percent: 10 }
 * ```
 */
export function parseRollout(text: string): Rollout | null {
  const t = text.trim().toLowerCase();
  if (t === 'all') return { mode: 'all' };
  if (t === 'off') return { mode: 'off' };
  const m = /^percent:(\d{1,3})$/.exec(t);
  const n = m ? Number(m[1]) : -1;
  return n >= 0 && n <= 100 ? { mode: 'percent', percent: n } : null;
}

/**
 * The user's stable bucket in [0, 100): the first 4 bytes of SHA-256 over the 33 raw
 * linking-key bytes, as a big-endian u32, mod 100. Raising N only ever adds users.
 *
 * @param pubkeyHex - 33-byte compressed key, hex
 * @returns the bucket
 */
export function rolloutBucket(pubkeyHex: string): number {
  const digest = createHash('sha256').update(Buffer.from(pubkeyHex, 'hex')).digest();
  return digest.readUInt32BE(0) % 100;
}

/**
 * Whether the user with this linking key may start new backups under `rollout`.
 *
 * @param rollout - the configured switch
 * @param pubkeyHex - the user's 33-byte compressed linking key, hex
 * @returns true for `all`; false for `off`; for `percent:N`, bucket < N
 * @example
 * ```ts
 * if (!rolloutAllows(config.rollout, user.pubkey)) throw apiError('backups_not_enabled');
 * ```
 */
export function rolloutAllows(rollout: Rollout, pubkeyHex: string): boolean {
  if (rollout.mode === 'all') return true;
  if (rollout.mode === 'off') return false;
  return rolloutBucket(pubkeyHex) < rollout.percent;
}

/**
 * Why the user with this linking key may not start new backups, null when it may: what
 * `settings` tells the wallet (docs/API.md "settings").
 *
 * @param rollout - the configured switch
 * @param pubkeyHex - the user's 33-byte compressed linking key, hex
 * @returns `rollout_paused` for `off`, `rollout_pending` outside `percent:N`, else null
 */
export function rolloutRefusal(
  rollout: Rollout,
  pubkeyHex: string,
): BackupsNotAllowedReason | null {
  if (rolloutAllows(rollout, pubkeyHex)) return null;
  return rollout.mode === 'off' ? 'rollout_paused' : 'rollout_pending';
}

/** Renders a rollout back to its ROLLOUT text (for logs and docs). */
export function formatRollout(rollout: Rollout): string {
  return rollout.mode === 'percent' ? `percent:${rollout.percent}` : rollout.mode;
}
