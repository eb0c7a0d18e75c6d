/**
 * The v2 reader (FORMAT.md §5.6): verifies the header MAC before anything else, then
 * streams verified plaintext under a size cap. Constant memory at any size.
 * @module
 */
import { platform } from '#platform';
import { abytes, aint, wipe } from '../bytes.ts';
import { DecryptionError, LimitExceededError, UnsupportedCompressionError } from '../errors.ts';
import type { AesGcm } from '../platform/types.ts';
import { type ByteReader, byteReader, collect, fromBytes } from '../stream.ts';
import { openChunks } from './chunks.ts';
import { V2_DEFAULT_MAX_PLAINTEXT, V2_HEADER_LENGTH } from './constants.ts';
import {
  checkMagicAndVersion,
  decodeHeader,
  deriveFileKeys,
  type V2Header,
  verifyHeaderMac,
} from './header.ts';

/** Options of {@link openV2}. */
export interface OpenV2Options {
  /** The 32-byte v2 root key (`keyring.v2Key()`); not modified. */
  key: Uint8Array;
  /** Cap on plaintext bytes yielded, after decompression (default 8 GiB). */
  maxPlaintextBytes?: number;
  /**
   * The consumer is done with each plaintext chunk before it asks for the next (it copies
   * what it keeps): a decompressor may then reuse one output buffer for every chunk.
   */
  transient?: boolean;
}

/** An opened v2 file: its authenticated header and its plaintext stream. */
export interface OpenedV2 {
  header: V2Header;
  plaintext: AsyncGenerator<Uint8Array>;
}

/** Verified chunks, decompressed and capped; errors mapped per FORMAT.md §5.6. */
async function* plaintextOf(
  reader: ByteReader,
  gcm: AesGcm,
  cap: number,
  compression: 'deflate' | 'zstd',
  transient: boolean,
): AsyncGenerator<Uint8Array> {
  const decompress = compression === 'zstd' ? platform.zstdDecompress : platform.inflate;
  let upstream: unknown;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      yield* openChunks(reader, gcm);
    } catch (err) {
      upstream = err; // DecryptionError, or the source's own error: passes through as is
      throw err;
    }
  }
  try {
    yield* decompress(chunks(), { maxOutputBytes: cap, transient });
  } catch (err) {
    if (
      err === upstream ||
      err instanceof LimitExceededError ||
      err instanceof UnsupportedCompressionError
    )
      throw err;
    // A zlib or zstd failure inside authenticated data: corrupt at the source. Same opaque error.
    throw new DecryptionError();
  } finally {
    await reader.close();
  }
}

/**
 * Verified chunks of a stored payload, capped. No wrapper between the chunks and the
 * consumer (a generator step per chunk costs): errors pass through as they are, the
 * opaque DecryptionError, the source's own, or LimitExceededError.
 */
async function* storedPlaintextOf(
  reader: ByteReader,
  gcm: AesGcm,
  cap: number,
): AsyncGenerator<Uint8Array> {
  try {
    let produced = 0;
    for await (const chunk of openChunks(reader, gcm)) {
      produced += chunk.length;
      if (produced > cap) throw new LimitExceededError(`plaintext exceeds the cap of ${cap} bytes`);
      yield chunk;
    }
  } finally {
    await reader.close();
  }
}

/**
 * Opens a v2 file: reads the header, checks magic and version, verifies the header MAC
 * (which also proves the key is right), then returns the header and a plaintext stream.
 * The stream yields a chunk only after its tag verified, and throws at the first problem
 * (sticky: nothing is yielded after). The plaintext is complete and authentic only once
 * the stream has ended without error: write it somewhere temporary until then.
 * @param source - the v2 file, in chunks of any size
 * @param opts - `key`, `maxPlaintextBytes` (default 8 GiB), and `transient`
 * @returns `{ header, plaintext }`
 * @throws NotABackupError (wrong magic, or a malformed header that carries a valid MAC);
 *   UnsupportedVersionError (another version); DecryptionError (wrong key, tampering,
 *   truncation); TypeError / RangeError for bad options. The stream throws
 *   DecryptionError or LimitExceededError.
 * @example
 * ```ts
 * const { header, plaintext } = await openV2(download, { key: keyring.v2Key() });
 * for await (const chunk of plaintext) await tmpFile.write(chunk);
 * ```
 */
export async function openV2(
  source: AsyncIterable<Uint8Array>,
  opts: OpenV2Options,
): Promise<OpenedV2> {
  if (source == null || typeof source[Symbol.asyncIterator] !== 'function')
    throw new TypeError('source must be an AsyncIterable<Uint8Array>');
  abytes('key', opts?.key, 32);
  const cap = opts.maxPlaintextBytes ?? V2_DEFAULT_MAX_PLAINTEXT;
  aint('maxPlaintextBytes', cap, 0);
  const reader = byteReader(source);
  try {
    // FORMAT.md §5.6 items 1–3, in this order.
    const bytes = await reader.read(V2_HEADER_LENGTH);
    checkMagicAndVersion(bytes);
    if (bytes.length < V2_HEADER_LENGTH) throw new DecryptionError();
    const nonce = bytes.subarray(28, 60);
    const { headerKey, payloadKey } = deriveFileKeys(opts.key, nonce);
    const macOk = verifyHeaderMac(headerKey, bytes);
    wipe(headerKey);
    if (!macOk) {
      wipe(payloadKey);
      throw new DecryptionError();
    }
    let header: V2Header;
    try {
      header = decodeHeader(bytes); // FORMAT.md §5.6, checks 4–7, on authenticated bytes
    } catch (err) {
      wipe(payloadKey);
      throw err;
    }
    const gcm = platform.aesGcm(payloadKey);
    wipe(payloadKey);
    const plaintext =
      header.compression === 'none'
        ? storedPlaintextOf(reader, gcm, cap)
        : plaintextOf(reader, gcm, cap, header.compression, opts.transient === true);
    // `return()` on a generator never started skips its body, `finally` included: close
    // the source here too, so abandoning the plaintext unread ends the download under it.
    const end = plaintext.return.bind(plaintext);
    plaintext.return = async (value) => {
      try {
        return await end(value);
      } finally {
        await reader.close();
      }
    };
    return { header, plaintext };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

/**
 * One-shot {@link openV2} over a buffer.
 * @param data - the whole v2 file
 * @param opts - as for {@link openV2}
 * @returns the header and the whole plaintext
 * @throws as {@link openV2} and its stream
 * @example
 * ```ts
 * const { header, plaintext } = await decryptV2Bytes(file, { key: keyring.v2Key() });
 * ```
 */
export async function decryptV2Bytes(
  data: Uint8Array,
  opts: OpenV2Options,
): Promise<{ header: V2Header; plaintext: Uint8Array }> {
  const { header, plaintext } = await openV2(fromBytes(data), opts);
  return { header, plaintext: await collect(plaintext) };
}
