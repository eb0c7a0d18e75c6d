/**
 * Typed client for every Noah Backup endpoint (docs/API.md, core `api` types), with
 * LNURL-auth login (LUD-04: getk1 → sign → login), a cached bearer token renewed
 * shortly before `expires_at`, one re-login when the server says the token is no
 * longer good, single-flight login, per-request timeouts, and retries with backoff
 * and full jitter on network errors, 5xx and 429. Isomorphic (fetch only).
 * @module
 */
import type {
  BackupInfo,
  CancelUploadRequest,
  CompleteUploadRequest,
  DeleteRequest,
  DeleteResponse,
  DownloadUrlRequest,
  DownloadUrlResponse,
  DownloadUrlsRequest,
  DownloadUrlsResponse,
  GetK1Response,
  ListResponse,
  LoginResponse,
  PushRegisterRequest,
  PushUnregisterRequest,
  ReportRequest,
  SettingsResponse,
  UploadTarget,
  UploadUrlRequest,
  UploadUrlResponse,
  UploadUrlsRequest,
  UploadUrlsResponse,
} from '@noah-backup/core/api';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import { ApiError } from './errors.ts';
import { type FetchFn, requestJson } from './http.ts';
import { type Logger, silentLogger } from './logger.ts';
import {
  DEFAULT_RETRY_POLICY,
  type RetryOptions,
  type RetryPolicy,
  realSleep,
  type Sleep,
  withRetry,
} from './retry.ts';
import {
  DEFAULT_TRANSFER_TIMEOUTS,
  getBlob,
  getBlobPrefix,
  type ProgressFn,
  putBlob,
  type TransferTimeouts,
  type UploadSource,
} from './transfer.ts';

/** Signs LNURL-auth challenges with the linking key for this server (see `keys.ts`). */
export interface LoginSigner {
  /** The 33-byte compressed linking public key, hex (LUD-04 `key`). */
  readonly linkingKey: string;
  /** DER signature over the raw k1 bytes, hex (LUD-04 `sig`). */
  signK1(k1Hex: string): string;
}

/** Options of {@link createApiClient}. */
export interface ApiClientOptions {
  /** The server's base URL, e.g. `https://backup.example.com`. */
  baseUrl: string;
  signer: LoginSigner;
  /**
   * The network (default: the global `fetch`). In Node, `nodeFetch` from
   * `@noah-backup/client/node/http-fetch` does the same on node:http, for far less memory.
   */
  fetch?: FetchFn;
  clock?: Clock;
  sleep?: Sleep;
  /** Uniform in [0, 1), for jitter. */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Deadline of each JSON request, ms (default 15 s). */
  requestTimeoutMs?: number;
  transferTimeouts?: Partial<TransferTimeouts>;
  /** Log in again this long before the token's `expires_at`, ms (default 60 s). */
  tokenRefreshMarginMs?: number;
  logger?: Logger;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** Options of a transfer. */
export interface TransferOptions extends CallOptions {
  onProgress?: ProgressFn | undefined;
}

/** The API, one method per endpoint, plus the two transfers to pre-signed URLs. */
export interface ApiClient {
  /** `GET /v0/getk1` (no auth). */
  getK1(opts?: CallOptions): Promise<GetK1Response>;
  /** Logs in now (getk1 → sign → `POST /v0/auth/login`) and caches the token. */
  login(opts?: CallOptions): Promise<LoginResponse>;
  /** `POST /v0/auth/logout`: revokes the cached token, if any, and forgets it. */
  logout(opts?: CallOptions): Promise<void>;
  uploadUrl(req: UploadUrlRequest, opts?: CallOptions): Promise<UploadUrlResponse>;
  /** PUT URLs for the objects a backup will reference (docs/API.md "Incremental backups"). */
  uploadUrls(req: UploadUrlsRequest, opts?: CallOptions): Promise<UploadUrlsResponse>;
  /** With `objects` and `base`: an incremental backup (`ApiError` `base_changed`). */
  completeUpload(req: CompleteUploadRequest, opts?: CallOptions): Promise<BackupInfo>;
  /**
   * `POST /v0/backup/cancel_upload`: gives a pending upload back when the client stops
   * trying (docs/API.md), so it no longer counts against the user's pending uploads.
   * Resolves also when the server has no such pending upload any more (404
   * `upload_not_found`: already completed, cancelled or expired).
   */
  cancelUpload(req: CancelUploadRequest, opts?: CallOptions): Promise<void>;
  /** Completed backups, newest first. */
  list(opts?: CallOptions): Promise<ListResponse>;
  downloadUrl(req?: DownloadUrlRequest, opts?: CallOptions): Promise<DownloadUrlResponse>;
  /** Every URL a restore needs: the slot object's and its referenced objects'. */
  downloadUrls(req?: DownloadUrlsRequest, opts?: CallOptions): Promise<DownloadUrlsResponse>;
  delete(req: DeleteRequest, opts?: CallOptions): Promise<DeleteResponse>;
  getSettings(opts?: CallOptions): Promise<SettingsResponse>;
  setSettings(req: { backup_enabled: boolean }, opts?: CallOptions): Promise<SettingsResponse>;
  /** `POST /v0/backup/report`: outcome of a triggered backup or of a restore. */
  report(req: ReportRequest, opts?: CallOptions): Promise<void>;
  registerPush(req: PushRegisterRequest, opts?: CallOptions): Promise<void>;
  unregisterPush(req: PushUnregisterRequest, opts?: CallOptions): Promise<void>;
  /** PUTs `source` to `target.upload_url` with Content-Length and `upload_headers`, retried. */
  upload(
    target: UploadUrlResponse | UploadTarget,
    source: UploadSource,
    opts?: TransferOptions,
  ): Promise<void>;
  /**
   * Streams the backup at `target.download_url`, exactly `backup_size` bytes, resumed on
   * failure. Given the whole `download_url` answer, a URL that has expired by the time
   * of a retry is replaced by a fresh one for the same backup (a `backup_changed` error
   * if the slot meanwhile holds another backup).
   */
  download(
    target: Pick<DownloadUrlResponse, 'download_url' | 'backup_size'> &
      Partial<Pick<DownloadUrlResponse, 'backup_version' | 'created_at'>>,
    opts?: TransferOptions & {
      /**
       * Gives a fresh URL for the same object when the old one is refused (an object of
       * an incremental backup: from `download_urls`); default: from `download_url` when
       * `target` names its backup.
       */
      refresh?: () => Promise<string>;
    },
  ): AsyncIterable<Uint8Array>;
  /**
   * The first `n` bytes of the backup at `target.download_url` (fewer if it is shorter),
   * by one ranged GET that stops after them; retried.
   */
  downloadPrefix(
    target: Pick<DownloadUrlResponse, 'download_url' | 'backup_size'>,
    n: number,
    opts?: CallOptions,
  ): Promise<Uint8Array>;
}

/** Error codes after which a fresh login may help (core `ErrorCode`). */
const AUTH_CODES = new Set(['token_expired', 'unauthorized']);

/**
 * Creates an {@link ApiClient}.
 *
 * @param opts - base URL, the login signer, and injectable fetch/clock/sleep/random
 * @example
 * ```ts
 * const keys = await createSessionKeys(mnemonic, 'https://backup.example.com');
 * const api = createApiClient({ baseUrl: 'https://backup.example.com', signer: keys.signer });
 * console.log(await api.list());
 * ```
 */
export function createApiClient(opts: ApiClientOptions): ApiClient {
  const base = new URL(opts.baseUrl).href.replace(/\/+$/, '');
  const fetchFn: FetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
  const timeoutMs = opts.requestTimeoutMs ?? 15_000;
  const margin = opts.tokenRefreshMarginMs ?? 60_000;
  const transfer = {
    fetch: fetchFn,
    clock,
    timeouts: { ...DEFAULT_TRANSFER_TIMEOUTS, ...opts.transferTimeouts },
  };
  const retryOpts = (signal: AbortSignal | undefined, what: string): RetryOptions => ({
    policy,
    sleep: opts.sleep ?? realSleep,
    random: opts.random ?? Math.random,
    signal,
    onRetry: ({ attempt, delayMs, error }) =>
      logger.warn('request failed, retrying', {
        what,
        attempt,
        delayMs,
        code: (error as { code?: string }).code ?? 'unexpected',
      }),
  });

  let token: { value: string; expiresAt: number } | null = null;
  let pendingLogin: Promise<LoginResponse> | null = null;

  const send = <T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    bearer?: string,
    signal?: AbortSignal,
  ) =>
    requestJson<T>(fetchFn, clock, {
      method,
      url: base + path,
      body,
      token: bearer,
      timeoutMs,
      signal,
    });

  /** One login attempt (no retry here: the caller's retry loop covers it). */
  const doLogin = async (): Promise<LoginResponse> => {
    const { k1 } = await send<GetK1Response>('GET', '/v0/getk1');
    // LUD-04: sig = DER ECDSA over the raw k1 bytes with the linking key.
    const sig = opts.signer.signK1(k1);
    const res = await send<LoginResponse>('POST', '/v0/auth/login', {
      k1,
      sig,
      key: opts.signer.linkingKey,
    });
    const expiresAt = Date.parse(res?.expires_at ?? '');
    if (typeof res?.access_token !== 'string' || Number.isNaN(expiresAt))
      throw new ApiError({
        status: 200,
        code: 'unexpected_response',
        message: 'malformed login response',
      });
    token = { value: res.access_token, expiresAt };
    logger.debug('logged in', { expiresAt: res.expires_at });
    return res;
  };

  /** Single-flight: concurrent callers share one login. */
  const login = (): Promise<LoginResponse> => {
    pendingLogin ??= doLogin().finally(() => {
      pendingLogin = null;
    });
    return pendingLogin;
  };

  const currentToken = async (): Promise<string> => {
    if (token && clock.now().getTime() < token.expiresAt - margin) return token.value;
    await login();
    if (!token) throw new ApiError({ status: 401, code: 'unauthorized', message: 'login failed' });
    return token.value;
  };

  /** An authenticated JSON call: retried; one re-login if the token was refused. */
  const call = <T>(
    path: string,
    body: unknown,
    signal?: AbortSignal,
    method: 'GET' | 'POST' = 'POST',
  ): Promise<T> => {
    let relogged = false;
    return withRetry(
      async () => {
        const bearer = await currentToken();
        try {
          return await send<T>(method, path, body, bearer, signal);
        } catch (err) {
          if (
            relogged ||
            !(err instanceof ApiError) ||
            err.status !== 401 ||
            !AUTH_CODES.has(err.code)
          )
            throw err;
          relogged = true;
          // Forget the refused token unless a concurrent call already replaced it.
          if (token?.value === bearer) token = null;
          logger.info('token refused, logging in again', { code: err.code });
          return await send<T>(method, path, body, await currentToken(), signal);
        }
      },
      retryOpts(signal, path),
    );
  };

  return {
    getK1: (o) =>
      withRetry(
        () => send<GetK1Response>('GET', '/v0/getk1', undefined, undefined, o?.signal),
        retryOpts(o?.signal, 'getk1'),
      ),
    login: (o) => withRetry(() => login(), retryOpts(o?.signal, 'login')),
    async logout(o) {
      const current = token;
      token = null;
      if (current) await send('POST', '/v0/auth/logout', {}, current.value, o?.signal);
    },
    uploadUrl: (req, o) => call('/v0/backup/upload_url', req, o?.signal),
    uploadUrls: (req, o) => call('/v0/backup/upload_urls', req, o?.signal),
    completeUpload: (req: CompleteUploadRequest, o) =>
      call('/v0/backup/complete_upload', req, o?.signal),
    cancelUpload: async (req, o) => {
      try {
        await call('/v0/backup/cancel_upload', req, o?.signal);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'upload_not_found')) throw err;
      }
    },
    list: (o) => call('/v0/backup/list', {}, o?.signal),
    downloadUrl: (req, o) => call('/v0/backup/download_url', req ?? {}, o?.signal),
    downloadUrls: (req, o) => call('/v0/backup/download_urls', req ?? {}, o?.signal),
    delete: (req, o) => call('/v0/backup/delete', req, o?.signal),
    getSettings: (o) => call('/v0/backup/settings', undefined, o?.signal, 'GET'),
    setSettings: (req, o) => call('/v0/backup/settings', req, o?.signal),
    report: async (req, o) => {
      await call('/v0/backup/report', req, o?.signal);
    },
    registerPush: async (req, o) => {
      await call('/v0/push/register', req, o?.signal);
    },
    unregisterPush: async (req, o) => {
      await call('/v0/push/unregister', req, o?.signal);
    },
    upload: (target, source, o) =>
      withRetry(
        async (attempt) => {
          try {
            await putBlob(
              transfer,
              { url: target.upload_url, headers: target.upload_headers ?? {} },
              source,
              o ?? {},
            );
          } catch (err) {
            // Upload URLs are write-once (docs/API.md): on a retry, "already stored" means
            // an earlier attempt got through and only its answer was lost. complete_upload
            // checks the object's size.
            if (attempt === 1 || !isAlreadyStored(err)) throw err;
            logger.info('an earlier attempt stored the upload; going on', { attempt });
            o?.onProgress?.(source.size, source.size);
          }
        },
        retryOpts(o?.signal, 'upload'),
      ),
    download: (target, o) =>
      getBlob(
        transfer,
        { url: target.download_url, size: target.backup_size },
        {
          retry: retryOpts(o?.signal, 'download'),
          onProgress: o?.onProgress,
          signal: o?.signal,
          refresh: o?.refresh ?? refresher(target, o?.signal),
        },
      ),
    downloadPrefix: (target, n, o) =>
      withRetry(
        () =>
          getBlobPrefix(
            transfer,
            { url: target.download_url, size: target.backup_size },
            n,
            o?.signal,
          ),
        retryOpts(o?.signal, 'download'),
      ),
  };

  /** A fresh URL for the same backup, if `target` says which backup it is. */
  function refresher(
    target: Partial<Pick<DownloadUrlResponse, 'backup_version' | 'created_at' | 'backup_size'>>,
    signal: AbortSignal | undefined,
  ): (() => Promise<string>) | undefined {
    const { backup_version, created_at, backup_size } = target;
    if (backup_version === undefined || created_at === undefined) return undefined;
    return async () => {
      logger.info('the download URL was refused, asking for a fresh one', { backup_version });
      const fresh = await call<DownloadUrlResponse>(
        '/v0/backup/download_url',
        { backup_version },
        signal,
      );
      if (fresh.created_at !== created_at || fresh.backup_size !== backup_size)
        throw new NoahError(
          'backup_changed',
          `backup ${backup_version} was replaced during the download; start again`,
        );
      return fresh.download_url;
    };
  }
}

/**
 * True for a store's answer that the upload URL already holds an object: 409 `conflict`
 * (the filesystem store) or 412 PreconditionFailed (S3's `If-None-Match: *`).
 */
export function isAlreadyStored(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 412 || err.code === 'conflict');
}
