/**
 * `noah-backup admin scrub` as a black box (docs/OPERATIONS.md "Scrub"), on the stores
 * the configuration names — the fs store in DATA_DIR, and an S3 bucket on the test
 * server: exit 0 on an intact store, 1 with the damaged object listed after one is
 * altered in place.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '@noah-backup/core/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataStore } from '../../server/src/metadata/index.ts';
import type { BlobStore } from '../../server/src/stores/blob.ts';
import {
  alterObject,
  openTestBlobStore,
  type TestBlobStore,
} from '../../server/test/helpers/blob.ts';
import { storeBackup } from '../../server/test/helpers/scrub.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'noah-backup.js');

function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(['fs', 's3'] as const)('admin scrub: %s', (kind) => {
  let dataDir: string;
  let t: TestBlobStore;
  let blobs: BlobStore;
  let env: Record<string, string>;
  let altered: { objectKey: string; userId: string; bytes: Uint8Array };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'noah-scrub-'));
    // The store the configuration names: the test store's URL (fs dir or S3 bucket).
    t = await openTestBlobStore(kind);
    env = {
      DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${join(dataDir, 'noah.db')}`,
      BLOB_STORE_URL: t.url,
      LOG_LEVEL: 'error',
    };
    blobs = t.store;
    const metadata = await createMetadataStore(env.DATABASE_URL!);
    try {
      const now = systemClock.now();
      const a = await storeBackup(metadata, blobs, now, 3000);
      await storeBackup(metadata, blobs, now, 2000);
      altered = a;
    } finally {
      await metadata.close();
    }
  });
  afterAll(async () => {
    await t?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('an intact store: exit 0, every object read', async () => {
    const r = await cli(['admin', 'scrub', '--all', '--json'], env);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ stored: 2, checked: 2, findings: [] });
  });

  it('an object altered in place: exit 1, the object named with a hint', async () => {
    const bytes = Uint8Array.from(altered.bytes);
    bytes[7]! ^= 0x10;
    await alterObject(t, altered.objectKey, bytes);
    const r = await cli(['admin', 'scrub', '--all'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('2 of 2 stored objects read, 1 damaged or missing');
    expect(r.stdout).toContain(`checksum ${altered.objectKey} (user ${altered.userId})`);
    expect(r.stdout).toMatch(/^hint: /m);
  });
});
