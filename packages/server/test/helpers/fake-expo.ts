/**
 * A local HTTP server that speaks the Expo push API (docs/PUSH.md §9), for tests and the
 * benchmark: `POST /--/api/v2/push/send` with at most 100 messages answers one ticket
 * per message, `POST /--/api/v2/push/getReceipts` answers the receipts that are ready. Tokens behave as a
 * test says: accepted, an error ticket, or an ok ticket whose receipt is an error.
 * Expo's own service cannot run here; this stands in for it on loopback.
 * @module
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** How one token behaves. */
export type ExpoTokenBehaviour =
  | 'ok'
  /** An error ticket (`details.error`), e.g. DeviceNotRegistered, MessageRateExceeded. */
  | { ticketError: string }
  /** An ok ticket whose receipt is an error, e.g. DeviceNotRegistered. */
  | { receiptError: string }
  /** An ok ticket whose receipt never becomes ready. */
  | 'receipt-pending';

/** A message as the fake received it. */
export interface ExpoMessageSeen {
  to: string;
  data: { type?: string; notification_id?: string };
  priority?: string;
  _contentAvailable?: boolean;
  title?: unknown;
  body?: unknown;
  [k: string]: unknown;
}

/** The fake. */
export interface FakeExpo {
  /** Base URL for EXPO_PUSH_URL. */
  url: string;
  /** Every message accepted by a send request (unless `record: false`). */
  messages: ExpoMessageSeen[];
  /** Messages seen in total (also with `record: false`). */
  count(): number;
  /** Authorization headers of the send requests, in order. */
  authorizations: (string | null)[];
  /** Ticket ids asked for in getReceipts requests, in order. */
  receiptQueries: string[][];
  sendRequests(): number;
  /** Sets a token's behaviour (default ok). */
  behave(token: string, b: ExpoTokenBehaviour): void;
  /** The next `n` send requests answer `status` with `body` (default a 503). */
  failNextSends(n: number, status?: number, body?: unknown): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const raw = Buffer.concat(parts);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/**
 * Starts the fake on 127.0.0.1, port 0.
 *
 * @param opts.accessToken - when set, send and getReceipts require `Bearer <token>`
 * @param opts.record - keep every message and receipt (default true; the benchmark turns
 *   it off, and then getReceipts answers nothing ready)
 * @param opts.lean - the benchmark's mode: count the messages of a send without parsing
 *   them and answer ok tickets, so the fake takes little of the CPU the benchmark
 *   shares with the server (the real Expo service is remote)
 */
export async function startFakeExpo(
  opts: { accessToken?: string; record?: boolean; lean?: boolean } = {},
): Promise<FakeExpo> {
  const record = opts.record ?? true;
  const behaviours = new Map<string, ExpoTokenBehaviour>();
  const receipts = new Map<string, unknown>();
  const messages: ExpoMessageSeen[] = [];
  const authorizations: (string | null)[] = [];
  const receiptQueries: string[][] = [];
  const failures: { status: number; body: unknown }[] = [];
  let seen = 0;
  let sends = 0;
  let nextTicket = 0;

  const server: Server = createServer(async (req, res) => {
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    };
    try {
      const body = await readBody(req);
      if (req.method !== 'POST') return json(405, { errors: [{ code: 'METHOD_NOT_ALLOWED' }] });
      if (opts.accessToken && req.headers.authorization !== `Bearer ${opts.accessToken}`)
        return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad access token' }] });
      if (opts.lean && req.url === '/--/api/v2/push/send') {
        sends++;
        const text = body.toString('latin1');
        let n = 0;
        for (let i = text.indexOf('"to":'); i >= 0; i = text.indexOf('"to":', i + 5)) n++;
        seen += n;
        const tickets = Array.from({ length: n }, () => `{"status":"ok","id":"t${++nextTicket}"}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(`{"data":[${tickets.join(',')}]}`);
      }
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (req.url === '/--/api/v2/push/send') {
        sends++;
        authorizations.push(req.headers.authorization ?? null);
        const failure = failures.shift();
        if (failure) return json(failure.status, failure.body);
        const list = (Array.isArray(parsed) ? parsed : [parsed]) as ExpoMessageSeen[];
        if (list.length > 100)
          return json(400, {
            errors: [{ code: 'PUSH_TOO_MANY_NOTIFICATIONS', message: 'at most 100' }],
          });
        const data = list.map((m) => {
          seen++;
          if (record) messages.push(m);
          if (typeof m.to !== 'string' || !/^Expo(nent)?PushToken\[.+\]$/.test(m.to))
            return {
              status: 'error',
              message: `"${String(m.to)}" is not a valid Expo push token`,
              details: { error: 'DeviceNotRegistered' },
            };
          const b = behaviours.get(m.to) ?? 'ok';
          if (typeof b === 'object' && 'ticketError' in b)
            return { status: 'error', message: b.ticketError, details: { error: b.ticketError } };
          const id = `ticket-${++nextTicket}`;
          if (!record) return { status: 'ok', id };
          if (b === 'ok') receipts.set(id, { status: 'ok' });
          else if (typeof b === 'object' && 'receiptError' in b)
            receipts.set(id, {
              status: 'error',
              message: b.receiptError,
              details: { error: b.receiptError },
            });
          return { status: 'ok', id };
        });
        return json(200, { data });
      }
      if (req.url === '/--/api/v2/push/getReceipts') {
        const ids = (parsed as { ids?: unknown }).ids;
        if (!Array.isArray(ids)) return json(400, { errors: [{ code: 'VALIDATION_ERROR' }] });
        receiptQueries.push(ids as string[]);
        const data: Record<string, unknown> = {};
        for (const id of ids as string[]) if (receipts.has(id)) data[id] = receipts.get(id);
        return json(200, { data });
      }
      return json(404, { errors: [{ code: 'NOT_FOUND' }] });
    } catch {
      return json(400, { errors: [{ code: 'BAD_REQUEST', message: 'malformed body' }] });
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    count: () => seen,
    authorizations,
    receiptQueries,
    sendRequests: () => sends,
    behave: (token, b) => void behaviours.set(token, b),
    failNextSends(n, status = 503, body = { errors: [{ code: 'UNAVAILABLE' }] }) {
      for (let i = 0; i < n; i++) failures.push({ status, body });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
