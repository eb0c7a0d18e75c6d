/**
 * BlobStore: where encrypted backup objects live (docs/OPERATIONS.md "The bucket").
 * Implementations:
 * `fs` (files on disk; the server itself serves HMAC-signed, expiring PUT/GET URLs with
 * S3 pre-signed semantics) and `s3` (any S3-compatible service). Chosen by
 * BLOB_STORE_URL. One contract suite (test/blob-contract) runs against each; the client
 * cannot tell them apart.
 *
 * Error contract: "not found" is `null` from `head`, and `delete` of a missing key
 * succeeds (idempotent). Backend errors are normalised: an unreachable or failing
 * backend throws `BlobStoreUnavailableError`. Pre-signed URLs are secrets: never log them.
 * @module
 */
import type { FastifyPluginAsync } from 'fastify';

export interface PresignedPut {
  url: string;
  /** Headers the PUT must carry besides Content-Length (may be empty). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface PresignedGet {
  url: string;
  expiresAt: Date;
}

export interface BlobInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/** What a full read of an object found. */
export interface ObjectDigest {
  size: number;
  /** SHA-256 of the bytes, lowercase hex. */
  sha256: string;
}

/** A lowercase-hex SHA-256, as the API and the stores write it. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface BlobStore {
  /** Backend name for logs and metrics ("fs" | "s3"). */
  readonly kind: string;
  /**
   * A URL that accepts exactly one PUT of exactly `size` bytes (Content-Length is part
   * of the signature) until `expiresInSec` from now. With `sha256` (the body's SHA-256,
   * lowercase hex) the store refuses a body with another digest and stores nothing (fs:
   * 400 `checksum_mismatch`; S3: 400 BadDigest from the signed `x-amz-checksum-sha256`
   * header the client must send, `PresignedPut.headers`). docs/API.md "Checksums".
   */
  presignPut(
    key: string,
    opts: { size: number; expiresInSec: number; sha256?: string },
  ): Promise<PresignedPut>;
  /** A URL that serves the object by GET until `expiresInSec` from now. */
  presignGet(key: string, opts: { expiresInSec: number }): Promise<PresignedGet>;
  /** Size and mtime of the object, or null when it does not exist. */
  head(key: string): Promise<BlobInfo | null>;
  /**
   * Reads the whole object and returns its size and SHA-256 (lowercase hex), streaming
   * (memory independent of size); null when it does not exist. For the scrub.
   */
  digest(key: string): Promise<ObjectDigest | null>;
  /**
   * The SHA-256 (lowercase hex) the store can tell for the object without the server
   * fetching it: the S3 store asks S3 for the checksum it verified at PUT (null when the
   * PUT carried none); the fs store reads the local file. Null when the object is
   * missing. For completions whose client gave no checksum at upload time.
   */
  checksum(key: string): Promise<string | null>;
  /** Deletes the object. Idempotent: a missing key is success. */
  delete(key: string): Promise<void>;
  /**
   * Empties `key` without freeing it: whatever object it holds (or none) is replaced by
   * an empty placeholder, so that the write-once upload URLs of the key refuse every
   * further PUT (fs: 409 `conflict`; S3: 412 from the signed `If-None-Match: *`). The fs
   * store also aborts a PUT to the key in progress in this process. For a key that
   * belongs to no backup but whose upload URL may still be used: the caller deletes the
   * placeholder once every URL for the key is dead (docs/OPERATIONS.md "Storage
   * bounds"). Idempotent. Never call it on the key of a completed backup.
   */
  retire(key: string): Promise<void>;
  /** Every object under `prefix`, in key order, paged internally (memory independent of count). */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Throws BlobStoreUnavailableError when the backend cannot answer (readiness). */
  ping(): Promise<void>;
  /**
   * Free bytes on the disk holding the objects (the fs store); absent for stores that do
   * not run out of space this way (S3). For readiness and the free-space check of uploads.
   */
  freeBytes?(): Promise<number>;
  /**
   * Routes the server must mount for this store's URLs (the fs store serves its signed
   * URLs itself); undefined for stores whose URLs point elsewhere (S3).
   */
  readonly routes?: FastifyPluginAsync;
  close?(): Promise<void>;
}

/**
 * The blob backend has no space left (a full disk, S3's 507 InsufficientStorage); the
 * request may be retried later.
 */
export class BlobStoreFullError extends Error {
  readonly code = 'storage_full';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlobStoreFullError';
  }
}

/** The blob backend failed or could not be reached; the request may be retried later. */
export class BlobStoreUnavailableError extends Error {
  readonly code = 'storage_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlobStoreUnavailableError';
  }
}
