import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, parseSize } from '../src/config.ts';

describe('loadConfig', () => {
  it('reads the database token and the S3 default region for the stores', () => {
    expect(loadConfig({})).toMatchObject({ databaseAuthToken: null, s3DefaultRegion: 'us-east-1' });
    expect(loadConfig({ AWS_DEFAULT_REGION: 'eu-west-3' }).s3DefaultRegion).toBe('eu-west-3');
    expect(loadConfig({ AWS_REGION: 'auto', AWS_DEFAULT_REGION: 'x' }).s3DefaultRegion).toBe(
      'auto',
    );
    expect(loadConfig({ DATABASE_AUTH_TOKEN: ' tok ' }).databaseAuthToken).toBe('tok');
  });

  it('has embedded defaults under ./data', () => {
    const c = loadConfig({});
    const data = resolve('./data');
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:8080',
      dataDir: data,
      databaseUrl: `sqlite:${join(data, 'noah.db')}`,
      blobStoreUrl: pathToFileURL(join(data, 'blobs')).href,
      blobSigningSecret: null,
      maxBackupSize: 50 * 1024 * 1024,
      uploadUrlTtlSec: 900,
      downloadUrlTtlSec: 300,
      tokenTtlSec: 86400,
      k1TtlSec: 600,
      rollout: { mode: 'all' },
      maxPendingUploads: 4,
      rateLimit: { authPerMinute: 30, userPerMinute: 120 },
      logLevel: 'info',
      trustProxy: false,
    });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      PUBLIC_URL: 'https://backup.example.com/',
      DATA_DIR: '/srv/noah',
      DATABASE_URL: 'postgres://u@db/noah',
      BLOB_STORE_URL: 's3://bucket?region=eu-west-1',
      BLOB_SIGNING_SECRET: 'x'.repeat(40),
      MAX_BACKUP_SIZE: '10MiB',
      UPLOAD_URL_TTL: '10m',
      DOWNLOAD_URL_TTL: '60',
      TOKEN_TTL: '2h',
      K1_TTL: '5m',
      ROLLOUT: 'percent:25',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '600',
      LOG_LEVEL: 'DEBUG',
      TRUST_PROXY: '1',
    });
    expect(c).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      publicUrl: 'https://backup.example.com',
      dataDir: '/srv/noah',
      databaseUrl: 'postgres://u@db/noah',
      blobStoreUrl: 's3://bucket?region=eu-west-1',
      blobSigningSecret: 'x'.repeat(40),
      maxBackupSize: 10 * 1024 * 1024,
      uploadUrlTtlSec: 600,
      downloadUrlTtlSec: 60,
      tokenTtlSec: 7200,
      k1TtlSec: 300,
      rollout: { mode: 'percent', percent: 25 },
      rateLimit: { authPerMinute: 0, userPerMinute: 600 },
      logLevel: 'debug',
      trustProxy: 1,
    });
  });

  it('lets flags override the environment, and derives defaults from them', () => {
    const c = loadConfig({ PORT: '9000', DATA_DIR: '/a' }, { port: '7000', dataDir: '/b' });
    expect(c.port).toBe(7000);
    expect(c.publicUrl).toBe('http://localhost:7000');
    expect(c.databaseUrl).toBe('sqlite:/b/noah.db');
  });

  it('collects every bad value into one error, one line each', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        PUBLIC_URL: 'ftp://x',
        MAX_BACKUP_SIZE: '50 parsecs',
        TOKEN_TTL: '1 week',
        ROLLOUT: 'percent:150',
        LOG_LEVEL: 'loud',
        TRUST_PROXY: 'yes please',
        BLOB_STORE_URL: 'gs://bucket',
        BLOB_SIGNING_SECRET: 'short',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(9);
    for (const name of [
      'PORT',
      'PUBLIC_URL',
      'MAX_BACKUP_SIZE',
      'TOKEN_TTL',
      'ROLLOUT',
      'LOG_LEVEL',
      'TRUST_PROXY',
      'BLOB_STORE_URL',
      'BLOB_SIGNING_SECRET',
    ])
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    expect((err as Error).message).toContain('PORT="eighty"');
    // The secret's value is never echoed.
    expect((err as Error).message).not.toContain('"short"');
  });

  it('reads the shutdown deadline (default 10 s, 0 closes connections at once)', () => {
    expect(loadConfig({}).shutdownTimeoutSec).toBe(10);
    expect(loadConfig({ SHUTDOWN_TIMEOUT: '30s' }).shutdownTimeoutSec).toBe(30);
    expect(loadConfig({ SHUTDOWN_TIMEOUT: '0' }).shutdownTimeoutSec).toBe(0);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT: '2h' })).toThrow(/SHUTDOWN_TIMEOUT="2h"/);
  });

  it('the blob limit by default lets one client back up and restore the largest backup in a minute', () => {
    // 50 MiB: 13 packs; the floor of 120 holds.
    expect(loadConfig({}).rateLimit.blobPerMinute).toBe(120);
    // 1 GiB: 256 packs + the manifest, a PUT each and a GET each, and room to resume.
    expect(loadConfig({ MAX_BACKUP_SIZE: '1GiB' }).rateLimit.blobPerMinute).toBe(530);
    expect(loadConfig({ MAX_BACKUP_SIZE: '5GiB' }).rateLimit.blobPerMinute).toBe(2578);
    // Said explicitly, it wins either way.
    expect(
      loadConfig({ MAX_BACKUP_SIZE: '1GiB', RATE_LIMIT_BLOB_PER_MINUTE: '60' }).rateLimit,
    ).toMatchObject({ blobPerMinute: 60 });
  });

  it('reads the timeouts, connection caps and the blob and bad-token limits', () => {
    expect(loadConfig({})).toMatchObject({
      rateLimit: { blobPerMinute: 120, badTokenPerMinute: 30 },
      http: {
        headersTimeoutSec: 10,
        bodyTimeoutSec: 10,
        requestTimeoutSec: 900,
        idleTimeoutSec: 60,
        keepAliveTimeoutSec: 5,
        maxConnections: 1000,
        maxConnectionsPerAddress: 32,
      },
    });
    const c = loadConfig({
      HEADERS_TIMEOUT: '5',
      BODY_TIMEOUT: '3s',
      REQUEST_TIMEOUT: '30m',
      IDLE_TIMEOUT: '2m',
      KEEP_ALIVE_TIMEOUT: '65',
      MAX_CONNECTIONS: '4000',
      MAX_CONNECTIONS_PER_ADDRESS: '0',
      RATE_LIMIT_BLOB_PER_MINUTE: '10',
      RATE_LIMIT_BAD_TOKEN_PER_MINUTE: '0',
    });
    expect(c.http).toEqual({
      headersTimeoutSec: 5,
      bodyTimeoutSec: 3,
      requestTimeoutSec: 1800,
      idleTimeoutSec: 120,
      keepAliveTimeoutSec: 65,
      maxConnections: 4000,
      maxConnectionsPerAddress: 0,
    });
    expect(c.rateLimit).toMatchObject({ blobPerMinute: 10, badTokenPerMinute: 0 });
    let err: unknown;
    try {
      loadConfig({
        HEADERS_TIMEOUT: '20m',
        REQUEST_TIMEOUT: '10m',
        MAX_CONNECTIONS: 'many',
        IDLE_TIMEOUT: '0',
      });
    } catch (e) {
      err = e;
    }
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(3);
    for (const name of ['HEADERS_TIMEOUT', 'MAX_CONNECTIONS', 'IDLE_TIMEOUT'])
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
  });

  it('reads the pending-upload limits (uploads, and objects of incremental backups)', () => {
    expect(loadConfig({})).toMatchObject({ maxPendingUploads: 4, maxPendingObjects: 2048 });
    expect(loadConfig({ MAX_PENDING_UPLOADS: '8', MAX_PENDING_OBJECTS: '5000' })).toMatchObject({
      maxPendingUploads: 8,
      maxPendingObjects: 5000,
    });
    for (const bad of ['0', '100001', 'many'])
      expect(() => loadConfig({ MAX_PENDING_OBJECTS: bad })).toThrow(/MAX_PENDING_OBJECTS/);
  });

  it('names the flag when a flag is bad', () => {
    expect(() => loadConfig({}, { port: '70000' })).toThrow(/--port="70000"/);
  });
});

describe('parseSize / parseDuration', () => {
  it.each([
    ['52428800', 52428800],
    ['50MiB', 52428800],
    ['50 mib', 52428800],
    ['1.5KB', 1500],
    ['1GiB', 1073741824],
    ['16kib', 16384],
    ['7B', 7],
  ])('parseSize(%j) = %d', (text, n) => expect(parseSize(text)).toBe(n));
  it.each(['', 'MiB', '-1', '5 parsecs', '1e3'])('parseSize(%j) = null', (t) =>
    expect(parseSize(t)).toBeNull(),
  );
  it.each([
    ['900', 900],
    ['900s', 900],
    ['15m', 900],
    ['24h', 86400],
    ['1d', 86400],
  ])('parseDuration(%j) = %d', (text, n) => expect(parseDuration(text)).toBe(n));
  it.each(['', '1.5h', 'soon', '-5', '10w'])('parseDuration(%j) = null', (t) =>
    expect(parseDuration(t)).toBeNull(),
  );
});
