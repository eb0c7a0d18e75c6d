/**
 * SHA-256 and HMAC-SHA-256 for the Node.js platform, with node:crypto: the keyed page
 * digests of incremental backups (FORMAT.md §8.3) and the hash of each pack's ciphertext
 * (§8.2). Everything returned is a plain `Uint8Array`.
 * @module
 */
import { type Hash, type Hmac, createHash, createHmac, createSecretKey } from 'node:crypto';
import { abytes } from '../bytes.ts';
import { checkHmacKey, checkPagesArgs } from './common.ts';
import type { HashStream, HmacSha256 } from './types.ts';

/** A node:crypto Hash or Hmac as a {@link HashStream}. */
function stream(h: Hash | Hmac): HashStream {
  let done = false;
  const self: HashStream = {
    update(data) {
      abytes('data', data);
      h.update(data); // throws after digest()
      return self;
    },
    digest() {
      // A node:crypto Hmac returns an empty buffer on a second digest(): refuse it.
      if (done) throw new Error('digest() was already called');
      done = true;
      const d = h.digest();
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    },
  };
  return self;
}

/**
 * Binds HMAC-SHA-256 to a key, copied once into a node:crypto KeyObject.
 * @param key - the key, at least 1 byte; the caller may wipe it after the call
 * @returns `{ pages, create }`
 * @throws TypeError if `key` is not a Uint8Array; RangeError if it is empty
 * @example
 * ```ts
 * const mac = hmacSha256(digestKey);
 * const digests = await mac.pages(fourPages, 4096, 16); // 64 bytes
 * ```
 */
export function hmacSha256(key: Uint8Array): HmacSha256 {
  checkHmacKey(key);
  const keyObject = createSecretKey(key);
  return {
    async pages(data, pageSize, outLength) {
      const n = checkPagesArgs(data, pageSize, outLength);
      const out = new Uint8Array(n * outLength);
      // One Hmac per page: ~140 ms per 100 MB of 4 KiB pages, close to SHA-256 alone.
      for (let i = 0, off = 0; i < n; i++, off += pageSize) {
        const mac = createHmac('sha256', keyObject)
          .update(data.subarray(off, off + pageSize))
          .digest();
        out.set(mac.subarray(0, outLength), i * outLength);
      }
      return out;
    },
    create: () => stream(createHmac('sha256', keyObject)),
  };
}

/**
 * A streaming SHA-256 (node:crypto).
 * @returns a {@link HashStream}
 * @example
 * ```ts
 * const h = sha256(); h.update(part1).update(part2); const d = h.digest();
 * ```
 */
export function sha256(): HashStream {
  return stream(createHash('sha256'));
}
