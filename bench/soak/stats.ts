/**
 * Counting for the soak: tallies by code, latency samples with percentiles, and
 * per-second request counts, in shapes that cross process boundaries as JSON (the device
 * workers send theirs to the orchestrator).
 * @module
 */

/** Counts by key (an HTTP status, an error code, an operation outcome). */
export type Tally = Record<string, number>;

/** Adds one (or `n`) to `key`. */
export function bump(t: Tally, key: string, n = 1): void {
  t[key] = (t[key] ?? 0) + n;
}

/** Adds every count of `from` into `into`. */
export function merge(into: Tally, from: Tally): void {
  for (const [k, v] of Object.entries(from)) bump(into, k, v);
}

/** The sum of a tally. */
export function total(t: Tally): number {
  return Object.values(t).reduce((a, b) => a + b, 0);
}

/** `a 3, b 1` — largest first; `none` when empty. */
export function formatTally(t: Tally): string {
  const parts = Object.entries(t)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(', ') : 'none';
}

/**
 * The `p`-th percentile (0..100) of `xs` by the nearest-rank method; NaN for no samples.
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 50); // 2
 * ```
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

/** `p50 12 ms, p99 80 ms, max 300 ms (n 1234)`. */
export function formatLatency(xs: readonly number[]): string {
  if (xs.length === 0) return 'no samples';
  const ms = (v: number) => `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
  return `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}, max ${ms(percentile(xs, 100))} (n ${xs.length})`;
}

/** One request seen by a proxy: when it ended (ms since the soak began), and how long it took. */
export interface Sample {
  at: number;
  ms: number;
  /** An error status (≥ 400) or a failure without an answer. */
  failed: boolean;
}

/** Samples whose end falls in `[from, to)` ms. */
export function window(samples: readonly Sample[], from: number, to: number): Sample[] {
  return samples.filter((s) => s.at >= from && s.at < to);
}

/**
 * Requests per second over consecutive windows of `sec` seconds covering `[0, endMs)`:
 * the lowest window and the median one say whether a rate was held, not only reached.
 */
export function rateWindows(samples: readonly Sample[], endMs: number, sec: number): number[] {
  const n = Math.max(1, Math.floor(endMs / (sec * 1000)));
  const counts = new Array<number>(n).fill(0);
  for (const s of samples) {
    const i = Math.floor(s.at / (sec * 1000));
    if (i < n) counts[i]!++;
  }
  return counts.map((c) => c / sec);
}

/** Appends `values` to the samples kept under `key`. */
export function addSamples(into: Record<string, number[]>, key: string, values: number[]): void {
  const list = into[key] ?? [];
  for (const v of values) list.push(v);
  into[key] = list;
}
