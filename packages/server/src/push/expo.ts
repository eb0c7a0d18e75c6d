/**
 * The Expo push sender (docs/PUSH.md §1), speaking the Expo push HTTP API directly
 * (docs/PUSH.md §9):
 * - `POST {base}/--/api/v2/push/send` with a JSON array of at most 100 messages; the
 *   answer `{"data": [ticket…]}` has one ticket per message, in order: `{"status":
 *   "ok", "id"}` or `{"status": "error", "message", "details": {"error"}}`;
 * - `POST {base}/--/api/v2/push/getReceipts` with `{"ids": […]}`; the answer `{"data":
 *   {id: receipt}}` holds the receipts that are ready (Expo keeps them about a day);
 * - an access token, when the project requires one, as `Authorization: Bearer`.
 *
 * Why not expo-server-sdk 6.1.0 (not a dependency): it reads its base URL once, at import,
 * from `process.env.EXPO_BASE_URL` ("only for internal Expo use"), so a per-instance
 * EXPO_PUSH_URL (self-hosters, tests with a local fake) cannot be set cleanly; and it
 * sends with fetch, which costs several times more CPU per request than node:http
 * (push/http.ts). The protocol is small; the classification of errors follows the
 * SDK's (docs/PUSH.md §9).
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { parseRetryAfter } from '@noah-backup/core/wait';
import { createHttpClient, type HttpClient, type HttpResponse, headerValue } from './http.ts';
import type { PushMessage, PushSender, ReceiptResult, SendResult } from './sender.ts';

/** Expo's limit of messages per send request. */
export const EXPO_SEND_LIMIT = 100;
/** Receipt ids per getReceipts request (the SDK's chunk size; Expo allows 1,000). */
export const EXPO_RECEIPTS_LIMIT = 300;

/** Options of {@link createExpoSender}. */
export interface ExpoSenderOptions {
  /** Base URL, e.g. `https://exp.host` (EXPO_PUSH_URL), without a trailing slash. */
  baseUrl: string;
  /** EXPO_ACCESS_TOKEN, for projects with enhanced push security; null = none. */
  accessToken?: string | null;
  clock: Clock;
  /** Requests in flight at once (default 6, as the SDK). */
  concurrency?: number;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Seconds Expo and the platform keep an undelivered message (default a day). */
  ttlSec?: number;
  /** Default: a keep-alive client with `concurrency` sockets. */
  http?: HttpClient;
}

interface ExpoTicket {
  status?: unknown;
  id?: unknown;
  message?: unknown;
  details?: { error?: unknown };
}

/** Ticket and receipt errors (docs/PUSH.md §9, "Errors"). */
function classifyError(error: unknown): 'dead' | 'retry' | 'failed' {
  if (error === 'DeviceNotRegistered') return 'dead';
  if (error === 'MessageRateExceeded') return 'retry';
  return 'failed'; // MessageTooBig, InvalidCredentials, MismatchSenderId, unknown
}

function ticketResult(t: ExpoTicket | undefined): SendResult {
  if (t?.status === 'ok' && typeof t.id === 'string' && t.id !== '')
    return { status: 'ok', ticketId: t.id };
  if (t?.status === 'ok') return { status: 'ok' };
  const error = typeof t?.details?.error === 'string' ? t.details.error : 'unknown_error';
  const kind = classifyError(error);
  return kind === 'retry' ? { status: 'retry', reason: error } : { status: kind, reason: error };
}

/**
 * Creates the Expo sender.
 *
 * @param opts - base URL, optional access token, clock, limits
 * @returns a sender with `readReceipts`
 * @example
 * ```ts
 * const expo = createExpoSender({ baseUrl: 'https://exp.host', clock: systemClock });
 * const [result] = await expo.send([{ address: token, payload }]);
 * ```
 */
export function createExpoSender(opts: ExpoSenderOptions): PushSender {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const concurrency = opts.concurrency ?? 6;
  const client = opts.http ?? createHttpClient({ maxSockets: concurrency });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ttl = opts.ttlSec ?? 86_400;
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/json',
  };
  if (opts.accessToken) headers.authorization = `Bearer ${opts.accessToken}`;

  const post = (path: string, body: unknown): Promise<HttpResponse> =>
    client.post(`${base}${path}`, JSON.stringify(body), headers, timeoutMs);

  return {
    name: 'expo',
    maxBatch: EXPO_SEND_LIMIT,
    concurrency,

    async send(messages) {
      if (messages.length > EXPO_SEND_LIMIT)
        throw new RangeError(`messages: at most ${EXPO_SEND_LIMIT} per request`);
      if (messages.length === 0) return [];
      const all = (r: SendResult) => messages.map(() => r);
      // Data-only, high priority, content-available: a silent wake-up on Android (FCM
      // data message) and iOS (background notification). No title, body or sound.
      const body = messages.map((m: PushMessage) => ({
        to: m.address,
        data: m.payload,
        priority: 'high',
        _contentAvailable: true,
        ttl,
      }));
      let res: HttpResponse;
      try {
        res = await post('/--/api/v2/push/send', body);
      } catch (err) {
        return all({ status: 'retry', reason: `network: ${(err as Error).name}` });
      }
      if (res.status === 429 || res.status >= 500) {
        const after = parseRetryAfter(headerValue(res.headers, 'retry-after'), opts.clock.now());
        return all({
          status: 'retry',
          reason: `http_${res.status}`,
          ...(after === undefined ? {} : { retryAfterMs: after }),
        });
      }
      let parsed: { data?: unknown; errors?: { code?: unknown }[] };
      try {
        parsed = JSON.parse(res.body);
      } catch {
        return all({ status: 'failed', reason: `http_${res.status}_not_json` });
      }
      if (res.status !== 200 || parsed.errors) {
        const code = parsed.errors?.[0]?.code;
        return all({
          status: 'failed',
          reason: typeof code === 'string' ? code : `http_${res.status}`,
        });
      }
      // Expo answers one ticket per message; anything else is a protocol error, and a
      // retry could double-send the ones it did accept.
      if (!Array.isArray(parsed.data) || parsed.data.length !== messages.length)
        return all({ status: 'failed', reason: 'ticket_count_mismatch' });
      return (parsed.data as ExpoTicket[]).map(ticketResult);
    },

    async readReceipts(ticketIds) {
      const out = new Map<string, ReceiptResult>();
      for (let i = 0; i < ticketIds.length; i += EXPO_RECEIPTS_LIMIT) {
        const ids = ticketIds.slice(i, i + EXPO_RECEIPTS_LIMIT);
        const res = await post('/--/api/v2/push/getReceipts', { ids });
        if (res.status !== 200) throw new Error(`Expo getReceipts answered HTTP ${res.status}`);
        const parsed = JSON.parse(res.body) as { data?: Record<string, ExpoTicket> };
        if (!parsed.data || typeof parsed.data !== 'object' || Array.isArray(parsed.data))
          throw new Error('Expo getReceipts answered no receipt map');
        for (const id of ids) {
          const r = parsed.data[id];
          if (!r) continue; // not ready yet
          if (r.status === 'ok') out.set(id, { status: 'ok' });
          else {
            const error = typeof r.details?.error === 'string' ? r.details.error : 'unknown_error';
            out.set(id, {
              status: classifyError(error) === 'dead' ? 'dead' : 'failed',
              reason: error,
            });
          }
        }
      }
      return out;
    },
  };
}
