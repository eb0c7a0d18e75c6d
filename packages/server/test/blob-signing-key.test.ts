import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createBlobStore, s3Options } from '../src/blob/index.ts';
import { loadOrCreateSigningSecret } from '../src/blob/signing-key.ts';
import { loadConfig } from '../src/config.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'noah-cfg-'));
  dirs.push(dir);
  return dir;
}

describe('loadOrCreateSigningSecret', () => {
  it('generates the key once, mode 0600, and reuses it', () => {
    const dir = tempDir();
    const config = loadConfig({ DATA_DIR: join(dir, 'data') });
    const a = loadOrCreateSigningSecret(config.dataDir, config.blobSigningSecret);
    const b = loadOrCreateSigningSecret(config.dataDir, config.blobSigningSecret);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
    const file = join(dir, 'data', 'blob-signing.key');
    expect(readFileSync(file, 'utf8').trim()).toBe(a);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('prefers BLOB_SIGNING_SECRET and writes nothing', () => {
    const dir = tempDir();
    const secret = 'k'.repeat(48);
    const config = loadConfig({ DATA_DIR: join(dir, 'data'), BLOB_SIGNING_SECRET: secret });
    expect(loadOrCreateSigningSecret(config.dataDir, config.blobSigningSecret)).toBe(secret);
    expect(() => statSync(join(dir, 'data', 'blob-signing.key'))).toThrow();
  });
});

describe('createBlobStore and the signing key', () => {
  it('asks for the key only when the URL names the fs store', async () => {
    const dir = tempDir();
    let asked = 0;
    const signingSecret = () => {
      asked += 1;
      return new TextEncoder().encode(loadOrCreateSigningSecret(dir, null));
    };
    const common = { publicUrl: 'http://localhost:8080', maxObjectSize: 1024, signingSecret };
    const s3 = await createBlobStore('s3://bucket/p?endpoint=http://127.0.0.1:9', common);
    await s3.close?.();
    expect(asked).toBe(0);
    expect(() => statSync(join(dir, 'blob-signing.key'))).toThrow();
    const fs = await createBlobStore(pathToFileURL(join(dir, 'blobs')).href, common);
    await fs.close?.();
    expect(asked).toBe(1);
    expect(statSync(join(dir, 'blob-signing.key')).mode & 0o777).toBe(0o600);
  });

  it('takes the S3 region from the URL, else the default it is given', () => {
    expect(s3Options('s3://bucket').region).toBe('us-east-1');
    expect(s3Options('s3://bucket', { defaultRegion: 'eu-west-3' }).region).toBe('eu-west-3');
    expect(s3Options('s3://bucket?region=auto', { defaultRegion: 'eu-west-3' }).region).toBe(
      'auto',
    );
  });
});
