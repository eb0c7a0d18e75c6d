/**
 * A local UnifiedPush push server (UnifiedPush spec SERV_1.2.0, "Server"), for tests:
 * each endpoint it hands out answers POSTs as a test says (201, 200, 404, 410, a 5xx or
 * 429 first and then 201, 413, or a redirect), and records what arrived. Real
 * distributors (ntfy, NextPush…) cannot run here; this stands in for one on loopback.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How an endpoint answers, in order; the last answer repeats. */
export type UnifiedPushScript = number[];

/** One POST as received. */
export interface UnifiedPushDelivery {
  path: string;
  /** The body as UTF-8 text (plain mode). */
  body: string;
  /** The body's bytes (Web Push: the RFC 8291 ciphertext). */
  bytes: Buffer;
  headers: IncomingHttpHeaders;
}

/** The fake push server. */
export interface FakeUnifiedPush {
  /** Base URL (`http://127.0.0.1:<port>`). */
  url: string;
  /** A new endpoint URL answering with `script` (e.g. `[500, 201]`). */
  endpoint(script: UnifiedPushScript): string;
  /** Deliveries (POSTs) per endpoint URL, in order. */
  deliveries(endpoint: string): UnifiedPushDelivery[];
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1, port 0. */
export async function startFakeUnifiedPush(): Promise<FakeUnifiedPush> {
  const scripts = new Map<string, UnifiedPushScript>();
  const seen = new Map<string, UnifiedPushDelivery[]>();
  const server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const script = scripts.get(path);
    if (req.method === 'GET' && script) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ unifiedpush: { version: 1 } }));
    }
    if (req.method !== 'POST' || !script) {
      res.writeHead(404);
      return res.end();
    }
    const list = seen.get(path) ?? [];
    const bytes = Buffer.concat(parts);
    list.push({ path, body: bytes.toString('utf8'), bytes, headers: req.headers });
    seen.set(path, list);
    const status = script[Math.min(list.length - 1, script.length - 1)] ?? 201;
    const headers: Record<string, string> = { ttl: '0' };
    if (status >= 300 && status < 400) headers.location = `${path}/elsewhere`;
    if (status === 429) headers['retry-after'] = '1';
    res.writeHead(status, headers);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    endpoint(script) {
      const path = `/up/${randomBytes(10).toString('base64url')}`;
      scripts.set(path, script);
      return `${url}${path}`;
    },
    deliveries: (endpoint) => seen.get(new URL(endpoint).pathname) ?? [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
