/**
 * The device cache of incremental backups (docs/FORMAT.md §8.8): what the last backup
 * this device made or restored holds — its identity on the server, its manifest, and
 * every database's page digests — sealed as a v2 file (payload kind raw) under the
 * seedphrase's keys. A cache that is missing, tampered with, truncated, of another
 * seedphrase or of a backup no longer on the server is simply not used: the next backup
 * is a full one. Isomorphic; the bytes are kept by a `DeviceCacheStore`.
 * @module
 */
import type { BackupInfo, BackupVersion } from '@noah-backup/core/api';
import {
  bytesToHex,
  bytesToUtf8,
  concatBytes,
  hexToBytes,
  utf8ToBytes,
} from '@noah-backup/core/bytes';
import { decodeManifest, encodeManifest, type Manifest } from '@noah-backup/core/incremental';
import type { Keyring } from '@noah-backup/core/keys';
import { collect } from '@noah-backup/core/stream';
import { decryptV2Bytes, encryptV2 } from '@noah-backup/core/v2';
import type { Logger } from '../logger.ts';
import type { DeviceCacheStore } from '../ports.ts';

/** "NBDC", then a version byte. */
const MAGIC = [0x4e, 0x42, 0x44, 0x43];
const VERSION = 1;

/** Which backup on the server a cache describes. */
export interface CacheIdentity {
  /** The manifest's object key (`base` of the next completion). */
  s3_key: string;
  /** SHA-256 of the manifest object, hex. */
  sha256: string;
  backup_version: BackupVersion;
  created_at: string;
  /** Bytes of the manifest object (`backup_size`). */
  backup_size: number;
  /** The backup's v2 sequence, decimal. */
  sequence: string;
}

/** The cache's content. */
export interface DeviceCache {
  identity: CacheIdentity;
  manifest: Manifest;
  /**
   * The manifest's encoding where the caller holds it (a restore: the plaintext it
   * decoded `manifest` from), saved as is; else `manifest` is encoded again.
   */
  encodedManifest?: Uint8Array;
  /** Page digests (16 bytes a page) by database path. */
  pages: Map<string, Uint8Array>;
}

/**
 * Plaintext: magic, version, then three length-prefixed parts (JSON, manifest, digests),
 * as pieces to seal in order: the digests (16 MiB at a million pages) are never copied
 * into one buffer first.
 */
function encode(c: DeviceCache): Uint8Array[] {
  const json = utf8ToBytes(JSON.stringify(c.identity));
  const manifest = c.encodedManifest ?? encodeManifest(c.manifest);
  const digests = c.manifest.entries.flatMap((e) => {
    if (e.type !== 'database') return [];
    const d = c.pages.get(e.path);
    if (!d || d.length !== e.pageCount * 16) throw new RangeError(`no page digests for ${e.path}`);
    return [d];
  });
  const len = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  return [
    concatBytes(Uint8Array.from([...MAGIC, VERSION]), len(json.length), json),
    len(manifest.length),
    manifest,
    ...digests,
  ];
}

function decode(bytes: Uint8Array): DeviceCache {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!MAGIC.every((m, i) => bytes[i] === m) || bytes[4] !== VERSION)
    throw new Error('not a device cache');
  let at = 5;
  const part = () => {
    const n = view.getUint32(at);
    const out = bytes.subarray(at + 4, at + 4 + n);
    if (out.length !== n) throw new Error('truncated');
    at += 4 + n;
    return out;
  };
  const identity = JSON.parse(bytesToUtf8(part())) as CacheIdentity;
  if (typeof identity?.s3_key !== 'string' || typeof identity.created_at !== 'string')
    throw new Error('bad identity');
  hexToBytes(identity.sha256);
  const manifest = decodeManifest(part());
  const pages = new Map<string, Uint8Array>();
  for (const e of manifest.entries) {
    if (e.type !== 'database') continue;
    const n = e.pageCount * 16;
    // A view, not a copy: `bytes` is this cache's own plaintext.
    const d = bytes.subarray(at, at + n);
    if (d.length !== n) throw new Error('truncated');
    pages.set(e.path, d);
    at += n;
  }
  if (at !== bytes.length) throw new Error('trailing bytes');
  return { identity, manifest, pages };
}

/**
 * Seals and saves the cache (replacing the previous one atomically, by the store).
 * @throws what the store throws
 */
export async function saveCache(
  store: DeviceCacheStore,
  keyring: Keyring,
  cache: DeviceCache,
  createdAt: Date,
): Promise<void> {
  const parts = encode(cache);
  const sealed = await collect(
    encryptV2(
      (async function* () {
        yield* parts;
      })(),
      {
        key: keyring.v2Key(),
        createdAt,
        sequence: BigInt(cache.identity.sequence),
        payloadKind: 'raw',
        // Page digests are keyed hashes, so they do not compress: deflating a million
        // pages' worth (16 MiB) only cost time and a second copy.
        compress: false,
      },
    ),
  );
  await store.save(sealed);
}

/**
 * Loads the cache; null when there is none or it cannot be used (it fails to open or
 * decode: tampered, truncated, another seedphrase's, an older layout), which makes the
 * next backup a full one.
 */
export async function loadCache(
  store: DeviceCacheStore,
  keyring: Keyring,
  logger: Logger,
): Promise<DeviceCache | null> {
  let sealed: Uint8Array | null;
  try {
    sealed = await store.load();
  } catch (err) {
    logger.warn('the device cache cannot be read; the backup is a full one', {
      code: (err as { code?: string }).code ?? 'unexpected',
    });
    return null;
  }
  if (!sealed) return null;
  try {
    const { header, plaintext } = await decryptV2Bytes(sealed, { key: keyring.v2Key() });
    if (header.payloadKind !== 'raw') throw new Error('not raw');
    return decode(plaintext);
  } catch {
    logger.warn('the device cache does not open (damaged or another seedphrase); ignored');
    return null;
  }
}

/** True if the cache describes one of the server's completed backups (`list`). */
export function cacheMatches(cache: DeviceCache, list: readonly BackupInfo[]): boolean {
  const id = cache.identity;
  return list.some(
    (b) =>
      b.backup_version === id.backup_version &&
      b.created_at === id.created_at &&
      b.backup_size === id.backup_size,
  );
}

/** The identity of a completed backup, for its cache. */
export function identityOf(
  backup: BackupInfo,
  s3Key: string,
  sha256: Uint8Array,
  sequence: bigint,
): CacheIdentity {
  return {
    s3_key: s3Key,
    sha256: bytesToHex(sha256),
    backup_version: backup.backup_version,
    created_at: backup.created_at,
    backup_size: backup.backup_size,
    sequence: sequence.toString(),
  };
}
