/**
 * One HTTP exchange with timeouts, and the translation of whatever `fetch` does into
 * the SDK's errors ({@link ApiError}, {@link NetworkError}, {@link AbortedError}).
 * Isomorphic: only `fetch`, `AbortController` and timers. No URL ever reaches an error
 * message: pre-signed URLs are credentials.
 * @module
 */
import type { ErrorResponse } from '@noah-backup/core/api';
import type { Clock } from '@noah-backup/core/clock';
import { isApiCode } from '@noah-backup/core/error-catalog';
import { AbortedError, ApiError, NetworkError, systemErrorCode } from './errors.ts';
import { parseRetryAfter } from './retry.ts';

/**
 * What the SDK passes to `fetch`: a subset of `RequestInit` that the global `fetch` and
 * the Node transport (`node/http-fetch.ts`) both take.
 */
export interface FetchInit {
  method?: string;
  /** Plain header names and values, lower case. */
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | Blob | undefined;
  signal?: AbortSignal | undefined;
  /** Node's `fetch` needs it for a stream body. */
  duplex?: 'half';
  /** The SDK never follows a redirect. */
  redirect?: 'error';
}

/** One chunk read from a {@link FetchBody}: `value` is set until `done`. */
export interface FetchChunk {
  done: boolean;
  value?: Uint8Array | undefined;
}

/** A response body as the SDK reads it: the reader side of a web `ReadableStream`. */
export interface FetchBody {
  getReader(): {
    read(): Promise<FetchChunk>;
    /** Stops the transfer; the unread rest is discarded. */
    cancel(): Promise<void>;
  };
}

/** The members of a `Response` the SDK reads. */
export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: FetchBody | null;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * The `fetch` function the SDK calls (injectable; defaults to the global one, which
 * satisfies it; in Node, `nodeFetch` from `node/http-fetch.ts` costs far less memory).
 */
export type FetchFn = (input: string, init?: FetchInit) => Promise<FetchResponse>;

/**
 * A cancellation source that fires on a total deadline, on a lack of progress, or
 * when a parent signal aborts, and remembers which.
 */
export interface Watchdog {
  /** Pass to `fetch`. */
  readonly signal: AbortSignal;
  /** Reports progress: restarts the idle timer. */
  touch(): void;
  /** Stops the timers and detaches from the parent signal. Idempotent. */
  done(): void;
  /** Translates an error thrown under this watchdog into the SDK's error types. */
  translate(err: unknown): unknown;
}

/**
 * Creates a {@link Watchdog}.
 *
 * @param opts.totalMs - deadline for the whole exchange, if any
 * @param opts.idleMs - longest time without {@link Watchdog.touch}, if any
 * @param opts.signal - the caller's cancellation
 * @example
 * ```ts
 * const wd = createWatchdog({ totalMs: 15_000, signal });
 * try { return await fetch(url, { signal: wd.signal }); } catch (e) { throw wd.translate(e); } finally { wd.done(); }
 * ```
 */
export function createWatchdog(opts: {
  totalMs?: number | undefined;
  idleMs?: number | undefined;
  signal?: AbortSignal | undefined;
}): Watchdog {
  const controller = new AbortController();
  let fired: 'timeout' | 'stalled' | 'aborted' | null = null;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const parent = opts.signal;
  const clear = () => {
    clearTimeout(total);
    clearTimeout(idle);
    parent?.removeEventListener('abort', onParent);
  };
  const fire = (why: 'timeout' | 'stalled' | 'aborted') => {
    if (fired) return;
    fired = why;
    clear();
    controller.abort();
  };
  const onParent = () => fire('aborted');
  const total =
    opts.totalMs === undefined ? undefined : setTimeout(() => fire('timeout'), opts.totalMs);
  const touch = () => {
    if (opts.idleMs === undefined || fired) return;
    clearTimeout(idle);
    idle = setTimeout(() => fire('stalled'), opts.idleMs);
  };
  if (parent?.aborted) fire('aborted');
  else parent?.addEventListener('abort', onParent, { once: true });
  touch();
  return {
    signal: controller.signal,
    touch,
    done: clear,
    translate(err) {
      if (err instanceof ApiError) return err;
      if (fired === 'aborted') return new AbortedError();
      if (fired === 'timeout') return new NetworkError('timeout', 'the request timed out');
      if (fired === 'stalled')
        return new NetworkError('stalled', 'the transfer stalled (no progress)');
      return toNetworkError(err);
    },
  };
}

/** Our own errors pass through; anything `fetch` or a body stream threw is a network error. */
function toNetworkError(err: unknown): unknown {
  if (err instanceof ApiError || err instanceof NetworkError || err instanceof AbortedError)
    return err;
  if (err instanceof Error && err.name === 'AbortError') return new AbortedError();
  if (err instanceof TypeError || (err instanceof Error && systemErrorCode(err)))
    return new NetworkError(
      'network_error',
      'could not reach the server (network error)',
      systemErrorCode(err),
    );
  return err;
}

/** Most characters of an error body we read: enough for any JSON or S3 XML error. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Builds the {@link ApiError} for a non-2xx response: the server's JSON
 * `{code, message, request_id}` (core `ErrorResponse`); for anything else (an S3 XML
 * error, a proxy's HTML page) a generic message with at most the S3 error code, since
 * S3 bodies echo the canonical request and other things we never repeat.
 *
 * @param res - the response (its body is consumed)
 * @param clock - to resolve a `Retry-After` HTTP-date
 * @example
 * ```ts
 * if (!res.ok) throw await errorFromResponse(res, clock);
 * ```
 */
export async function errorFromResponse(res: FetchResponse, clock: Clock): Promise<ApiError> {
  const text = (await res.text().catch(() => '')).slice(0, MAX_ERROR_BODY);
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), clock.now());
  const headerId = res.headers.get('x-request-id') ?? res.headers.get('x-amz-request-id');
  const body = parseJson(text) as { [K in keyof ErrorResponse]?: unknown } | undefined;
  if (body && typeof body.code === 'string' && typeof body.message === 'string') {
    // A code this client does not know (a newer server's) is kept aside: `code` stays a
    // catalog code (docs/API.md "Client error codes").
    const code = body.code;
    const known = isApiCode(code);
    return new ApiError({
      status: res.status,
      code: known ? code : 'unexpected_response',
      serverCode: known ? undefined : code.slice(0, 64),
      message: body.message,
      requestId: typeof body.request_id === 'string' ? body.request_id : (headerId ?? undefined),
      retryAfterMs,
    });
  }
  const s3Code = /<Code>([A-Za-z]{1,64})<\/Code>/.exec(text)?.[1];
  return new ApiError({
    status: res.status,
    code: res.status === 429 ? 'rate_limited' : 'unexpected_response',
    message: `the server answered HTTP ${res.status}${s3Code ? ` (${s3Code})` : ''}`,
    requestId: headerId ?? undefined,
    retryAfterMs,
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One JSON exchange. */
export interface JsonRequest {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  /** Bearer token (a secret: only ever sent, never logged). */
  token?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Sends one JSON request and parses the JSON answer; no retries here.
 *
 * @returns the parsed body (undefined for an empty 2xx body)
 * @throws {@link ApiError} for a non-2xx status or a 2xx body that is not JSON;
 *   {@link NetworkError} for no answer or a timeout; {@link AbortedError}
 * @example
 * ```ts
 * const list = await requestJson<ListResponse>(fetch, clock, { method: 'POST', url, body: {}, token, timeoutMs: 15_000 });
 * ```
 */
export async function requestJson<T>(fetchFn: FetchFn, clock: Clock, req: JsonRequest): Promise<T> {
  const wd = createWatchdog({ totalMs: req.timeoutMs, signal: req.signal });
  try {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
    const res = await fetchFn(req.url, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: wd.signal,
    });
    if (!res.ok) throw await errorFromResponse(res, clock);
    const text = await res.text();
    if (text.length === 0) return undefined as T;
    const parsed = parseJson(text);
    if (parsed === undefined)
      throw new ApiError({
        status: res.status,
        code: 'unexpected_response',
        message: 'the server answered with something that is not JSON',
        requestId: res.headers.get('x-request-id') ?? undefined,
      });
    return parsed as T;
  } catch (err) {
    throw wd.translate(err);
  } finally {
    wd.done();
  }
}
