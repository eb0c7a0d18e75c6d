/**
 * UTC days as `YYYY-MM-DD`: the unit of the trigger job, its lease and its outcome
 * statistics (docs/PUSH.md "How the job behaves").
 * @module
 */

/** A time's UTC day, `YYYY-MM-DD`. */
export function utcDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

/**
 * The UTC day `n` days after `day` (negative: before).
 *
 * @example
 * ```ts
 * addDays('2026-03-01', -1); // '2026-02-28'
 * ```
 */
export function addDays(day: string, n: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000));
}
