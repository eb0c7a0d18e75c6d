/**
 * Prometheus metrics (docs/OPERATIONS.md "Logs and metrics"), one registry per server
 * instance so several servers in one process (tests) do not collide. Store-wide gauges
 * (users, backups, bytes stored) are read from `metadata.stats` at scrape time (at most
 * every {@link STATS_TTL_MS}), so every instance of a multi-instance deployment reports
 * the same shared totals.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { cachedRead, storeGauge } from './metrics-gauges.ts';
import { registerStorageMetrics } from './metrics-storage.ts';
import type { MetadataStore } from './stores/metadata.ts';

/** How long the store-wide totals of one scrape are reused (a scrape interval is 15 s+). */
export const STATS_TTL_MS = 5000;

/** The server's metrics. */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  uploadUrlsIssued: Counter;
  backupsCompleted: Counter;
  /** `reason`: size_mismatch, too_large, incomplete, storage_unavailable. */
  backupsFailed: Counter<'reason'>;
  /** Bytes of completed uploads (a counter; the stored total is `noah_bytes_stored`). */
  bytesUploaded: Counter;
  /** `kind`: backup, restore, verify; `error` on failures only (src/metrics-reports.ts). */
  clientReports: Counter<'kind' | 'status' | 'error'>;
  sweptObjects: Counter<'reason'>;
  /**
   * Objects whose stored bytes no longer match the checksum recorded at completion, or
   * that are gone, by `reason`: the scrub job's finding (docs/OPERATIONS.md "Alerts").
   * Registered before the scrub exists so the alert and dashboard have their series.
   */
  scrubMismatches: Counter<'reason'>;
  /** Objects the scrub read (src/scrub.ts). */
  scrubbedObjects: Counter;
}

/**
 * Creates a registry with the HTTP, backup and store metrics.
 *
 * @param deps.metadata - read by the store gauges at scrape time
 * @param deps.clock - the injected clock (stats take `now`)
 * @returns the metrics
 */
export function createMetrics(deps: { metadata: MetadataStore; clock: Clock }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // One stats query shared by the three gauges and reused for STATS_TTL_MS: the counts
  // scan whole tables.
  const stats = cachedRead(deps.clock, STATS_TTL_MS, () => deps.metadata.stats(deps.clock.now()));
  type Stats = Awaited<ReturnType<typeof stats>>;
  const gauge = (name: string, help: string, pick: (s: Stats) => number) =>
    storeGauge(registers, name, help, stats, pick);
  gauge('noah_users', 'Users known to the metadata store', (s) => s.users);
  gauge('noah_backups', 'Completed backups in the metadata store', (s) => s.backups);
  gauge(
    'noah_bytes_stored',
    'Bytes of completed backups, every object they reference once per user',
    (s) => s.bytesStored,
  );
  // Per-user distributions: a heavier query, read every few minutes (metrics-storage.ts).
  registerStorageMetrics(registry, deps);
  return {
    registry,
    httpRequests: new Counter({
      name: 'noah_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'noah_http_request_duration_seconds',
      help: 'HTTP request latency by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    uploadUrlsIssued: new Counter({
      name: 'noah_upload_urls_issued_total',
      help: 'Pre-signed upload URLs issued',
      registers,
    }),
    backupsCompleted: new Counter({
      name: 'noah_backups_completed_total',
      help: 'Uploads verified and committed as backups',
      registers,
    }),
    backupsFailed: new Counter({
      name: 'noah_backups_failed_total',
      help: 'Completions refused after upload, by reason',
      labelNames: ['reason'],
      registers,
    }),
    bytesUploaded: new Counter({
      name: 'noah_backup_bytes_completed_total',
      help: 'Bytes completed backups uploaded: slot objects and the uploads they newly reference',
      registers,
    }),
    clientReports: new Counter({
      name: 'noah_client_reports_total',
      help: 'Backup, restore and verification outcomes reported by clients, by error code',
      labelNames: ['kind', 'status', 'error'],
      registers,
    }),
    sweptObjects: new Counter({
      name: 'noah_swept_objects_total',
      help: 'Objects deleted by the sweeper, by reason',
      labelNames: ['reason'],
      registers,
    }),
    scrubMismatches: new Counter({
      name: 'noah_scrub_mismatches_total',
      help: 'Objects found altered or missing by the scrub, by reason',
      labelNames: ['reason'],
      registers,
    }),
    scrubbedObjects: new Counter({
      name: 'noah_scrub_objects_total',
      help: 'Stored objects the scrub read and compared with their recorded size and SHA-256.',
      registers,
    }),
  };
}
