/**
 * `noah-backup admin import-noah` as a black box (docs/OPERATIONS.md "Moving users from
 * a Noah server"): a Noah server's PostgreSQL with Noah's own schema and its bucket on
 * the S3 test server, imported into a running server of this project — PostgreSQL + S3
 * for the 1,000 users, SQLite + fs for the problems, the dry run and the resume after a
 * kill. Every user is checked by metadata and object size, a sample by restoring it
 * with this project's client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSessionKeys } from '@noah-backup/client/keys';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPubkey } from '../../server/test/helpers/metadata.ts';
import {
  type NoahFixture,
  type NoahSeedUser,
  noahKey,
  startNoahFixture,
} from '../../server/test/helpers/noah-source.ts';
import { expoToken } from '../../server/test/helpers/push.ts';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';
import { BIN, cli } from './admin-helpers.ts';

/** The server's configuration for the CLI: the test server's own stores. */
async function targetEnv(srv: TestServer): Promise<Record<string, string>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'noah-import-data-'));
  return {
    DATA_DIR: dataDir,
    DATABASE_URL: srv.metadataUrl,
    BLOB_STORE_URL: srv.blob.url,
    MAX_BACKUP_SIZE: String(srv.config.maxBackupSize),
    LOG_LEVEL: 'error',
  };
}

const T0 = Date.UTC(2026, 5, 1);
const at = (i: number, h = 0) => new Date(T0 + i * 60_000 + h * 3600_000 + 123);
const blob = (n: number) => new Uint8Array(randomBytes(n));

/** What the target must hold for a Noah user: slot → (size, time). */
function expected(u: NoahSeedUser): Map<number, { size: number; createdAt: Date }> {
  const kept = [...u.backups]
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.version - a.version)
    .slice(0, 2);
  const keep = kept.every((b) => b.version === 1 || b.version === 2);
  return new Map(
    kept.map((b, i) => [
      keep ? b.version : i + 1,
      { size: b.recordedSize ?? b.bytes!.length, createdAt: b.createdAt },
    ]),
  );
}

/** Checks every user by metadata and object size; returns the object keys held. */
async function checkAll(srv: TestServer, users: readonly NoahSeedUser[]): Promise<string[]> {
  const keys: string[] = [];
  // Sixteen users at once: the checks are round trips to the stores, not CPU.
  let next = 0;
  const check = async (u: NoahSeedUser) => {
    const here = await srv.metadata.findUserByPubkey(u.pubkey.toLowerCase());
    expect(here, u.pubkey).not.toBeNull();
    expect(here!.backupEnabled).toBe(u.enabled ?? false);
    const want = expected(u);
    const rows = await srv.metadata.listBackups(here!.id);
    expect(new Map(rows.map((r) => [r.version, { size: r.size, createdAt: r.createdAt }]))).toEqual(
      want,
    );
    for (const r of rows) {
      expect((await srv.blobs.head(r.objectKey))?.size).toBe(r.size);
      keys.push(r.objectKey);
    }
    const devices = await srv.metadata.listDevices(here!.id);
    const token = u.pushToken?.startsWith('Expo') ? u.pushToken : undefined;
    expect(devices.map((d) => [d.deviceId, d.address])).toEqual(token ? [['noah-app', token]] : []);
  };
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < users.length) await check(users[next++]!);
    }),
  );
  return keys.sort();
}

describe('import-noah: 1,000 users into PostgreSQL + S3, twice', () => {
  let noah: NoahFixture;
  let srv: TestServer;
  let env: Record<string, string>;
  let dir: string;
  const users: NoahSeedUser[] = [];
  const mnemonic = generateMnemonic(wordlist);
  let mfile: string;

  /** What Noah's app uploads for a wallet whose bark database holds these vtxos. */
  async function noahUpload(vtxos: string[]): Promise<Uint8Array> {
    const wallet = await mkdtemp(join(dir, 'wallet-'));
    const db = new Database(join(wallet, 'db.sqlite'));
    db.exec('CREATE TABLE vtxo (id TEXT)');
    for (const v of vtxos) db.prepare('INSERT INTO vtxo VALUES (?)').run(v);
    db.close();
    const out = join(dir, `upload-${vtxos.length}`);
    const r = await cli(['encrypt', '--format', 'noah-v1', wallet, out, '--mnemonic-file', mfile], {
      HOME: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    return new Uint8Array(await readFile(out));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noah-import-'));
    mfile = join(dir, 'mnemonic');
    [noah, srv] = await Promise.all([
      startNoahFixture(),
      startTestServer({ metadataKind: 'postgres', blobKind: 's3' }),
    ]);
    env = { ...(await targetEnv(srv)), ...noah.env };
    for (let i = 0; i < 1000; i++) {
      const backups =
        i % 25 === 1
          ? [1, 2, 3].map((v) => ({ version: v, createdAt: at(i, v), bytes: blob(100 + v) }))
          : i % 10 === 0
            ? [
                { version: 1, createdAt: at(i, 2), bytes: blob(300) },
                { version: 2, createdAt: at(i, 1), bytes: blob(200) },
              ]
            : [{ version: 1, createdAt: at(i), bytes: blob(64 + (i % 200)) }];
      users.push({
        pubkey: freshPubkey(),
        createdAt: at(i, -48),
        backups,
        ...(i % 3 === 0 ? {} : { enabled: i % 3 === 1 }),
        ...(i % 2 === 0 ? { pushToken: expoToken() } : {}),
        ...(i % 50 === 7 ? { pushToken: 'not-a-push-token' } : {}),
        device: i % 4 === 0,
      });
    }
    // The sample restored with this project's client: noah-v1 uploads (base64, Noah's
    // ZIP layout) of two states of a wallet, under the linking key it logs in with.
    await writeFile(mfile, `${mnemonic}\n`, { mode: 0o600 });
    const keys = await createSessionKeys(mnemonic, srv.url);
    users.push({
      pubkey: keys.signer.linkingKey,
      createdAt: at(0, -48),
      backups: [
        { version: 1, createdAt: at(5), bytes: await noahUpload(['v1']) },
        { version: 2, createdAt: at(6), bytes: await noahUpload(['v1', 'v2']) },
      ],
      enabled: true,
    });
    keys.destroy();
    await noah.seed(users);
  });
  afterAll(async () => {
    await srv?.close();
    await noah?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves every user restorable; the second run changes nothing', async () => {
    const before = await noah.snapshot();
    // The most users at once the flag allows: the run waits on round trips, and more
    // of them in flight also tries the import's concurrency harder.
    const first = await cli(
      ['admin', 'import-noah', ...noah.flags, '--json', '--concurrency', '32'],
      env,
    );
    expect(first.stderr).not.toMatch(/import-noah|error/i);
    expect(first.code).toBe(0);
    const r1 = JSON.parse(first.stdout);
    const backups = users.reduce((n, u) => n + Math.min(u.backups.length, 2), 0);
    expect(r1).toMatchObject({
      dryRun: false,
      noahUsers: 1001,
      imported: 1001,
      unchanged: 0,
      skipped: 0,
      backupsCopied: backups,
      olderBackupsLeft: 40,
      noahDeviceRows: 250,
      devicesAdded: 500,
    });
    expect(r1.problems).toHaveLength(20);
    for (const p of r1.problems)
      expect(p).toMatchObject({ problem: 'push_token_skipped', userSkipped: false });
    const held = await checkAll(srv, users);
    expect(await noah.snapshot()).toEqual(before);

    const second = await cli(['admin', 'import-noah', ...noah.flags], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/imported\s+0 users: 0 backups/);
    expect(second.stdout).toMatch(/already here\s+1001 users/);
    expect(await checkAll(srv, users)).toEqual(held);
    expect(await noah.snapshot()).toEqual(before);

    // The sample: this project's client restores both of Noah's uploads in place.
    for (const [version, want] of [
      [1, ['v1']],
      [2, ['v1', 'v2']],
    ] as const) {
      const to = join(dir, `w${version}`);
      const restore = await cli(
        [
          'restore',
          '--to',
          to,
          '--version',
          String(version),
          '--mnemonic-file',
          mfile,
          '--state',
          join(dir, `s${version}`),
        ],
        { NOAH_SERVER: srv.url, HOME: dir },
      );
      expect(restore.stderr).not.toMatch(/error/i);
      expect(restore.code).toBe(0);
      const db = new Database(join(to, 'db.sqlite'), { readonly: true });
      expect(db.prepare('SELECT id FROM vtxo ORDER BY id').all()).toEqual(
        want.map((id) => ({ id })),
      );
      db.close();
    }
  }, 300_000);
});

describe('import-noah into SQLite + fs: dry run, bad objects, a kill and a resume', () => {
  let noah: NoahFixture;
  let srv: TestServer;
  let env: Record<string, string>;
  const users: NoahSeedUser[] = [];
  const MISSING = 5;
  const WRONG = 9;
  const LARGE = 13;
  /** A key in uppercase hex: imported under its lowercase form, as the Noah login uses. */
  const UPPER = 17;
  const INVALID = 23;
  const BAD = [MISSING, WRONG, LARGE, INVALID];
  /** A user with a push token on Noah. */
  const PUSH = 30;

  beforeAll(async () => {
    [noah, srv] = await Promise.all([
      startNoahFixture(),
      startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' }),
    ]);
    env = { ...(await targetEnv(srv)), ...noah.env };
    for (let i = 0; i < 300; i++) {
      const bytes = blob(50 + i);
      users.push({
        pubkey:
          i === UPPER ? freshPubkey().toUpperCase() : i === INVALID ? 'not-a-key' : freshPubkey(),
        createdAt: at(i, -48),
        backups: [
          i === MISSING
            ? { version: 1, createdAt: at(i), recordedSize: 100 }
            : i === WRONG
              ? { version: 1, createdAt: at(i), bytes, recordedSize: bytes.length + 1 }
              : i === LARGE
                ? { version: 1, createdAt: at(i), recordedSize: srv.config.maxBackupSize + 1 }
                : { version: 1, createdAt: at(i), bytes },
        ],
        enabled: true,
        ...(i === PUSH ? { pushToken: expoToken() } : {}),
      });
    }
    await noah.seed(users);
  });
  afterAll(async () => {
    await srv?.close();
    await noah?.cleanup();
  });

  const good = () => users.filter((_, i) => !BAD.includes(i));
  const problemLines = (stderr: string) =>
    stderr.split('\n').filter((l) => l.startsWith('noah-backup admin import-noah:'));
  const objectsHere = async () => {
    const keys: string[] = [];
    for await (const o of srv.blobs.list('b/')) keys.push(o.key);
    return keys;
  };

  it('a dry run checks every object, reports, and writes nothing', async () => {
    const r = await cli(['admin', 'import-noah', ...noah.flags, '--dry-run'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^dry run: nothing was written\. 300 Noah users read/);
    expect(r.stdout).toMatch(/would import\s+296 users: 296 backups/);
    expect(r.stdout).toMatch(/left out\s+4 users/);
    const lines = problemLines(r.stderr);
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.includes('object_missing'))).toMatch(
      /object_missing: user 0[23][0-9a-f]{10}…: backup_metadata id \d+ \(backup_version 1, ".*\/backup_v1\.db"\): no such object in Noah's bucket; user not imported$/,
    );
    expect(lines.find((l) => l.includes('wrong_size'))).toMatch(
      /wrong_size: .*: the object has 59 bytes, Noah recorded 60; user not imported$/,
    );
    expect(lines.find((l) => l.includes('too_large'))).toMatch(
      /too_large: .*: 65537 bytes, above MAX_BACKUP_SIZE \(65536\); user not imported$/,
    );
    expect(lines.find((l) => l.includes('invalid_pubkey'))).toBe(
      'noah-backup admin import-noah: invalid_pubkey: user "not-a-key": not a compressed secp256k1 public key in hex; not imported',
    );
    expect((await srv.metadata.stats(new Date())).users).toBe(0);
    expect(await objectsHere()).toEqual([]);
  });

  it('a killed run continued finishes; a user with a bad object is left out whole', async () => {
    const before = await noah.snapshot();
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'admin', 'import-noah', ...noah.flags, '--concurrency', '1'],
      { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' },
    );
    const exited = new Promise((done) => child.once('exit', done));
    for (;;) {
      if ((await srv.metadata.stats(new Date())).users >= 40) break;
      await new Promise((done) => setTimeout(done, 20));
    }
    child.kill('SIGKILL');
    await exited;
    const partial = (await srv.metadata.stats(new Date())).users;
    expect(partial).toBeLessThan(296);

    const resumed = await cli(['admin', 'import-noah', ...noah.flags], env);
    expect(resumed.code).toBe(1);
    expect(problemLines(resumed.stderr)).toHaveLength(4);
    expect(resumed.stdout).toMatch(/left out\s+4 users/);
    const held = await checkAll(srv, good());
    for (const i of BAD) expect(await srv.metadata.findUserByPubkey(users[i]!.pubkey)).toBeNull();
    expect((await srv.metadata.stats(new Date())).users).toBe(296);
    expect(await noah.snapshot()).toEqual(before);

    const again = await cli(['admin', 'import-noah', ...noah.flags], env);
    expect(again.stdout).toMatch(/imported\s+0 users: 0 backups/);
    expect(again.stdout).toMatch(/already here\s+296 users/);
    expect(await checkAll(srv, good())).toEqual(held);

    // The operator puts the missing object back: the next run takes that user too.
    const missing = users[MISSING]!;
    const bytes = blob(100);
    missing.backups[0]!.bytes = bytes;
    await noah.putObject(noahKey(missing.pubkey, 1), bytes);
    const fixed = await cli(['admin', 'import-noah', ...noah.flags, '--json'], env);
    expect(fixed.code).toBe(1);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ imported: 1, unchanged: 296, skipped: 3 });
    await checkAll(srv, [missing]);
  }, 300_000);

  /** Completes a backup of `u` in slot 1 here, at `when`, as `complete_upload` would. */
  async function backupHere(u: NoahSeedUser, when: Date): Promise<string> {
    const user = await srv.metadata.upsertUser(u.pubkey, when);
    const bytes = blob(77);
    const objectKey = `b/${randomBytes(16).toString('hex')}`;
    await srv.metadata.createPendingUpload({
      objectKey,
      userId: user.id,
      version: 1,
      declaredSize: bytes.length,
      createdAt: when,
      expiresAt: new Date(when.getTime() + 900_000),
    });
    const put = await srv.blobs.presignPut(objectKey, { size: bytes.length, expiresInSec: 900 });
    const res = await fetch(put.url, { method: 'PUT', body: bytes, headers: put.headers });
    expect(res.status).toBe(200);
    await srv.metadata.completeUpload({
      userId: user.id,
      objectKey,
      version: 1,
      size: bytes.length,
      now: when,
    });
    return objectKey;
  }

  it('keeps a backup made here after the Noah one, replaces an older one', async () => {
    const newer = await backupHere(users[20]!, new Date());
    // Before the Noah backup's time: the next run puts the Noah backup back in its place.
    const older = await backupHere(users[21]!, at(21, -1));
    const r = await cli(['admin', 'import-noah', ...noah.flags, '--json'], env);
    expect(JSON.parse(r.stdout)).toMatchObject({
      imported: 1,
      backupsCopied: 1,
      backupsNewerHere: 1,
    });
    const id = async (u: NoahSeedUser) => (await srv.metadata.findUserByPubkey(u.pubkey))!.id;
    expect((await srv.metadata.getBackup(await id(users[20]!), 1))?.objectKey).toBe(newer);
    await checkAll(srv, [users[21]!]);
    // The replaced object is queued for deletion, due now (its upload URL is long dead).
    expect(await srv.metadata.listObjectDeletions(100, new Date())).toContain(older);
  });

  it('replacing an incremental backup made here queues the objects it referenced', async () => {
    // Slot 1 of users[22] here: a manifest and one chunk it references, older than Noah's.
    const u = users[22]!;
    const when = at(22, -1);
    const user = (await srv.metadata.findUserByPubkey(u.pubkey))!;
    const keys: string[] = [];
    for (const objectOnly of [false, true]) {
      const bytes = blob(40);
      const objectKey = `b/${randomBytes(16).toString('hex')}`;
      await srv.metadata.createPendingUpload({
        objectKey,
        userId: user.id,
        version: 1,
        declaredSize: bytes.length,
        createdAt: when,
        expiresAt: new Date(when.getTime() + 900_000),
        ...(objectOnly ? { objectOnly } : {}),
      });
      const put = await srv.blobs.presignPut(objectKey, { size: 40, expiresInSec: 900 });
      const res = await fetch(put.url, { method: 'PUT', body: bytes, headers: put.headers });
      expect(res.status).toBe(200);
      keys.push(objectKey);
    }
    const [manifest, chunk] = keys as [string, string];
    await srv.metadata.completeUpload({
      userId: user.id,
      objectKey: manifest,
      version: 1,
      size: 40,
      now: when,
      objects: [{ objectKey: chunk, size: 40 }],
    });
    const r = await cli(['admin', 'import-noah', ...noah.flags, '--json'], env);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: 1, backupsCopied: 1 });
    await checkAll(srv, [u]);
    const queued = await srv.metadata.listObjectDeletions(100, new Date());
    expect(queued).toContain(manifest);
    expect(queued).toContain(chunk);
  });

  it("keeps the push token the app registered here since, not Noah's older one", async () => {
    const u = users[PUSH]!;
    const user = (await srv.metadata.findUserByPubkey(u.pubkey))!;
    // What the NOAH_COMPAT profile's register_push_token does with the app's new token.
    const token = expoToken();
    await srv.metadata.registerDevice({
      userId: user.id,
      deviceId: 'noah-app',
      provider: 'expo',
      address: token,
      now: new Date(),
      maxDevices: srv.config.push.maxDevicesPerUser,
    });
    const r = await cli(['admin', 'import-noah', ...noah.flags, '--json'], env);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: 0, devicesAdded: 0 });
    const devices = await srv.metadata.listDevices(user.id);
    expect(devices.map((d) => [d.deviceId, d.address])).toEqual([['noah-app', token]]);
  });

  it('keeps the backup setting the user changed here since', async () => {
    const u = users[PUSH + 1]!;
    const user = (await srv.metadata.findUserByPubkey(u.pubkey))!;
    expect(user.backupEnabled).toBe(true);
    // What the NOAH_COMPAT profile's backup/settings route does when the app turns it off.
    await srv.metadata.setBackupEnabled(user.id, false);
    const r = await cli(['admin', 'import-noah', ...noah.flags, '--json'], env);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: 0, settingsSet: 0 });
    expect((await srv.metadata.findUserByPubkey(u.pubkey))!.backupEnabled).toBe(false);
  });

  it("one line and exit 2 without Noah's database, 69 when it cannot be reached", async () => {
    const none = await cli(['admin', 'import-noah', '--noah-s3-bucket', 'b'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /^noah-backup admin import-noah: error: Noah's database is not given \(a postgres:\/\/ URL\)\nhint: pass --noah-database-url/,
    );
    const down = await cli(
      [
        'admin',
        'import-noah',
        '--noah-database-url',
        'postgres://reader:s3cr3t-pass@127.0.0.1:1/noah',
        '--noah-s3-bucket',
        'b',
      ],
      env,
    );
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(/^noah-backup admin import-noah: error: .*ECONNREFUSED.*\nhint: /m);
    expect(down.stderr).not.toContain('s3cr3t-pass');
  });

  it('never puts a Noah backup over one the app completes here while it is copied', async () => {
    // users[24] holds its imported Noah backup in slot 1; the user then backs up again
    // on Noah, and the next run copies that while the app completes a newer one here.
    const u = users[24]!;
    const bytes = blob(90);
    await noah.putObject(noahKey(u.pubkey, 1), bytes);
    await noah.pool.query(
      'UPDATE backup_metadata SET backup_size = $2, created_at = $3 WHERE pubkey = $1',
      [u.pubkey, bytes.length, at(24, 1)],
    );
    // Noah's bucket behind a proxy that holds the import's GET of that object until the
    // app's backup here is complete.
    const front = new URL(noah.s3.endpoint);
    let made: Promise<string> | null = null;
    const proxy = createServer((req, res) => {
      const go = () =>
        req.pipe(
          request(
            {
              host: front.hostname,
              port: front.port,
              method: req.method,
              path: req.url,
              headers: req.headers,
            },
            (up) => {
              res.writeHead(up.statusCode ?? 502, up.headers);
              up.pipe(res);
            },
          ),
        );
      if (req.method === 'GET' && req.url?.includes(`${u.pubkey}/backup_v1.db`)) {
        made ??= backupHere(u, new Date());
        made.then(go, () => res.destroy());
      } else go();
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    try {
      const flags = [...noah.flags];
      flags[flags.indexOf(noah.s3.endpoint)] =
        `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      await cli(['admin', 'import-noah', ...flags, '--json'], env);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
    expect(made).not.toBeNull();
    const user = (await srv.metadata.findUserByPubkey(u.pubkey))!;
    expect((await srv.metadata.getBackup(user.id, 1))?.objectKey).toBe(await made);
  });

  it("leaves out a user whose row names another user's object", async () => {
    // Noah stores the s3_key its client reports unchecked: a row may name any object.
    const victim = users[40]!;
    const thief = freshPubkey();
    await noah.pool.query('INSERT INTO users (pubkey) VALUES ($1)', [thief]);
    await noah.pool.query(
      `INSERT INTO backup_metadata (pubkey, s3_key, backup_size, backup_version)
       VALUES ($1, $2, $3, 1)`,
      [thief, noahKey(victim.pubkey, 1), victim.backups[0]!.bytes!.length],
    );
    const r = await cli(['admin', 'import-noah', ...noah.flags], env);
    expect(r.code).toBe(1);
    expect(problemLines(r.stderr).filter((l) => l.includes('foreign_object'))).toEqual([
      expect.stringMatching(
        /^noah-backup admin import-noah: foreign_object: user 0[23][0-9a-f]{10}…: backup_metadata id \d+ \(backup_version 1, ".*"\): an object outside the user's own keys; user not imported$/,
      ),
    ]);
    expect(await srv.metadata.findUserByPubkey(thief)).toBeNull();
  });
});
