/**
 * Errors the client SDK throws on purpose, beside the core's (`DecryptionError`,
 * `NotABackupError`…). Messages never hold a URL, a token, a signature or a key: a
 * pre-signed URL is a bearer credential (docs/API.md, "Conventions").
 * @module
 */
import type { ErrorCode } from '@noah-backup/core/api';
import { NoahError } from '@noah-backup/core/errors';

/** Fields of an {@link ApiError}. */
export interface ApiErrorInit {
  /** HTTP status. */
  status: number;
  /**
   * The server's stable error code (docs/API.md "Errors"), or `unexpected_response` for
   * an answer without one or with one this client does not know (see `serverCode`).
   */
  code: ErrorCode | 'unexpected_response';
  /** The code a newer server sent that this client does not know, as sent. */
  serverCode?: string | undefined;
  /** The server's public message. */
  message: string;
  /** The server's request id, to quote to its operator. */
  requestId?: string | undefined;
  /** Seconds or an HTTP date from a `Retry-After` header, already parsed to ms. */
  retryAfterMs?: number | undefined;
}

/**
 * The server (or the blob store behind a pre-signed URL) answered with an error status.
 * Built from the JSON body `{code, message, request_id}` (core `ErrorResponse`).
 *
 * @example
 * ```ts
 * try { await api.list(); } catch (e) {
 *   if (e instanceof ApiError && e.status === 404) console.log('no backups');
 * }
 * ```
 */
export class ApiError extends NoahError {
  /** HTTP status. */
  readonly status: number;
  /** Request id the server logged this request under, if it sent one. */
  readonly requestId: string | undefined;
  /** How long the server asked us to wait (`Retry-After`), in ms, if it said. */
  readonly retryAfterMs: number | undefined;
  /**
   * A code the server sent that is not in this client's catalog (a newer server's), kept
   * as sent while `code` is `unexpected_response`; undefined otherwise.
   */
  readonly serverCode: string | undefined;
  constructor(init: ApiErrorInit) {
    super(init.code, init.message);
    this.serverCode = init.serverCode;
    this.status = init.status;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Why a request never got an answer. */
export type NetworkErrorCode = 'network_error' | 'timeout' | 'stalled' | 'incomplete_transfer';

/**
 * The request got no (complete) answer: connection refused or reset, DNS failure, a
 * timeout, a transfer that stalled or ended early. Retryable. `detail` holds the
 * system error code (`ECONNRESET`…) when there is one, never the URL.
 *
 * @example
 * ```ts
 * if (e instanceof NetworkError) console.log('offline?', e.code, e.detail);
 * ```
 */
export class NetworkError extends NoahError {
  /** System error code such as `ECONNREFUSED`, when known. */
  readonly detail: string | undefined;
  constructor(code: NetworkErrorCode, message: string, detail?: string) {
    super(code, detail ? `${message} (${detail})` : message);
    this.detail = detail;
  }
}

/**
 * The operation was cancelled through its `AbortSignal`. Not retryable.
 * @example
 * ```ts
 * controller.abort(); // a pending manager.triggerBackup() rejects with AbortedError
 * ```
 */
export class AbortedError extends NoahError {
  constructor(message = 'the operation was cancelled') {
    super('aborted', message);
  }
}

/**
 * Throws {@link AbortedError} once `signal` is aborted. Not `signal.throwIfAborted()`:
 * React Native's AbortSignal (abort-controller 3, installed by React Native itself) has
 * no such method, nor a `reason` (docs/REACT-NATIVE.md §3).
 * @example
 * ```ts
 * for (const page of pages) { throwIfAborted(signal); await send(page); }
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError();
}

/**
 * The bytes received do not match what the server declared (a download longer than
 * `backup_size`, a wrong `Content-Length`). Not retryable: something is wrong with the
 * stored object or a proxy in between.
 * @example
 * ```ts
 * if (e instanceof IntegrityError) console.error('the stored backup does not match its metadata');
 * ```
 */
export class IntegrityError extends NoahError {
  constructor(message: string) {
    super('integrity_error', message);
  }
}

/**
 * Pulls a system error code out of whatever `fetch` threw (undici nests it in `cause`).
 * Only the code: messages of the cause may name hosts or paths.
 */
export function systemErrorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The backup is over the server's size limit (`max_backup_size`, the server's
 * MAX_BACKUP_SIZE): clearly so by an estimate before the snapshot, or its encrypted
 * output grew past the limit. Either way nothing was uploaded.
 * @example
 * ```ts
 * if (e instanceof BackupTooLargeError) console.log(`limit: ${e.maxBackupSize} bytes`);
 * ```
 */
export class BackupTooLargeError extends NoahError {
  /** The server's limit, in bytes. */
  readonly maxBackupSize: number;
  /** Bytes of wallet data being backed up, if known: a limit this large always fits. */
  readonly walletBytes: number | undefined;
  /**
   * @param maxBackupSize - the server's limit
   * @param walletBytes - the wallet data's uncompressed bytes, if known
   * @param how - what was found: `stopped after …` or `estimated at …`
   */
  constructor(maxBackupSize: number, walletBytes: number | undefined, how: string) {
    super(
      'backup_too_large',
      `the backup is larger than the server's limit of ${mib(maxBackupSize)}: ${how}; nothing was uploaded`,
    );
    this.maxBackupSize = maxBackupSize;
    this.walletBytes = walletBytes;
  }
}

/** A byte count in MiB with one decimal, for messages. */
export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
