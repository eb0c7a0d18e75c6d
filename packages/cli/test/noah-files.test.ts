/**
 * Files made by Noah's shipped app, through the real CLI binary (docs/FORMAT.md §4.4,
 * §4.5): the file its Export button saves (binary noah-v1) decrypts, and a backup it
 * uploaded (base64 noah-v1 of its ZIP layout) restores in place, on both platforms'
 * layouts. The app's side is rebuilt in scripts/vectors/noah-app.ts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApiClient } from '@noah-backup/client/api-client';
import { createSessionKeys } from '@noah-backup/client/keys';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import Database from 'better-sqlite3';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type NoahFile,
  noahCreateBackup,
  noahExport,
  noahRestore,
} from '../../../scripts/vectors/noah-app.ts';
import { uploadRaw } from '../../client/test/helpers/device.ts';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');
const MTIME = new Date('2026-02-03T04:05:06Z');

let srv: TestServer;
let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'noah-cli-files-'));
  srv = await startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' });
});
afterAll(async () => {
  await srv?.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, NOAH_SERVER: srv.url, ...env } },
      (err, _stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        done({ code: typeof code === 'number' ? code : -1, stderr });
      },
    );
  });
}

/** Noah's wallet directory: bark's db.sqlite, the app's database, a file in a folder. */
async function noahWalletFiles(): Promise<NoahFile[]> {
  const path = join(dir, `bark-${randomBytes(4).toString('hex')}.sqlite`);
  const db = new Database(path);
  db.exec("CREATE TABLE vtxo (id TEXT); INSERT INTO vtxo VALUES ('v1'), ('v2')");
  db.close();
  return [
    { path: 'db.sqlite', data: new Uint8Array(await fsp.readFile(path)) },
    { path: 'logs/bark.log', data: new TextEncoder().encode('started\n') },
  ];
}

async function user() {
  const mnemonic = generateMnemonic(wordlist);
  const file = join(dir, `${randomBytes(4).toString('hex')}.mnemonic`);
  await fsp.writeFile(file, `${mnemonic}\n`, { mode: 0o600 });
  return { mnemonic, file };
}

describe.each(['ios', 'android'] as const)("Noah's %s app's files", (platform) => {
  it('the exported file (binary noah-v1) decrypts to its ZIP', async () => {
    const u = await user();
    const files = await noahWalletFiles();
    const text = noahCreateBackup(files, u.mnemonic, {
      variant: 'mainnet',
      platform,
      mtime: MTIME,
      random: (n) => new Uint8Array(randomBytes(n)),
    });
    const exported = join(dir, `noah_backup_${platform}.txt`);
    await fsp.writeFile(exported, noahExport(text));
    const out = join(dir, `export-${platform}.zip`);
    const r = await cli(['decrypt', exported, out, '--mnemonic-file', u.file]);
    expect(r.code, r.stderr).toBe(0);
    const zip = unzipSync(new Uint8Array(await fsp.readFile(out)));
    expect(zip['backup_staging/noah-data-mainnet/db.sqlite']).toEqual(files[0]!.data);
  });

  it('a backup it uploaded restores in place with noah-backup restore', async () => {
    const u = await user();
    const files = await noahWalletFiles();
    const text = noahCreateBackup(files, u.mnemonic, {
      variant: 'signet',
      platform,
      mtime: MTIME,
      random: (n) => new Uint8Array(randomBytes(n)),
    });
    const keys = await createSessionKeys(u.mnemonic, new URL(srv.url).href);
    try {
      const api = createApiClient({ baseUrl: srv.url, signer: keys.signer });
      await uploadRaw(api, new TextEncoder().encode(text));
    } finally {
      keys.destroy();
    }
    const to = join(dir, `restored-${platform}`);
    const state = join(dir, `state-${platform}`);
    const r = await cli(['restore', '--to', to, '--mnemonic-file', u.file, '--state', state]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fsp.readdir(to)).sort()).toEqual(['db.sqlite', 'logs']);
    expect(new Uint8Array(await fsp.readFile(join(to, 'logs', 'bark.log')))).toEqual(
      files[1]!.data,
    );
    const db = new Database(join(to, 'db.sqlite'), { readonly: true });
    expect(db.prepare('SELECT id FROM vtxo ORDER BY id').all()).toEqual([
      { id: 'v1' },
      { id: 'v2' },
    ]);
    db.close();
  });
});

/** A wallet directory as Noah's app keeps it, on disk: bark's db.sqlite and a log. */
async function noahWalletDir(): Promise<string> {
  const wallet = join(dir, `noah-data-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(join(wallet, 'logs'), { recursive: true });
  for (const f of await noahWalletFiles()) await fsp.writeFile(join(wallet, f.path), f.data);
  return wallet;
}

/** Restores `file` (the noah-v1 text) as Noah's app of `variant` does. */
async function restoreInNoah(file: string, mnemonic: string, variant: string): Promise<string> {
  const phone = join(dir, `phone-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(join(phone, 'docs'), { recursive: true });
  return noahRestore(await fsp.readFile(file, 'utf8'), mnemonic, {
    documents: join(phone, 'docs'),
    cache: join(phone, 'cache'),
    variant,
  });
}

function vtxos(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT id FROM vtxo ORDER BY id').all();
  } finally {
    db.close();
  }
}

describe('noah-backup encrypt --format noah-v1 writes what Noah’s app restores', () => {
  it('a wallet directory, in Noah’s layout for the default mainnet build', async () => {
    const u = await user();
    const wallet = await noahWalletDir();
    const out = join(dir, 'dir.noah');
    const r = await cli(['encrypt', '--format', 'noah-v1', wallet, out, '--mnemonic-file', u.file]);
    expect(r.code, r.stderr).toBe(0);
    const restored = await restoreInNoah(out, u.mnemonic, 'mainnet');
    expect(vtxos(join(restored, 'db.sqlite'))).toEqual([{ id: 'v1' }, { id: 'v2' }]);
    expect(await fsp.readFile(join(restored, 'logs', 'bark.log'), 'utf8')).toBe('started\n');
  });

  it('--noah-variant signet: the signet build restores it, the mainnet build finds nothing', async () => {
    const u = await user();
    const out = join(dir, 'signet.noah');
    const r = await cli([
      'encrypt',
      '--format',
      'noah-v1',
      '--noah-variant',
      'signet',
      await noahWalletDir(),
      out,
      '--mnemonic-file',
      u.file,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(vtxos(join(await restoreInNoah(out, u.mnemonic, 'signet'), 'db.sqlite'))).toHaveLength(
      2,
    );
    const mainnet = await restoreInNoah(out, u.mnemonic, 'mainnet');
    await expect(fsp.stat(mainnet)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a flat ZIP of the wallet is rewritten in Noah’s layout', async () => {
    const u = await user();
    const files = await noahWalletFiles();
    const zip = join(dir, 'flat.zip');
    await fsp.writeFile(zip, zipSync(Object.fromEntries(files.map((f) => [f.path, f.data]))));
    const out = join(dir, 'flat.noah');
    const r = await cli(['encrypt', '--format', 'noah-v1', zip, out, '--mnemonic-file', u.file]);
    expect(r.code, r.stderr).toBe(0);
    const restored = await restoreInNoah(out, u.mnemonic, 'mainnet');
    expect(vtxos(join(restored, 'db.sqlite'))).toEqual([{ id: 'v1' }, { id: 'v2' }]);
  });

  for (const [what, make] of [
    [
      'a directory without bark’s db.sqlite',
      async () => {
        const d = join(dir, `other-${randomBytes(4).toString('hex')}`);
        await fsp.mkdir(d);
        const db = new Database(join(d, 'wallet.sqlite'));
        db.exec('CREATE TABLE t (x)');
        db.close();
        return d;
      },
    ],
    [
      'an empty directory',
      async () => {
        const d = join(dir, `empty-${randomBytes(4).toString('hex')}`);
        await fsp.mkdir(d);
        return d;
      },
    ],
    [
      'a file that is no ZIP',
      async () => {
        const f = join(dir, `raw-${randomBytes(4).toString('hex')}`);
        await fsp.writeFile(f, 'payload bytes');
        return f;
      },
    ],
  ] as const) {
    it(`refuses ${what} (noah_wallet_missing, exit 2), leaving no OUT`, async () => {
      const u = await user();
      const out = join(dir, `refused-${randomBytes(4).toString('hex')}`);
      const r = await cli([
        'encrypt',
        '--format',
        'noah-v1',
        await make(),
        out,
        '--mnemonic-file',
        u.file,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^noah-backup: error: .+ \[noah_wallet_missing\]\nhint: noah-v1 is for Noah's app/,
      );
      await expect(fsp.stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  }

  it('leaves no snapshot behind, written or refused (OUT exists)', async () => {
    const u = await user();
    const tmp = await fsp.mkdtemp(join(dir, 'tmp-'));
    const wallet = await noahWalletDir();
    const out = join(dir, 'twice.noah');
    const args = ['encrypt', '--format', 'noah-v1', wallet, out, '--mnemonic-file', u.file];
    const first = await cli(args, { TMPDIR: tmp });
    expect(first.code, first.stderr).toBe(0);
    expect(await fsp.readdir(tmp)).toEqual([]);
    const again = await cli(args, { TMPDIR: tmp });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('exists');
    expect(await fsp.readdir(tmp)).toEqual([]);
  });

  it('--noah-variant is refused with another format, and takes only Noah’s builds', async () => {
    const u = await user();
    const wallet = await noahWalletDir();
    const v2 = await cli([
      'encrypt',
      '--noah-variant',
      'signet',
      wallet,
      join(dir, 'x'),
      '--mnemonic-file',
      u.file,
    ]);
    expect(v2.code).toBe(2);
    expect(v2.stderr).toContain('--noah-variant is for --format noah-v1 only');
    const bad = await cli([
      'encrypt',
      '--format',
      'noah-v1',
      '--noah-variant',
      'testnet',
      wallet,
      join(dir, 'y'),
      '--mnemonic-file',
      u.file,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/testnet/);
  });
});
