/**
 * Streaming transfers to and from pre-signed URLs: an upload PUTs exactly `size`
 * bytes with an explicit Content-Length (S3 refuses chunked uploads), a download is
 * an async iterable that checks the byte count and resumes where a broken connection
 * left it (Range, or skipping what it already has). Deadlines grow with the size and
 * an idle timer catches a stalled transfer, instead of one fixed timeout.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { SpooledBlob } from './ports.ts';
import { ApiError, IntegrityError, NetworkError } from './errors.ts';
import {
  createWatchdog,
  errorFromResponse,
  type FetchBody,
  type FetchFn,
  type FetchResponse,
} from './http.ts';
import { backoffDelay, isRetryable, type RetryOptions } from './retry.ts';

/** How long a transfer may take. */
export interface TransferTimeouts {
  /** Fixed allowance for connecting and the server's answer, ms. */
  baseMs: number;
  /** Slowest rate we wait for; the deadline grows by `bytes / rate`. */
  minBytesPerSecond: number;
  /** Longest time without a single byte moving, ms. */
  idleMs: number;
}

/** 30 s + size at 100 KiB/s, and 60 s without progress. */
export const DEFAULT_TRANSFER_TIMEOUTS: TransferTimeouts = {
  baseMs: 30_000,
  minBytesPerSecond: 100 * 1024,
  idleMs: 60_000,
};

/**
 * The total deadline of a transfer of `bytes` bytes.
 * @example
 * ```ts
 * transferDeadlineMs(50 * 2 ** 20, DEFAULT_TRANSFER_TIMEOUTS); // 30 s + 512 s
 * ```
 */
export function transferDeadlineMs(bytes: number, t: TransferTimeouts): number {
  return t.baseMs + Math.ceil((bytes / t.minBytesPerSecond) * 1000);
}

/** Byte progress of one transfer. */
export type ProgressFn = (bytes: number, totalBytes: number) => void;

/** A spooled blob that may also offer a `Blob` (browsers stream it natively, with length). */
export type UploadSource = SpooledBlob & { readonly blob?: Blob };

/** What the transfer functions need from their caller. */
export interface TransferDeps {
  fetch: FetchFn;
  clock: Clock;
  timeouts: TransferTimeouts;
}

/**
 * One PUT of `source` to a pre-signed URL (no retry: the caller retries, calling
 * `source.open()` again).
 *
 * @param target.url - the pre-signed URL (secret)
 * @param target.headers - headers the URL was signed with (`upload_headers`)
 * @throws {@link ApiError} for an error status; {@link NetworkError}; {@link IntegrityError}
 *   when the source does not hold exactly `size` bytes
 * @example
 * ```ts
 * await putBlob(deps, { url: t.upload_url, headers: t.upload_headers }, blob, { onProgress });
 * ```
 */
export async function putBlob(
  deps: TransferDeps,
  target: { url: string; headers: Record<string, string> },
  source: UploadSource,
  opts: { onProgress?: ProgressFn | undefined; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const size = source.size;
  const wd = createWatchdog({
    totalMs: transferDeadlineMs(size, deps.timeouts),
    idleMs: deps.timeouts.idleMs,
    signal: opts.signal,
  });
  let sent = 0;
  let mismatch: IntegrityError | undefined;
  const progress = (n: number) => {
    sent += n;
    wd.touch();
    opts.onProgress?.(sent, size);
  };
  try {
    opts.onProgress?.(0, size);
    const body = source.blob ?? streamOf(source.open(), size, progress, (e) => (mismatch = e));
    const res = await deps.fetch(target.url, {
      method: 'PUT',
      // Content-Length explicitly: S3 pre-signed PUTs sign it and refuse chunked bodies.
      headers: { ...target.headers, 'content-length': String(size) },
      body,
      signal: wd.signal,
      // Node's fetch needs this for a stream body; browsers get a Blob instead.
      duplex: 'half',
      // A pre-signed URL never redirects (and a stream body could not follow). Besides,
      // any other mode makes Node's fetch (undici) tee the body to replay it on a
      // redirect, and the unread branch keeps every chunk: the whole upload in memory.
      redirect: 'error',
    });
    if (!res.ok) throw await errorFromResponse(res, deps.clock);
    await res.arrayBuffer();
    if (source.blob) opts.onProgress?.(size, size);
  } catch (err) {
    throw mismatch ?? wd.translate(err);
  } finally {
    wd.done();
  }
}

/** A pull-based web ReadableStream over an async iterable, checking the byte count. */
function streamOf(
  source: AsyncIterable<Uint8Array>,
  size: number,
  onChunk: (n: number) => void,
  onMismatch: (e: IntegrityError) => void,
): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let total = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) {
        if (total !== size) {
          const e = new IntegrityError(`the spooled backup holds ${total} bytes, not ${size}`);
          onMismatch(e);
          throw e;
        }
        controller.close();
        return;
      }
      total += r.value.byteLength;
      if (total > size) {
        const e = new IntegrityError(`the spooled backup holds more than ${size} bytes`);
        onMismatch(e);
        throw e;
      }
      controller.enqueue(r.value);
      onChunk(r.value.byteLength);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/**
 * Streams the object at a pre-signed URL, exactly `size` bytes. A connection that
 * breaks or stalls is retried (bounded, backoff with jitter) from where it stopped:
 * with `Range: bytes=N-`, or by skipping N bytes when the store ignores Range, so the
 * consumer sees one continuous stream. Stopping the iteration aborts the request.
 * When the store refuses the URL (403: expired — a retry can come after the URL's few
 * minutes are up — or no longer valid) and `refresh` is given, a fresh URL is fetched
 * once and the download resumes with it.
 *
 * @param target.url - pre-signed GET URL (secret)
 * @param target.size - `backup_size` from the server
 * @param opts.refresh - gives a fresh URL for the same object (throws if it changed)
 * @throws {@link IntegrityError} when the object is longer than `size` or a store
 *   answers a resume with the wrong range; {@link ApiError} for an error status
 *   (4xx final); {@link NetworkError} once retries run out
 * @example
 * ```ts
 * for await (const chunk of getBlob(deps, { url, size }, { retry })) hash.update(chunk);
 * ```
 */
export async function* getBlob(
  deps: TransferDeps,
  target: { url: string; size: number },
  opts: {
    retry: RetryOptions;
    onProgress?: ProgressFn | undefined;
    signal?: AbortSignal | undefined;
    refresh?: (() => Promise<string>) | undefined;
  },
): AsyncGenerator<Uint8Array> {
  const { size } = target;
  let current = target;
  let received = 0;
  let failures = 0;
  let refreshed = false;
  opts.onProgress?.(0, size);
  for (;;) {
    const before = received;
    try {
      for await (const chunk of getFrom(deps, current, received, opts.signal)) {
        received += chunk.byteLength;
        opts.onProgress?.(received, size);
        yield chunk;
      }
      if (received === size) return;
      throw new NetworkError(
        'incomplete_transfer',
        `the download ended after ${received} of ${size} bytes`,
      );
    } catch (err) {
      if (received > before) {
        failures = 0;
        refreshed = false;
      }
      // A refused URL: one fresh URL per stretch without progress, then resume at once.
      if (opts.refresh && !refreshed && isUrlRefused(err) && !opts.signal?.aborted) {
        refreshed = true;
        current = { url: await opts.refresh(), size };
        continue;
      }
      failures++;
      const retryable = opts.retry.retryable ?? isRetryable;
      if (failures >= opts.retry.policy.maxAttempts || !retryable(err) || opts.signal?.aborted)
        throw err;
      const asked = err instanceof ApiError ? err.retryAfterMs : undefined;
      if (asked !== undefined && asked > opts.retry.policy.maxRetryAfterMs) throw err;
      const delayMs = asked ?? backoffDelay(failures - 1, opts.retry.policy, opts.retry.random);
      opts.retry.onRetry?.({ attempt: failures, delayMs, error: err });
      await opts.retry.sleep(delayMs, opts.signal);
    }
  }
}

/**
 * True for a store's refusal of the URL itself: 403, whether the fs store's
 * `url_expired` / `signature_invalid` or S3's `AccessDenied` ("Request has expired").
 */
export function isUrlRefused(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403;
}

/**
 * Reads the first `n` bytes of the object at a pre-signed URL (fewer if it is shorter)
 * with one `Range: bytes=0-(n-1)` GET, and stops the transfer there: a store that
 * ignores Range (answers 200 with the whole object) is cut off after `n` bytes. No
 * retry here (the caller retries).
 *
 * @param target.url - pre-signed GET URL (secret)
 * @param target.size - `backup_size` from the server
 * @param n - bytes wanted
 * @throws {@link ApiError} for an error status; {@link NetworkError}
 * @example
 * ```ts
 * const head = await getBlobPrefix(deps, { url, size }, V2_HEADER_LENGTH);
 * ```
 */
export async function getBlobPrefix(
  deps: TransferDeps,
  target: { url: string; size: number },
  n: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const want = Math.min(n, target.size);
  if (want <= 0) return new Uint8Array(0);
  const wd = createWatchdog({
    totalMs: transferDeadlineMs(want, deps.timeouts),
    idleMs: deps.timeouts.idleMs,
    signal,
  });
  try {
    const res = await deps.fetch(target.url, {
      method: 'GET',
      headers: { range: `bytes=0-${want - 1}` },
      signal: wd.signal,
    });
    if (!res.ok) throw await downloadError(res, deps.clock);
    if (!res.body) throw new NetworkError('incomplete_transfer', 'the download had no body');
    const out = new Uint8Array(want);
    let fill = 0;
    const reader = res.body.getReader();
    try {
      while (fill < want) {
        const r = await reader.read();
        if (r.done || !r.value) break;
        wd.touch();
        const k = Math.min(want - fill, r.value.byteLength);
        out.set(r.value.subarray(0, k), fill);
        fill += k;
      }
    } finally {
      // Whatever the store sent past the prefix is not read: the transfer stops here.
      await reader.cancel().catch(() => {});
    }
    return out.subarray(0, fill);
  } catch (err) {
    throw wd.translate(err);
  } finally {
    wd.done();
  }
}

/** One GET from byte `offset`; yields only bytes at or after `offset`, never past `size`. */
async function* getFrom(
  deps: TransferDeps,
  target: { url: string; size: number },
  offset: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const remaining = target.size - offset;
  const wd = createWatchdog({
    totalMs: transferDeadlineMs(remaining, deps.timeouts),
    idleMs: deps.timeouts.idleMs,
    signal,
  });
  try {
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await deps.fetch(target.url, { method: 'GET', headers, signal: wd.signal });
    if (!res.ok) throw await downloadError(res, deps.clock);
    if (!res.body) throw new NetworkError('incomplete_transfer', 'the download had no body');
    // Read through one reader, cancelled however this ends: a body left unread would hold
    // its connection (Node's transport) until the server drops it.
    const reader = res.body.getReader();
    try {
      yield* checkedChunks(res, reader, target.size, offset, wd.touch);
    } finally {
      await reader.cancel().catch(() => {});
    }
  } catch (err) {
    throw wd.translate(err);
  } finally {
    wd.done();
  }
}

/**
 * The error of a GET from a pre-signed download URL. The server signs that URL only for
 * a backup it lists, so a 404 there means the store no longer holds the object, in
 * whatever dialect the store answers (the fs store's JSON, S3's `NoSuchKey` XML): the
 * API's `backup_not_found` (docs/API.md `GET <download_url>`), never "no such route".
 */
async function downloadError(res: FetchResponse, clock: Clock): Promise<ApiError> {
  const err = await errorFromResponse(res, clock);
  if (res.status !== 404) return err;
  return new ApiError({
    status: 404,
    code: 'backup_not_found',
    message: `the store no longer holds this backup (${err.message})`,
    requestId: err.requestId,
  });
}

/**
 * The bytes of one GET answer at or after `offset`: checks the range a 206 covers and
 * the declared length, skips what a 200 repeats, refuses bytes past `size`.
 */
async function* checkedChunks(
  res: FetchResponse,
  reader: ReturnType<FetchBody['getReader']>,
  size: number,
  offset: number,
  touch: () => void,
): AsyncGenerator<Uint8Array> {
  const remaining = size - offset;
  let skip = 0;
  let expected = size;
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
    if (Number(start) !== offset)
      throw new IntegrityError('the store answered a resumed download with the wrong range');
    expected = remaining;
  } else skip = offset;
  const declared = res.headers.get('content-length');
  if (declared !== null && !res.headers.get('content-encoding') && Number(declared) !== expected)
    throw new IntegrityError(`the stored backup is ${declared} bytes, the server said ${expected}`);
  let yielded = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done || !r.value) return;
    touch();
    let chunk = r.value;
    if (skip > 0) {
      const drop = Math.min(skip, chunk.byteLength);
      skip -= drop;
      chunk = chunk.subarray(drop);
      if (chunk.byteLength === 0) continue;
    }
    yielded += chunk.byteLength;
    if (yielded > remaining)
      throw new IntegrityError(`the stored backup is longer than ${size} bytes`);
    yield chunk;
  }
}
