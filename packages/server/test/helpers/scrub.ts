/**
 * Stored backups for scrub tests: uploads real objects through the blob store's
 * pre-signed PUT URLs and completes them in the metadata store, as `complete_upload`
 * does, so the scrub has objects with recorded sizes and checksums to read.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BlobStore } from '../../src/stores/blob.ts';
import type { MetadataStore } from '../../src/stores/metadata.ts';
import { freshKey, freshPubkey } from './metadata.ts';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A stored one-object backup of `size` random bytes; `record: false` keeps no checksum. */
export async function storeBackup(
  metadata: MetadataStore,
  blobs: BlobStore,
  now: Date,
  size: number,
  opts: { record?: boolean } = {},
): Promise<{ objectKey: string; userId: string; bytes: Uint8Array }> {
  const user = await metadata.upsertUser(freshPubkey(), now);
  const objectKey = `b/${freshKey('s').replace(/[^a-z0-9]/g, '')}`;
  const bytes = new Uint8Array(randomBytes(size));
  const put = await blobs.presignPut(objectKey, { size, expiresInSec: 900 });
  const res = await fetch(put.url, {
    method: 'PUT',
    body: bytes,
    headers: { ...put.headers, 'content-length': String(size) },
  });
  if (res.status !== 200) throw new Error(`PUT ${res.status}`);
  await metadata.createPendingUpload({
    objectKey,
    userId: user.id,
    version: 1,
    declaredSize: size,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 900_000),
  });
  await metadata.completeUpload({
    userId: user.id,
    objectKey,
    version: 1,
    size,
    now,
    sha256: opts.record === false ? null : sha256(bytes),
  });
  return { objectKey, userId: user.id, bytes };
}
