/**
 * What the screens say of a backup's last verification (docs/API.md "Verification"):
 * "verified 3 days ago" while it is recent and passed; a warning when it failed or is
 * older than the period the device verifies in. Pure: "now" is passed in.
 * @module
 */
import { DEFAULT_VERIFY_EVERY_MS } from '../status.ts';
import { timeAgo } from './format.ts';
import { type Message, VERIFICATION } from './messages.ts';

/** A verification as the device keeps it or the server lists it, reduced to what is shown. */
export interface ShownVerification {
  /** When it ended (RFC 3339). */
  at: string;
  status: 'success' | 'failure';
}

/** What to show: a quiet line, or a warning. */
export type VerificationView = { tone: 'ok'; text: string } | { tone: 'warn'; message: Message };

/** "a week" for the weekly default; whole days otherwise. */
function periodText(ms: number): string {
  const days = Math.round(ms / 86_400_000);
  return days === 7 ? 'a week' : `${days} day${days === 1 ? '' : 's'}`;
}

/**
 * The view of a verification, or null when there is none to show.
 *
 * @param v - the last verification (the status's `lastVerification`, or a listed
 *   backup's `verification` as `{ at: verified_at, status }`)
 * @param now - the current time
 * @param periodMs - how often the device verifies (default weekly)
 */
export function verificationView(
  v: ShownVerification | null | undefined,
  now: Date,
  periodMs = DEFAULT_VERIFY_EVERY_MS,
): VerificationView | null {
  if (!v) return null;
  const ago = timeAgo(v.at, now);
  if (v.status === 'failure') return { tone: 'warn', message: VERIFICATION.failed(ago) };
  if (now.getTime() - Date.parse(v.at) > periodMs)
    return { tone: 'warn', message: VERIFICATION.overdue(ago, periodText(periodMs)) };
  return { tone: 'ok', text: VERIFICATION.verified(ago) };
}
