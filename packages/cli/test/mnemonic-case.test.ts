/**
 * A seedphrase file typed with capitals and extra spaces (as a phone keyboard or a
 * careless editor leaves it) works in every command, and means the same account and the
 * same keys as the lower-case phrase (docs/FORMAT.md §5.2, §3.1). The real binary
 * against the real server.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { walletDigest } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';
import { noahWalletDir } from './crypto-helpers.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-case-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20 },
  });
});
afterAll(async () => {
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: srv.url } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number) : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

/** The phrase as a phone types it: first word capitalised, one in capitals, a double space. */
function phoneTyped(mnemonic: string): string {
  const w = mnemonic.split(' ');
  w[0] = w[0]!.charAt(0).toUpperCase() + w[0]!.slice(1);
  w[5] = w[5]!.toUpperCase();
  return `${w.slice(0, 6).join(' ')}  ${w.slice(6).join(' ')}\n`;
}

describe('a mnemonic file with capitals and extra spaces', () => {
  it('backs up, and the lower-case phrase lists, verifies and restores that backup', async () => {
    const mnemonic = generateMnemonic(wordlist);
    const typed = join(dir, 'typed.mnemonic');
    const plain = join(dir, 'plain.mnemonic');
    await writeFile(typed, phoneTyped(mnemonic), { mode: 0o600 });
    await writeFile(plain, `${mnemonic}\n`, { mode: 0o600 });
    const wallet = join(dir, 'wallet');
    expect((await cli(['demo-wallet', wallet, '--size-mb', '1'])).code).toBe(0);

    const backup = await cli([
      'backup',
      '--data',
      wallet,
      '--mnemonic-file',
      typed,
      '--state',
      join(dir, 'a'),
    ]);
    expect(backup.stderr).not.toMatch(/wordlist|not valid/);
    expect(backup.code).toBe(0);

    const as = ['--mnemonic-file', plain, '--state', join(dir, 'b')];
    const list = await cli(['list', '--json', ...as]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(1);
    expect((await cli(['verify', ...as])).code).toBe(0);
    const restored = join(dir, 'restored');
    expect((await cli(['restore', '--to', restored, ...as])).code).toBe(0);
    expect(await walletDigest(restored)).toBe(await walletDigest(wallet));
  });

  it('encrypt and decrypt: the typed and the lower-case phrase are one key, in every format', async () => {
    const mnemonic = generateMnemonic(wordlist);
    const typed = join(dir, 'typed2.mnemonic');
    const plain = join(dir, 'plain2.mnemonic');
    await writeFile(typed, phoneTyped(mnemonic), { mode: 0o600 });
    await writeFile(plain, `${mnemonic}\n`, { mode: 0o600 });
    const input = join(dir, 'in.bin');
    await writeFile(input, 'payload bytes');
    // noah-v1 takes a wallet directory and writes Noah's ZIP of it (docs/FORMAT.md §4.5).
    const wallet = noahWalletDir(join(dir, 'noah-wallet'));
    for (const format of ['v2', 'seed-v0', 'noah-v1']) {
      const out = join(dir, `out.${format}`);
      const back = join(dir, `back.${format}`);
      const src = format === 'noah-v1' ? wallet : input;
      const enc = await cli(['encrypt', '--format', format, '--mnemonic-file', typed, src, out]);
      expect(enc.stderr, format).toBe('');
      expect(enc.code, format).toBe(0);
      const dec = await cli(['decrypt', '--mnemonic-file', plain, out, back]);
      expect(dec.code, format).toBe(0);
      if (format === 'noah-v1')
        expect(Object.keys(unzipSync(await readFile(back)))).toContain(
          'backup_staging/noah-data-mainnet/db.sqlite',
        );
      else expect(await readFile(back, 'utf8')).toBe('payload bytes');
    }
  });
});
