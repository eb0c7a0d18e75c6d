/**
 * Counting the outcomes clients report at `POST /v0/backup/report` (docs/API.md): by
 * kind, status and error code. The report's `error` is free text from the client, so it
 * becomes a label only when it is a code the clients or the API define; anything else
 * is `other`, and a failure without one `unspecified`. A client can raise a count, never
 * add a time series (docs/OPERATIONS.md "Metrics").
 * @module
 */
import type { ErrorCode, ReportRequest } from '@noah-backup/core/api';
import type { Metrics } from './metrics.ts';

/** The kinds of outcome a client reports. */
export const REPORT_KINDS: readonly ReportRequest['kind'][] = ['backup', 'restore', 'verify'];

// Total over the API's codes: a code added to ErrorCode must be added here (typecheck).
const API_CODES: Record<ErrorCode, true> = {
  bad_request: true,
  unauthorized: true,
  token_expired: true,
  invalid_k1: true,
  invalid_key: true,
  invalid_signature: true,
  forbidden: true,
  backups_not_enabled: true,
  push_endpoint_not_allowed: true,
  not_found: true,
  backup_not_found: true,
  upload_not_found: true,
  upload_incomplete: true,
  size_mismatch: true,
  conflict: true,
  backup_too_large: true,
  quota_exceeded: true,
  payload_too_large: true,
  unsupported_media_type: true,
  range_not_satisfiable: true,
  method_not_allowed: true,
  signature_invalid: true,
  url_expired: true,
  rate_limited: true,
  storage_unavailable: true,
  storage_full: true,
  not_ready: true,
  internal: true,
};

/** Codes of the errors the core library and the client SDK throw (their `code`). */
const CLIENT_CODES = [
  // @noah-backup/core/errors
  'not_a_backup',
  'unsupported_version',
  'decryption_failed',
  'invalid_mnemonic',
  'unsupported_compression',
  'limit_exceeded',
  'unsupported_payload_kind',
  'malformed_manifest',
  // @noah-backup/client
  'aborted',
  'busy',
  'insufficient_space',
  'integrity_error',
  'integrity_check_failed',
  'lock_timeout',
  'not_a_wallet',
  'not_a_wallet_archive',
  'state_corrupt',
  'unsafe_archive',
  'network_error',
  'timeout',
  'stalled',
  'incomplete_transfer',
  'interrupted',
  'unexpected',
  'unexpected_response',
];

const KNOWN = new Set<string>([...Object.keys(API_CODES), ...CLIENT_CODES]);

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
  return KNOWN.has(error) ? error : 'other';
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
