/**
 * Background transfers (`src/ports/transfer.ts`) behind the SDK's transfer seam: the
 * SDK's own `putBlob` / `getBlob` with `createBackgroundFetch` as their `fetch`, over
 * the stand-in of expo-file-system's upload and download tasks (`ports/expo-stand-in.ts`),
 * against a loopback store: a spooled file goes up as an upload task of the file with
 * its exact length, an object comes down through a download task, whole and checked,
 * leaving no file behind; the API's JSON calls go to the fallback `fetch`.
 */
import { createServer, type Server } from 'node:http';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '@noah-backup/core/clock';
import { fromBytes } from '@noah-backup/core/stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../client/src/retry.ts';
import { DEFAULT_TRANSFER_TIMEOUTS, getBlob, putBlob } from '../../client/src/transfer.ts';
import { tempDir } from '../../client/test/fixtures/node-helpers.ts';
import { expoFiles } from '../src/ports/expo-files.ts';
import { createRnSpooler } from '../src/ports/spool.ts';
import { createBackgroundFetch, expoBlob } from '../src/ports/transfer.ts';
import { expoStandIn, taskLog } from './ports/expo-stand-in.ts';

const files = expoFiles(expoStandIn);
let server: Server;
let base: string;
let stored: Buffer | null;
const lengths: (string | undefined)[] = [];

beforeEach(async () => {
  stored = null;
  taskLog.length = 0;
  lengths.length = 0;
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      if (req.url?.startsWith('/object') && req.method === 'PUT') {
        lengths.push(req.headers['content-length']);
        stored = Buffer.concat(parts);
        res.writeHead(200).end();
      } else if (req.url?.startsWith('/object') && req.method === 'GET' && stored) {
        res.writeHead(200, { 'content-length': stored.length }).end(stored);
      } else if (req.url === '/v1/hello') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":true}');
      } else res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterEach(() => new Promise<void>((r) => server.close(() => r())));

it('uploads the spooled file as a task, downloads through a task, and leaves nothing', async () => {
  const root = await tempDir();
  const tmpDir = join(root, 'downloads');
  let fallbacks = 0;
  const fetch = createBackgroundFetch({
    fs: expoStandIn,
    files,
    tmpDir,
    fallback: async (url, init) => {
      fallbacks++;
      return globalThis.fetch(url, init as RequestInit);
    },
  });
  const deps = { fetch, clock: systemClock, timeouts: DEFAULT_TRANSFER_TIMEOUTS };
  const data = new Uint8Array(700_001).map((_, i) => (i * 7) & 0xff);
  const spooler = createRnSpooler(files, join(root, 'spool'), { blobOf: expoBlob(expoStandIn) });
  const blob = await spooler.spool(fromBytes(data, 65_536));
  const progress: number[] = [];
  await putBlob(deps, { url: `${base}/object?X-Sig=S`, headers: {} }, blob, {
    onProgress: (n) => progress.push(n),
  });
  await blob.cleanup();
  expect(taskLog).toEqual(['upload PUT']);
  expect(lengths).toEqual([String(data.length)]);
  expect(stored?.equals(data)).toBe(true);
  expect(progress.at(-1)).toBe(data.length);

  const got: Uint8Array[] = [];
  const retry = { policy: DEFAULT_RETRY_POLICY, sleep: async () => {}, random: () => 0 };
  for await (const chunk of getBlob(
    deps,
    { url: `${base}/object?X-Sig=S`, size: data.length },
    { retry },
  ))
    got.push(chunk);
  expect(taskLog).toEqual(['upload PUT', 'download']);
  expect(Buffer.concat(got).equals(data)).toBe(true);
  expect(await fsp.readdir(tmpDir)).toEqual([]);
  expect(await fsp.readdir(join(root, 'spool'))).toEqual([]);

  const hello = await fetch(`${base}/v1/hello`, { method: 'POST', body: '{}' });
  expect(await hello.text()).toBe('{"hello":true}');
  expect(fallbacks).toBe(1);
});

it('a refused upload or download is the store status, and leaves no file', async () => {
  const root = await tempDir();
  const tmpDir = join(root, 'downloads');
  const fetch = createBackgroundFetch({
    fs: expoStandIn,
    files,
    tmpDir,
    fallback: globalThis.fetch,
  });
  const deps = { fetch, clock: systemClock, timeouts: DEFAULT_TRANSFER_TIMEOUTS };
  const spooler = createRnSpooler(files, join(root, 'spool'), { blobOf: expoBlob(expoStandIn) });
  const blob = await spooler.spool(fromBytes(new Uint8Array(10)));
  await expect(
    putBlob(deps, { url: `${base}/expired?X-Sig=S`, headers: {} }, blob),
  ).rejects.toMatchObject({ status: 403 });
  await blob.cleanup();
  const retry = {
    policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 },
    sleep: async () => {},
    random: () => 0,
  };
  const reading = getBlob(deps, { url: `${base}/expired?X-Sig=S`, size: 10 }, { retry });
  await expect(reading.next()).rejects.toMatchObject({ status: 403 });
  expect(await fsp.readdir(tmpDir)).toEqual([]);
  // The store's refusal is what the SDK sees: an expired URL gets a fresh one at once.
  await fetch(`${base}/object?X-Sig=S`, { method: 'PUT', body: new Uint8Array(10).fill(7) });
  const refreshed: Uint8Array[] = [];
  const refresh = async () => `${base}/object?X-Sig=NEW`;
  for await (const c of getBlob(
    deps,
    { url: `${base}/expired?X-Sig=S`, size: 10 },
    { retry, refresh },
  ))
    refreshed.push(c);
  expect(Buffer.concat(refreshed)).toEqual(Buffer.alloc(10, 7));
  expect(await fsp.readdir(tmpDir)).toEqual([]);
});
