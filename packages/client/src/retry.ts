/**
 * Retry with exponential backoff and full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): the n-th retry waits a uniformly random time in
 * [0, min(maxDelay, baseDelay·2^n)), or exactly what the server asked for with
 * `Retry-After` (RFC 9110 §10.2.3). Retries network failures, 5xx, 429 and 408 only;
 * every other 4xx is final. Sleep, clock and randomness are injected for tests.
 * @module
 */
import { sleep } from '@noah-backup/core/wait';
import { AbortedError, ApiError, NetworkError } from './errors.ts';

export { parseRetryAfter } from '@noah-backup/core/wait';

/** Bounds of a retry loop. */
export interface RetryPolicy {
  /** Total attempts including the first (≥ 1). */
  maxAttempts: number;
  /** Backoff cap before jitter for the first retry, ms. */
  baseDelayMs: number;
  /** Backoff cap for any retry, ms. */
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown. */
  maxRetryAfterMs: number;
}

/** Defaults: 5 attempts, 0.5 s doubling to at most 30 s, Retry-After up to 2 min. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

/** Waits `ms` milliseconds; rejects with {@link AbortedError} when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A real timer-based {@link Sleep}: core's sleep, a cut-short wait thrown as aborted. */
export const realSleep: Sleep = async (ms, signal) => {
  if (!(await sleep(ms, signal))) throw new AbortedError();
};

/**
 * The full-jitter delay before retry number `retry` (0 = first retry).
 *
 * @param retry - how many retries happened before this one (≥ 0)
 * @param policy - base and cap
 * @param random - uniform in [0, 1)
 * @returns milliseconds in [0, min(maxDelayMs, baseDelayMs·2^retry))
 * @example
 * ```ts
 * backoffDelay(3, DEFAULT_RETRY_POLICY, Math.random); // somewhere in [0, 4000)
 * ```
 */
export function backoffDelay(
  retry: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * cap);
}

/**
 * Whether an error is worth another attempt: network failures, 5xx (507 `storage_full`
 * included: space comes back), 429, and 408 (the server's header, body or request
 * timeout: RFC 9110 §15.5.9 lets the client repeat the request). Never other 4xx, never
 * decryption or integrity errors, never a cancellation.
 * @example
 * ```ts
 * isRetryable(new ApiError({ status: 503, code: 'not_ready', message: '…' })); // true
 * ```
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ApiError) return err.status >= 500 || err.status === 429 || err.status === 408;
  return false;
}

/** What {@link withRetry} needs besides the operation. */
export interface RetryOptions {
  policy: RetryPolicy;
  sleep: Sleep;
  random: () => number;
  signal?: AbortSignal | undefined;
  /** Called before each wait, e.g. to log "retrying in 2 s"; never given secrets. */
  onRetry?: ((info: { attempt: number; delayMs: number; error: unknown }) => void) | undefined;
  /** Overrides {@link isRetryable}. */
  retryable?: ((err: unknown) => boolean) | undefined;
}

/**
 * Runs `op` until it succeeds, fails with a non-retryable error, or the attempts run
 * out (then the last error is thrown).
 *
 * @param op - the operation; receives the 1-based attempt number
 * @param opts - policy, injected sleep and random, cancellation
 * @returns what `op` returned
 * @throws the last error; {@link AbortedError} when `signal` aborts during a wait
 * @example
 * ```ts
 * const list = await withRetry(() => send('list'), { policy, sleep: realSleep, random: Math.random });
 * ```
 */
export async function withRetry<T>(
  op: (attempt: number) => Promise<T>,
  opts: RetryOptions,
): Promise<T> {
  const retryable = opts.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw new AbortedError();
    try {
      return await op(attempt);
    } catch (error) {
      if (attempt >= opts.policy.maxAttempts || !retryable(error) || opts.signal?.aborted)
        throw error;
      const asked = error instanceof ApiError ? error.retryAfterMs : undefined;
      if (asked !== undefined && asked > opts.policy.maxRetryAfterMs) throw error;
      const delayMs = asked ?? backoffDelay(attempt - 1, opts.policy, opts.random);
      opts.onRetry?.({ attempt, delayMs, error });
      await opts.sleep(delayMs, opts.signal);
    }
  }
}
