/**
 * Display formatting for the screens: satoshi amounts, byte sizes, dates and "3 hours
 * ago". Pure functions; "now" is passed in (the app's clock), never read here.
 * @module
 */

const sats = new Intl.NumberFormat('en-US');

/**
 * Formats a satoshi amount, e.g. `12,500 sats` or `−3,000 sats`.
 *
 * @param amount - satoshis
 * @param signed - prefix positive amounts with "+"
 * @returns the text
 */
export function formatSats(amount: number, signed = false): string {
  const body = `${sats.format(Math.abs(amount))} sats`;
  if (amount < 0) return `\u2212${body}`;
  return signed && amount > 0 ? `+${body}` : body;
}

/**
 * Formats a byte count with binary units, e.g. `512 B`, `3.4 KiB`, `12.0 MiB`.
 *
 * @param bytes - a non-negative count
 * @returns the text
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Why a backup was a full one: the CLI's words (`noah-backup backup`). */
const FULL_REASONS: Readonly<Record<string, string>> = {
  no_previous: 'no earlier backup known to this device',
  replaced: 'the backup this device knew was replaced, by another device or a delete',
  base_changed: 'another device backed up meanwhile',
  page_size_changed: 'a database changed its page size',
  many_changes: 'more than half the data changed',
  many_packs: 'the backup was repacked',
};

/** What an incremental backup reports of what it sent (the SDK's `IncrementalStats`). */
export interface SentStats {
  incremental: boolean;
  fullReason?: string | undefined;
  changedPages: number;
  totalPages: number;
  sentBytes: number;
  totalBytes: number;
}

/**
 * What a backup sent, in the CLI's words (docs/WALLET.md §5): "sent 1.9 KiB of 53.0 KiB
 * (incremental: 3 pages of 40 changed)", or "(full: …)" with the reason.
 *
 * @param stats - the backup's `incremental` result
 * @returns the text
 */
export function formatSent(stats: SentStats): string {
  const pages = (n: number) => `${n.toLocaleString('en-US')} page${n === 1 ? '' : 's'}`;
  const why = stats.incremental
    ? `incremental: ${pages(stats.changedPages)} of ${stats.totalPages.toLocaleString('en-US')} changed`
    : `full: ${FULL_REASONS[stats.fullReason ?? ''] ?? 'every page'}`;
  return `sent ${formatBytes(stats.sentBytes)} of ${formatBytes(stats.totalBytes)} (${why})`;
}

const dateTime = new Intl.DateTimeFormat('en-US', {
  dateStyle: 'medium',
  timeStyle: 'short',
});
const dateTimeSeconds = new Intl.DateTimeFormat('en-US', {
  dateStyle: 'medium',
  timeStyle: 'medium',
});

const toDate = (when: Date | string) => (typeof when === 'string' ? new Date(when) : when);

/**
 * Formats a date and time in the user's locale style, e.g. `Jan 2, 2026, 3:04 AM`, or
 * `Jan 2, 2026, 3:04:05 AM` with seconds, with no-break spaces.
 *
 * @param when - a Date or an RFC 3339 string
 * @param opts - `seconds`: show the seconds too
 * @returns the text
 */
export function formatDateTime(when: Date | string, opts: { seconds?: boolean } = {}): string {
  // No-break spaces: a sentence may wrap before a date, never inside one.
  return (opts.seconds ? dateTimeSeconds : dateTime).format(toDate(when)).replace(/ /g, '\u00a0');
}

/**
 * A formatter for the times of a list of backups: minutes, unless two of them fall in
 * the same minute, then seconds for all (milliseconds if two share a second), so no two
 * backups ever read the same.
 *
 * @param times - the backups' `created_at` values
 * @returns a function formatting one of them (or any time) the same way
 * @example
 * ```ts
 * const when = backupTimes(list.map((b) => b.created_at));
 * when(list[0].created_at); // 'Jan 2, 2026, 3:04:05 AM' if another was made at 3:04
 * ```
 */
export function backupTimes(times: readonly string[]): (when: Date | string) => string {
  const shared = (f: (t: string) => string) => new Set(times.map(f)).size < times.length;
  const seconds = shared((t) => formatDateTime(t));
  // Two in one second (made by a script, not a person): milliseconds tell them apart.
  const millis = seconds && shared((t) => formatDateTime(t, { seconds: true }));
  return (when) =>
    millis
      ? formatDateTime(when, { seconds: true }).replace(
          /(:\d{2})(?=\D*$)/,
          `$1.${String(toDate(when).getMilliseconds()).padStart(3, '0')}`,
        )
      : formatDateTime(when, { seconds });
}

/**
 * Says how long ago `when` was, e.g. `just now`, `5 minutes ago`, `2 days ago`.
 *
 * @param when - a Date or an RFC 3339 string
 * @param now - the current time (from the app's clock)
 * @returns the text
 */
export function timeAgo(when: Date | string, now: Date): string {
  const t = typeof when === 'string' ? Date.parse(when) : when.getTime();
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 60) return 'just now';
  const steps: [number, string][] = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
  ];
  let out = '';
  for (const [size, unit] of steps) {
    const n = Math.floor(s / size);
    if (n >= 1) out = `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  }
  return out;
}
