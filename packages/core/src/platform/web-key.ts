/**
 * What the web platform's WebCrypto calls share: an ArrayBuffer-backed view of any bytes,
 * and a key imported once, lazily, from a copy that is wiped once imported. No Node APIs.
 * @module
 */
import { wipe } from '../bytes.ts';

/**
 * WebCrypto's `BufferSource` wants an ArrayBuffer-backed view; copies only if shared.
 * @param bytes - any bytes
 * @returns `bytes`, or a copy when they live in a SharedArrayBuffer
 */
export function bs(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : (bytes.slice() as Uint8Array<ArrayBuffer>);
}

/**
 * A non-extractable CryptoKey imported from a copy of `key` on the first call; the copy
 * is wiped once the import settles, so the caller may wipe its own buffer at once.
 * @param key - the raw key (copied now)
 * @param algorithm - the key's algorithm, as `importKey` takes it
 * @param usages - what the key may do
 * @returns a function answering the same imported key on every call
 * @example
 * ```ts
 * const key = lazyKey(raw, 'AES-GCM', ['encrypt', 'decrypt']);
 * await crypto.subtle.encrypt(params, await key(), data);
 * ```
 */
export function lazyKey(
  key: Uint8Array,
  algorithm: AlgorithmIdentifier | HmacImportParams,
  usages: KeyUsage[],
): () => Promise<CryptoKey> {
  let copy: Uint8Array | undefined = key.slice();
  let imported: Promise<CryptoKey> | undefined;
  return () => {
    imported ??= (async () => {
      try {
        return await globalThis.crypto.subtle.importKey('raw', bs(copy!), algorithm, false, usages);
      } finally {
        wipe(copy);
        copy = undefined;
      }
    })();
    return imported;
  };
}
