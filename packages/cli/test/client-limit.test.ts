/**
 * A backup over the server's MAX_BACKUP_SIZE is refused before the upload (the CLI
 * learns the limit from the server's settings first): before the snapshot when an
 * estimate puts it clearly over, else as soon as its encrypted output passes the limit;
 * in one line with the limit in MiB and a hint naming MAX_BACKUP_SIZE. The backups on
 * the server are kept. Black box against the real server (sqlite + fs)
 * with a 1 MiB limit.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');
const LIMIT = 2 ** 20;

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-limit-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: LIMIT },
  });
});
afterAll(async () => {
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: dir, NOAH_SERVER: srv.url },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

/** How many upload URLs the server has handed out. */
async function uploadUrlsIssued(): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  return Number(/^noah_upload_urls_issued_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

let as: string[];
let listed: string;
let issued: number;

it('the server says its limit; a backup under it succeeds', async () => {
  await writeFile(join(dir, 'm.txt'), `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  as = ['--mnemonic-file', 'm.txt', '--state', 'state'];
  const settings = await cli(['settings', '--json', ...as]);
  expect(JSON.parse(settings.stdout)).toMatchObject({ max_backup_size: LIMIT });
  await createDemoWallet(join(dir, 'small'), { sizeMb: 0.2 });
  expect((await cli(['backup', '--data', 'small', ...as])).code).toBe(0);
  listed = (await cli(['list', '--json', ...as])).stdout;
  issued = await uploadUrlsIssued();
  expect(issued).toBeGreaterThan(0);
});

/** The error line and the hint of a refused backup; the server and temp dir as before. */
async function refused(data: string): Promise<{ line: string; hint: string }> {
  const r = await cli(['backup', '--data', data, ...as]);
  expect(r.code, r.stderr).toBe(1);
  const [line, hint, ...rest] = r.stderr.split('\n').filter(Boolean);
  expect(rest).toEqual([]);
  expect(await uploadUrlsIssued()).toBe(issued);
  expect((await cli(['list', '--json', ...as])).stdout).toBe(listed);
  expect((await readdir(dir)).filter((n) => n.startsWith('noah-'))).toEqual([]); // no spool left
  return { line: line!, hint: hint! };
}

it('clearly over the limit: refused before the snapshot, with what to change', async () => {
  await createDemoWallet(join(dir, 'big'), { sizeMb: 12 });
  const { line, hint } = await refused('big');
  expect(line).toMatch(
    /^noah-backup: error: the backup is larger than the server's limit of 1\.0 MiB: estimated at [\d.]+ MiB from [\d.]+ MiB of wallet data, before the snapshot; nothing was uploaded \[backup_too_large\]$/,
  );
  expect(hint).toBe(
    'hint: the backups on the server are kept; its operator can raise MAX_BACKUP_SIZE (now 1 MiB), e.g. MAX_BACKUP_SIZE=64MiB, and restart the server',
  );
});

it('near the limit: the encryption stops when its output passes it', async () => {
  await createDemoWallet(join(dir, 'near'), { sizeMb: 3 });
  const { line } = await refused('near');
  expect(line).toMatch(
    /^noah-backup: error: the backup is larger than the server's limit of 1\.0 MiB: stopped after encrypting [\d.]+ MiB of [\d.]+ MiB of wallet data; nothing was uploaded \[backup_too_large\]$/,
  );
  // Stopped by the client at the limit (no upload_url asked, see `refused`); on a wallet
  // this small the compressor has taken all its input by then, a large one stops early.
  const [read, total] = [...line.matchAll(/([\d.]+) MiB of/g)].map((m) => Number(m[1]));
  expect(read).toBeLessThanOrEqual(total!);
});
