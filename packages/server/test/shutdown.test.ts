/**
 * Bounded graceful stop (src/start.ts): the server started as `noah-backup serve` starts
 * it (SQLite + fs store in a temp DATA_DIR). A request in flight finishes and the stop
 * does not then wait for the keep-alive timeout; a download nobody reads any more is cut
 * at SHUTDOWN_TIMEOUT; the stores are closed last.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, type IncomingMessage, createServer, get } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FsBlobStore } from '../src/blob/fs.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logging.ts';
import { type RunningServer, startServer } from '../src/start.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function start(shutdownTimeout: string): Promise<{ server: RunningServer; logs: string[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'noah-shutdown-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SHUTDOWN_TIMEOUT: shutdownTimeout,
    SWEEP_INTERVAL: '0',
    MAX_BACKUP_SIZE: '64MiB',
  });
  const logs: string[] = [];
  const logger = createLogger({
    level: 'warn',
    destination: { write: (line: string) => void logs.push(line) },
  });
  const server = await startServer(config, { logger });
  cleanups.push(() => server.close());
  return { server, logs };
}

/** A stored object of `size` bytes and a signed GET URL for it. */
async function storedObject(server: RunningServer, size: number): Promise<string> {
  const fs = server.blobs as FsBlobStore;
  await mkdir(join(fs.dir, 'b'), { recursive: true });
  await writeFile(join(fs.dir, 'b', 'big'), Buffer.alloc(size, 7));
  return (await server.blobs.presignGet('b/big', { expiresInSec: 300 })).url;
}

/** Starts a keep-alive GET; resolves once the response headers are in. */
function download(url: string, agent: Agent): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, resolve).once('error', reject);
  });
}

/** Reads a response to its end (or until the connection is cut). */
function drain(res: IncomingMessage): Promise<{ bytes: number; complete: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    res.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    res.once('error', () => {});
    res.once('close', () => resolve({ bytes, complete: res.complete }));
  });
}

describe('graceful stop', () => {
  it('lets a download in flight finish, then closes its keep-alive connection', async () => {
    // A long deadline: the stop must end because the download ended, not at the deadline
    // (nor at Fastify's 72 s keep-alive timeout; the test would time out first).
    const { server, logs } = await start('10m');
    const size = 4 * 1024 * 1024;
    const url = await storedObject(server, size);
    const agent = new Agent({ keepAlive: true });
    cleanups.push(async () => agent.destroy());
    const res = await download(url, agent);
    expect(res.statusCode).toBe(200);
    const body = drain(res);
    const closed = server.close();
    expect(await body).toEqual({ bytes: size, complete: true });
    await closed;
    // No new connections once stopped.
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    expect(logs.join('')).not.toMatch(/shutdown deadline/);
    // The stores were closed after the app.
    await expect(server.metadata.ping()).rejects.toThrow();
  }, 20_000);

  it('cuts a download nobody reads any more at SHUTDOWN_TIMEOUT', async () => {
    const { server, logs } = await start('1');
    // Far more than the socket buffers hold, so the server is still writing.
    const size = 48 * 1024 * 1024;
    const url = await storedObject(server, size);
    const agent = new Agent({ keepAlive: true });
    cleanups.push(async () => agent.destroy());
    const res = await download(url, agent);
    expect(res.statusCode).toBe(200);
    const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
    res.pause(); // a client that stopped reading
    await server.close();
    // Reading again, the client finds the transfer cut short.
    const rest = drain(res);
    res.resume();
    const { bytes, complete } = await rest;
    expect(complete).toBe(false);
    expect(first.length + bytes).toBeLessThan(size);
    expect(logs.join('')).toMatch(/shutdown deadline; closing them/);
    await expect(server.metadata.ping()).rejects.toThrow();
  }, 20_000);

  it('answers a request still arriving while closing with the JSON 503 not_ready', async () => {
    const { server } = await start('10m');
    const size = 4 * 1024 * 1024;
    const url = new URL(await storedObject(server, size));
    const socket = connect(Number(url.port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    // A download under way when the stop starts; a second request follows on the same
    // connection (pipelined) after that.
    const host = `Host: ${url.host}\r\n`;
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\n${host}\r\n`);
    const chunks: Buffer[] = [];
    let closed: Promise<void> | undefined;
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (closed) return;
      closed = server.close();
      socket.write(`GET /health HTTP/1.1\r\n${host}\r\n`);
    });
    await new Promise((resolve) => socket.once('close', resolve));
    await closed;
    const answer = Buffer.concat(chunks).toString('latin1');
    expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
    const second = answer.slice(answer.indexOf('\r\n\r\n') + 4 + size);
    const [head, body] = second.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 503/);
    expect(head?.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(body ?? '')).toMatchObject({ code: 'not_ready' });
  });
});
