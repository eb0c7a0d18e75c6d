/**
 * A backup over the server's MAX_BACKUP_SIZE is refused before the upload, as soon as
 * its encrypted output passes the limit (the CLI learns the limit from the server's
 * settings first), in one line with the limit in MiB and a hint naming MAX_BACKUP_SIZE;
 * the backups on the server are kept. Black box against the real server (sqlite + fs)
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

it('stops at the limit, before upload_url, and says what to change', async () => {
  await writeFile(join(dir, 'm.txt'), `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  const as = ['--mnemonic-file', 'm.txt', '--state', 'state'];
  const settings = await cli(['settings', '--json', ...as]);
  expect(JSON.parse(settings.stdout)).toMatchObject({ max_backup_size: LIMIT });

  await createDemoWallet(join(dir, 'small'), { sizeMb: 0.2 });
  expect((await cli(['backup', '--data', 'small', ...as])).code).toBe(0);
  const listed = (await cli(['list', '--json', ...as])).stdout;
  const issued = await uploadUrlsIssued();
  expect(issued).toBeGreaterThan(0);

  await createDemoWallet(join(dir, 'big'), { sizeMb: 12 });
  const r = await cli(['backup', '--data', 'big', ...as]);
  expect(r.code, r.stderr).toBe(1);
  const [line, hint, ...rest] = r.stderr.split('\n').filter(Boolean);
  expect(rest).toEqual([]);
  expect(line).toMatch(
    /^noah-backup: error: the backup is larger than the server's limit of 1\.0 MiB: stopped after encrypting [\d.]+ MiB of [\d.]+ MiB of wallet data; nothing was uploaded \[backup_too_large\]$/,
  );
  const [read, total] = [...line!.matchAll(/([\d.]+) MiB of/g)].map((m) => Number(m[1]));
  expect(read).toBeLessThan(total! / 2); // it stopped early, not after all the work
  expect(hint).toBe(
    'hint: the backups on the server are kept; its operator can raise MAX_BACKUP_SIZE (now 1 MiB), e.g. MAX_BACKUP_SIZE=64MiB, and restart the server',
  );
  expect(await uploadUrlsIssued()).toBe(issued);
  expect((await cli(['list', '--json', ...as])).stdout).toBe(listed);
  expect((await readdir(dir)).filter((n) => n.startsWith('noah-'))).toEqual([]); // no spool left
});
