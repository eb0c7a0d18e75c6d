/**
 * The server's one error catalog (docs/API.md "Errors"): every `ErrorCode` of the
 * wire API (`@noah-backup/core/api`) maps to one HTTP status and one public message.
 * Routes and services throw {@link HttpError} via {@link apiError}; the error handler
 * (src/http/errors.ts) turns every error, framework ones included, into
 * `{code, message, request_id}`. Public messages never carry secrets or internals.
 * @module
 */
import type { ErrorCode } from '@noah-backup/core/api';

/** One catalog entry. */
export interface CatalogEntry {
  status: number;
  message: string;
}

/** code → HTTP status → public message. */
export const ERROR_CATALOG: Readonly<Record<ErrorCode, CatalogEntry>> = {
  bad_request: { status: 400, message: 'the request is malformed' },
  unauthorized: { status: 401, message: 'a valid bearer token is required' },
  token_expired: { status: 401, message: 'the access token has expired; log in again' },
  invalid_k1: {
    status: 401,
    message: 'the k1 challenge is unknown, expired or already used; request a new one',
  },
  invalid_key: {
    status: 400,
    message: 'key must be a 33-byte compressed secp256k1 public key in hex',
  },
  invalid_signature: { status: 401, message: 'the signature does not verify for this k1 and key' },
  forbidden: { status: 403, message: 'not allowed' },
  backups_not_enabled: { status: 403, message: 'backups are not enabled for this account yet' },
  push_endpoint_not_allowed: {
    status: 400,
    message:
      'the push endpoint is on a loopback, private, link-local or otherwise non-public address; register a public UnifiedPush endpoint',
  },
  not_found: { status: 404, message: 'no such route' },
  backup_not_found: { status: 404, message: 'no such backup' },
  upload_not_found: { status: 404, message: 'no such pending upload' },
  upload_incomplete: {
    status: 409,
    message: 'the object has not been uploaded; PUT it to upload_url first',
  },
  size_mismatch: {
    status: 409,
    message: 'the uploaded object does not have the declared size; request a new upload_url',
  },
  checksum_mismatch: {
    status: 409,
    message:
      'the uploaded object does not have the declared SHA-256; nothing was changed, request a new upload_url',
  },
  conflict: {
    status: 409,
    message: 'an object was already uploaded to this URL; upload URLs accept one PUT',
  },
  base_changed: {
    status: 409,
    message:
      'the backup this one builds on is no longer one of your backups (another device backed up meanwhile); nothing was changed: make a full backup',
  },
  backup_too_large: { status: 413, message: 'the backup exceeds the maximum backup size' },
  quota_exceeded: {
    status: 429,
    message: 'too many uploads in progress; complete or cancel one, or retry later',
  },
  payload_too_large: { status: 413, message: 'the request body is too large' },
  range_not_satisfiable: {
    status: 416,
    message: 'the requested range is not satisfiable (the object is shorter)',
  },
  unsupported_media_type: {
    status: 415,
    message: 'unsupported Content-Type; send application/json',
  },
  method_not_allowed: { status: 405, message: 'method not allowed on this route' },
  signature_invalid: { status: 403, message: 'the URL signature is invalid' },
  url_expired: { status: 403, message: 'the URL has expired' },
  rate_limited: { status: 429, message: 'too many requests; retry later' },
  storage_unavailable: {
    status: 503,
    message: 'the storage backend is unavailable; retry later (nothing was changed)',
  },
  storage_full: {
    status: 507,
    message:
      'the server has no storage space left for this upload; nothing was changed, retry later',
  },
  not_ready: { status: 503, message: 'the server is not ready' },
  internal: { status: 500, message: 'internal server error' },
};

/**
 * `Retry-After` of a 507 `storage_full`, seconds: space comes back when an operator
 * frees it or backups rotate, not within a client's patience (clients do not wait this
 * long; they report the error and try at the next backup).
 */
export const STORAGE_FULL_RETRY_AFTER_SEC = 3600;

/** True when `code` is one of the catalog's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOG, code);
}

/**
 * An error with a public code and message. Its message is shown to the client, so it
 * must never contain a secret (tokens, signatures, pre-signed URLs).
 */
export class HttpError extends Error {
  /** Stable wire code. */
  readonly code: ErrorCode;
  /** HTTP status from the catalog. */
  readonly statusCode: number;
  /** Extra response headers (e.g. `Retry-After`, `Allow`). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: ErrorCode,
    message?: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    const entry = ERROR_CATALOG[code];
    super(message ?? entry.message, options?.cause === undefined ? {} : { cause: options.cause });
    this.name = 'HttpError';
    this.code = code;
    this.statusCode = entry.status;
    this.headers = options?.headers ?? {};
  }
}

/**
 * Builds an {@link HttpError} for `code`, with the catalog's message unless one is given.
 *
 * @param code - a catalog code
 * @param message - a public message (no secrets); defaults to the catalog's
 * @returns the error, to throw
 * @example
 * ```ts
 * if (!backup) throw apiError('backup_not_found');
 * ```
 */
export function apiError(
  code: ErrorCode,
  message?: string,
  options?: { cause?: unknown; headers?: Record<string, string> },
): HttpError {
  return new HttpError(code, message, options);
}
