/**
 * A server out of storage space (507 `storage_full`, docs/API.md "Errors") is a server
 * problem the user can only wait out: `noah-backup backup` exits 4 with a hint that says
 * so, and nothing on the server changes. Black box against the real server (sqlite + fs)
 * with a tiny MAX_TOTAL_STORAGE.
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

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-full-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20, maxTotalStorage: 1000 },
  });
});
afterAll(async () => {
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: srv.url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => done({ code, err }));
  });
}

it('backup against a full server exits 4 with a hint, and stores nothing', async () => {
  const file = join(dir, 'mnemonic');
  await writeFile(file, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  await createDemoWallet(join(dir, 'wallet'), { sizeMb: 1 });
  const r = await run(['backup', '--data', 'wallet', '--mnemonic-file', file]);
  expect(r.code, r.err).toBe(4);
  expect(r.err).toMatch(/storage/i);
  expect(r.err).toMatch(/out of storage space/);
  expect(await srv.metadata.storageUsage(srv.clock.now())).toEqual({
    backupBytes: 0,
    pendingBytes: 0,
  });
}, 60_000);
