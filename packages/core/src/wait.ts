/**
 * Waiting, with one meaning on every platform (Node, browsers, React Native: timers
 * only, no Node imports): a cancellable sleep, and the delay a `Retry-After` header
 * asks for (RFC 9110 §10.2.3). The client's retry loop, the server's push senders and
 * the trigger job's pacing all wait through these.
 * @module
 */

/**
 * Waits `ms` milliseconds, or less when `signal` aborts (at once when it already has).
 * It never rejects: the caller decides what a cancelled wait means (the client throws
 * its `aborted` error, a server job stops after the page in flight).
 *
 * @param ms - how long (negative counts as 0)
 * @param signal - ends the wait early
 * @returns true when the whole time passed, false when `signal` cut it short
 * @example
 * ```ts
 * if (!(await sleep(1000, signal))) throw new AbortedError();
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 *
 * @param value - the header value, or null when absent
 * @param now - the current time, for an HTTP-date
 * @returns milliseconds to wait (≥ 0), or undefined when absent, blank or unparseable
 * @example
 * ```ts
 * parseRetryAfter('3', clock.now()); // 3000
 * parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', clock.now());
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Every HTTP-date form names its month; Date.parse alone reads "-5" or "1.5" as dates.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now.getTime());
}
