/**
 * SHA-256 and HMAC-SHA-256 for the web platform: WebCrypto for many pages at once (one
 * asynchronous `sign` per page, run together), @noble/hashes where the message comes in
 * pieces (WebCrypto cannot hash a stream). FORMAT.md §8.2, §8.3. No Node APIs.
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { checkHmacKey, checkPagesArgs } from './common.ts';
import { nobleStream } from './js-hash.ts';
import { bs, lazyKey } from './web-key.ts';
import type { HmacSha256 } from './types.ts';

/**
 * Pages in flight at once: bounds the copies WebCrypto makes of its inputs (1 MiB at
 * 4 KiB). In Chromium the batch size barely changes the speed (still far ahead of
 * @noble/hashes), so it is chosen for memory.
 */
const BATCH = 256;

/**
 * Binds HMAC-SHA-256 to a key. The key is copied now: into a noble HMAC state for
 * `create()`, and into a buffer imported as a non-extractable CryptoKey on the first
 * `pages()` call, then wiped.
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
  const base = hmac.create(nobleSha256, key);
  const cryptoKey = lazyKey(key, { name: 'HMAC', hash: 'SHA-256' }, ['sign']);
  return {
    async pages(data, pageSize, outLength) {
      const n = checkPagesArgs(data, pageSize, outLength);
      const out = new Uint8Array(n * outLength);
      if (n === 0) return out;
      const k = await cryptoKey();
      const source = bs(data);
      for (let first = 0; first < n; first += BATCH) {
        const macs = [];
        for (let i = first; i < Math.min(n, first + BATCH); i++)
          macs.push(
            globalThis.crypto.subtle.sign(
              'HMAC',
              k,
              source.subarray(i * pageSize, (i + 1) * pageSize),
            ),
          );
        for (const [j, mac] of (await Promise.all(macs)).entries())
          out.set(new Uint8Array(mac, 0, outLength), (first + j) * outLength);
      }
      return out;
    },
    create: () => nobleStream(base.clone()),
  };
}

/** A streaming SHA-256 (@noble/hashes): WebCrypto cannot hash a stream. */
export { sha256 } from './js-hash.ts';
