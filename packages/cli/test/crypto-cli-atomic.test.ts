/**
 * `noah-backup decrypt` never leaves output behind: every negative test vector of
 * testdata/ is rejected with the right exit code and no OUT or temp file, an interrupted
 * run (SIGINT, SIGTERM) leaves nothing either, and the progress bar appears only on a
 * terminal.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, data, ls, MNEMONIC, noahWalletDir, TESTDATA } from './crypto-helpers.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'noah-crypto-atomic-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface VectorRecord {
  name: string;
  format: string;
  expect: string;
  mnemonic: string;
  blob_file: string;
  max_plaintext_bytes?: number;
}

const EXIT: Record<string, number> = {
  decryption_failed: 3,
  invalid_mnemonic: 3,
  not_a_backup: 6,
  unsupported_version: 6,
  limit_exceeded: 6,
};

function negatives(): { record: VectorRecord; path: string }[] {
  const out: { record: VectorRecord; path: string }[] = [];
  for (const sub of ['v2', 'seed-v0', 'noah-v1', 'detect'])
    for (const f of readdirSync(join(TESTDATA, sub)).sort()) {
      if (!f.endsWith('.json')) continue;
      const record = JSON.parse(readFileSync(join(TESTDATA, sub, f), 'utf8')) as VectorRecord;
      if (record.expect !== 'ok') out.push({ record, path: join(TESTDATA, sub, record.blob_file) });
    }
  return out;
}

describe('every negative test vector: rejected, exit code by class, no OUT', () => {
  const all = negatives();

  it('covers the whole corpus', () => {
    expect(all.length).toBeGreaterThan(40);
  });

  // Two CLI processes at a time: each vector is one black-box run.
  it('decrypt fails on each, writes nothing, and says only the opaque message', async () => {
    const queue = [...all];
    const failures: string[] = [];
    const worker = async () => {
      for (let v = queue.shift(); v; v = queue.shift()) {
        const { record: r, path } = v;
        const d = join(dir, `neg-${r.name}`);
        mkdirSync(d);
        writeFileSync(join(d, 'm.txt'), r.mnemonic, { mode: 0o600 });
        const cap =
          r.max_plaintext_bytes === undefined ? [] : ['--max-size', String(r.max_plaintext_bytes)];
        const run = await cli(['decrypt', '--mnemonic-file', 'm.txt', ...cap, path, 'out'], {
          cwd: d,
        });
        const problems = [
          run.code !== EXIT[r.expect] && `exit ${run.code}, want ${EXIT[r.expect]}`,
          !run.stderr.includes(`[${r.expect}]`) && `stderr lacks [${r.expect}]: ${run.stderr}`,
          !/\nhint: .+\n$/.test(run.stderr) && 'no hint line',
          run.stdout.length > 0 && 'wrote to stdout',
          ls(d).join(',') !== 'm.txt' && `left ${ls(d).join(',')}`,
        ].filter(Boolean);
        if (problems.length) failures.push(`${r.format}/${r.name}: ${problems.join('; ')}`);
      }
    };
    await Promise.all([worker(), worker()]);
    expect(failures).toEqual([]);
  }, 600_000);
});

describe('interrupted runs leave nothing', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} while decrypting from a pipe: exit ${code}, no OUT, no temp file`, async () => {
      const d = join(dir, `sig-${signal}`);
      mkdirSync(d);
      const plain = data(3 * 2 ** 20);
      const enc = await cli(['encrypt', '--no-compress', '-', '-'], {
        cwd: d,
        env: { NOAH_MNEMONIC: MNEMONIC },
        input: plain,
      });
      expect(enc.code, enc.stderr).toBe(0);
      const run = await cli(['decrypt', '-', 'out'], {
        cwd: d,
        env: { NOAH_MNEMONIC: MNEMONIC },
        onSpawn(child) {
          // Half the file, then wait until the temp file exists (OUT is being written).
          child.stdin?.write(enc.stdout.subarray(0, enc.stdout.length >> 1));
          const poll = setInterval(() => {
            if (readdirSync(d).some((f) => f.endsWith('.tmp'))) {
              clearInterval(poll);
              child.kill(signal);
            }
          }, 20);
          child.once('exit', () => clearInterval(poll));
        },
      });
      expect(run.code).toBe(code);
      expect(run.stderr).toMatch(/interrupted .*nothing was written/);
      expect(ls(d)).toEqual([]);
    });
  }
});

describe('an interrupted encrypt --format noah-v1 of a wallet directory leaves nothing', () => {
  // The snapshot's copies are wallet data in clear: neither they nor OUT's temp file may
  // stay in TMPDIR or beside OUT, whether the signal comes while the databases are
  // copied or while the ZIP of the copies is encrypted.
  for (const [signal, code, when, seen] of [
    ['SIGINT', 130, 'while it snapshots', (_d: string, tmp: string) => ls(tmp).length > 0],
    ['SIGTERM', 143, 'while it encrypts', (d: string) => ls(d).some((f) => f.endsWith('.tmp'))],
  ] as const) {
    it(`${signal} ${when}: exit ${code}, no OUT, nothing in TMPDIR`, async () => {
      const d = join(dir, `noah-sig-${signal}`);
      const tmp = join(d, 'tmp');
      mkdirSync(tmp, { recursive: true });
      const wallet = noahWalletDir(join(d, 'wallet'), 2000);
      // Enough bytes that the run is still at work when the test sees it start.
      writeFileSync(join(wallet, 'media.bin'), randomBytes(24 * 2 ** 20));
      const run = await cli(['encrypt', '--format', 'noah-v1', 'wallet', 'out'], {
        cwd: d,
        env: { NOAH_MNEMONIC: MNEMONIC, TMPDIR: tmp },
        onSpawn(child) {
          child.stdin?.end();
          const poll = setInterval(() => {
            if (child.exitCode === null && seen(d, tmp)) {
              clearInterval(poll);
              child.kill(signal);
            }
          }, 5);
          child.once('exit', () => clearInterval(poll));
        },
      });
      expect(run.code, run.stderr).toBe(code);
      expect(run.stderr).toMatch(/interrupted .*nothing was written/);
      expect(ls(d)).toEqual(['tmp', 'wallet']);
      expect(ls(tmp)).toEqual([]);
    }, 180_000);
  }
});

describe('progress bar', () => {
  const big = () => {
    const d = join(dir, `big-${Math.random().toString(36).slice(2)}`);
    mkdirSync(d);
    writeFileSync(join(d, 'in'), data(17 * 2 ** 20));
    writeFileSync(join(d, 'm.txt'), MNEMONIC, { mode: 0o600 });
    return d;
  };

  it('nothing on stderr when it is not a terminal', async () => {
    const d = big();
    const r = await cli(['encrypt', '--mnemonic-file', 'm.txt', 'in', 'b'], { cwd: d });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('a bar on stderr when it is a terminal (under script(1))', () => {
    const d = big();
    const cmd = `${process.execPath} ${BIN} encrypt --no-compress --mnemonic-file m.txt in b`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      cwd: d,
      env: { PATH: process.env.PATH ?? '', HOME: d, TERM: 'xterm' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/encrypt \|.*\| \d+% [\d.]+ MiB \/ 17\.0 MiB/);
    expect(existsSync(join(d, 'b'))).toBe(true);
  });
});
