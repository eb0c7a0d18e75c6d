/**
 * Misconfigurations get one line, a code, the right exit code and a hint, through the
 * real `noah-backup` binary: a `--server` of another scheme, a `TMPDIR` that is a file,
 * and a file-system error the classifier maps to a code (the mapped line is printed,
 * never the raw errno text).
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fail } from '../src/commands/client-run.ts';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let srv: TestServer;
let dir: string;
let mnemonicFile: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'noah-cli-misconfig-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 16 * 2 ** 20 },
  });
  const mnemonic = generateMnemonic(wordlist);
  mnemonicFile = join(dir, 'm.txt');
  await fsp.writeFile(mnemonicFile, `${mnemonic}\n`, { mode: 0o600 });
  await createDemoWallet(join(dir, 'w'), { sizeMb: 1, seed: 71 });
});
afterAll(async () => {
  await srv?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Runs the CLI to the end with `env` added. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: srv.url, ...env },
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

/** The one error line, its code in brackets, and the hint. */
function expectError(r: Run, exit: number, code: string, line: RegExp, hint: RegExp) {
  expect(r.code, r.stderr).toBe(exit);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^noah-backup: error: .*\\[${code}\\]$`));
  expect(lines[0]).toMatch(line);
  expect(lines[1]).toMatch(hint);
}

const common = () => ['--mnemonic-file', mnemonicFile, '--state', join(dir, 'state')];

describe('misconfigurations', () => {
  it('--server ftp://host: exit 2, the hint names http and https', async () => {
    const r = await cli(['list', '--server', 'ftp://backup.example:8080', ...common()]);
    expectError(
      r,
      2,
      'usage',
      /must be an http:\/\/ or https:\/\/ URL/,
      /^hint: .*--server http:\/\/backup\.example:8080 .*https:\/\/backup\.example:8080/,
    );
  });

  it('TMPDIR naming a file: one line naming TMPDIR, exit 2', async () => {
    const file = join(dir, 'not-a-dir');
    await fsp.writeFile(file, 'x');
    for (const cmd of [['backup', '--data', 'w'], ['verify']]) {
      const r = await cli([...cmd, ...common()], { TMPDIR: file });
      expectError(
        r,
        2,
        'not_a_directory',
        /not-a-dir \(TMPDIR\) is a file, not a directory/,
        /^hint: TMPDIR/,
      );
      expect(r.stderr).not.toMatch(/EEXIST|ENOTDIR/);
    }
  });

  it('a file-system error mapped to a code prints the mapped line, not the errno text', () => {
    const raw = Object.assign(new Error("ENOENT: no such file or directory, open '/gone/x'"), {
      code: 'ENOENT',
      errno: -2,
      syscall: 'open',
      path: '/gone/x',
    });
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const exitCode = process.exitCode;
    try {
      fail({ server: 'http://localhost:8080', state: dir }, raw);
      expect(process.exitCode).toBe(2);
    } finally {
      write.mockRestore();
      process.exitCode = exitCode;
    }
    expect(written[0]).toBe(
      'noah-backup: error: cannot read /gone/x: no such file [file_not_found]\n',
    );
    expect(written.join('')).not.toContain('ENOENT');
  });
});
