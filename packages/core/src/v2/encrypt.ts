/**
 * The v2 writer (FORMAT.md §5): header, then the payload (optionally compressed, zlib or zstd)
 * sealed in 256 KiB chunks. Constant memory at any size.
 * @module
 */
import { platform } from '#platform';
import { abytes, aint, wipe } from '../bytes.ts';
import { checkLevel, checkZstdLevel } from '../platform/common.ts';
import { type RandomBytes, secureRandom } from '../clock.ts';
import { collect, fromBytes } from '../stream.ts';
import { sealChunks } from './chunks.ts';
import { V2_MAX_CREATED_AT } from './constants.ts';
import { deriveFileKeys, encodeHeader, V2_PAYLOAD_KINDS, type V2PayloadKind } from './header.ts';

/** Options of {@link encryptV2}. */
export interface EncryptV2Options {
  /** The 32-byte v2 root key (`keyring.v2Key()`); not modified. */
  key: Uint8Array;
  /** Creation time, stored with millisecond precision; from the injected clock. */
  createdAt: Date;
  /** The writer's backup counter, 0 ≤ sequence < 2^64, for rollback detection. */
  sequence: bigint | number;
  /**
   * What the payload is (default `'raw'`): a one-object backup's kind, or an incremental
   * backup's `'pack'` or `'manifest'` (written by `incremental/objects.ts`).
   */
  payloadKind?: V2PayloadKind;
  /** Compress the payload before encryption (default true). */
  compress?: boolean;
  /**
   * The algorithm when compressing (FORMAT.md §5.4): `'deflate'` (zlib, the default;
   * every platform writes it) or `'zstd'` (Zstandard: about 5x faster to write and 3x to
   * read on Node; only where `platform.zstdCompressAvailable()`, not on the web).
   */
  compression?: CompressionAlgorithm;
  /**
   * Level when compressing: zlib 1 (fastest) to 9 (smallest), default 6; zstd 1 to 19,
   * default 1. Not recorded: any level gives a valid payload (FORMAT.md §5.4). The web
   * platform's deflate ignores it.
   */
  compressionLevel?: number;
  /**
   * zstd only: the compressor's worker threads (Node; default 2, 0 for none: slower,
   * about 15 MiB less memory). Not recorded; 0 and ≥ 1 give different, equally valid bytes.
   */
  zstdWorkers?: number;
  /** Source of the 32-byte file nonce (default: WebCrypto's CSPRNG). */
  random?: RandomBytes;
}

/** A compression algorithm of v2 (FORMAT.md §5.4). */
export type CompressionAlgorithm = 'deflate' | 'zstd';

const ALGORITHMS: readonly CompressionAlgorithm[] = ['deflate', 'zstd'];

/**
 * Asserts a compression algorithm and its level, applying the defaults.
 * @returns the algorithm and the level for it
 * @throws RangeError / TypeError naming `compression` or `compressionLevel`
 */
export function checkCompression(
  compression: unknown,
  level: unknown,
): { algorithm: CompressionAlgorithm; level: number } {
  const algorithm = compression ?? 'deflate';
  if (!ALGORITHMS.includes(algorithm as CompressionAlgorithm))
    throw new RangeError(`compression must be deflate or zstd, got ${String(compression)}`);
  return algorithm === 'zstd'
    ? { algorithm, level: checkZstdLevel(level, 'compressionLevel') }
    : { algorithm: 'deflate', level: checkLevel(level, 'compressionLevel') };
}

function toSequence(sequence: unknown): bigint {
  if (typeof sequence === 'number') {
    if (!Number.isSafeInteger(sequence)) throw new TypeError('sequence must be an integer');
    sequence = BigInt(sequence);
  }
  if (typeof sequence !== 'bigint') throw new TypeError('sequence must be a bigint or a number');
  if (sequence < 0n || sequence >= 2n ** 64n)
    throw new RangeError(`sequence must be in [0, 2^64), got ${sequence}`);
  return sequence;
}

function toCreatedAt(createdAt: unknown): number {
  if (!(createdAt instanceof Date)) throw new TypeError('createdAt must be a Date');
  const ms = createdAt.getTime();
  if (!(ms >= 0 && ms <= V2_MAX_CREATED_AT))
    throw new RangeError('createdAt must be a valid date not before 1970-01-01');
  return ms;
}

/**
 * Encrypts a byte stream into a v2 file, streaming: the header first, then one sealed
 * chunk at a time. Arguments are checked, and the keys derived, before this returns.
 * @param source - the payload, in chunks of any size; a chunk must not be modified after
 *   it was yielded (the writer may keep a subarray of it until the next one)
 * @param opts - key, createdAt, sequence, and optionally payloadKind, compress,
 *   compression, compressionLevel, random
 * @returns the v2 file as a stream of byte chunks
 * @throws TypeError / RangeError for bad options (at call time); whatever `source` throws
 * @example
 * ```ts
 * const file = encryptV2(fromBytes(tarBytes), {
 *   key: keyring.v2Key(), createdAt: clock.now(), sequence: 7n, payloadKind: 'tar',
 * });
 * for await (const chunk of file) upload(chunk);
 * ```
 */
export function encryptV2(
  source: AsyncIterable<Uint8Array>,
  opts: EncryptV2Options,
): AsyncGenerator<Uint8Array> {
  if (source == null || typeof source[Symbol.asyncIterator] !== 'function')
    throw new TypeError('source must be an AsyncIterable<Uint8Array>');
  abytes('key', opts?.key, 32);
  const payloadKind = opts.payloadKind ?? 'raw';
  if (!V2_PAYLOAD_KINDS.includes(payloadKind))
    throw new RangeError('payloadKind must be raw, tar, zip, pack or manifest');
  const compress = opts.compress ?? true;
  if (typeof compress !== 'boolean') throw new TypeError('compress must be a boolean');
  const { algorithm, level } = checkCompression(opts.compression, opts.compressionLevel);
  if (opts.zstdWorkers !== undefined) aint('zstdWorkers', opts.zstdWorkers, 0, 8);
  const fields = {
    compression: compress ? algorithm : ('none' as const),
    payloadKind,
    createdAt: toCreatedAt(opts.createdAt),
    sequence: toSequence(opts.sequence),
  };
  const nonce = (opts.random ?? secureRandom)(32);
  abytes('random(32)', nonce, 32);
  // FORMAT.md §5.2: per-file keys from the root key and the file nonce.
  const { headerKey, payloadKey } = deriveFileKeys(opts.key, nonce);
  const header = encodeHeader(fields, nonce, headerKey);
  const gcm = platform.aesGcm(payloadKey);
  wipe(headerKey, payloadKey);
  return (async function* () {
    yield header;
    const payload = !compress
      ? source
      : algorithm === 'zstd'
        ? platform.zstdCompress(source, {
            level,
            ...(opts.zstdWorkers !== undefined ? { workers: opts.zstdWorkers } : {}),
          })
        : platform.deflate(source, { level });
    yield* sealChunks(payload, gcm);
  })();
}

/**
 * One-shot {@link encryptV2} over a buffer.
 * @param plaintext - the payload
 * @param opts - as for {@link encryptV2}
 * @returns the whole v2 file
 * @throws TypeError / RangeError for bad arguments
 * @example
 * ```ts
 * const file = await encryptV2Bytes(data, { key, createdAt: clock.now(), sequence: 1 });
 * ```
 */
export function encryptV2Bytes(plaintext: Uint8Array, opts: EncryptV2Options): Promise<Uint8Array> {
  return collect(encryptV2(fromBytes(plaintext), opts));
}
