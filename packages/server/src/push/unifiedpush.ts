/**
 * The UnifiedPush sender (docs/PUSH.md §1; UnifiedPush spec SERV_1.2.0, "Server"): the
 * application server POSTs the message to the device's endpoint.
 * - A device that registered Web Push keys gets RFC 8030 Web Push: the payload encrypted
 *   for it (RFC 8291, `Content-Encoding: aes128gcm`) and the request signed with the
 *   server's VAPID key (RFC 8292, `Authorization: vapid t=<JWT>, k=<key>`), built by the
 *   `web-push` library; a device without keys gets the JSON in plain text (docs/PUSH.md
 *   "Encryption"). Either way the body is 1 to 4,096 bytes.
 * - 201 accepts it; any 2xx is taken as 201. 404 and 410: the endpoint no longer
 *   exists and is pruned. 429: slow down (retried with backoff, honouring Retry-After).
 *   413: too large. Other answers are unknown errors: 5xx and network failures are
 *   retried, other 4xx are not.
 * - Redirects MUST NOT be followed.
 * - Endpoints are chosen by users: a connection only goes to a public address or one
 *   the operator allowed (push/endpoint-address.ts), in both modes; others fail
 *   `endpoint_not_allowed`.
 * - RFC 8030 §5.2 `TTL` and §5.3 `Urgency: high` headers.
 *
 * A bearer token (plain mode only: in Web Push the Authorization header is VAPID's) goes
 * only to the origins it was configured for (UNIFIEDPUSH_BEARER is `origin=token`
 * pairs): endpoints are chosen by devices, and a token sent to every endpoint would be
 * sent to anyone who registers one.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import { parseRetryAfter } from '@noah-backup/core/wait';
import { type BlockList, isIP, type LookupFunction } from 'node:net';
import webpush from 'web-push';
import type { PushKeys } from '../stores/push.ts';
import { addressAllowed, guardedLookup } from './endpoint-address.ts';
import { createHttpClient, type HttpClient, type HttpResponse, headerValue } from './http.ts';
import { mapLimit, type PushSender, type SendResult } from './sender.ts';
import type { VapidKeys } from './vapid.ts';

/** UnifiedPush SERV_1.2.0: a message is at most 4,096 bytes. */
export const UNIFIEDPUSH_MAX_MESSAGE = 4096;

/** Options of {@link createUnifiedPushSender}. */
export interface UnifiedPushSenderOptions {
  clock: Clock;
  /** Bearer tokens by endpoint origin (`https://push.example.com`). */
  bearerByOrigin?: ReadonlyMap<string, string>;
  /** Requests in flight at once within one batch (default 16). */
  parallel?: number;
  /** Per-request timeout (default 15 s). */
  timeoutMs?: number;
  /** RFC 8030 TTL, seconds (default a day). */
  ttlSec?: number;
  /**
   * UNIFIEDPUSH_ALLOW_ADDRESSES: non-public addresses endpoints may still reach (tests,
   * private deployments). Every other non-public address is refused on connection.
   */
  allowAddresses?: BlockList | null;
  /** Default: a keep-alive client whose connections go only to allowed addresses. */
  http?: HttpClient;
  /** The server's VAPID identity, for devices with Web Push keys (push/vapid.ts). */
  vapid?: VapidKeys | null;
}

/** One request to an endpoint, ready to send. */
interface Prepared {
  body: string | Uint8Array;
  headers: Record<string, string>;
}

/**
 * Creates the UnifiedPush sender.
 *
 * @param opts - clock, per-origin bearer tokens, limits
 * @returns the sender
 * @example
 * ```ts
 * const up = createUnifiedPushSender({ clock: systemClock });
 * const [result] = await up.send([{ address: endpoint, payload }]);
 * ```
 */
export function createUnifiedPushSender(opts: UnifiedPushSenderOptions): PushSender {
  const allow = opts.allowAddresses ?? null;
  const client =
    opts.http ??
    createHttpClient({ maxSockets: 4, lookup: guardedLookup(allow) as LookupFunction });
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const ttl = String(opts.ttlSec ?? 86_400);

  /** RFC 8291 encryption and RFC 8292 VAPID for a device with keys. */
  const webPush = (url: URL, json: string, keys: PushKeys): Prepared | SendResult => {
    if (!opts.vapid) return { status: 'failed', reason: 'vapid_not_configured' };
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    try {
      details = webpush.generateRequestDetails({ endpoint: url.href, keys }, json, {
        vapidDetails: opts.vapid,
        contentEncoding: 'aes128gcm',
        TTL: Number(ttl),
        urgency: 'high',
      });
    } catch {
      // Keys the registration check let through but the library refuses.
      return { status: 'failed', reason: 'invalid_keys' };
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(details.headers))
      if (k.toLowerCase() !== 'content-length') headers[k.toLowerCase()] = String(v);
    return { body: details.body as Buffer, headers };
  };

  const plain = (url: URL, json: string): Prepared => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ttl,
      urgency: 'high',
    };
    const bearer = opts.bearerByOrigin?.get(url.origin);
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    return { body: json, headers };
  };

  const sendOne = async (
    address: string,
    json: string,
    keys: PushKeys | null | undefined,
  ): Promise<SendResult> => {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return { status: 'failed', reason: 'invalid_endpoint' };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return { status: 'failed', reason: 'invalid_endpoint' };
    // An IP literal never reaches the lookup: checked here; names are checked on the
    // addresses each connection resolves (docs/PUSH.md "Endpoint addresses").
    const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(literal) !== 0 && !addressAllowed(literal, allow))
      return { status: 'failed', reason: 'endpoint_not_allowed' };
    const prepared = keys ? webPush(url, json, keys) : plain(url, json);
    if ('status' in prepared) return prepared;
    const { body, headers } = prepared;
    let res: HttpResponse;
    try {
      // Never follows redirects (http.request does not).
      res = await client.post(url, body, headers, timeoutMs);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENDPOINT_NOT_ALLOWED')
        return { status: 'failed', reason: 'endpoint_not_allowed' };
      return { status: 'retry', reason: `network: ${(err as Error).name}` };
    }
    const s = res.status;
    if (s >= 200 && s < 300) return { status: 'ok' };
    if (s === 404 || s === 410) return { status: 'dead', reason: `http_${s}` };
    if (s === 429 || s >= 500) {
      const after = parseRetryAfter(headerValue(res.headers, 'retry-after'), opts.clock.now());
      return {
        status: 'retry',
        reason: `http_${s}`,
        ...(after === undefined ? {} : { retryAfterMs: after }),
      };
    }
    return { status: 'failed', reason: `http_${s}` };
  };

  return {
    name: 'unifiedpush',
    maxBatch: 50,
    concurrency: 4,
    async send(messages) {
      if (messages.length > 50) throw new RangeError('messages: at most 50 per batch');
      return mapLimit(messages, opts.parallel ?? 16, async (m) => {
        const json = JSON.stringify(m.payload);
        // RFC 8291 §4 adds 103 bytes (header, padding delimiter, tag) to the plaintext.
        const size = new TextEncoder().encode(json).length + (m.keys ? 103 : 0);
        if (size > UNIFIEDPUSH_MAX_MESSAGE) return { status: 'failed', reason: 'message_too_big' };
        return sendOne(m.address, json, m.keys);
      });
    },
  };
}
