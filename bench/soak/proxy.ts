/**
 * The soak's two proxies, both plain node:http in the orchestrator's process:
 *
 * - the load balancer: round-robin over the server instances, as a health-check-less
 *   balancer does. A request whose instance refuses the connection (killed, restarting)
 *   goes to the next one (nothing was sent yet); a request whose instance dies while
 *   answering gets 502 (the client retries it). Each device's requests carry a
 *   `x-soak-device` header that the balancer turns into `X-Forwarded-For` (the servers
 *   run with `TRUST_PROXY`), so per-address logic sees 200 clients, not one.
 * - the fault injector in front of the bucket: pre-signed uploads are cut off at random,
 *   either mid-body (nothing is stored; the client retries the PUT) or after the bucket
 *   stored the object but before the client hears so (the retry gets 412, the SDK's
 *   "already stored"); pre-signed downloads are cut mid-body (the client resumes with a
 *   Range request). The servers' own S3 calls pass untouched.
 *
 * Both record every request (end time, duration, status) and the error codes answered.
 * @module
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { bump, type Sample, type Tally } from './stats.ts';

/** What a proxy recorded. */
export interface ProxyLog {
  samples: Sample[];
  /** HTTP status answered, or `no answer (…)` when the client got none. */
  statuses: Tally;
  /** `status code` of every error answer (JSON `code`, S3 `<Code>`, or the proxy's own). */
  errors: Tally;
}

/** A running proxy. */
export interface Proxy {
  url: string;
  log: ProxyLog;
  /** Only requests that end while recording are kept (the load phase). */
  recording: boolean;
  /** When the load began (performance.now() ms): sample times count from it. */
  t0: number;
  close(): Promise<void>;
}

const MAX_ERROR_BODY = 64 * 1024;

function newLog(): ProxyLog {
  return { samples: [], statuses: {}, errors: {} };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server, agent: Agent): () => Promise<void> {
  return () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      agent.destroy();
      server.close(() => ok());
    });
}

/** The error code in an error answer's body: JSON `code`, or S3's `<Code>`. */
function errorCode(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const j = JSON.parse(text) as { code?: unknown };
    if (typeof j.code === 'string') return j.code;
  } catch {
    // not JSON: an S3 XML error or something else
  }
  return /<Code>([A-Za-z]{1,64})<\/Code>/.exec(text)?.[1] ?? 'no_code';
}

function readAll(stream: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let n = 0;
    stream.on('data', (c: Buffer) => {
      n += c.length;
      if (n <= limit) parts.push(c);
    });
    stream.on('end', () => resolve(n <= limit ? Buffer.concat(parts) : null));
    stream.on('error', () => resolve(null));
    stream.on('close', () => {
      if (!stream.complete) resolve(null);
    });
  });
}

/**
 * Starts the round-robin load balancer.
 * @param upstreams - base URLs of the instances (fixed: a restarted instance reuses its port)
 */
export async function startBalancer(upstreams: string[]): Promise<Proxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const targets = upstreams.map((u) => new URL(u));
  const down = new Array<number>(targets.length).fill(0);
  let next = 0;
  const self: Proxy = {
    url: '',
    log: newLog(),
    recording: false,
    t0: 0,
    close: async () => {},
  };

  const record = (start: number, status: string, code?: string) => {
    if (!self.recording) return;
    const end = performance.now();
    const failed = code !== undefined;
    self.log.samples.push({ at: end - self.t0, ms: end - start, failed });
    bump(self.log.statuses, status);
    if (code !== undefined) bump(self.log.errors, `${status} ${code}`);
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const start = performance.now();
    const body = await readAll(req, 1 << 20);
    if (body === null) return req.socket.destroy();
    const headers = { ...req.headers };
    const device = headers['x-soak-device'];
    delete headers['x-soak-device'];
    delete headers.connection;
    if (typeof device === 'string' && /^\d+$/.test(device)) {
      const n = Number(device);
      headers['x-forwarded-for'] = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    }
    headers['content-length'] = String(body.length);
    const send = (attempt: number) => {
      // The next instance not marked down (or the next one, if all are).
      let i = next++ % targets.length;
      for (let k = 0; k < targets.length && down[i]! > performance.now(); k++)
        i = (i + 1) % targets.length;
      const t = targets[i]!;
      const up = httpRequest(
        { host: t.hostname, port: t.port, method: req.method, path: req.url, headers, agent },
        async (r) => {
          const status = r.statusCode ?? 502;
          if (status < 400) {
            res.writeHead(status, r.headers);
            r.pipe(res);
            r.on('end', () => record(start, String(status)));
            r.on('error', () => res.destroy());
            return;
          }
          const err = await readAll(r, MAX_ERROR_BODY);
          if (err === null) {
            record(start, 'no answer (instance died)', 'upstream_died');
            return res.destroy();
          }
          res.writeHead(status, r.headers);
          res.end(err);
          record(start, String(status), errorCode(err));
        },
      );
      up.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED' && attempt < targets.length) {
          down[i] = performance.now() + 1000;
          return send(attempt + 1);
        }
        // Sent, and the instance died before answering (or all refused): what a
        // balancer answers then. The client cannot know whether it was done.
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' });
          res.end('bad gateway');
        } else res.destroy();
        record(start, '502', e.code === 'ECONNREFUSED' ? 'all_instances_down' : 'upstream_died');
      });
      up.end(body);
    };
    send(1);
  });
  self.url = await listen(server);
  self.close = closer(server, agent);
  return self;
}

/** Rates of the fault injector. */
export interface FaultRates {
  /** Fraction of pre-signed PUTs cut off (3/4 mid-body, 1/4 after the bucket's answer). */
  upload: number;
  /** Fraction of pre-signed GETs cut off mid-body. */
  download: number;
}

/**
 * Starts the fault injector in front of the bucket (the S3 harness's verifying front).
 * The Host header passes unchanged: pre-signed URLs are signed for the injector's host.
 * @param target - the bucket endpoint
 * @param rates - how often to cut (read at each request: set to 0 to stop cutting)
 * @param random - uniform in [0, 1)
 */
export async function startFaultInjector(
  target: string,
  rates: FaultRates,
  random: () => number = Math.random,
): Promise<Proxy & { cuts: Tally }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const t = new URL(target);
  const self: Proxy & { cuts: Tally } = {
    url: '',
    log: newLog(),
    cuts: {},
    recording: false,
    t0: 0,
    close: async () => {},
  };
  const record = (start: number, what: string, status: string, code?: string) => {
    if (!self.recording) return;
    const end = performance.now();
    const failed = code !== undefined || status === 'cut';
    self.log.samples.push({ at: end - self.t0, ms: end - start, failed });
    bump(self.log.statuses, `${what} ${status}`);
    if (code !== undefined) bump(self.log.errors, `${what} ${status} ${code}`);
  };
  const cut = (what: string) => {
    if (self.recording) bump(self.cuts, what);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const start = performance.now();
    const method = req.method ?? 'GET';
    const presigned = (req.url ?? '').includes('X-Amz-Signature=');
    const what = presigned ? `${method} (pre-signed)` : `${method} (server)`;
    const length = Number(req.headers['content-length'] ?? 0);
    const roll = random();
    const cutUpload = presigned && method === 'PUT' && length > 1 && roll < rates.upload;
    const cutBody = cutUpload && roll < rates.upload * 0.75;
    const cutAt = 1 + Math.floor(random() * Math.max(1, length - 1));
    const cutDownload = presigned && method === 'GET' && roll < rates.download;
    // Set once this proxy broke the exchange on purpose: the errors that follow are ours.
    let broken = false;

    const up = httpRequest(
      { host: t.hostname, port: t.port, method, path: req.url, headers: req.headers, agent },
      async (r) => {
        const status = r.statusCode ?? 502;
        if (cutUpload) {
          // Stored (or refused) upstream; the client never hears which.
          await readAll(r, MAX_ERROR_BODY);
          broken = true;
          cut('upload cut after the answer');
          record(start, what, 'cut');
          return req.socket.destroy();
        }
        if (status >= 400) {
          const err = (await readAll(r, MAX_ERROR_BODY)) ?? Buffer.alloc(0);
          res.writeHead(status, r.headers);
          res.end(err);
          return record(start, what, String(status), errorCode(err));
        }
        res.writeHead(status, r.headers);
        const size = Number(r.headers['content-length'] ?? 0);
        if (cutDownload && size > 1) {
          const at = 1 + Math.floor(random() * (size - 1));
          let sent = 0;
          r.on('data', (c: Buffer) => {
            if (sent >= at) return;
            const part = c.subarray(0, at - sent);
            sent += part.length;
            res.write(part);
            if (sent >= at) {
              broken = true;
              cut('download cut mid-body');
              record(start, what, 'cut');
              r.destroy();
              req.socket.destroy();
            }
          });
          return;
        }
        r.pipe(res);
        r.on('end', () => record(start, what, String(status)));
      },
    );
    up.on('error', () => {
      if (broken) return;
      if (!res.headersSent) res.writeHead(502, { connection: 'close' });
      res.end();
      record(start, what, '502', 'bucket_unreachable');
    });
    if (!cutBody) {
      req.pipe(up);
      return;
    }
    let sent = 0;
    req.on('data', (c: Buffer) => {
      if (sent >= cutAt) return;
      const part = c.subarray(0, cutAt - sent);
      sent += part.length;
      up.write(part);
      if (sent >= cutAt) {
        // Both sides see a connection that broke mid-body: the bucket stores nothing.
        broken = true;
        cut('upload cut mid-body');
        record(start, what, 'cut');
        up.destroy();
        req.socket.destroy();
      }
    });
  });
  self.url = await listen(server);
  self.close = closer(server, agent);
  return self;
}
