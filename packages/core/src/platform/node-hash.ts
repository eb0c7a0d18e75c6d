/**
 * SHA-256 and HMAC-SHA-256 for the Node.js platform, with node:crypto: the keyed page
 * digests of incremental backups (FORMAT.md §8.3) and the hash of each pack's ciphertext
 * (§8.2). Everything returned is a plain `Uint8Array`.
 * @module
 */
import {
  type Hash,
  type Hmac,
  createHash,
  createHmac,
  createSecretKey,
  hash as oneShotHash,
} from 'node:crypto';
import { abytes } from '../bytes.ts';
import { checkHmacKey, checkPagesArgs } from './common.ts';
import type { HashStream, HmacSha256 } from './types.ts';

/** SHA-256's block size in bytes (the HMAC pads). */
const BLOCK = 64;

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
  // The page digests as RFC 2104 spells HMAC out, two one-shot SHA-256 calls a page:
  // H((K ^ opad) || H((K ^ ipad) || page)). A node:crypto Hmac object per page cost about
  // twice as much (its construction, and one native object and one digest buffer a page
  // left to the garbage collector: 25,000 of each in a 100 MiB restore). The padded key
  // blocks are made now, from the key as it is (the caller may wipe it after this call).
  const k = key.length > BLOCK ? createHash('sha256').update(key).digest() : key;
  const outer = Buffer.alloc(BLOCK + 32);
  const innerPad = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    innerPad[i] = (k[i] ?? 0) ^ 0x36;
    outer[i] = (k[i] ?? 0) ^ 0x5c;
  }
  let inner = Buffer.alloc(0); // K ^ ipad, then room for one page
  const innerOf = (pageSize: number) => {
    if (inner.length !== BLOCK + pageSize) {
      inner = Buffer.alloc(BLOCK + pageSize);
      innerPad.copy(inner);
    }
    return inner;
  };
  return {
    async pages(data, pageSize, outLength) {
      const n = checkPagesArgs(data, pageSize, outLength);
      const out = Buffer.alloc(n * outLength);
      const inner = innerOf(pageSize);
      const src = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0, off = 0; i < n; i++, off += pageSize) {
        src.copy(inner, BLOCK, off, off + pageSize);
        // Digests as 'binary' (latin1) strings, one byte a character: no buffer allocated.
        outer.write(oneShotHash('sha256', inner, 'binary'), BLOCK, 32, 'latin1');
        out.write(oneShotHash('sha256', outer, 'binary'), i * outLength, outLength, 'latin1');
      }
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
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
