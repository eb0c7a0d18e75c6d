/**
 * A Noah server's stores for the import tests: a throwaway PostgreSQL database with
 * Noah's own schema (its migrations, vendored in testdata/noah/migrations) and a bucket
 * on the S3 test server behind the SigV4-checking front, filled the way Noah's routes
 * fill them: `users`, `backup_metadata` (the size the client declared), `backup_settings`,
 * `push_tokens`, `devices`, and objects at `<pubkey>/backup_v<n>.db`.
 * @module
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase } from './metadata.ts';
import { type S3Harness, startS3Harness } from './s3.ts';

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

const MIGRATIONS = join(import.meta.dirname, '../../../../testdata/noah/migrations');

export interface NoahSeedBackup {
  version: number;
  createdAt: Date;
  /** The object; absent: no object in the bucket (a missing object). */
  bytes?: Uint8Array;
  /** The size recorded in `backup_metadata` (default: bytes' length). */
  recordedSize?: number;
}

export interface NoahSeedUser {
  pubkey: string;
  createdAt: Date;
  backups: NoahSeedBackup[];
  enabled?: boolean;
  pushToken?: string;
  /** A `devices` row (model and OS names). */
  device?: boolean;
}

export interface NoahFixture {
  databaseUrl: string;
  s3: S3Harness;
  /** The CLI flags and environment that point `import-noah` at this Noah. */
  flags: string[];
  env: Record<string, string>;
  pool: pg.Pool;
  seed(users: readonly NoahSeedUser[]): Promise<void>;
  /** Puts bytes at a key of Noah's bucket, behind the import's back. */
  putObject(key: string, bytes: Uint8Array): Promise<void>;
  /** Everything in Noah's database and bucket, to prove the import changed none of it. */
  snapshot(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export const noahKey = (pubkey: string, version: number): string =>
  `${pubkey}/backup_v${version}.db`;

async function eachLimited<T>(items: readonly T[], n: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Starts an empty Noah (schema migrated, bucket empty). */
export async function startNoahFixture(): Promise<NoahFixture> {
  const db = await createTestDatabase('postgres');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  for (const f of readdirSync(MIGRATIONS).sort())
    await pool.query(readFileSync(join(MIGRATIONS, f), 'utf8'));
  const s3 = await startS3Harness();
  const putObject = async (key: string, bytes: Uint8Array) => {
    // s3rver directly: seeding is not what is under test.
    const res = await fetch(`${s3.rawEndpoint}/${s3.bucket}/${key}`, {
      method: 'PUT',
      body: new Uint8Array(bytes),
    });
    if (!res.ok) throw new Error(`seeding Noah's bucket: ${res.status}`);
  };
  return {
    databaseUrl: db.url,
    s3,
    pool,
    flags: [
      '--noah-database-url',
      db.url,
      '--noah-s3-bucket',
      s3.bucket,
      '--noah-s3-region',
      s3.region,
      '--noah-s3-endpoint',
      s3.endpoint,
      '--noah-s3-force-path-style',
    ],
    env: {
      NOAH_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      NOAH_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    },
    putObject,
    async seed(users) {
      const backups = users.flatMap((u) => u.backups.map((b) => ({ u, b })));
      await pool.query(
        'INSERT INTO users (pubkey, created_at) SELECT * FROM unnest($1::text[], $2::timestamptz[])',
        [users.map((u) => u.pubkey), users.map((u) => u.createdAt)],
      );
      await pool.query(
        `INSERT INTO backup_metadata (pubkey, s3_key, backup_size, backup_version, created_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::timestamptz[])`,
        [
          backups.map(({ u }) => u.pubkey),
          backups.map(({ u, b }) => noahKey(u.pubkey, b.version)),
          backups.map(({ b }) => b.recordedSize ?? b.bytes?.length ?? 0),
          backups.map(({ b }) => b.version),
          backups.map(({ b }) => b.createdAt),
        ],
      );
      const set = users.filter((u) => u.enabled !== undefined);
      await pool.query(
        'INSERT INTO backup_settings (pubkey, backup_enabled) SELECT * FROM unnest($1::text[], $2::bool[])',
        [set.map((u) => u.pubkey), set.map((u) => u.enabled)],
      );
      const tok = users.filter((u) => u.pushToken !== undefined);
      await pool.query(
        'INSERT INTO push_tokens (pubkey, push_token) SELECT * FROM unnest($1::text[], $2::text[])',
        [tok.map((u) => u.pubkey), tok.map((u) => u.pushToken)],
      );
      const dev = users.filter((u) => u.device);
      await pool.query(
        `INSERT INTO devices (pubkey, device_manufacturer, device_model, os_name, os_version, app_version)
         SELECT p, 'Google', 'Pixel 8', 'Android', '15', '0.1.0' FROM unnest($1::text[]) AS p`,
        [dev.map((u) => u.pubkey)],
      );
      await eachLimited(
        backups.filter(({ b }) => b.bytes),
        16,
        ({ u, b }) => putObject(noahKey(u.pubkey, b.version), b.bytes!),
      );
    },
    async snapshot() {
      const tables = ['users', 'backup_metadata', 'backup_settings', 'push_tokens', 'devices'];
      const out: string[] = [];
      for (const t of tables) {
        const { rows } = await pool.query(`SELECT * FROM ${t} ORDER BY pubkey, 2`);
        out.push(`${t}: ${rows.length} rows ${digest(JSON.stringify(rows))}`);
      }
      let objects = 0;
      const hash = createHash('sha256');
      let token = '';
      for (;;) {
        const q = `list-type=2&max-keys=1000${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`;
        const xml = await (await fetch(`${s3.rawEndpoint}/${s3.bucket}?${q}`)).text();
        for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>.*?<ETag>([^<]*)<\/ETag><Size>(\d+)/g)) {
          objects++;
          hash.update(`${m[1]} ${m[2]} ${m[3]}\n`);
        }
        token = /<NextContinuationToken>([^<]*)</.exec(xml)?.[1] ?? '';
        if (!token) break;
      }
      out.push(`bucket: ${objects} objects ${hash.digest('hex')}`);
      return out;
    },
    async cleanup() {
      await pool.end();
      await s3.close();
      await db.cleanup();
    },
  };
}
