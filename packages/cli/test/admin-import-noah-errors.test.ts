import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, freshPubkey } from '../../server/test/helpers/metadata.ts';
import { type NoahFixture, startNoahFixture } from '../../server/test/helpers/noah-source.ts';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';
import { cli, type Run } from './admin-helpers.ts';

const SECRET = 's3cr3t-pass';

const importNoah = (args: string[], env: Record<string, string>): Promise<Run> =>
  cli(['admin', 'import-noah', ...args], env);

/** The flags with one replaced: `--name value`. */
function withFlag(flags: string[], name: string, value: string): string[] {
  const i = flags.indexOf(name);
  return i < 0 ? [...flags, name, value] : flags.map((f, j) => (j === i + 1 ? value : f));
}

/** The URL with its database name (path) and password replaced. */
function otherDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  u.password = SECRET;
  return u.toString();
}

const MIGRATIONS = join(import.meta.dirname, '../../../testdata/noah/migrations');

/** Noah's migrations, to build a database that is almost Noah's. */
async function noahSchema(): Promise<string[]> {
  const files = (await readdir(MIGRATIONS)).sort();
  return Promise.all(files.map((f) => readFile(join(MIGRATIONS, f), 'utf8')));
}

/** Runs `fn` with a fresh database built by `sql`, its URL carrying `SECRET`. */
async function withDatabase(sql: string[], fn: (url: string) => Promise<void>): Promise<void> {
  const db = await createTestDatabase('postgres');
  try {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      for (const q of sql) await c.query(q);
    } finally {
      await c.end();
    }
    const url = new URL(db.url);
    url.password = SECRET;
    await fn(url.toString());
  } finally {
    await db.cleanup();
  }
}

describe('import-noah: each failure its own code and exit code', () => {
  let noah: NoahFixture;
  let srv: TestServer;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noah-import-errors-'));
    [noah, srv] = await Promise.all([
      startNoahFixture(),
      startTestServer({ metadataKind: 'sqlite', blobKind: 'fs' }),
    ]);
    env = {
      DATA_DIR: join(dir, 'data'),
      DATABASE_URL: srv.metadataUrl,
      BLOB_STORE_URL: srv.blob.url,
      LOG_LEVEL: 'error',
      ...noah.env,
    };
    await noah.seed([
      {
        pubkey: freshPubkey(),
        createdAt: new Date(Date.UTC(2026, 5, 1)),
        backups: [
          { version: 1, createdAt: new Date(Date.UTC(2026, 5, 2)), bytes: randomBytes(100) },
        ],
      },
    ]);
  });
  afterAll(async () => {
    await srv?.close();
    await noah?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  /** Checks the one error line, its code, exit code and hint, and that no secret shows. */
  function expectFailure(r: Run, code: string, exit: number, hint: RegExp): void {
    expect(r.code, r.stderr).toBe(exit);
    // Only the command's own lines (Node 20 draws a warning from the AWS SDK).
    const lines = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('noah-backup admin import-noah:') || l.startsWith('hint:'));
    expect(lines, r.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^noah-backup admin import-noah: error: .+ \\[${code}\\]$`),
    );
    expect(lines[1]).toMatch(/^hint: /);
    expect(lines[1]).toMatch(hint);
    expect(r.stderr).not.toContain(SECRET);
    expect(r.stderr).not.toContain(noah.env.NOAH_S3_SECRET_ACCESS_KEY!);
    expect(r.stdout).toBe('');
  }

  it('the wiring works: the same flags import', async () => {
    const r = await importNoah([...noah.flags, '--dry-run'], env);
    expect(r.code, r.stderr).toBe(0);
  });

  it("Noah's database cannot be reached: noah_database_unreachable, 69", async () => {
    const url = `postgres://reader:${SECRET}@127.0.0.1:1/noah`;
    const r = await importNoah(withFlag(noah.flags, '--noah-database-url', url), env);
    expectFailure(r, 'noah_database_unreachable', 69, /--noah-database-url/);
    expect(r.stderr).toContain('ECONNREFUSED');
  });

  it("Noah's database refuses the login or has no such database: noah_database_refused, 77", async () => {
    const url = otherDatabase(noah.databaseUrl, 'no_such_database');
    const r = await importNoah(withFlag(noah.flags, '--noah-database-url', url), env);
    expectFailure(r, 'noah_database_refused', 77, /PGPASSWORD|user|database name/);
  });

  it("a database that is not Noah's: not_a_noah_database, 65", async () => {
    // PostgreSQL's own `postgres` database: it answers, but holds none of Noah's tables.
    const url = otherDatabase(noah.databaseUrl, 'postgres');
    const r = await importNoah(withFlag(noah.flags, '--noah-database-url', url), env);
    expectFailure(r, 'not_a_noah_database', 65, /Noah's own database/);
  });

  it("Noah's schema lacks a column (42703): not_a_noah_database, 65", async () => {
    const sql = [...(await noahSchema()), 'ALTER TABLE users DROP COLUMN created_at'];
    await withDatabase(sql, async (url) => {
      const r = await importNoah(withFlag(noah.flags, '--noah-database-url', url), env);
      expectFailure(r, 'not_a_noah_database', 65, /Noah's own database/);
      expect(r.stderr).toContain('created_at');
    });
  });

  it("Noah's database denies SELECT (42501): noah_database_refused, 77, not a schema problem", async () => {
    const role = `noah_reader_${randomBytes(6).toString('hex')}`;
    await noah.pool.query(`CREATE ROLE ${role} LOGIN`);
    try {
      const url = new URL(noah.databaseUrl);
      url.username = role;
      url.password = SECRET;
      const r = await importNoah(withFlag(noah.flags, '--noah-database-url', url.toString()), env);
      expectFailure(r, 'noah_database_refused', 77, /needs SELECT on Noah's tables/);
      expect(r.stderr).toContain('permission denied');
    } finally {
      await noah.pool.query(`DROP ROLE ${role}`);
    }
  });

  it('any other SQLSTATE of class 42 (here 42804) is import_failed, 70, not a schema problem', async () => {
    // Noah's table names, but keys of another type: collating a bytea key is 42804.
    const sql = [
      'CREATE TABLE users (pubkey bytea PRIMARY KEY, created_at timestamptz)',
      ...['backup_metadata', 'backup_settings', 'push_tokens', 'devices'].map(
        (t) => `CREATE TABLE ${t} (pubkey bytea)`,
      ),
    ];
    await withDatabase(sql, async (url) => {
      const r = await importNoah(withFlag(noah.flags, '--noah-database-url', url), env);
      expectFailure(r, 'import_failed', 70, /report it/);
      expect(r.stderr).toContain('collations are not supported');
    });
  });

  it("Noah's bucket cannot be reached: noah_bucket_unreachable, 69", async () => {
    const r = await importNoah(
      withFlag(noah.flags, '--noah-s3-endpoint', 'http://127.0.0.1:1'),
      env,
    );
    expectFailure(r, 'noah_bucket_unreachable', 69, /--noah-s3-endpoint/);
  });

  it("Noah's bucket refuses the credentials: noah_bucket_refused, 77", async () => {
    const r = await importNoah(noah.flags, { ...env, NOAH_S3_SECRET_ACCESS_KEY: SECRET });
    expectFailure(r, 'noah_bucket_refused', 77, /NOAH_S3_ACCESS_KEY_ID.*s3:GetObject/);
  });

  it("no credentials for Noah's bucket anywhere: noah_bucket_refused, 77", async () => {
    const { NOAH_S3_ACCESS_KEY_ID: _, NOAH_S3_SECRET_ACCESS_KEY: __, ...rest } = env;
    // The SDK's default chain finds nothing: no profile in an empty home, no instance.
    const home = await mkdtemp(join(dir, 'home-'));
    const r = await importNoah(noah.flags, {
      ...rest,
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expectFailure(r, 'noah_bucket_refused', 77, /NOAH_S3_ACCESS_KEY_ID/);
    expect(r.stderr).toMatch(/credentials/i);
  });

  it("Noah's bucket is in another region: noah_bucket_wrong_region, 78, the region named", async () => {
    const r = await importNoah(withFlag(noah.flags, '--noah-s3-region', 'eu-west-3'), env);
    expectFailure(r, 'noah_bucket_wrong_region', 78, /--noah-s3-region/);
    expect(r.stderr).toContain(`in ${noah.s3.region}`);
  });

  it('TLS asked of a PostgreSQL without it: noah_database_tls, 78, sslmode named', async () => {
    const url = new URL(noah.databaseUrl);
    url.password = SECRET;
    url.searchParams.set('sslmode', 'require');
    const r = await importNoah(withFlag(noah.flags, '--noah-database-url', url.toString()), env);
    expectFailure(r, 'noah_database_tls', 78, /sslmode/);
    expect(r.stderr).toContain('does not support SSL');
  });

  it("this server's database cannot be reached: database_unavailable, 69", async () => {
    const r = await importNoah(noah.flags, {
      ...env,
      DATABASE_URL: `postgres://noah:${SECRET}@127.0.0.1:1/backup`,
    });
    expectFailure(r, 'database_unavailable', 69, /DATABASE_URL/);
  });

  it("this server's blob store cannot be opened: blob_store_unavailable, 69", async () => {
    const file = join(dir, 'not-a-directory');
    await writeFile(file, 'x');
    const r = await importNoah(noah.flags, { ...env, BLOB_STORE_URL: `file://${file}/blobs` });
    expectFailure(r, 'blob_store_unavailable', 69, /BLOB_STORE_URL/);
  });

  it('a data directory that cannot be written: 78, as for every admin command', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await importNoah(noah.flags, { ...env, DATA_DIR: file });
    expectFailure(r, 'not_a_directory', 78, /--data|DATA_DIR/);
  });
});
