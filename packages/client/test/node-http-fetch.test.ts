/**
 * nodeFetch (node:http transport) against real loopback servers: the shapes the SDK
 * sends and reads, streamed bodies with backpressure, aborts, errors without URLs,
 * connections given back or closed, a process that exits with an idle keep-alive
 * connection, and the ApiClient and BackupManager over it against the real server.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fromBytes } from '@noah-backup/core/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiClient } from '../src/api-client.ts';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { AbortedError, NetworkError } from '../src/errors.ts';
import type { FetchResponse } from '../src/http.ts';
import { createSessionKeys } from '../src/keys.ts';
import { nodeFetch } from '../src/node/http-fetch.ts';
import { newMnemonic, openDevice, startTestServer } from './helpers/device.ts';

type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0))
    await new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
});

/** A raw node:http server on a loopback port (the handler reads the body itself). */
async function serve(handler: RawHandler): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function readAll(res: FetchResponse): Promise<Buffer> {
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const r = await reader.read();
    if (r.done || !r.value) break;
    parts.push(r.value);
  }
  return Buffer.concat(parts);
}

/** A pull-based stream of `total` random bytes in `chunk`-byte pieces, counting pulls. */
function source(total: number, chunk = 64 * 1024) {
  const bytes = randomBytes(total);
  const s = { bytes, pulled: 0, cancelled: false, stream: undefined as never as ReadableStream };
  s.stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (s.pulled >= total) return c.close();
      const end = Math.min(total, s.pulled + chunk);
      c.enqueue(new Uint8Array(bytes.subarray(s.pulled, end)));
      s.pulled = end;
    },
    cancel() {
      s.cancelled = true;
    },
  });
  return s;
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('nodeFetch', () => {
  it('sends a JSON request and reads status, headers and text', async () => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const { url } = await serve(async (req, res) => {
      seen = { method: req.method, headers: req.headers, body: (await readBody(req)).toString() };
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'content-type': 'application/json', 'X-Request-Id': 'r-1' });
      res.end(JSON.stringify({ ok: 'é' }));
    });
    const res = await nodeFetch(`${url}/v0/x?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: JSON.stringify({ a: 'ü' }),
    });
    expect(seen.method).toBe('POST');
    expect(seen.body).toBe('{"a":"ü"}');
    expect(seen.headers?.['content-length']).toBe(String(Buffer.byteLength('{"a":"ü"}')));
    expect(seen.headers?.authorization).toBe('Bearer t');
    expect(res.ok).toBe(true);
    expect(res.status).toBe(201);
    expect(res.headers.get('X-REQUEST-ID')).toBe('r-1');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(res.headers.get('x-absent')).toBeNull();
    expect(JSON.parse(await res.text())).toEqual({ ok: 'é' });
    await expect(res.text()).rejects.toThrow(TypeError);
  });

  it('answers error statuses and never follows a redirect', async () => {
    const { url, server } = await serve((req, res) => {
      if (req.url === '/gone') {
        res.writeHead(404);
        return res.end('<Error><Code>NoSuchKey</Code></Error>');
      }
      res.writeHead(302, { location: '/gone' });
      res.end();
    });
    let requests = 0;
    server.on('request', () => requests++);
    const notFound = await nodeFetch(`${url}/gone`);
    expect([notFound.ok, notFound.status]).toEqual([false, 404]);
    expect(await notFound.text()).toContain('NoSuchKey');
    const moved = await nodeFetch(`${url}/old`, { redirect: 'error' });
    expect([moved.ok, moved.status, moved.headers.get('location')]).toEqual([false, 302, '/gone']);
    expect(new Uint8Array(await moved.arrayBuffer())).toHaveLength(0);
    expect(requests).toBe(2);
  });

  it('streams an upload with the exact Content-Length, not chunked, and with backpressure', async () => {
    const total = 24 * 2 ** 20;
    const src = source(total);
    let paused: () => void = () => {};
    // The handler may start late on a loaded machine: resuming it before it waits would
    // leave it waiting forever, so the test first waits for it to be there.
    let entered: () => void = () => {};
    const inHandler = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let got: { headers?: IncomingMessage['headers']; body?: Buffer } = {};
    const { url } = await serve(async (req, res) => {
      // Reads nothing for a while: the client must stop pulling the source.
      await new Promise<void>((resolve) => {
        paused = resolve;
        entered();
      });
      got = { headers: req.headers, body: await readBody(req) };
      res.writeHead(200);
      res.end();
    });
    const pending = nodeFetch(`${url}/put`, {
      method: 'PUT',
      headers: { 'content-length': String(total) },
      body: src.stream,
      duplex: 'half',
    });
    await inHandler;
    await new Promise((r) => setTimeout(r, 300));
    expect(src.pulled).toBeLessThan(total / 2); // bounded by socket buffers, not the file
    paused();
    const res = await pending;
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(got.headers?.['content-length']).toBe(String(total));
    expect(got.headers?.['transfer-encoding']).toBeUndefined();
    expect(got.body?.equals(src.bytes)).toBe(true);
  });

  it('stops an upload the server answered before reading it all', async () => {
    const total = 256 * 2 ** 20;
    const src = source(total);
    const { url } = await serve((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code></Error>');
    });
    const res = await nodeFetch(url, {
      method: 'PUT',
      headers: { 'content-length': String(total) },
      body: src.stream,
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('AccessDenied');
    await until(() => src.cancelled);
    expect(src.pulled).toBeLessThan(total);
  });

  it('sends Blob and byte bodies with their length', async () => {
    const bodies: { len?: string; body: Buffer }[] = [];
    const { url } = await serve(async (req, res) => {
      bodies.push({ len: req.headers['content-length'], body: await readBody(req) });
      res.end();
    });
    const data = randomBytes(100_000);
    await (await nodeFetch(url, { method: 'PUT', body: new Blob([new Uint8Array(data)]) })).text();
    await (await nodeFetch(url, { method: 'PUT', body: new Uint8Array(data) })).text();
    expect(bodies.map((b) => b.body.equals(data))).toEqual([true, true]);
    expect(bodies.map((b) => b.len)).toEqual(['100000', '100000']);
  });

  it('reads a download through a reader or whole, and a 206 answer to Range', async () => {
    const data = randomBytes(1_000_000);
    const { url } = await serve((req, res) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      res.writeHead(start > 0 ? 206 : 200, {
        'content-length': String(data.length - start),
        ...(start > 0
          ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` }
          : {}),
      });
      res.end(data.subarray(start));
    });
    expect((await readAll(await nodeFetch(url))).equals(data)).toBe(true);
    const whole = await (await nodeFetch(url)).arrayBuffer();
    expect(Buffer.from(whole).equals(data)).toBe(true);
    const ranged = await nodeFetch(url, { headers: { range: 'bytes=1000-' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 1000-999999/${data.length}`);
    expect(ranged.headers.get('content-length')).toBe('999000');
    expect((await readAll(ranged)).equals(data.subarray(1000))).toBe(true);
  });

  it('reuses one connection for requests in turn, and closes one whose body was cancelled', async () => {
    const data = randomBytes(4 * 2 ** 20);
    const { url, server } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(data.length) });
      res.end(data);
    });
    let connections = 0;
    let closed = 0;
    server.on('connection', (s) => {
      connections++;
      s.on('close', () => closed++);
    });
    await (await nodeFetch(url)).arrayBuffer();
    await (await nodeFetch(url)).arrayBuffer();
    expect(connections).toBe(1);
    const reader = (await nodeFetch(url)).body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => closed === 1);
  });

  it('an abort mid-download errors the body and closes the connection', async () => {
    let closed = false;
    const { url } = await serve((req, res) => {
      req.socket.on('close', () => (closed = true));
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000));
    });
    const ac = new AbortController();
    const reader = (await nodeFetch(url, { signal: ac.signal })).body!.getReader();
    await reader.read();
    ac.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => closed);
  });

  it('an abort mid-upload rejects, destroys the request and cancels the source', async () => {
    let [received, closed] = [0, false];
    const { url } = await serve((req) => {
      req.on('data', (c: Buffer) => (received += c.length)); // never answers
      req.socket.on('close', () => (closed = true));
    });
    const src = source(64 * 2 ** 20);
    const ac = new AbortController();
    const pending = nodeFetch(url, {
      method: 'PUT',
      headers: { 'content-length': String(64 * 2 ** 20) },
      body: src.stream,
      signal: ac.signal,
    });
    await until(() => received > 2 ** 20);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => closed && src.cancelled);
    expect(received).toBeLessThan(64 * 2 ** 20);
    await expect(nodeFetch(url, { signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('a refused connection rejects with its system code and without the URL', async () => {
    const { url, server } = await serve(() => {});
    servers.pop();
    await new Promise((r) => server.close(r));
    const err = await nodeFetch(`${url}/put?X-Sig=SECRETSIG`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    const port = new URL(url).port;
    expect(`${(err as Error).message} ${(err as Error).stack}`).not.toMatch(
      new RegExp(`SECRETSIG|${port}`),
    );
    await expect(nodeFetch('ftp://x/y?SECRETSIG')).rejects.toThrow(/^unsupported URL scheme/);
    await expect(nodeFetch('not a url SECRETSIG')).rejects.toThrow(/^invalid URL$/);
  });
});

const SQLITE_FS = { metadataKind: 'sqlite', blobKind: 'fs' } as const;

describe('the SDK over nodeFetch', () => {
  const signer = { linkingKey: '02'.padEnd(66, '0'), signK1: () => '' };

  it('aborts a download and an upload with AbortedError, and refusal is a NetworkError', async () => {
    const { url } = await serve((req, res) => {
      if (req.method === 'PUT') return; // reads nothing, never answers
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000));
    });
    const api = createApiClient({ baseUrl: url, signer, fetch: nodeFetch, sleep: async () => {} });
    const ac = new AbortController();
    const chunks = api.download(
      { download_url: `${url}/get?sig=SECRET`, backup_size: 1_000_000 },
      { signal: ac.signal },
    );
    const down = (async () => {
      for await (const _ of chunks) ac.abort();
    })();
    await expect(down).rejects.toBeInstanceOf(AbortedError);

    const up = new AbortController();
    const src = source(64 * 2 ** 20);
    const blob = { size: 64 * 2 ** 20, open: () => fromBytes(src.bytes), cleanup: async () => {} };
    const target = {
      upload_url: `${url}/put?X-Sig=SECRETSIG`,
      upload_headers: {},
      s3_key: 'k',
      backup_version: 1 as const,
      expires_at: '2030-01-01T00:00:00Z',
    };
    const pending = api.upload(target, blob, { signal: up.signal });
    setTimeout(() => up.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);

    const { url: dead, server } = await serve(() => {});
    servers.pop();
    await new Promise((r) => server.close(r));
    const offline = createApiClient({
      baseUrl: dead,
      signer,
      fetch: nodeFetch,
      retry: { maxAttempts: 1 },
    });
    const err = await offline.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ code: 'network_error', detail: 'ECONNREFUSED' });
    expect((err as Error).message).not.toContain(new URL(dead).port);
  });

  it('logs in, uploads, lists and downloads against the real server', async () => {
    const srv = await startTestServer({ ...SQLITE_FS, config: { maxBackupSize: 2 ** 24 } });
    const keys = await createSessionKeys(newMnemonic(), srv.url);
    try {
      const api = createApiClient({ baseUrl: srv.url, signer: keys.signer, fetch: nodeFetch });
      await api.login();
      const bytes = new Uint8Array(randomBytes(3 * 2 ** 20 + 17));
      const target = await api.uploadUrl({ backup_size: bytes.length });
      await api.upload(target, {
        size: bytes.length,
        open: () => fromBytes(bytes, 65536),
        cleanup: async () => {},
      });
      await api.completeUpload({
        s3_key: target.s3_key,
        backup_version: target.backup_version,
        backup_size: bytes.length,
      });
      expect((await api.list()).map((b) => b.backup_size)).toEqual([bytes.length]);
      const d = await api.downloadUrl();
      const parts: Uint8Array[] = [];
      for await (const c of api.download(d)) parts.push(c);
      expect(Buffer.concat(parts).equals(bytes)).toBe(true);
      expect(await api.downloadPrefix(d, 10)).toEqual(bytes.subarray(0, 10));
    } finally {
      keys.destroy();
      await srv.close();
    }
  });

  it('backs up and restores a wallet through the BackupManager', async () => {
    const srv = await startTestServer({ ...SQLITE_FS, config: { maxBackupSize: 2 ** 24 } });
    const root = await mkdtemp(join(tmpdir(), 'noah-nodefetch-'));
    const mnemonic = newMnemonic();
    const a = await openDevice(srv.url, { root: join(root, 'a'), mnemonic, fetch: nodeFetch });
    const b = await openDevice(srv.url, { root: join(root, 'b'), mnemonic, fetch: nodeFetch });
    try {
      await createDemoWallet(a.walletDir, { sizeMb: 1 });
      expect(await a.manager.triggerBackup()).toMatchObject({ sequence: 1n });
      expect(await b.manager.restoreBackup()).toMatchObject({ sequence: 1n });
      expect(await walletDigest(b.walletDir)).toBe(await walletDigest(a.walletDir));
    } finally {
      a.close();
      b.close();
      await srv.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('lets the process exit at once with an idle keep-alive connection', async () => {
    const { url, server } = await serve((_req, res) => res.end('{}'));
    server.keepAliveTimeout = 60_000;
    const mod = new URL('../src/node/http-fetch.ts', import.meta.url).pathname;
    const script = `const { nodeFetch } = await import(${JSON.stringify(mod)});
      await (await nodeFetch(${JSON.stringify(url)})).text();
      await (await nodeFetch(${JSON.stringify(url)})).text();
      console.log('done');`;
    const started = Date.now();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 20_000 },
    );
    expect(stdout.trim()).toBe('done');
    expect(Date.now() - started).toBeLessThan(10_000); // the server would hold it 60 s
  });
});
