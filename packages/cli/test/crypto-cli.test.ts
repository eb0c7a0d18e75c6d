/**
 * `noah-backup encrypt | decrypt | inspect` as a black box: spawn the CLI, check stdout,
 * stderr, the exit code and the files it leaves (README.md "Try it from the command line").
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { V2_CHUNK_SIZE, V2_HEADER_LENGTH, V2_TAG_SIZE } from '@noah-backup/core/v2';
import {
  cli,
  data,
  ls,
  MNEMONIC,
  noahWalletDir,
  OTHER,
  PYTHON,
  TESTDATA,
} from './crypto-helpers.ts';

let dir: string;
let n = 0;
/** A fresh empty directory per test, with the mnemonic file outside it. */
function scratch(): string {
  const d = join(dir, `t${n++}`);
  mkdirSync(d);
  return d;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'noah-crypto-cli-'));
  writeFileSync(join(dir, 'm.txt'), `${MNEMONIC}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'other.txt'), `${OTHER}\n`, { mode: 0o600 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mfile = () => ['--mnemonic-file', join(dir, 'm.txt')];
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

describe('round trips', () => {
  for (const [format, extra, compression] of [
    ['v2', [], 'zstd'],
    ['v2', ['--no-compress', '--kind', 'tar', '--sequence', '18446744073709551615'], 'none'],
    ['v2', ['--level', '1'], 'zstd'],
    ['v2', ['--level', '19'], 'zstd'],
    ['v2', ['--compression', 'deflate'], 'deflate'],
    ['v2', ['--compression', 'deflate', '--level', '9'], 'deflate'],
    ['seed-v0', [], null],
  ] as const) {
    it(`${format} ${extra.join(' ')}`, async () => {
      const d = scratch();
      const plain = data(format === 'v2' ? 200_001 : 50_000);
      writeFileSync(join(d, 'in'), plain);
      const fmt = format === 'v2' ? [] : ['--format', format];
      const enc = await cli(['encrypt', ...fmt, ...extra, ...mfile(), 'in', 'backup'], { cwd: d });
      expect(enc.code, enc.stderr).toBe(0);
      expect(enc.stderr).toBe(''); // not a terminal: no progress, no summary
      expect(statSync(join(d, 'backup')).mode & 0o777).toBe(0o600);
      if (compression) {
        const info = await cli(['inspect', '--json', 'backup'], { cwd: d });
        expect(JSON.parse(String(info.stdout)).compression).toBe(compression);
      }
      const dec = await cli(['decrypt', ...mfile(), 'backup', 'out'], { cwd: d });
      expect(dec.code, dec.stderr).toBe(0);
      expect(same(readFileSync(join(d, 'out')), plain)).toBe(true);
      expect(ls(d)).toEqual(['backup', 'in', 'out']); // no temp file left behind
    });
  }

  it('stdin to stdout, with the seedphrase from NOAH_MNEMONIC', async () => {
    const d = scratch();
    const plain = data(300_000, 7);
    const env = { NOAH_MNEMONIC: MNEMONIC };
    const enc = await cli(['encrypt', '-', '-'], { cwd: d, env, input: plain });
    expect(enc.code, enc.stderr).toBe(0);
    expect(enc.stdout.subarray(0, 5).toString('latin1')).toBe('\x89NOAH');
    const dec = await cli(['decrypt', '-', '-'], { cwd: d, env, input: enc.stdout });
    expect(dec.code, dec.stderr).toBe(0);
    expect(same(dec.stdout, plain)).toBe(true);
    expect(ls(d)).toEqual([]);
  });

  it('noah-v1: a wallet directory round-trips as the ZIP Noah’s app restores', async () => {
    const d = scratch();
    noahWalletDir(join(d, 'wallet'));
    const enc = await cli(['encrypt', '--format', 'noah-v1', ...mfile(), 'wallet', 'backup'], {
      cwd: d,
    });
    expect(enc.code, enc.stderr).toBe(0);
    expect(enc.stderr).toBe('');
    expect(statSync(join(d, 'backup')).mode & 0o777).toBe(0o600);
    const dec = await cli(['decrypt', ...mfile(), 'backup', 'out.zip'], { cwd: d });
    expect(dec.code, dec.stderr).toBe(0);
    const zip = unzipSync(readFileSync(join(d, 'out.zip')));
    expect(Object.keys(zip).filter((k) => !k.endsWith('/'))).toEqual([
      'backup_staging/noah-data-mainnet/db.sqlite',
    ]);
    const db = new Database(Buffer.from(zip['backup_staging/noah-data-mainnet/db.sqlite']!));
    expect(db.prepare('SELECT count(*) AS n FROM vtxo').get()).toEqual({ n: 3 });
    db.close();
    expect(ls(d)).toEqual(['backup', 'out.zip', 'wallet']); // no temp file left behind
  });

  it('an empty input round-trips in v2 and seed-v0; noah-v1 refuses it', async () => {
    const d0 = scratch();
    writeFileSync(join(d0, 'in'), '');
    const noah = await cli(['encrypt', '--format', 'noah-v1', ...mfile(), 'in', 'b'], { cwd: d0 });
    expect(noah.code).toBe(2);
    expect(noah.stderr).toContain('[noah_wallet_missing]');
    expect(ls(d0)).toEqual(['in']);
    for (const format of ['v2', 'seed-v0']) {
      const d = scratch();
      writeFileSync(join(d, 'in'), '');
      const enc = await cli(['encrypt', '--format', format, ...mfile(), 'in', 'b'], { cwd: d });
      expect(enc.code, enc.stderr).toBe(0);
      const dec = await cli(['decrypt', ...mfile(), 'b', 'out'], { cwd: d });
      expect(dec.code, dec.stderr).toBe(0);
      expect(readFileSync(join(d, 'out')).length).toBe(0);
    }
  });

  it('--verbose prints the authenticated header on stderr', async () => {
    const d = scratch();
    writeFileSync(join(d, 'in'), data(10));
    await cli(['encrypt', '--sequence', '42', '--kind', 'zip', ...mfile(), 'in', 'b'], { cwd: d });
    const dec = await cli(['decrypt', '-v', ...mfile(), 'b', 'out'], { cwd: d });
    expect(dec.code).toBe(0);
    expect(dec.stderr).toMatch(/^decrypted b \(v2, created \S+Z, sequence 42, zip\) into out\n$/);
  });
});

describe('against the Python implementation of the legacy formats', () => {
  beforeAll(() => {
    const r = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`needs python3 with "cryptography": ${r.stderr}`);
  });
  const py = (args: string[], cwd: string) =>
    spawnSync('python3', [PYTHON, ...args], {
      cwd,
      env: { ...process.env, NOAH_SEEDPHRASE: MNEMONIC },
      encoding: 'utf8',
    });

  for (const format of ['seed-v0', 'noah-v1']) {
    it(`${format}: decrypts what Python wrote, and Python decrypts what it wrote`, async () => {
      const d = scratch();
      const plain = data(12_345, 3);
      writeFileSync(join(d, 'in'), plain);
      const p = py(['encrypt', '--format', format, '--in', 'in', '--out', 'py.b64'], d);
      expect(p.status, p.stderr).toBe(0);
      const dec = await cli(['decrypt', ...mfile(), 'py.b64', 'out'], { cwd: d });
      expect(dec.code, dec.stderr).toBe(0);
      expect(same(readFileSync(join(d, 'out')), plain)).toBe(true);

      // noah-v1 is written from a wallet directory, as Noah's layout (FORMAT.md §4.5):
      // Python must read the ZIP our own decrypt reads.
      const src = format === 'noah-v1' ? noahWalletDir(join(d, 'wallet')) : 'in';
      const enc = await cli(['encrypt', '--format', format, ...mfile(), src, 'ours'], { cwd: d });
      expect(enc.code, enc.stderr).toBe(0);
      const back = py(['decrypt', '--format', format, '--in', 'ours', '--out', 'py.out'], d);
      expect(back.status, back.stderr).toBe(0);
      let want = plain;
      if (format === 'noah-v1') {
        const ours = await cli(['decrypt', ...mfile(), 'ours', 'ours.zip'], { cwd: d });
        expect(ours.code, ours.stderr).toBe(0);
        want = readFileSync(join(d, 'ours.zip'));
        expect(Object.keys(unzipSync(want))).toContain(
          'backup_staging/noah-data-mainnet/db.sqlite',
        );
      }
      expect(same(readFileSync(join(d, 'py.out')), want)).toBe(true);
    });
  }

  it('decrypts a line-wrapped (Android Base64.DEFAULT) seed-v0 vector', async () => {
    const d = scratch();
    const vec = join(TESTDATA, 'seed-v0', 'seed-v0-wrapped-lf');
    const r = await cli(['decrypt', ...mfile(), `${vec}.bin`, 'out'], { cwd: d });
    expect(r.code, r.stderr).toBe(0);
    const want = JSON.parse(readFileSync(`${vec}.json`, 'utf8')).plaintext_hex as string;
    expect(readFileSync(join(d, 'out')).toString('hex')).toBe(want);
  });
});

describe('failures leave no output', () => {
  async function encrypted(d: string, plain: Uint8Array): Promise<Buffer> {
    writeFileSync(join(d, 'in'), plain);
    const r = await cli(['encrypt', '--no-compress', ...mfile(), 'in', 'b'], { cwd: d });
    expect(r.code, r.stderr).toBe(0);
    return readFileSync(join(d, 'b'));
  }

  it('wrong seedphrase: exit 3, one line and a hint, no secret on stderr, no OUT', async () => {
    const d = scratch();
    await encrypted(d, data(100_000));
    const r = await cli(['decrypt', '--mnemonic-file', join(dir, 'other.txt'), 'b', 'out'], {
      cwd: d,
    });
    expect(r.code).toBe(3);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      'noah-backup: error: wrong seedphrase, or the backup is corrupted or was tampered with [decryption_failed]',
    );
    expect(lines[1]).toMatch(/^hint: check the seedphrase/);
    for (const word of new Set([...MNEMONIC.split(' '), ...OTHER.split(' ')]))
      expect(r.stderr).not.toMatch(new RegExp(`\\b${word}\\b`));
    expect(ls(d)).toEqual(['b', 'in']);
  });

  it('truncated or tampered v2 (damage after verified chunks): exit 3, no OUT', async () => {
    const d = scratch();
    const file = await encrypted(d, data(300_000));
    const cases = {
      truncated: file.subarray(0, file.length - 100),
      tampered: Buffer.from(file.map((b, i) => (i === file.length - 20 ? b ^ 1 : b))),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      writeFileSync(join(d, name), bytes);
      const r = await cli(['decrypt', ...mfile(), name, 'out'], { cwd: d });
      expect(r.code, name).toBe(3);
      expect(ls(d), name).not.toContain('out');
      expect(ls(d).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
  });

  it('over the --max-size cap: exit 6, no OUT', async () => {
    const d = scratch();
    writeFileSync(join(d, 'zeros'), new Uint8Array(2 ** 20));
    await cli(['encrypt', ...mfile(), 'zeros', 'b'], { cwd: d });
    const r = await cli(['decrypt', '--max-size', '512K', ...mfile(), 'b', 'out'], { cwd: d });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/\[limit_exceeded\]\nhint: raise the cap with --max-size/);
    expect(ls(d)).toEqual(['b', 'zeros']);
    const ok = await cli(['decrypt', '--max-size', '1MiB', ...mfile(), 'b', 'out'], { cwd: d });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an invalid BIP39 seedphrase for v2: exit 3 with a clear error, nothing written', async () => {
    const d = scratch();
    writeFileSync(join(d, 'in'), data(10));
    const env = { NOAH_MNEMONIC: Array(12).fill('abandon').join(' ') };
    const r = await cli(['encrypt', 'in', 'b'], { cwd: d, env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^noah-backup: error: the seedphrase is not valid: the BIP39 checksum/,
    );
    expect(r.stderr).not.toMatch(/abandon/);
    expect(ls(d)).toEqual(['in']);
    // The legacy formats take any passphrase, as the native apps did.
    const legacy = await cli(['encrypt', '--format', 'seed-v0', 'in', 'b'], { cwd: d, env });
    expect(legacy.code, legacy.stderr).toBe(0);
  });

  it('not a backup: exit 6; a missing IN: exit 2; a missing OUT directory: exit 1', async () => {
    const d = scratch();
    writeFileSync(join(d, 'junk'), 'hello, world!\n');
    const r = await cli(['decrypt', ...mfile(), 'junk', 'out'], { cwd: d });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/not a Noah backup.*\[not_a_backup\]\nhint: /);
    const missing = await cli(['decrypt', ...mfile(), 'nope', 'out'], { cwd: d });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^noah-backup: error: cannot read nope: no such file \[file_not_found\]\nhint: /,
    );
    const noDir = await cli(['encrypt', ...mfile(), 'junk', 'no/such/dir/out'], { cwd: d });
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toMatch(
      /^noah-backup: error: cannot write no\/such\/dir\/out: .*\[not_writable\]\nhint: /,
    );
    expect(ls(d)).toEqual(['junk']);
  });
});

describe('usage', () => {
  it('takes the seedphrase only from a file or NOAH_MNEMONIC: no option carries it', async () => {
    const d = scratch();
    writeFileSync(join(d, 'in'), data(10));
    for (const cmd of ['encrypt', 'decrypt']) {
      const help = await cli([cmd, '--help'], { cwd: d });
      expect(help.code).toBe(0);
      const options = help.stdout.toString().match(/--[a-z-]+/g) ?? [];
      expect(options.filter((o) => /mnemonic|seed|phrase/.test(o))).toEqual(['--mnemonic-file']);
      expect(help.stdout.toString()).toMatch(/Exit codes:\n {2}0 {4}success/);
    }
    const r = await cli(['encrypt', '--mnemonic', MNEMONIC, 'in', 'b'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/legal|winner/);
    const none = await cli(['encrypt', 'in', 'b'], { cwd: d });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no seedphrase: use --mnemonic-file FILE or set NOAH_MNEMONIC/);
    expect(ls(d)).toEqual(['in']);
  });

  it('refuses to replace OUT without --force', async () => {
    const d = scratch();
    writeFileSync(join(d, 'in'), data(10));
    writeFileSync(join(d, 'b'), 'keep me');
    const r = await cli(['encrypt', ...mfile(), 'in', 'b'], { cwd: d });
    expect(r.code).toBe(2);
    expect(readFileSync(join(d, 'b'), 'utf8')).toBe('keep me');
    const f = await cli(['encrypt', '--force', ...mfile(), 'in', 'b'], { cwd: d });
    expect(f.code, f.stderr).toBe(0);
    expect(readFileSync(join(d, 'b')).subarray(0, 5).toString('latin1')).toBe('\x89NOAH');
  });

  it('rejects v2-only options for legacy formats, and bad values', async () => {
    const d = scratch();
    writeFileSync(join(d, 'in'), data(10));
    for (const args of [
      ['--format', 'seed-v0', '--kind', 'tar'],
      ['--format', 'noah-v1', '--sequence', '3'],
      ['--format', 'v3'],
      ['--sequence', '-1'],
      ['--sequence', '18446744073709551616'],
      ['--kind', 'rar'],
      ['--format', 'seed-v0', '--level', '1'],
      ['--level', '0'],
      ['--level', '20'],
      ['--compression', 'deflate', '--level', '10'],
      ['--compression', 'brotli'],
      ['--format', 'noah-v1', '--compression', 'zstd'],
      ['--level', 'fast'],
    ]) {
      const r = await cli(['encrypt', ...args, ...mfile(), 'in', 'b'], { cwd: d });
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(ls(d)).toEqual(['in']);
  });
});

describe('inspect', () => {
  it('shows the v2 header without a seedphrase, as text and as JSON', async () => {
    const d = scratch();
    const size = V2_CHUNK_SIZE + 1; // one full chunk and a one-byte final chunk
    writeFileSync(join(d, 'in'), data(size));
    const args = ['--sequence', '7', '--kind', 'tar', '--no-compress'];
    await cli(['encrypt', ...args, ...mfile(), 'in', 'b'], { cwd: d });
    const text = await cli(['inspect', 'b'], { cwd: d });
    expect(text.code, text.stderr).toBe(0);
    const out = text.stdout.toString();
    expect(out).toMatch(/^format: +v2$/m);
    expect(out).toMatch(/^sequence: +7$/m);
    expect(out).toMatch(/^payload_kind: +tar$/m);
    expect(out).toMatch(/^compression: +none$/m);
    expect(out).toMatch(new RegExp(`^payload_size: +${size}$`, 'm'));
    expect(out).toMatch(/^chunks: +2$/m);
    expect(out).toMatch(/nothing here is authenticated until the file is decrypted/);
    const json = JSON.parse((await cli(['inspect', '--json', 'b'], { cwd: d })).stdout.toString());
    expect(json).toMatchObject({
      format: 'v2',
      version: 2,
      sequence: '7',
      payload_kind: 'tar',
      compression: 'none',
      file_size: V2_HEADER_LENGTH + size + 2 * V2_TAG_SIZE,
      payload_size: size,
      authenticated: false,
    });
    expect(Date.parse(json.created_at)).toBeGreaterThan(Date.parse('2020-01-01'));
  });

  it('shows legacy sizes, from a file or stdin; not a backup exits 6', async () => {
    const d = scratch();
    const vec = join(TESTDATA, 'noah-v1', 'noah-v1-1.bin');
    const r = await cli(['inspect', '--json', '-'], { cwd: d, input: readFileSync(vec) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({
      format: 'noah-v1 or seed-v0',
      candidates: ['noah-v1', 'seed-v0'],
      decoded_length: 46,
      plaintext_size_if_noah_v1: 1,
      plaintext_size_if_seed_v0: 18,
    });
    const seed = await cli(['inspect', join(TESTDATA, 'seed-v0', 'seed-v0-4096.bin')], { cwd: d });
    expect(seed.stdout.toString()).toMatch(/^format: +seed-v0$/m);
    expect(seed.stdout.toString()).toMatch(/^plaintext_size_if_seed_v0: +4096$/m);
    const junk = await cli(['inspect', join(TESTDATA, 'detect', 'detect-png.bin')], { cwd: d });
    expect(junk.code).toBe(6);
    expect(junk.stdout.length).toBe(0);
  });
});
