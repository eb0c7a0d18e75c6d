/**
 * The keyed digests of incremental backups (FORMAT.md §8.3): page digests, which the
 * device cache keeps to find changed pages, and the file and database digests the
 * manifest carries so that a restore can prove every byte it assembled. All are
 * HMAC-SHA-256 under the digest key, so none confirms content to anyone without the
 * seedphrase.
 * @module
 */
import { platform } from '#platform';
import { abytes, aint, utf8ToBytes } from '../bytes.ts';
import type { HashStream } from '../platform/types.ts';
import { MAX_PAGE_COUNT, PAGE_DIGEST_LENGTH, isPageSize } from './types.ts';

/** The domain label that starts a database digest's message. */
const DATABASE_LABEL = utf8ToBytes('noah-backup db');

/** The digests of one digest key (see {@link createDigester}). */
export interface Digester {
  /**
   * The page digests of whole pages: `HMAC-SHA-256(digest_key, page)[0..16)` each.
   * @param data - whole pages (a multiple of `pageSize` bytes)
   * @param pageSize - a power of two from 512 to 65,536
   * @returns 16 bytes per page, in page order
   * @throws RangeError / TypeError (as a rejected promise) for bad arguments
   */
  pages(data: Uint8Array, pageSize: number): Promise<Uint8Array>;
  /**
   * The file digest of a file's content, `HMAC-SHA-256(digest_key, content)`.
   * @param source - the content, in chunks of any size
   * @returns 32 bytes
   * @throws whatever `source` throws
   */
  file(source: AsyncIterable<Uint8Array>): Promise<Uint8Array>;
  /** The file digest as a stream: `update` with the content in order, then `digest()`. */
  fileMac(): HashStream;
  /**
   * The database digest: `HMAC-SHA-256(digest_key, "noah-backup db" || I2OSP(page_size, 4)
   * || I2OSP(page_count, 4) || pd_1 || … || pd_n)`.
   * @param pageSize - a power of two from 512 to 65,536
   * @param pageDigests - the 16-byte page digests of every page, in page order (1..2^31 pages)
   * @returns 32 bytes
   * @throws RangeError / TypeError for bad arguments
   */
  database(pageSize: number, pageDigests: Uint8Array): Uint8Array;
}

/** Asserts a database page size (FORMAT.md §8.4). */
export function checkPageSize(pageSize: unknown, name = 'pageSize'): asserts pageSize is number {
  aint(name, pageSize, 1);
  if (!isPageSize(pageSize))
    throw new RangeError(`${name} must be a power of two from 512 to 65536, got ${pageSize}`);
}

/**
 * Binds the digests to a digest key (`keyring.digestKey()`; FORMAT.md §5.2).
 * @param digestKey - 32 bytes; copied, the caller may wipe it after the call
 * @returns a {@link Digester}
 * @throws TypeError / RangeError if `digestKey` is not 32 bytes
 * @example
 * ```ts
 * const d = createDigester(keyring.digestKey());
 * const pds = await d.pages(oneMiBOfPages, 4096); // 256 × 16 bytes
 * const dbDigest = d.database(4096, allPageDigests);
 * ```
 */
export function createDigester(digestKey: Uint8Array): Digester {
  abytes('digestKey', digestKey, 32);
  const mac = platform.hmacSha256(digestKey);
  return {
    async pages(data, pageSize) {
      checkPageSize(pageSize);
      return mac.pages(data, pageSize, PAGE_DIGEST_LENGTH);
    },
    fileMac: () => mac.create(),
    async file(source) {
      const h = mac.create();
      for await (const chunk of source) h.update(chunk);
      return h.digest();
    },
    database(pageSize, pageDigests) {
      checkPageSize(pageSize);
      abytes('pageDigests', pageDigests);
      const pageCount = pageDigests.length / PAGE_DIGEST_LENGTH;
      if (!Number.isInteger(pageCount) || pageCount < 1 || pageCount > MAX_PAGE_COUNT)
        throw new RangeError('pageDigests must be 16 bytes for each of 1..2^31 pages');
      const sizes = new Uint8Array(8);
      const view = new DataView(sizes.buffer);
      view.setUint32(0, pageSize);
      view.setUint32(4, pageCount);
      return mac.create().update(DATABASE_LABEL).update(sizes).update(pageDigests).digest();
    },
  };
}
