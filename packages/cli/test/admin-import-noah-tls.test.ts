/**
 * `admin import-noah` against a Noah PostgreSQL that demands TLS and a password, as a
 * hosted one does (docs/OPERATIONS.md "Moving users from a Noah server", exit codes): a
 * cluster of its own, with a self-signed certificate and a pg_hba.conf that admits
 * clients only over TLS with SCRAM. Each mistake of --noah-database-url is its own
 * class with a hint, not `import_failed` ("a bug"), and the password never shows.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NoahFixture, startNoahFixture } from '../../server/test/helpers/noah-source.ts';
import { cli, type Run } from './admin-helpers.ts';

const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const MIGRATIONS = join(import.meta.dirname, '../../../testdata/noah/migrations');
const isRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool as `postgres` when we are root (initdb refuses root). */
function asPostgres(cmd: string, args: string[]): void {
  if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  else execFileSync(cmd, args, { stdio: 'pipe' });
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

describe("import-noah: Noah's PostgreSQL over TLS", () => {
  let dir: string;
  let port: number;
  let noah: NoahFixture;
  let env: Record<string, string>;
  let started = false;

  /** Noah's database on the TLS cluster, as the reader, with these URL parameters. */
  const url = (params: Record<string, string>, password: string | null = PASSWORD) => {
    const u = new URL(`postgres://reader@127.0.0.1:${port}/noah`);
    if (password !== null) u.password = password;
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  };
  const run = (databaseUrl: string): Promise<Run> => {
    const flags = noah.flags.map((f, i) =>
      noah.flags[i - 1] === '--noah-database-url' ? databaseUrl : f,
    );
    return cli(['admin', 'import-noah', ...flags], env);
  };
  function expectFailure(r: Run, code: string, exit: number, hint: RegExp): void {
    expect(r.code, r.stderr).toBe(exit);
    const lines = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('noah-backup admin import-noah:') || l.startsWith('hint:'));
    expect(lines, r.stderr).toEqual([
      expect.stringMatching(new RegExp(`^noah-backup admin import-noah: error: .+ \\[${code}\\]$`)),
      expect.stringMatching(hint),
    ]);
    expect(r.stderr).not.toContain(PASSWORD);
    expect(r.stdout).toBe('');
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'noah-pg-tls-'));
    const key = join(dir, 'server.key');
    const crt = join(dir, 'server.crt');
    // A self-signed certificate, as a private PostgreSQL might have.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '2',
        '-keyout',
        key,
        '-out',
        crt,
      ],
      { stdio: 'pipe' },
    );
    chmodSync(key, 0o600);
    if (isRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      for (const p of [dir, key, crt]) chownSync(p, uid, gid);
    }
    const data = join(dir, 'data');
    asPostgres('initdb', ['-A', 'trust', '-U', 'postgres', '-D', data, '--no-sync']);
    // The socket for setting up; over TCP, TLS and SCRAM only.
    await writeFile(
      join(data, 'pg_hba.conf'),
      'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n',
    );
    port = await freePort();
    asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c authentication_timeout=600 -c ssl=on -c ssl_cert_file=${crt} -c ssl_key_file=${key}`,
      'start',
    ]);
    started = true;
    const admin = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}'`);
    await admin.query('CREATE DATABASE noah');
    await admin.end();
    const db = new pg.Client({ host: dir, port, user: 'postgres', database: 'noah' });
    await db.connect();
    for (const f of readdirSync(MIGRATIONS).sort())
      await db.query(readFileSync(join(MIGRATIONS, f), 'utf8'));
    await db.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader');
    await db.end();
    noah = await startNoahFixture();
    const target = mkdtempSync(join(dir, 'target-'));
    env = {
      DATA_DIR: join(target, 'data'),
      DATABASE_URL: `sqlite:${join(target, 'metadata.db')}`,
      BLOB_STORE_URL: pathToFileURL(join(target, 'blobs')).href,
      LOG_LEVEL: 'error',
      ...noah.env,
    };
  }, 120_000);

  afterAll(async () => {
    await noah?.cleanup();
    if (started) asPostgres('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the wiring works: TLS without checking the certificate, the password given', async () => {
    const r = await run(url({ sslmode: 'no-verify' }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('0 Noah users read');
  });

  it('no TLS where pg_hba.conf demands it: noah_database_tls, 78, sslmode named', async () => {
    const r = await run(url({ sslmode: 'disable' }));
    expectFailure(r, 'noah_database_tls', 78, /^hint: .*sslmode=require/);
    expect(r.stderr).toContain('no encryption');
  });

  it('a certificate no CA vouches for: noah_database_tls, 78, NODE_EXTRA_CA_CERTS named', async () => {
    // pg reads sslmode=require as verify-full: the self-signed certificate is refused.
    const r = await run(url({ sslmode: 'require' }));
    expectFailure(r, 'noah_database_tls', 78, /NODE_EXTRA_CA_CERTS/);
    expect(r.stderr).toMatch(/self[- ]signed certificate/);
  });

  it('no password where the server asks for one: noah_database_refused, 77', async () => {
    const r = await run(url({ sslmode: 'no-verify' }, null));
    expectFailure(r, 'noah_database_refused', 77, /PGPASSWORD/);
  });

  it('a wrong password: noah_database_refused, 77, the wrong one not shown', async () => {
    const wrong = `wrong-${PASSWORD}`;
    const r = await run(url({ sslmode: 'no-verify' }, wrong));
    expectFailure(r, 'noah_database_refused', 77, /PGPASSWORD/);
    expect(r.stderr).toContain('password authentication failed');
    expect(r.stderr).not.toContain(wrong);
  });
});
