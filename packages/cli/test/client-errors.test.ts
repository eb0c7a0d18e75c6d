/**
 * Mistakes a new user makes, each answered with one line naming a stable code, the
 * documented exit code and a hint that says what to change. Black box: the real binary,
 * against the real server (sqlite + fs), a plain HTTP server that is not a Noah Backup
 * server, a read-only file system, and a port another server holds.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let srv: TestServer;
let other: Server;
let otherUrl: string;
let dir: string;
let mnemonicFile: string;
let readOnly: string;
let mounted = false;

/**
 * A directory that cannot be written: a read-only tmpfs when we run as root (root
 * writes through permission bits), else a directory without write permission.
 */
async function readOnlyDir(path: string): Promise<void> {
  mkdirSync(path);
  if (process.getuid?.() !== 0) {
    chmodSync(path, 0o555);
    return;
  }
  await new Promise<void>((ok, fail) =>
    execFile('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', path], (err) =>
      err ? fail(new Error(`a read-only mount is needed as root: ${err.message}`)) : ok(),
    ),
  );
  mounted = true;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-cli-errors-'));
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 'fs',
    config: { maxBackupSize: 8 * 2 ** 20 },
  });
  // Something else listening: answers every request with a plain-text 404.
  other = createServer((req, res) => {
    req.resume();
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Not Found');
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  mnemonicFile = join(dir, 'm.txt');
  await writeFile(mnemonicFile, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  readOnly = join(dir, 'ro');
  await readOnlyDir(readOnly);
});
afterAll(async () => {
  if (mounted) await new Promise((r) => execFile('umount', [readOnly], r));
  await new Promise((r) => other?.close(r));
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with a clean environment plus `env`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: srv.url, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

const user = (state: string) => ['--mnemonic-file', mnemonicFile, '--state', join(dir, state)];

/** One error line with `code`, then one hint line; no stack trace, no errno text. */
function expectOneLine(r: Run, exit: number, code: string): string {
  expect(r.code, r.stderr).toBe(exit);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(
    new RegExp(`^noah-backup( serve| admin \\S+)?: error: .*\\[${code}\\]$`),
  );
  expect(lines[1]).toMatch(/^hint: /);
  expect(r.stderr).not.toMatch(/\n\s+at |ENOENT:|ENOTDIR:|EROFS:|EACCES:/);
  return lines[1]!;
}

describe('usage mistakes: exit 2', () => {
  it('an unknown command', async () => {
    const r = await cli(['backp']);
    const hint = expectOneLine(r, 2, 'usage');
    expect(r.stderr).toContain("unknown command 'backp'");
    expect(hint).toContain('--help');
  });

  it('a server URL without its scheme names the URL it meant', async () => {
    const r = await cli(['list', ...user('st'), '--server', 'localhost:8080']);
    const hint = expectOneLine(r, 2, 'usage');
    expect(r.stderr).not.toContain('serverUrl');
    expect(hint).toContain('--server http://localhost:8080');
  });

  it('a missing input file: decrypt, inspect, --mnemonic-file', async () => {
    const env = { NOAH_MNEMONIC: 'abandon '.repeat(11).concat('about') };
    for (const args of [
      ['decrypt', 'missing.bin', 'out'],
      ['encrypt', 'missing.bin', 'out'],
      ['inspect', 'missing.bin'],
    ]) {
      const r = await cli(args, env);
      expectOneLine(r, 2, 'file_not_found');
      expect(r.stderr).toContain('cannot read missing.bin: no such file');
    }
    const m = await cli(['list', '--mnemonic-file', 'missing.txt', '--state', join(dir, 'st')]);
    const hint = expectOneLine(m, 2, 'file_not_found');
    expect(hint).toContain('--mnemonic-file');
  });
});

describe('paths that cannot be written', () => {
  it('a restore into a read-only place says so, not "disk space"', async () => {
    const r = await cli(['restore', '--to', join(readOnly, 'w'), ...user('st-ro')]);
    const hint = expectOneLine(r, 1, 'not_writable');
    expect(r.stderr).not.toContain('disk space');
    expect(hint).toContain('--to DIR');
  });

  it('a read-only state directory names --state', async () => {
    await createDemoWallet(join(dir, 'w'), { sizeMb: 1 });
    const r = await cli([
      'backup',
      '--data',
      'w',
      '--mnemonic-file',
      mnemonicFile,
      '--state',
      join(readOnly, 'state'),
    ]);
    const hint = expectOneLine(r, 1, 'not_writable');
    expect(hint).toContain('--state DIR');
  });

  it('a file where --state or the parent of --to should be a directory: exit 2, names it', async () => {
    await writeFile(join(dir, 'plain-file'), 'x');
    const state = await cli(['list', '--mnemonic-file', mnemonicFile, '--state', 'plain-file']);
    expect(expectOneLine(state, 2, 'not_a_directory')).toContain('--state DIR names a directory');
    const to = await cli(['restore', '--to', 'plain-file/w', ...user('st')]);
    expect(expectOneLine(to, 2, 'not_a_directory')).toContain('--to DIR names a directory');
  });

  it('decrypt into a read-only directory', async () => {
    const r = await cli(['decrypt', mnemonicFile, join(readOnly, 'out')], {
      NOAH_MNEMONIC: 'abandon '.repeat(11).concat('about'),
    });
    const hint = expectOneLine(r, 1, 'not_writable');
    expect(hint).toContain('OUT');
  });
});

describe('the wrong server: exit 4 and a hint about --server', () => {
  it('a server that is not a Noah Backup server', async () => {
    const r = await cli(['list', ...user('st'), '--server', otherUrl]);
    const hint = expectOneLine(r, 4, 'unexpected_response');
    expect(hint).toContain('does not answer as a Noah Backup server');
  });

  it('https:// against a plain http server: a TLS mismatch, not "is it running?"', async () => {
    const https = srv.url.replace('http:', 'https:');
    const r = await cli(['list', ...user('st'), '--server', https]);
    const hint = expectOneLine(r, 4, 'network_error');
    expect(hint).toContain('TLS');
    expect(hint).toContain(`--server ${srv.url}`);
    expect(hint).not.toContain('running');
  });

  it('a path after the server URL: try the base URL', async () => {
    const r = await cli(['list', ...user('st'), '--server', `${srv.url}/v0`]);
    const hint = expectOneLine(r, 4, 'not_found');
    expect(hint).toBe(
      `hint: --server is the server's base URL, without a path: try --server ${srv.url}`,
    );
  });
});

describe('a backup the server lists but its store no longer holds', () => {
  it('restore: exit 5 and backup_not_found, not "is this a Noah Backup server?"', async () => {
    const m = join(dir, 'gone.txt');
    await writeFile(m, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
    const as = ['--mnemonic-file', m, '--state', join(dir, 'st-gone')];
    await createDemoWallet(join(dir, 'w-gone'), { sizeMb: 1 });
    const keys = async () => {
      const out: string[] = [];
      for await (const o of srv.blobs.list('')) out.push(o.key);
      return out;
    };
    const old = new Set(await keys());
    const backup = await cli(['backup', '--data', 'w-gone', ...as]);
    expect(backup.code, backup.stderr).toBe(0);
    // An incremental backup: its pack and its manifest; both lost.
    const added = (await keys()).filter((k) => !old.has(k));
    expect(added.length).toBeGreaterThanOrEqual(2);
    for (const key of added) await srv.blobs.delete(key);
    const r = await cli(['restore', '--to', 'r-gone', ...as]);
    expect(expectOneLine(r, 5, 'backup_not_found')).toBe(
      'hint: run `noah-backup list` to see the backups',
    );
  });
});

it('a second server on a busy port: one line and PORT=…, not a stack trace', async () => {
  const port = new URL(srv.url).port;
  const child = spawn(process.execPath, [BIN, 'serve', '--data', join(dir, 'data2')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, PORT: port, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const hint = expectOneLine({ code: code ?? -1, stdout: '', stderr }, 78, 'EADDRINUSE');
  expect(stderr).toContain(`127.0.0.1:${port}`);
  expect(hint).toMatch(/PORT=\d+ npm start/);
});

it('a seedphrase file others can read gets a warning line, not an error', async () => {
  const shared = join(dir, 'shared.txt');
  await writeFile(shared, `${generateMnemonic(wordlist)}\n`);
  chmodSync(shared, 0o644);
  const args = ['list', '--state', join(dir, 'st-shared')];
  const r = await cli([...args, '--mnemonic-file', 'shared.txt']);
  expect(r).toEqual({
    code: 0,
    stdout: 'no backups\n',
    stderr:
      'noah-backup: warning: shared.txt holds the seedphrase and other users can read it (mode 0644): chmod 600 shared.txt\n',
  });
  chmodSync(shared, 0o600);
  expect(await cli([...args, '--mnemonic-file', 'shared.txt'])).toEqual({
    code: 0,
    stdout: 'no backups\n',
    stderr: '',
  });
});

describe('every command, as a new user would try it', () => {
  it('backup of a directory that does not exist or of a file, restore over a file: exit 2 and a hint', async () => {
    const none = await cli(['backup', '--data', 'nothere', ...user('st')]);
    expect(expectOneLine(none, 2, 'not_a_wallet')).toContain(
      '--data must be the wallet data directory',
    );
    await writeFile(join(dir, 'a-file'), 'x');
    const notDir = await cli(['backup', '--data', 'a-file', ...user('st')]);
    expect(expectOneLine(notDir, 2, 'not_a_wallet')).toContain(
      '--data must be the wallet data directory',
    );
    expect(notDir.stderr).toContain('a-file is not a directory');
    const file = await cli(['restore', '--to', 'a-file', ...user('st')]);
    expect(expectOneLine(file, 2, 'invalid_data_dir')).toContain('--to DIR');
  });

  it('inspect of a directory; encrypt over an existing OUT', async () => {
    expectOneLine(await cli(['inspect', '.']), 2, 'is_a_directory');
    const exists = await cli(['encrypt', 'm.txt', 'm.txt'], {
      NOAH_MNEMONIC: 'abandon '.repeat(11).concat('about'),
    });
    expect(expectOneLine(exists, 2, 'usage')).toBe(
      'hint: add --force to replace it, or name another OUT',
    );
  });

  it('serve and admin with a data directory that cannot be written: one line, exit 78', async () => {
    for (const args of [
      ['serve', '--port', '0'],
      ['admin', 'stats'],
    ]) {
      const r = await new Promise<Run>((done) =>
        execFile(
          process.execPath,
          [BIN, ...args, '--data', join(readOnly, 'data')],
          { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 30_000 },
          (err, stdout, stderr) => {
            const code = err ? (err as { code?: unknown }).code : 0;
            done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
          },
        ),
      );
      expect(expectOneLine(r, 78, 'not_writable')).toContain('--data');
    }
  });
});
