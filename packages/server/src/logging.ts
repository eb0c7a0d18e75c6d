/**
 * pino JSON logging with redaction (docs/OPERATIONS.md "Logs and metrics"): bearer
 * tokens, LNURL signatures, access tokens and pre-signed URLs never reach a log line.
 * Fastify's own per-request lines are replaced by one line per request
 * (src/http/hooks.ts) whose URL has its query string stripped, because the fs blob
 * store's signed URLs carry their signature there. Three layers: known fields are
 * censored by path ({@link REDACT_PATHS}); errors are logged as name, code, message and
 * stack only; and every message string and error text goes through {@link scrubSecrets},
 * for text that quotes a URL or a header (a Fastify warning naming the request URL, a
 * client's error report).
 * @module
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Field paths censored wherever they appear in a logged object. */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'sig',
  '*.sig',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'upload_url',
  '*.upload_url',
  'download_url',
  '*.download_url',
  'url',
  '*.url',
];

/**
 * Strips the query string (and fragment) from a URL or path; signed URLs keep their
 * signatures there (`X-Amz-Signature`, the fs store's `sig`).
 *
 * @param url - an absolute URL or a request path
 * @returns the URL without `?…` / `#…`
 * @example
 * ```ts
 * stripQuery('/blob/b/ab?exp=1&sig=xyz'); // '/blob/b/ab'
 * ```
 */
export function stripQuery(url: string): string {
  const i = url.search(/[?#]/);
  return i === -1 ? url : url.slice(0, i);
}

/** Query parameters that carry secrets: URL signatures, credentials, tokens. */
const SECRET_PARAM =
  /([?&](?:sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|authtoken|access_token|token)=)[^&#\s"'<>]*/gi;
const BEARER = /\b(bearer)\s+[A-Za-z0-9._~+/-]+=*/gi;
const EXPO_TOKEN = /\b(Expo(?:nent)?PushToken)\[[^\]]*\]/g;

/**
 * Censors secrets inside free text: the values of signature, credential and token query
 * parameters (`sig=`, `X-Amz-Signature=`, `X-Amz-Credential=`, `authToken=`…), bearer
 * tokens and Expo push tokens. For text that may quote a URL or a header; structured
 * fields are censored by path instead.
 *
 * @param text - a log message, an error message or stack, a client-supplied string
 * @returns the text with those values replaced by `[redacted]`
 * @example
 * ```ts
 * scrubSecrets('GET /blob/b/1?exp=9&sig=abc failed'); // 'GET /blob/b/1?exp=9&sig=[redacted] failed'
 * ```
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(SECRET_PARAM, '$1[redacted]')
    .replace(BEARER, '$1 [redacted]')
    .replace(EXPO_TOKEN, '$1[redacted]');
}

/** Only the safe parts of an Error: never enumerable extras (SDK errors carry requests). */
function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: scrubSecrets(String(err)) };
  const out: Record<string, unknown> = { type: err.name, message: scrubSecrets(err.message) };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  if (err.stack) out.stack = scrubSecrets(err.stack);
  if (err.cause !== undefined) out.cause = serializeError(err.cause);
  return out;
}

/**
 * Creates the server's logger.
 *
 * @param opts.level - pino level (`info`, `debug`, `silent`…)
 * @param opts.destination - where JSON lines go (default stdout); tests pass a buffer
 * @returns a pino logger with redaction and safe serializers
 * @example
 * ```ts
 * const logger = createLogger({ level: config.logLevel });
 * ```
 */
export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      hooks: {
        // Message strings, e.g. Fastify's "Reply was already sent … in the "<url>" route".
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a === 'string') args[i] = scrubSecrets(a);
          }
          return method.apply(this, args);
        },
      },
      serializers: {
        err: serializeError,
        error: serializeError,
        req: (req: { method?: string; url?: string }) => ({
          method: req.method,
          path: req.url === undefined ? undefined : stripQuery(req.url),
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    opts.destination ?? pino.destination({ sync: true }),
  );
}
