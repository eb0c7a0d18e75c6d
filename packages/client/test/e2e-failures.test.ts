/**
 * Against the real server (sqlite+fs and postgres+s3): a backup while
 * another process keeps writing to the wallet database; hostile archives uploaded as
 * validly encrypted backups (traversal, absolute path, symlink, a decompression bomb);
 * and the server stays blind — after backing up a wallet full of marker strings, no
 * object in the blob store, no row or file of the metadata database and no server log
 * line holds the marker or any part of the seedphrase.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encryptBackupBytes } from '@noah-backup/core/format';
import type { PayloadKind } from '@noah-backup/core/v2';
import Database from 'better-sqlite3';
import { zipSync } from 'fflate';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import {
  breakIndex,
  buildTar,
  exited,
  expectConsistentCopy,
  rowCount,
  type TarSpec,
  treeHash,
  waitForLine,
} from './fixtures/node-helpers.ts';
import { newMnemonic, deviceSuite, type TestServer, uploadRaw } from './helpers/device.ts';

const writerScript = fileURLToPath(new URL('./fixtures/node-writer.mjs', import.meta.url));

describe.each(fullCombos)('failures on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'fail', 32 * 2 ** 20);
  const device = suite.device;

  it('backs up while another process writes: the restore is consistent, no pair split', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    const wallet = await createDemoWallet(a.walletDir, { sizeMb: 4 });
    const writer = spawn(process.execPath, [writerScript, wallet.database], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let before: number;
    let after: number;
    try {
      await waitForLine(writer, /^ready$/);
      before = rowCount(wallet.database, 'pairs');
      expect(await a.manager.triggerBackup()).toMatchObject({ status: 'completed' });
      after = rowCount(wallet.database, 'pairs');
    } finally {
      writer.kill('SIGKILL');
      await exited(writer);
    }
    expect(after).toBeGreaterThan(before); // the writer committed during the backup

    const b = await device(mnemonic);
    await b.manager.restoreBackup();
    expectConsistentCopy(join(b.walletDir, 'wallet.sqlite'), {
      before,
      after,
      payments: wallet.payments,
    });
  });

  it('a damaged wallet database is not backed up: both good backups stay and restore', async () => {
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    const wallet = await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 9 });
    await a.manager.setBackupEnabled(true);
    await a.manager.triggerBackup();
    suite.srv.clock.advance(60_000);
    await a.manager.triggerBackup();
    const good = await walletDigest(a.walletDir);
    const before = await a.manager.listBackups();
    expect(before).toHaveLength(2);

    // The index no longer matches the table: VACUUM INTO would copy it as it is, and
    // every restore of such a backup would refuse it (integrity_check_failed).
    breakIndex(wallet.database, 'payments', 'payments_created_at', 'created_at');
    a.clock.advance(86_400_000); // the next day's push
    const outcome = await a.manager.handleBackupNotification({ type: 'backup_trigger' });
    expect(outcome).toMatchObject({
      status: 'failure',
      error: { code: 'corrupt_wallet_database' },
    });
    expect(a.manager.getStatus()).toMatchObject({
      state: 'failed',
      lastError: { code: 'corrupt_wallet_database' },
    });
    await expect(a.manager.triggerBackup()).rejects.toMatchObject({
      code: 'corrupt_wallet_database',
      message: expect.stringMatching(/wallet\.sqlite is damaged/),
    });
    expect(await a.manager.listBackups()).toEqual(before); // nothing uploaded, nothing rotated

    const b = await device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(good);
    const older = before[1]?.backup_version;
    expect(older).toBeDefined();
    await expect(b.manager.verifyBackup(older)).resolves.toMatchObject({ databases: 1 });
  });

  it('a backup whose stored object is gone: backup_not_found, the wallet untouched', async () => {
    // One object (a manifest backup's lost pack: e2e-incremental.test.ts).
    const a = await device(newMnemonic(), { incremental: false });
    await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 5 });
    const keys = async () => {
      const out: string[] = [];
      for await (const o of suite.srv.blobs.list('')) out.push(o.key);
      return out;
    };
    const old = new Set(await keys());
    await a.manager.triggerBackup();
    const added = (await keys()).filter((k) => !old.has(k));
    expect(added).toHaveLength(1);
    await suite.srv.blobs.delete(added[0]!);
    const before = await treeHash(a.walletDir);
    // Whatever the store's dialect (the fs store's JSON, S3's NoSuchKey XML): one code.
    await expect(a.manager.restoreBackup()).rejects.toMatchObject({
      code: 'backup_not_found',
      status: 404,
    });
    await expect(a.manager.verifyBackup()).rejects.toMatchObject({ code: 'backup_not_found' });
    expect(await treeHash(a.walletDir)).toBe(before);
  });

  describe('a hostile archive encrypted with the user’s own key', () => {
    const file = (name: string, content = 'pwned'): TarSpec => ({
      header: { name, type: 'file', size: Buffer.byteLength(content), mode: 0o600 },
      content,
    });
    const cases: [string, PayloadKind, () => Promise<Uint8Array>, RegExp][] = [
      ['traversal', 'tar', () => buildTar([file('ok.txt'), file('../evil')]), /\(\.\.\)/],
      ['absolute path', 'tar', () => buildTar([file('/tmp/noah-evil-abs')]), /absolute path/],
      [
        'symlink',
        'tar',
        () =>
          buildTar([
            { header: { name: 'link', type: 'symlink', linkname: '..' } },
            file('link/evil'),
          ]),
        /symlink entries are not allowed/,
      ],
      [
        'zip traversal',
        'zip',
        async () => zipSync({ 'ok.txt': new Uint8Array(1), '../evil': new Uint8Array(5) }),
        /\(\.\.\)/,
      ],
    ];

    it.each(cases)(
      '%s: refused, the wallet untouched, nothing written outside',
      async (_name, kind, build, rule) => {
        const mnemonic = newMnemonic();
        const a = await device(mnemonic);
        await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 4 });
        const before = await treeHash(a.walletDir);
        const parent = join(a.walletDir, '..');
        const siblings = await besides(parent);
        const hostile = await encryptBackupBytes(await build(), {
          keyring: a.keys.keyring,
          createdAt: suite.srv.clock.now(),
          sequence: 7n,
          payloadKind: kind,
        });
        await uploadRaw(a.api, hostile);

        const err = await a.manager.restoreBackup().catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'unsafe_archive', message: expect.stringMatching(rule) });
        await expect(a.manager.verifyBackup()).rejects.toMatchObject({ code: 'unsafe_archive' });
        expect(await treeHash(a.walletDir)).toBe(before);
        expect(await besides(parent)).toEqual(siblings); // no staging left, no evil
        expect((await fsp.readdir(suite.root)).filter((f) => f.includes('evil'))).toEqual([]);
        await expect(fsp.access('/tmp/noah-evil-abs')).rejects.toThrow();
      },
    );

    it('a decompression bomb stops at the plaintext cap; the wallet untouched', async () => {
      const mnemonic = newMnemonic();
      const a = await device(mnemonic, { maxPlaintextBytes: 8 * 2 ** 20 });
      await createDemoWallet(a.walletDir, { sizeMb: 1, seed: 4 });
      const before = await treeHash(a.walletDir);
      const parent = join(a.walletDir, '..');
      const siblings = await besides(parent);
      const zeros = new Uint8Array(64 * 2 ** 20);
      const tarball = await buildTar([
        { header: { name: 'wallet.sqlite', type: 'file', size: zeros.length }, content: zeros },
      ]);
      const bomb = await encryptBackupBytes(tarball, {
        keyring: a.keys.keyring,
        createdAt: suite.srv.clock.now(),
        sequence: 7n,
        payloadKind: 'tar',
      });
      expect(bomb.length).toBeLessThan(2 ** 20); // 64 MiB of plaintext in well under 1 MiB
      await uploadRaw(a.api, bomb);
      await expect(a.manager.restoreBackup()).rejects.toMatchObject({ code: 'limit_exceeded' });
      expect(await treeHash(a.walletDir)).toBe(before);
      expect(await besides(parent)).toEqual(siblings);
    });
  });

  it('the server stays blind: no marker, no seedphrase in blobs, database or logs', async () => {
    const marker = `NOAHMARK${randomBytes(8).toString('hex')}`;
    const mnemonic = newMnemonic();
    const a = await device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 2, marker });
    await a.manager.setBackupEnabled(true);
    await a.manager.triggerBackup();
    suite.srv.clock.advance(60_000);
    await a.manager.triggerBackup();
    const b = await device(mnemonic);
    await b.manager.restoreBackup();
    expect(await walletDigest(b.walletDir)).toBe(await walletDigest(a.walletDir));
    // The marker really is in the wallet: the search below can find it where it is.
    const plain = await fsp.readFile(join(a.walletDir, 'settings.json'), 'utf8');
    expect(plain).toContain(marker);

    const needles = forbidden(marker, mnemonic);
    const objects = await blobObjects(suite.srv);
    expect(objects.length).toBeGreaterThanOrEqual(2);
    for (const { key, bytes } of objects) {
      const text = bytes.toString('latin1');
      for (const needle of needles)
        expect(text.includes(needle), `${needle} in object ${key}`).toBe(false);
    }
    const dump = await metadataDump(suite.srv);
    expect(dump).toContain(a.keys.signer.linkingKey); // the dump does hold the rows
    for (const needle of needles)
      expect(dump.includes(needle), `${needle} in the database`).toBe(false);
    const logs = suite.srv.logs.join('\n');
    for (const needle of needles)
      expect(logs.includes(needle), `${needle} in the logs`).toBe(false);
  });
});

/** What sits beside the wallet directory, but the device state (staging would show). */
async function besides(parent: string): Promise<string[]> {
  return (await fsp.readdir(parent)).filter((f) => !f.startsWith('state.json')).sort();
}

/** Rows in `table` of the database at `path`. */
/**
 * What must appear nowhere: the marker as text, hex (both cases) and base64 (at all
 * three alignments), the whole seedphrase, and every run of two consecutive words of it.
 */
function forbidden(marker: string, mnemonic: string): string[] {
  const m = Buffer.from(marker);
  const out = [marker, m.toString('hex'), m.toString('hex').toUpperCase()];
  for (let shift = 0; shift < 3; shift++) {
    // base64 of the marker after `shift` other bytes: drop the characters that mix them in.
    const b64 = Buffer.concat([Buffer.alloc(shift), m]).toString('base64');
    const start = Math.ceil((shift * 4) / 3);
    const inner = b64.slice(start, start + Math.floor((m.length * 4) / 3) - 2);
    out.push(inner, inner.replaceAll('+', '-').replaceAll('/', '_'));
  }
  const words = mnemonic.split(' ');
  out.push(mnemonic);
  for (let i = 0; i + 1 < words.length; i++) out.push(`${words[i]} ${words[i + 1]}`);
  return out;
}

/** Every object in the blob store, read past the server (fs files; s3rver directly). */
async function blobObjects(srv: TestServer): Promise<{ key: string; bytes: Buffer }[]> {
  const out: { key: string; bytes: Buffer }[] = [];
  if (srv.blob.fs) {
    const base = srv.blob.fs.dir;
    for (const rel of await fsp.readdir(base, { recursive: true })) {
      const path = join(base, rel);
      if ((await fsp.stat(path)).isFile()) out.push({ key: rel, bytes: await fsp.readFile(path) });
    }
    return out;
  }
  const s3 = srv.blob.s3!;
  for await (const o of srv.blobs.list('')) {
    const res = await fetch(`${s3.rawEndpoint}/${s3.bucket}/${o.key}`);
    expect(res.status).toBe(200);
    out.push({ key: o.key, bytes: Buffer.from(await res.arrayBuffer()) });
  }
  return out;
}

/** Every row of every table of the metadata database as text (blobs as hex and latin1). */
async function metadataDump(srv: TestServer): Promise<string> {
  const lines: string[] = [];
  const cell = (v: unknown): string =>
    Buffer.isBuffer(v) || v instanceof Uint8Array
      ? `${Buffer.from(v).toString('hex')} ${Buffer.from(v).toString('latin1')}`
      : v instanceof Date
        ? v.toISOString()
        : String(v);
  const row = (table: string, r: Record<string, unknown>) =>
    lines.push(`${table}: ${Object.values(r).map(cell).join(' | ')}`);
  if (srv.metadataUrl.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: srv.metadataUrl });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
      );
      expect(tables.rows.length).toBeGreaterThan(3);
      for (const { table_name } of tables.rows)
        for (const r of (await client.query(`SELECT * FROM "${table_name}"`)).rows)
          row(table_name, r);
    } finally {
      await client.end();
    }
    return lines.join('\n');
  }
  const file = srv.metadataUrl.replace(/^sqlite:/, '');
  const db = new Database(file, { readonly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
      .pluck()
      .all() as string[];
    expect(tables.length).toBeGreaterThan(3);
    for (const t of tables)
      for (const r of db.prepare(`SELECT * FROM "${t}"`).all() as Record<string, unknown>[])
        row(t, r);
  } finally {
    db.close();
  }
  // The files themselves too (free pages and the WAL keep bytes no row shows).
  for (const suffix of ['', '-wal'])
    lines.push(await fsp.readFile(file + suffix, 'latin1').catch(() => ''));
  return lines.join('\n');
}
