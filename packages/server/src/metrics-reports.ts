/**
 * Counting the outcomes clients report at `POST /v0/backup/report` (docs/API.md): by
 * kind, status and error code. The report's `error` is free text from the client, so it
 * becomes a label only when it is a code of the client error catalog (core
 * `error-catalog.ts`; a former code counts as its new name); anything else
 * is `other`, and a failure without one `unspecified`. A client can raise a count, never
 * add a time series (docs/OPERATIONS.md "Metrics").
 * @module
 */
import type { ReportRequest } from '@noah-backup/core/api';
import { toCatalogCode } from '@noah-backup/core/error-catalog';
import type { Metrics } from './metrics.ts';

/** The kinds of outcome a client reports. */
export const REPORT_KINDS: readonly ReportRequest['kind'][] = ['backup', 'restore', 'verify'];

/**
 * The `error` label of a report.
 *
 * @param error - the report's `error` field
 * @returns the code when it is a known one, `unspecified` when absent, else `other`
 * @example
 * ```ts
 * reportErrorLabel('decryption_failed'); // 'decryption_failed'
 * reportErrorLabel('Error: ECONNRESET at …'); // 'other'
 * ```
 */
export function reportErrorLabel(error: string | undefined): string {
  if (error === undefined || error.trim() === '') return 'unspecified';
  return toCatalogCode(error) ?? 'other';
}

/**
 * Counts one report in `noah_client_reports_total{kind,status[,error]}`; a success has no
 * error label.
 *
 * @param metrics - the server's metrics
 * @param body - the validated report
 */
export function countReport(metrics: Pick<Metrics, 'clientReports'>, body: ReportRequest): void {
  if (body.status === 'success') metrics.clientReports.inc({ kind: body.kind, status: 'success' });
  else
    metrics.clientReports.inc({
      kind: body.kind,
      status: 'failure',
      error: reportErrorLabel(body.error),
    });
}
