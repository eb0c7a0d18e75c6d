/**
 * Client commands exit as soon as their work is done, even though the server keeps
 * their connections open: the CLI's transport (client/src/node/http-fetch.ts) leaves
 * idle keep-alive sockets unreferenced. Black box against the real server (sqlite + fs)
 * whose keep-alive timeout is raised to minutes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');
/** How long the server keeps an idle connection open. */
const KEEP_ALIVE_MS = 120_000;

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-exit-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20 },
  });
  srv.app.server.keepAliveTimeout = KEEP_ALIVE_MS;
});
afterAll(async () => {
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the CLI; resolves with its exit code and how long it lived on after its last
 * output (a held socket shows there: Node's agent drops an idle one after 5 s).
 */
function timed(args: string[]): Promise<{ code: number | null; lingerMs: number; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: srv.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let last = Date.now();
    let err = '';
    child.stdout.on('data', () => (last = Date.now()));
    child.stderr.on('data', (d: Buffer) => {
      last = Date.now();
      err += d.toString();
    });
    child.once('exit', (code) => done({ code, lingerMs: Date.now() - last, err }));
  });
}

it('backup, list and restore exit at once, with the server holding their connections open', async () => {
  const file = join(dir, 'mnemonic');
  await writeFile(file, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  await createDemoWallet(join(dir, 'wallet'), { sizeMb: 1 });
  const user = ['--mnemonic-file', file, '--state', join(dir, 'state')];
  for (const args of [
    ['backup', '--data', 'wallet', ...user],
    ['list', ...user],
    ['restore', '--to', 'restored', ...user],
  ]) {
    const run = await timed(args);
    expect(run.code, run.err).toBe(0);
    expect(run.lingerMs).toBeLessThan(2500);
  }
}, 90_000);
