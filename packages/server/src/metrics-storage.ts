/**
 * Storage per user on /metrics (docs/OPERATIONS.md "Metrics"): the distribution of stored
 * bytes and objects over users as Prometheus histograms, and the stored objects in total.
 * The figures come from one grouped query over every stored object
 * (`MetadataStore.storageDistribution`), so they are not read per scrape: at most every
 * {@link STORAGE_TTL_MS}, in the background, while scrapes answer the last figures (only
 * the first scrape of a process waits for them). Every instance reads the shared store,
 * so every instance reports the same distribution: aggregate with `max`, not `sum`.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { MetadataStore, StorageDistribution } from './stores/metadata.ts';

/** How long one reading of the distribution is served (a scrape interval is 15 s+). */
export const STORAGE_TTL_MS = 5 * 60_000;

const KIB = 1024;
/** Bytes per user: 4 KiB to 1 GiB by powers of 4 (a backup is capped at MAX_BACKUP_SIZE). */
export const USER_BYTES_BUCKETS = [4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576].map(
  (k) => k * KIB,
);
/** Objects per user: two slots today; incremental backups hold more. */
export const USER_OBJECTS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

type Snapshot = { value: number; labels?: Record<string, string | number>; metricName?: string };

/**
 * A histogram whose buckets are set from a reading of the store rather than observed
 * one value at a time (a gauge histogram in OpenMetrics terms).
 */
class StoredHistogram extends Histogram {
  constructor(
    private readonly metric: string,
    private readonly helpText: string,
    private readonly bounds: readonly number[],
    private readonly read: () => Promise<{ counts: number[]; sum: number } | null>,
    registers: Registry[],
  ) {
    super({ name: metric, help: helpText, buckets: [...bounds], registers });
  }

  /** What the registry prints (prom-client calls it instead of `get` when present). */
  async getForPromString() {
    const h = await this.read();
    const values: Snapshot[] = [];
    const name = this.metric;
    if (h) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += h.counts[i] ?? 0;
        values.push({ labels: { le }, value: cumulative, metricName: `${name}_bucket` });
      });
      cumulative += h.counts[this.bounds.length] ?? 0;
      values.push({ labels: { le: '+Inf' }, value: cumulative, metricName: `${name}_bucket` });
      values.push({ value: h.sum, metricName: `${name}_sum` });
      values.push({ value: cumulative, metricName: `${name}_count` });
    }
    return { name, help: this.helpText, type: 'histogram' as const, values, aggregator: 'max' };
  }

  override async get() {
    // biome-ignore lint/suspicious/noExplicitAny: prom-client's value types are narrower than its output.
    return (await this.getForPromString()) as any;
  }
}

/**
 * Registers `noah_user_stored_bytes`, `noah_user_stored_objects` (histograms over users
 * holding at least one object) and `noah_objects_stored`.
 *
 * @param registry - the server's registry
 * @param deps.metadata - read at most every {@link STORAGE_TTL_MS}
 * @param deps.clock - the injected clock
 * @example
 * ```ts
 * registerStorageMetrics(metrics.registry, { metadata, clock });
 * ```
 */
export function registerStorageMetrics(
  registry: Registry,
  deps: { metadata: MetadataStore; clock: Clock },
): void {
  let last: { value: StorageDistribution; at: number } | null = null;
  let inflight: Promise<StorageDistribution | null> | null = null;
  const refresh = () => {
    inflight ??= deps.metadata
      .storageDistribution({ bytes: USER_BYTES_BUCKETS, objects: USER_OBJECTS_BUCKETS })
      .then(
        (value) => {
          last = { value, at: deps.clock.now().getTime() };
          return value;
        },
        // The database is down: keep the last figures; /ready reports the outage.
        () => last?.value ?? null,
      )
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };
  const read = async (): Promise<StorageDistribution | null> => {
    if (last === null) return refresh();
    if (deps.clock.now().getTime() - last.at >= STORAGE_TTL_MS) void refresh();
    return last.value;
  };
  const registers = [registry];
  new StoredHistogram(
    'noah_user_stored_bytes',
    'Bytes stored per user (users with at least one object), from the shared store',
    USER_BYTES_BUCKETS,
    async () => (await read())?.bytes ?? null,
    registers,
  );
  new StoredHistogram(
    'noah_user_stored_objects',
    'Objects stored per user (users with at least one object), from the shared store',
    USER_OBJECTS_BUCKETS,
    async () => (await read())?.objects ?? null,
    registers,
  );
  new Gauge({
    name: 'noah_objects_stored',
    help: 'Objects of completed backups, from the shared store',
    registers,
    async collect() {
      const d = await read();
      if (d) this.set(d.objects.sum);
    },
  });
}
