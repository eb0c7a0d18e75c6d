/**
 * Ctrl-C (SIGINT) or SIGTERM in the middle of `restore` or `backup`: the command stops,
 * removes what it had written (the restore's hidden staging directory holding the
 * decrypted wallet; the backup's spool file and snapshot copies in the temp directory),
 * says so in one line and exits 130 / 143. A run killed outright (SIGKILL) cannot clean
 * up: the next command of any kind removes its temp files. Black box against the real
 * server (sqlite + fs); a preloaded shim (fixtures/stall-network.mjs) holds the network
 * at a known point so that each signal lands there.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDemoWallet, walletDigest } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');
const SHIM = resolve(import.meta.dirname, 'fixtures/stall-network.mjs');

let srv: TestServer;
let dir: string;
let tmp: string;
let as: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-interrupt-'));
  tmp = join(dir, 'tmp');
  await mkdir(tmp);
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20 },
  });
  const file = join(dir, 'm.txt');
  await writeFile(file, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  as = ['--mnemonic-file', file, '--state', join(dir, 'state')];
  await createDemoWallet(join(dir, 'w'), { sizeMb: 2, seed: 31 });
  const first = await cli(['backup', '--data', 'w', ...as]);
  expect(first.code, first.stderr).toBe(0);
});
afterAll(async () => {
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  HOME: dir,
  TMPDIR: tmp,
  NOAH_SERVER: srv.url,
  ...extra,
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, env: env(), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

/** Starts the CLI with the network stalling at `stall`; resolves once it has stalled. */
async function stalled(args: string[], stall: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', SHIM, BIN, ...args], {
    cwd: dir,
    env: env({ NOAH_TEST_STALL: stall }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((ok, fail) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(`stalled ${stall.split(':')[0]}`)) ok();
    });
    child.once('exit', (code) => fail(new Error(`exited ${code} before stalling: ${err}`)));
  });
  return child;
}

/** Sends `signal`; resolves with the exit code and what came on stderr afterwards. */
function signalled(child: ChildProcess, signal: NodeJS.Signals) {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((ok) =>
    child.once('exit', (code) => ok({ code, stderr: err })),
  );
  child.kill(signal);
  return exit;
}

/** Names a run leaves while it works (staging, old copies, temp files). */
const leftovers = async (inDir: string) =>
  (await readdir(inDir)).filter((n) => /noah-(staging|old|verify|snapshot|spool)/.test(n));

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s', (signal, exit) => {
  it(`during a restore: exit ${exit}, no staging directory, the old wallet in place`, async () => {
    const target = join(dir, `dst-${signal}`);
    await createDemoWallet(target, { sizeMb: 1, seed: 32 });
    const old = await walletDigest(target);
    const child = await stalled(['restore', '--to', `dst-${signal}`, ...as], 'get:65536');
    await until(async () => (await leftovers(dir)).length > 0, 'the staging directory');
    const r = await signalled(child, signal);
    expect(r.code, r.stderr).toBe(exit);
    expect(r.stderr).toBe(`noah-backup: interrupted (${signal}); nothing changed\n`);
    expect(await leftovers(dir)).toEqual([]);
    expect(await walletDigest(target)).toBe(old);
  });

  it(`during a backup's upload: exit ${exit}, no spool file or snapshot copies`, async () => {
    const listed = (await cli(['list', '--json', ...as])).stdout;
    const child = await stalled(['backup', '--data', 'w', '--one-object', ...as], 'put:65536');
    expect((await leftovers(tmp)).length).toBeGreaterThan(0); // the spool, being uploaded
    const r = await signalled(child, signal);
    expect(r.code, r.stderr).toBe(exit);
    expect(r.stderr).toBe(`noah-backup: interrupted (${signal}); nothing changed\n`);
    expect(await leftovers(tmp)).toEqual([]);
    expect((await cli(['list', '--json', ...as])).stdout).toBe(listed);
  });
});

it('after a backup killed outright, the next command of any kind removes its temp files', async () => {
  const child = await stalled(['backup', '--data', 'w', '--one-object', ...as], 'put:65536');
  const exit = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGKILL');
  await exit;
  expect((await leftovers(tmp)).length).toBeGreaterThan(0);
  const list = await cli(['list', ...as]);
  expect(list.code, list.stderr).toBe(0);
  expect(await leftovers(tmp)).toEqual([]);
});
