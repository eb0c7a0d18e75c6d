/**
 * The senders' HTTP client: one POST over node:http / node:https with keep-alive
 * agents. Not fetch: sending a million triggers is thousands of small requests, and
 * Node 20's fetch spends several times more CPU per request than http.request
 * (bench/push-scheduler.bench.ts). Redirects are never followed (UnifiedPush SERV_1.2.0
 * forbids it; Expo does not redirect). Idle keep-alive sockets do not keep the process
 * alive (Node's agent unrefs free sockets).
 * @module
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

/** A response, its body read as text. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** POSTs bodies; one client per sender. */
export interface HttpClient {
  /**
   * Sends one POST.
   *
   * @param url - absolute http(s) URL
   * @param body - the request body (text is sent as UTF-8)
   * @param headers - request headers (content-length is added)
   * @param timeoutMs - deadline for the whole exchange
   * @returns the response (any status)
   * @throws on network failure, timeout, an oversized response, or a non-http(s) URL
   */
  post(
    url: string | URL,
    body: string | Uint8Array,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<HttpResponse>;
  /** Closes idle sockets. */
  close(): void;
}

/** Responses larger than this are refused (Expo answers ~20 KB for 300 receipts). */
const MAX_RESPONSE = 4 * 1024 * 1024;

/**
 * Creates a client with keep-alive agents.
 *
 * @param opts.maxSockets - sockets per origin (default 16)
 * @param opts.lookup - the host-name resolver of new connections (default: the system's)
 * @returns the client
 * @example
 * ```ts
 * const client = createHttpClient();
 * const res = await client.post('https://exp.host/--/api/v2/push/send', json, headers, 30_000);
 * ```
 */
export function createHttpClient(
  opts: {
    maxSockets?: number;
    /** Resolves host names for new connections (push/endpoint-address.ts guards it). */
    lookup?: LookupFunction;
  } = {},
): HttpClient {
  const agentOpts = {
    keepAlive: true,
    maxSockets: opts.maxSockets ?? 16,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
  };
  const agents = { http: new http.Agent(agentOpts), https: new https.Agent(agentOpts) };
  return {
    post(url, body, headers, timeoutMs) {
      const u = typeof url === 'string' ? new URL(url) : url;
      const secure = u.protocol === 'https:';
      if (!secure && u.protocol !== 'http:')
        return Promise.reject(new TypeError(`url: expected http(s), got ${u.protocol}`));
      const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
      return new Promise<HttpResponse>((resolve, reject) => {
        const req = (secure ? https : http).request(
          u,
          {
            method: 'POST',
            agent: secure ? agents.https : agents.http,
            headers: { ...headers, 'content-length': String(payload.length) },
            signal: AbortSignal.timeout(timeoutMs),
          },
          (res) => {
            const parts: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > MAX_RESPONSE) req.destroy(new Error('response too large'));
              else parts.push(chunk);
            });
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: Buffer.concat(parts).toString('utf8'),
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** A header's single value (the first of a repeated one), or null. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
}
