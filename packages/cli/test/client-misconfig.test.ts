/**
 * Misconfigurations get one line, a code, the right exit code and a hint, through the
 * real `noah-backup` binary: a `--server` of another scheme, a `TMPDIR` that is a file,
 * and a file-system error the classifier maps to a code (the mapped line is printed,
 * never the raw errno text).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fail } from '../src/commands/client-run.ts';
import { type Run, useCliServer } from './client-helpers.ts';

const h = useCliServer('noah-cli-misconfig-');
const { cli } = h;
let mnemonicFile: string;
beforeAll(async () => {
  mnemonicFile = join(h.dir, 'm.txt');
  await fsp.writeFile(mnemonicFile, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  await createDemoWallet(join(h.dir, 'w'), { sizeMb: 1, seed: 71 });
});

/** The one error line, its code in brackets, and the hint. */
function expectError(r: Run, exit: number, code: string, line: RegExp, hint: RegExp) {
  expect(r.code, r.stderr).toBe(exit);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^noah-backup: error: .*\\[${code}\\]$`));
  expect(lines[0]).toMatch(line);
  expect(lines[1]).toMatch(hint);
}

const common = () => ['--mnemonic-file', mnemonicFile, '--state', join(h.dir, 'state')];

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
    const file = join(h.dir, 'not-a-dir');
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
      fail({ server: 'http://localhost:8080', state: h.dir }, raw);
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
