/**
 * SHA-256 and HMAC-SHA-256 in JavaScript (@noble/hashes), for engines without
 * node:crypto or WebCrypto: the keyed digests of incremental backups (FORMAT.md §8.3)
 * and the hash of each pack's ciphertext (§8.2).
 * @module
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { abytes } from '../bytes.ts';
import { checkHmacKey, checkPagesArgs } from './common.ts';
import type { HashStream, HmacSha256 } from './types.ts';

/** A noble hash or HMAC as a {@link HashStream} (the web platform's streams too). */
export function nobleStream(h: {
  update(d: Uint8Array): unknown;
  digest(): Uint8Array;
}): HashStream {
  const self: HashStream = {
    update(data) {
      abytes('data', data);
      h.update(data);
      return self;
    },
    digest: () => h.digest(), // noble throws if called twice
  };
  return self;
}

/**
 * Binds HMAC-SHA-256 to a key: the key's padded states are computed once and cloned
 * for every message.
 * @param key - the key, at least 1 byte; the caller may wipe it after the call
 * @returns `{ pages, create }`
 * @throws TypeError if `key` is not a Uint8Array; RangeError if it is empty
 * @example
 * ```ts
 * const digests = await hmacSha256(digestKey).pages(fourPages, 4096, 16); // 64 bytes
 * ```
 */
export function hmacSha256(key: Uint8Array): HmacSha256 {
  checkHmacKey(key);
  const base = hmac.create(nobleSha256, key);
  return {
    async pages(data, pageSize, outLength) {
      const n = checkPagesArgs(data, pageSize, outLength);
      const out = new Uint8Array(n * outLength);
      for (let i = 0, off = 0; i < n; i++, off += pageSize) {
        const mac = base
          .clone()
          .update(data.subarray(off, off + pageSize))
          .digest();
        out.set(mac.subarray(0, outLength), i * outLength);
      }
      return out;
    },
    create: () => nobleStream(base.clone()),
  };
}

/**
 * A streaming SHA-256 (@noble/hashes).
 * @returns a {@link HashStream}
 * @example
 * ```ts
 * const d = sha256().update(part1).update(part2).digest();
 * ```
 */
export function sha256(): HashStream {
  return nobleStream(nobleSha256.create());
}
