/**
 * What one client may hold of the server (docs/OPERATIONS.md "Timeouts and connection
 * limits"): header, body, request, idle and keep-alive timeouts, and caps on connections
 * in total and per client address, so that stalled or slow clients cannot exhaust the
 * process's file descriptors. Read from the environment with the rest of the
 * configuration (src/config/limits.ts); applied here to the Node HTTP server the app
 * serves on.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { HttpLimits } from '../config/limits.ts';

/**
 * The group a client address is counted in: an IPv4 address alone (IPv4-mapped IPv6
 * too), an IPv6 address by its /64 — one subscriber usually gets a whole /64, so
 * counting single IPv6 addresses would let one client count as 2^64.
 *
 * @param ip - a textual IPv4 or IPv6 address
 * @returns a stable key, e.g. `192.0.2.7` or `2001:db8:1:2::/64`
 * @example
 * ```ts
 * addressGroup('2001:db8:1:2::1') === addressGroup('2001:db8:1:2:ffff::9'); // true
 * ```
 */
export function addressGroup(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** Longest a connections-checking pass may lag (Node checks header/request timeouts then). */
const CHECK_INTERVAL_MS = 1000;

/**
 * Creates the Node HTTP server the app serves on, with the timeouts and caps in place.
 * Node checks the header and request timeouts every `connectionsCheckingInterval`, which
 * only a new server can set: create the server here rather than with `createServer()`.
 *
 * @param limits - the configured limits
 * @param opts.perAddress - apply the per-address cap (false behind a trusted proxy,
 *   where every connection comes from the proxy)
 * @returns the server, not listening
 * @example
 * ```ts
 * const server = createHttpServer(config.http, { perAddress: config.trustProxy === false });
 * ```
 */
export function createHttpServer(limits: HttpLimits, opts: { perAddress: boolean }): Server {
  const shortest = Math.min(limits.headersTimeoutSec, limits.requestTimeoutSec) * 1000;
  const server = createServer({
    connectionsCheckingInterval: Math.max(50, Math.min(CHECK_INTERVAL_MS, shortest / 4)),
    headersTimeout: limits.headersTimeoutSec * 1000,
    requestTimeout: limits.requestTimeoutSec * 1000,
  });
  applyHttpLimits(server, limits, opts);
  return server;
}

const applied = new WeakSet<Server>();

/**
 * Applies the limits to an existing server (idempotent). The header and request
 * timeouts then take effect at the server's own checking interval (Node's default is
 * 30 s); prefer {@link createHttpServer}.
 *
 * @param server - the Node HTTP server
 * @param limits - the configured limits
 * @param opts.perAddress - apply the per-address cap
 */
export function applyHttpLimits(
  server: Server<typeof IncomingMessage, typeof ServerResponse>,
  limits: HttpLimits,
  opts: { perAddress: boolean },
): void {
  if (applied.has(server)) return;
  applied.add(server);
  server.headersTimeout = limits.headersTimeoutSec * 1000;
  server.requestTimeout = limits.requestTimeoutSec * 1000;
  server.keepAliveTimeout = limits.keepAliveTimeoutSec * 1000;
  // Socket inactivity: no listener on 'timeout', so Node destroys the socket.
  server.timeout = limits.idleTimeoutSec * 1000;
  // Over the total, Node closes a new connection as soon as it is accepted.
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  const cap = opts.perAddress ? limits.maxConnectionsPerAddress : 0;
  if (cap === 0) return;
  const open = new Map<string, number>();
  // Before Node's own listener: a refused socket is closed before a request is parsed.
  server.prependListener('connection', (socket) => {
    const group = addressGroup(socket.remoteAddress ?? '');
    const n = (open.get(group) ?? 0) + 1;
    if (n > cap) {
      socket.destroy();
      return;
    }
    open.set(group, n);
    socket.once('close', () => {
      const left = (open.get(group) ?? 1) - 1;
      if (left <= 0) open.delete(group);
      else open.set(group, left);
    });
  });
}

/**
 * A `preParsing` hook that closes the connection when a request's body has not fully
 * arrived within `ms`: the JSON routes' bodies are small (16 KiB), so a body that takes
 * longer is a client holding a connection, not a slow network.
 *
 * @param ms - BODY_TIMEOUT in milliseconds
 * @param onTimeout - told (for the log) before the connection is closed
 * @returns the hook
 */
export function bodyTimeoutHook(
  ms: number,
  onTimeout: (request: FastifyRequest) => void,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const raw = request.raw;
    if (raw.complete) return; // no body, or all of it already here
    // A request injected in-process (app.inject) has no connection to hold or close, and
    // one without a body never emits 'end'.
    if (typeof raw.socket?.destroy !== 'function') return;
    const timer = setTimeout(() => {
      if (raw.complete) return;
      onTimeout(request);
      raw.socket.destroy();
    }, ms);
    timer.unref();
    const done = () => clearTimeout(timer);
    raw.once('end', done);
    raw.once('close', done);
  };
}
