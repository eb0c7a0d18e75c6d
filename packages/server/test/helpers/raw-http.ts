/**
 * Raw TCP exchanges with the server, for the tests that need what `fetch` hides: a body
 * that stalls, headers that never end, an idle keep-alive connection, the local address
 * a connection comes from (127.0.0.x are all loopback on Linux).
 * @module
 */
import { connect, type Socket } from 'node:net';

/** What a raw exchange saw. */
export interface RawResult {
  /** Everything the server sent. */
  data: string;
  /** The status code of the first response, or null when none arrived. */
  status: number | null;
  /** True when the server closed the connection within the wait. */
  closed: boolean;
  /** Milliseconds from connecting to the close (or to the end of the wait). */
  ms: number;
}

/** Options of {@link rawExchange}. */
export interface RawOptions {
  /** Bytes written at once after connecting. */
  send?: string;
  /** Written one at a time every `trickleMs` after `send` (a slow client). */
  trickleMs?: number;
  /** Local address to connect from (e.g. `127.0.0.2`). */
  localAddress?: string;
  /** How long to wait for the server to close the connection. */
  waitMs: number;
  /** Resolve as soon as a full status line arrived (the connection is then left open). */
  untilStatus?: boolean;
}

/**
 * Opens a TCP connection to `base`'s host and port, writes `send`, optionally trickles
 * more, and waits for the server to close it (or `waitMs`, then closes it itself).
 *
 * @param base - `http://127.0.0.1:<port>`
 * @param opts - what to send and how long to wait
 * @returns what the server sent and whether it closed the connection
 */
export function rawExchange(base: string, opts: RawOptions): Promise<RawResult> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const t0 = Date.now();
    let data = '';
    let trickle: ReturnType<typeof setInterval> | undefined;
    const socket: Socket = connect({
      host: u.hostname,
      port: Number(u.port),
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const finish = (closed: boolean) => {
      clearTimeout(wait);
      clearInterval(trickle);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      resolve({ data, status: m ? Number(m[1]) : null, closed, ms: Date.now() - t0 });
      socket.destroy();
    };
    const wait = setTimeout(() => finish(false), opts.waitMs);
    socket.on('connect', () => {
      if (opts.send) socket.write(opts.send);
      if (opts.trickleMs)
        trickle = setInterval(() => {
          if (socket.writable) socket.write('x');
        }, opts.trickleMs);
    });
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (opts.untilStatus && /^HTTP\/1\.1 \d{3} .*\r\n/.test(data)) finish(false);
    });
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
  });
}

/**
 * One request over a raw connection (`Connection: close`), from an optional local
 * address; returns the status (null when the server closed without answering).
 */
export async function rawRequest(
  base: string,
  req: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
    localAddress?: string;
  },
): Promise<RawResult> {
  const u = new URL(base);
  const body = req.body ?? '';
  const headers: Record<string, string> = {
    host: u.host,
    connection: 'close',
    ...(req.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
    ...req.headers,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return rawExchange(base, {
    send: `${req.method ?? 'GET'} ${req.path} HTTP/1.1\r\n${head}\r\n${body}`,
    waitMs: 5000,
    ...(req.localAddress ? { localAddress: req.localAddress } : {}),
  });
}

/** Opens a connection and keeps it open, idle, until `close()`. */
export function idleConnection(
  base: string,
  localAddress?: string,
): Promise<{ socket: Socket; closed: Promise<void>; close(): void }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: u.hostname,
      port: Number(u.port),
      ...(localAddress ? { localAddress } : {}),
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed, close: () => socket.destroy() }));
    socket.once('error', reject);
  });
}
