/**
 * A long retry wait is said on stderr even without --verbose (a silent pause of many
 * seconds looks like a hang), a short one is not. Black box: the CLI talks to the real
 * server (sqlite + fs) through a proxy that answers the first `/v0/backup/list` with
 * 429 and a Retry-After, as a rate-limited server does.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

let srv: TestServer;
let proxy: Server;
let proxyUrl: string;
let dir: string;
/** Retry-After (seconds) of the next `/v0/backup/list`; null: pass it through. */
let refuseNextList: number | null = null;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-wait-'));
  srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
  const upstream = new URL(srv.url);
  proxy = createServer((req, res) => {
    if (req.url === '/v0/backup/list' && refuseNextList !== null) {
      const after = refuseNextList;
      refuseNextList = null;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(after) });
      res.end(JSON.stringify({ error: { code: 'rate_limited', message: 'slow down' } }));
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `noah-backup list` through the proxy; resolves with its exit code and stderr. */
async function list(extra: string[] = []): Promise<{ code: number | null; err: string }> {
  const file = join(dir, 'mnemonic');
  await writeFile(file, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [BIN, 'list', '--mnemonic-file', file, '--state', join(dir, 'state'), ...extra],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: proxyUrl },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => done({ code, err }));
  });
}

it('says so on stderr when the server asks it to wait several seconds, then succeeds', async () => {
  refuseNextList = 5;
  const run = await list();
  expect(run.code, run.err).toBe(0);
  expect(run.err).toBe('noah-backup: request failed, retrying (rate_limited); waiting 5 s\n');
  expect(refuseNextList).toBeNull(); // the proxy did refuse once
}, 60_000);

it('stays quiet about a short wait unless --verbose', async () => {
  refuseNextList = 1;
  const quiet = await list();
  expect(quiet).toEqual({ code: 0, err: '' });
  refuseNextList = 1;
  const verbose = await list(['--verbose']);
  expect(verbose.code, verbose.err).toBe(0);
  expect(verbose.err).toMatch(
    /^warn: request failed, retrying \{.*"delayMs":1000.*"rate_limited"/m,
  );
}, 60_000);
