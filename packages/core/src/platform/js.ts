/**
 * The pure-JavaScript platform: @noble/ciphers and @noble/hashes for AES-256-GCM, PBKDF2,
 * SHA-256 and HMAC, pako for deflate, fzstd to read zstd. It needs nothing from the host
 * but `Uint8Array`, so it runs on any engine, Hermes included; it is about a hundred
 * times slower than native crypto there (docs/REACT-NATIVE.md), so no export condition
 * selects it: the Hermes vector runner and the differential tests use it directly.
 * @module
 */
import { gcm } from '@noble/ciphers/aes.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { abytes } from '../bytes.ts';
import { checkGcmArgs, checkPbkdf2Args, syncAesGcm } from './common.ts';
import { base64DecodeJs, base64EncodeJs } from './js-base64.ts';
import { hmacSha256, sha256 } from './js-hash.ts';
import { deflate, inflate } from './pako-zlib.ts';
import type { AesGcm, Platform } from './types.ts';
import { noZstdCompressor, zstdCompressAvailable, zstdDecompress } from './web-zstd.ts';

const TAG = 16;

/** No zstd compressor in JavaScript here: writers use deflate (FORMAT.md §5.4). */
export const zstdCompress = noZstdCompressor('the pure-JavaScript platform');

/**
 * Binds AES-256-GCM to a key (FORMAT.md §1). The key is copied.
 * @param key - 32 bytes
 * @returns `{ encrypt, seal, decrypt }` and their synchronous forms
 * @throws TypeError / RangeError for a key that is not 32 bytes
 * @example
 * ```ts
 * const sealed = await aesGcm(key).encrypt(nonce12, utf8ToBytes('hi')); // ciphertext || tag
 * ```
 */
export function aesGcm(key: Uint8Array): AesGcm {
  abytes('key', key, 32);
  const k = key.slice();
  const sealSync = (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array) => {
    checkGcmArgs(nonce, plaintext, aad);
    const sealed = gcm(k, nonce.slice(), aad).encrypt(plaintext);
    const n = sealed.length - TAG;
    return { ciphertext: sealed.subarray(0, n), tag: sealed.subarray(n) };
  };
  const decryptSync = (nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array) => {
    checkGcmArgs(nonce, sealed, aad, TAG);
    try {
      // noble checks the tag before it decrypts: no unverified plaintext exists.
      return gcm(k, nonce.slice(), aad).decrypt(sealed);
    } catch {
      throw new Error('AES-GCM authentication failed');
    }
  };
  const encrypt: AesGcm['encrypt'] = async (nonce, plaintext, aad) => {
    checkGcmArgs(nonce, plaintext, aad);
    return gcm(k, nonce.slice(), aad).encrypt(plaintext);
  };
  return syncAesGcm(encrypt, { sealSync, decryptSync });
}

/**
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2), yielding to the event loop every few milliseconds.
 * @param password - the password bytes
 * @param salt - the salt bytes
 * @param iterations - iteration count, ≥ 1
 * @param length - output length in bytes (1..1024)
 * @returns the derived key
 * @throws TypeError / RangeError for bad arguments
 * @example
 * ```ts
 * const k = await pbkdf2Sha256(utf8ToBytes('pw'), salt, 10_000, 32);
 * ```
 */
export async function pbkdf2Sha256(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  checkPbkdf2Args(password, salt, iterations, length);
  return pbkdf2Async(nobleSha256, password, salt, { c: iterations, dkLen: length });
}

/**
 * PBKDF2-HMAC-SHA-512 (RFC 8018 §5.2): the BIP39 seed.
 * @param password - the password bytes
 * @param salt - the salt bytes
 * @param iterations - iteration count, ≥ 1
 * @param length - output length in bytes (1..1024)
 * @returns the derived key
 * @throws TypeError / RangeError for bad arguments
 * @example
 * ```ts
 * const seed = await pbkdf2Sha512(utf8ToBytes(words), utf8ToBytes('mnemonic'), 2048, 64);
 * ```
 */
export async function pbkdf2Sha512(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  checkPbkdf2Args(password, salt, iterations, length);
  return pbkdf2Async(nobleSha512, password, salt, { c: iterations, dkLen: length });
}

/** Strict base64 decoding without TextDecoder or atob. */
export const base64Decode = base64DecodeJs;
/** Standard padded base64 encoding without btoa. */
export const base64Encode = base64EncodeJs;

export { deflate, hmacSha256, inflate, sha256, zstdCompressAvailable, zstdDecompress };

/** The pure-JavaScript platform as one object. */
export const platform: Platform = {
  name: 'js',
  aesGcm,
  pbkdf2Sha256,
  pbkdf2Sha512,
  deflate,
  inflate,
  zstdCompress,
  zstdCompressAvailable,
  zstdDecompress,
  base64Decode,
  base64Encode,
  hmacSha256,
  sha256,
};
