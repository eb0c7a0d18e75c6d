/**
 * Gauges read from the shared store at scrape time (docs/OPERATIONS.md "Logs and
 * metrics"), so every instance of a deployment reports the same totals. A read shared by
 * several gauges runs at most once per TTL: /metrics needs no login, and a burst of
 * scrapes must not rescan whole tables each time.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { Gauge, type Registry } from 'prom-client';

/**
 * `read` behind a cache of `ttlMs` on `clock`: one call in flight is shared, and a failed
 * read is forgotten so the next scrape tries again.
 *
 * @param clock - the injected clock
 * @param ttlMs - how long a result is reused
 * @param read - the store query
 * @returns the cached read
 * @example
 * ```ts
 * const stats = cachedRead(clock, 5000, () => metadata.stats(clock.now()));
 * ```
 */
export function cachedRead<T>(clock: Clock, ttlMs: number, read: () => Promise<T>) {
  let at = Number.NEGATIVE_INFINITY;
  let value: Promise<T> | null = null;
  return (): Promise<T> => {
    const now = clock.now().getTime();
    if (value === null || now - at >= ttlMs) {
      at = now;
      const current = read().catch((err: unknown) => {
        if (value === current) value = null; // the database is down: retry at the next scrape
        throw err;
      });
      value = current;
    }
    return value;
  };
}

/**
 * Registers a gauge set at scrape time to `pick(await read())`. When the read fails (the
 * database is down) the gauge keeps its last value; /ready reports the outage.
 *
 * @returns the gauge
 * @example
 * ```ts
 * storeGauge([registry], 'noah_users', 'Users', stats, (s) => s.users);
 * ```
 */
export function storeGauge<T>(
  registers: Registry[],
  name: string,
  help: string,
  read: () => Promise<T>,
  pick: (value: T) => number,
): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    async collect() {
      try {
        this.set(pick(await read()));
      } catch {
        // Keep the last value.
      }
    },
  });
}
