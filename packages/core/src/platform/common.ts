/**
 * Engine-independent parts of the platform seam: argument checks, input slicing for
 * bounded decompression, the output cap, and Adler-32 (RFC 1950 §9) for the end-of-stream
 * check, and the AES-GCM steps the synchronous engines share. Shared by the platforms so
 * all enforce exactly the same rules.
 * @module
 */
import { abytes, aint } from '../bytes.ts';
import { LimitExceededError } from '../errors.ts';
import type { AesGcm } from './types.ts';

/** Largest input slice fed to a decompressor at once (one engine call per output buffer). */
export const MAX_SLICE = 256 * 1024;
/** Smallest input slice (when the output cap is close). */
export const MIN_SLICE = 64;
/** Worst-case expansion of DEFLATE (RFC 1951): 258-byte matches in ~2 bits each. */
export const DEFLATE_MAX_RATIO = 1032;
/** The web platform's compression input is re-cut to this size: few engine calls for
 * tiny reads, and bounded buffering for huge ones (node cuts segments: node-deflate.ts). */
export const DEFLATE_SLICE = 64 * 1024;

/** The default zlib compression level (zlib's own, Z_DEFAULT_COMPRESSION). */
export const DEFAULT_LEVEL = 6;

/**
 * Asserts a zlib compression level (RFC 1950's FLEVEL spans 1..9; 0, "stored", is not
 * offered: turn compression off instead) and applies the default.
 * @returns the level, {@link DEFAULT_LEVEL} when undefined
 */
export function checkLevel(level: unknown, name = 'level'): number {
  if (level === undefined) return DEFAULT_LEVEL;
  aint(name, level, 1, 9);
  return level;
}

/** The default zstd level: 1 (measured in `node-zstd.ts` and the client's pipelines). */
export const DEFAULT_ZSTD_LEVEL = 1;
/** The highest zstd level offered: 19, whose window (8 MiB) every decoder accepts. */
export const MAX_ZSTD_LEVEL = 19;

/**
 * Asserts a zstd compression level, 1..19 (FORMAT.md §5.4: levels past 19 need windows
 * decoders may refuse), and applies the default.
 * @returns the level, {@link DEFAULT_ZSTD_LEVEL} when undefined
 */
export function checkZstdLevel(level: unknown, name = 'level'): number {
  if (level === undefined) return DEFAULT_ZSTD_LEVEL;
  aint(name, level, 1, MAX_ZSTD_LEVEL);
  return level;
}

/** Asserts the arguments of an AES-256-GCM call (FORMAT.md §1). */
export function checkGcmArgs(nonce: unknown, data: unknown, aad: unknown, minData = 0): void {
  abytes('nonce', nonce, 12);
  abytes('data', data);
  if (data.length < minData) throw new RangeError(`data must be at least ${minData} bytes`);
  if (aad !== undefined) abytes('aad', aad);
}

/** AES-GCM's synchronous calls, where the engine is synchronous. */
type SyncGcm = Required<Pick<AesGcm, 'sealSync' | 'decryptSync'>>;

/**
 * An {@link AesGcm} over a synchronous engine: `seal` and `decrypt` are its `sealSync`
 * and `decryptSync` behind a promise, `encrypt` the platform's own (it joins ciphertext
 * and tag the way that engine does it cheapest).
 * @param encrypt - `encrypt` of the platform
 * @param sync - `sealSync` and `decryptSync`
 * @returns the AES-GCM object, with the synchronous calls too
 */
export function syncAesGcm(encrypt: AesGcm['encrypt'], sync: SyncGcm): AesGcm & SyncGcm {
  const { sealSync, decryptSync } = sync;
  return {
    encrypt,
    seal: async (nonce, plaintext, aad) => sealSync(nonce, plaintext, aad),
    decrypt: async (nonce, sealed, aad) => decryptSync(nonce, sealed, aad),
    sealSync,
    decryptSync,
  };
}

/** An AES-GCM decipher of node:crypto's shape (node:crypto, react-native-quick-crypto). */
export interface GcmDecipher<B extends Uint8Array> {
  setAAD(aad: Uint8Array): unknown;
  setAuthTag(tag: Uint8Array): unknown;
  update(data: Uint8Array): B;
  final(): unknown;
}

/**
 * Opens `sealed` (ciphertext || tag) with a decipher of node:crypto's shape. The
 * plaintext is returned only once the tag verifies; when it does not, what was
 * decrypted is wiped first, so no unverified plaintext escapes (FORMAT.md §1).
 * @param decipher - a fresh AES-256-GCM decipher for the key and nonce
 * @param sealed - ciphertext || tag, at least `tagLength` bytes (checked by the caller)
 * @param aad - the associated data, if any
 * @param tagLength - the tag's length in bytes
 * @returns the plaintext, in the decipher's own buffer
 * @throws Error when the tag does not verify
 */
export function openGcm<B extends Uint8Array>(
  decipher: GcmDecipher<B>,
  sealed: Uint8Array,
  aad: Uint8Array | undefined,
  tagLength: number,
): B {
  const n = sealed.length - tagLength;
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(n));
  const out = decipher.update(sealed.subarray(0, n));
  try {
    decipher.final();
  } catch {
    out.fill(0);
    throw new Error('AES-GCM authentication failed');
  }
  return out;
}

/** Asserts the arguments of a PBKDF2 call. */
export function checkPbkdf2Args(
  password: unknown,
  salt: unknown,
  iterations: unknown,
  length: unknown,
): void {
  abytes('password', password);
  abytes('salt', salt);
  aint('iterations', iterations, 1, 2 ** 31 - 1);
  aint('length', length, 1, 1024);
}

/** Asserts an HMAC key: bytes, at least one (WebCrypto refuses an empty HMAC key). */
export function checkHmacKey(key: unknown): asserts key is Uint8Array {
  abytes('key', key);
  if (key.length === 0) throw new RangeError('key must not be empty');
}

/**
 * Asserts the arguments of `HmacSha256.pages` (types.ts): whole pages, 1..32 bytes kept.
 * @returns the number of pages
 */
export function checkPagesArgs(data: unknown, pageSize: unknown, outLength: unknown): number {
  abytes('data', data);
  aint('pageSize', pageSize, 1);
  aint('outLength', outLength, 1, 32);
  if (data.length % pageSize !== 0)
    throw new RangeError(`data must be whole pages of ${pageSize} bytes, got ${data.length}`);
  return data.length / pageSize;
}

/** Asserts `maxOutputBytes`. */
export function checkCap(maxOutputBytes: unknown): asserts maxOutputBytes is number {
  aint('maxOutputBytes', maxOutputBytes, 0);
}

/**
 * How many input bytes to feed next so that even a worst-case expansion cannot overshoot
 * the remaining output budget by more than `MIN_SLICE × DEFLATE_MAX_RATIO` (66 KiB).
 * @param remaining - output bytes still allowed
 */
export function inflateSliceSize(remaining: number): number {
  return Math.max(MIN_SLICE, Math.min(MAX_SLICE, Math.floor(remaining / DEFLATE_MAX_RATIO)));
}

/**
 * Worst-case expansion of a zstd block (RFC 8878 §3.1.1.2): a 4-byte RLE block (3-byte
 * header and the byte) stands for up to 128 KiB.
 */
export const ZSTD_MAX_RATIO = 32768;
/** Largest slice fed to a decoder that decodes a whole slice at once (fzstd). */
export const ZSTD_MAX_SLICE = 16 * 1024;
/** Smallest zstd slice: at least one block header and its byte. */
export const ZSTD_MIN_SLICE = 16;

/**
 * How many input bytes to feed a whole-slice zstd decoder next, from the output budget
 * left: one slice can then overshoot the budget by at most 512 KiB, and never expands
 * past 512 MiB even with no cap in sight.
 * @param remaining - output bytes still allowed
 */
export function zstdSliceSize(remaining: number): number {
  return Math.max(ZSTD_MIN_SLICE, Math.min(ZSTD_MAX_SLICE, Math.floor(remaining / ZSTD_MAX_RATIO)));
}

/**
 * Splits each source chunk into subarrays no longer than `size()` (asked again before
 * every slice) and counts them. No copies.
 */
export async function* slices(
  source: AsyncIterable<Uint8Array>,
  size: () => number,
  counter: { fed: number },
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    abytes('chunk', chunk);
    for (let off = 0; off < chunk.length; ) {
      const n = Math.min(size(), chunk.length - off);
      const part = chunk.subarray(off, off + n);
      off += n;
      counter.fed += n;
      yield part;
    }
  }
}

/**
 * Throws LimitExceededError if adding `n` output bytes to `produced` would pass `max`.
 * Called before yielding, so callers never yield more than `max` bytes in total.
 */
export function checkOutput(produced: number, n: number, max: number): number {
  const total = produced + n;
  if (total > max)
    throw new LimitExceededError(`decompressed data exceeds the cap of ${max} bytes`);
  return total;
}

/**
 * Running Adler-32 (RFC 1950 §9); start with 1. Four bytes per step (the serial
 * `b += a` chain is what limits a byte loop): `b` gains `4a + 4x0 + 3x1 + 2x2 + x3`, the
 * same sums as byte by byte, so the NMAX bound below still holds. About 1 GB/s in V8.
 */
export function adler32(state: number, bytes: Uint8Array): number {
  let a = state & 0xffff;
  let b = state >>> 16;
  const n = bytes.length;
  // 5552 is the largest n with 255·n·(n+1)/2 + (n+1)·65520 < 2^32 (zlib's NMAX).
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 5552);
    const end4 = end - ((end - i) & 3);
    for (; i < end4; i += 4) {
      const x0 = bytes[i]!;
      const x1 = bytes[i + 1]!;
      const x2 = bytes[i + 2]!;
      const x3 = bytes[i + 3]!;
      b += 4 * a + 4 * x0 + 3 * x1 + 2 * x2 + x3;
      a += x0 + x1 + x2 + x3;
    }
    for (; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Keeps the last four bytes seen (the zlib trailer candidate). */
export function updateTail(tail: Uint8Array, filled: number, bytes: Uint8Array): number {
  if (bytes.length >= 4) {
    tail.set(bytes.subarray(bytes.length - 4));
    return 4;
  }
  const keep = Math.min(filled, 4 - bytes.length);
  tail.copyWithin(0, filled - keep, filled);
  tail.set(bytes, keep);
  return keep + bytes.length;
}

/** Reads the big-endian u32 in `tail` (four bytes). */
export function readU32(tail: Uint8Array): number {
  return ((tail[0]! << 24) | (tail[1]! << 16) | (tail[2]! << 8) | tail[3]!) >>> 0;
}
