/**
 * The source of `admin import-noah` (docs/OPERATIONS.md "Moving users from a Noah
 * server"): a Noah server's PostgreSQL, read only, and its S3 bucket, read only. Noah
 * keys every row by the user's linking key (`pubkey`), keeps one `backup_metadata` row
 * per (pubkey, backup_version) with the size its client declared at completion, one
 * `backup_settings` row and one `push_tokens` row per user; its objects are
 * `<pubkey>/backup_v<n>.db`, but the row's `s3_key` (what the client reported) is what
 * Noah serves, so that is what is read here. Nothing here writes to either.
 * @module
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { on } from './errors.ts';

/** One `backup_metadata` row. */
export interface NoahBackup {
  /** The row's id (BIGSERIAL), to name it in reports without the user's key. */
  rowId: string;
  version: number;
  s3Key: string;
  /** Bytes the client declared at completion. */
  size: number;
  createdAt: Date;
}

/** What Noah holds for one user. */
export interface NoahUser {
  pubkey: string;
  createdAt: Date;
  backups: NoahBackup[];
  /** `backup_settings.backup_enabled`; null without a row (Noah's default: off). */
  backupEnabled: boolean | null;
  /** `push_tokens.push_token`; null without a row. */
  pushToken: string | null;
}

/** Noah's bucket (docs/OPERATIONS.md "Moving users from a Noah server"). */
export interface NoahS3Options {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** An object of Noah's bucket. */
export interface NoahObject {
  size: number;
  body: Readable;
}

/** Read access to a Noah server. */
export interface NoahSource {
  /** Users with a backup, a settings row or a push token, by pubkey after `after`. */
  users(after: string | null, limit: number): Promise<NoahUser[]>;
  /** Rows of Noah's `devices` table (model and OS names, which this server does not keep). */
  countDevices(): Promise<number>;
  /** The object's size, or null when it is missing. */
  head(key: string): Promise<number | null>;
  /** The object as a stream, or null when it is missing. */
  get(key: string): Promise<NoahObject | null>;
  close(): Promise<void>;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

// BIGINT arrives as text from pg; sizes fit in a double far beyond any backup limit.
const toNumber = (v: string | number): number => (typeof v === 'number' ? v : Number(v));

/**
 * A pg client that closes its socket when connecting fails on this side: with no
 * password to answer the server's SCRAM challenge, pg reports the failure but leaves
 * the socket open until the server's `authentication_timeout` (a minute), and the
 * command would wait that long to exit after saying what is wrong.
 */
class ClosingClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: (err: Error) => void): void;
  override connect(callback?: (err: Error) => void): Promise<pg.Client> | undefined {
    const close = () => void this.end().catch(() => {});
    if (!callback)
      return super.connect().catch((err: unknown) => {
        close();
        throw err;
      });
    super.connect((err: Error | null) => {
      if (err) close();
      callback(err as Error);
    });
    return undefined;
  }
}

/**
 * Opens a Noah server's database and bucket for reading.
 * @param databaseUrl - Noah's `postgres://…` URL
 * @param s3 - Noah's bucket
 */
export function openNoahSource(databaseUrl: string, s3: NoahS3Options): NoahSource {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, Client: ClosingClient });
  // An idle connection dropped by the server must not crash the process.
  pool.on('error', () => {});
  const client = new S3Client({
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle ?? false,
    ...(s3.credentials ? { credentials: s3.credentials } : {}),
  });
  return {
    users: (after, limit) => on('noah_database', () => users(after, limit)),
    countDevices: () =>
      on('noah_database', async () => {
        const r = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM devices');
        return toNumber(r.rows[0]?.n ?? '0');
      }),
    head: (key) =>
      on('noah_bucket', async () => {
        try {
          const r = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
          return r.ContentLength ?? 0;
        } catch (err) {
          if (isNotFound(err)) return null;
          throw err;
        }
      }),
    get: (key) =>
      on('noah_bucket', async () => {
        try {
          const r = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
          return { size: r.ContentLength ?? 0, body: r.Body as Readable };
        } catch (err) {
          if (isNotFound(err)) return null;
          throw err;
        }
      }),
    async close() {
      client.destroy();
      await pool.end();
    },
  };

  async function users(after: string | null, limit: number): Promise<NoahUser[]> {
    // Every query is a plain SELECT: the source is never written to.
    const page = await pool.query<{ pubkey: string; created_at: Date }>(
      `SELECT u.pubkey, u.created_at FROM users u
          WHERE ($1::text IS NULL OR u.pubkey COLLATE "C" > $1)
            AND (EXISTS (SELECT 1 FROM backup_metadata b WHERE b.pubkey = u.pubkey)
              OR EXISTS (SELECT 1 FROM backup_settings s WHERE s.pubkey = u.pubkey)
              OR EXISTS (SELECT 1 FROM push_tokens t WHERE t.pubkey = u.pubkey))
          ORDER BY u.pubkey COLLATE "C" LIMIT $2`,
      [after, limit],
    );
    if (page.rows.length === 0) return [];
    const keys = page.rows.map((r) => r.pubkey);
    const [backups, settings, tokens] = await Promise.all([
      pool.query<{
        id: string;
        pubkey: string;
        backup_version: number;
        s3_key: string;
        backup_size: string;
        created_at: Date;
      }>(
        `SELECT id::text AS id, pubkey, backup_version, s3_key, backup_size, created_at
             FROM backup_metadata WHERE pubkey = ANY($1) ORDER BY id`,
        [keys],
      ),
      pool.query<{ pubkey: string; backup_enabled: boolean }>(
        'SELECT pubkey, backup_enabled FROM backup_settings WHERE pubkey = ANY($1)',
        [keys],
      ),
      pool.query<{ pubkey: string; push_token: string }>(
        'SELECT pubkey, push_token FROM push_tokens WHERE pubkey = ANY($1)',
        [keys],
      ),
    ]);
    const users = new Map<string, NoahUser>(
      page.rows.map((r) => [
        r.pubkey,
        {
          pubkey: r.pubkey,
          createdAt: r.created_at,
          backups: [],
          backupEnabled: null,
          pushToken: null,
        },
      ]),
    );
    for (const b of backups.rows)
      users.get(b.pubkey)?.backups.push({
        rowId: b.id,
        version: b.backup_version,
        s3Key: b.s3_key,
        size: toNumber(b.backup_size),
        createdAt: b.created_at,
      });
    for (const s of settings.rows) {
      const u = users.get(s.pubkey);
      if (u) u.backupEnabled = s.backup_enabled;
    }
    for (const t of tokens.rows) {
      const u = users.get(t.pubkey);
      if (u) u.pushToken = t.push_token;
    }
    return [...users.values()];
  }
}
