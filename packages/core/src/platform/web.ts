/**
 * The web platform (default of `#platform`): WebCrypto (`crypto.subtle`) for AES-256-GCM
 * and PBKDF2, CompressionStream / DecompressionStream for deflate, fzstd to read zstd. No Node APIs; also
 * runs in Node ≥ 20, where the differential test checks it against `node.ts`.
 * @module
 */
import { abytes } from '../bytes.ts';
import {
  adler32,
  checkCap,
  checkLevel,
  checkGcmArgs,
  checkOutput,
  checkPbkdf2Args,
  DEFLATE_SLICE,
  inflateSliceSize,
  readU32,
  slices,
  updateTail,
} from './common.ts';
import { rechunk } from '../stream.ts';
import { base64DecodePortable, base64EncodePortable } from './base64.ts';
import type { AesGcm, DeflateOptions, InflateOptions, Platform } from './types.ts';
import { hmacSha256, sha256 } from './web-hash.ts';
import { bs, lazyKey } from './web-key.ts';
import { zstdCompress, zstdCompressAvailable, zstdDecompress } from './web-zstd.ts';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/**
 * Binds AES-256-GCM to a key (FORMAT.md §1). The key is copied now, imported as a
 * non-extractable CryptoKey on first use, and the copy is then wiped; the caller may
 * wipe its own buffer after this call.
 * @param key - 32 bytes
 * @returns `{ encrypt, decrypt }`, each returning a new buffer
 * @throws TypeError / RangeError for a key that is not 32 bytes
 * @example
 * ```ts
 * const gcm = aesGcm(key);
 * const sealed = await gcm.encrypt(nonce12, utf8ToBytes('hi')); // ciphertext || tag
 * ```
 */
export function aesGcm(key: Uint8Array): AesGcm {
  abytes('key', key, 32);
  const cryptoKey = lazyKey(key, 'AES-GCM', ['encrypt', 'decrypt']);
  const params = (nonce: Uint8Array, aad?: Uint8Array): AesGcmParams => {
    const p: AesGcmParams = { name: 'AES-GCM', iv: bs(nonce), tagLength: 128 };
    if (aad) p.additionalData = bs(aad);
    return p;
  };
  const encrypt = async (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array) => {
    checkGcmArgs(nonce, plaintext, aad);
    const k = await cryptoKey();
    return new Uint8Array(await subtle().encrypt(params(nonce, aad), k, bs(plaintext)));
  };
  return {
    encrypt,
    async seal(nonce, plaintext, aad) {
      const sealed = await encrypt(nonce, plaintext, aad);
      const n = sealed.length - 16;
      return { ciphertext: sealed.subarray(0, n), tag: sealed.subarray(n) };
    },
    async decrypt(nonce, sealed, aad) {
      checkGcmArgs(nonce, sealed, aad, 16);
      const k = await cryptoKey();
      let out: ArrayBuffer;
      try {
        out = await subtle().decrypt(params(nonce, aad), k, bs(sealed));
      } catch {
        throw new Error('AES-GCM authentication failed');
      }
      return new Uint8Array(out);
    },
  };
}

/** PBKDF2-HMAC with `hash` through WebCrypto `deriveBits`. */
async function pbkdf2With(
  hash: 'SHA-256' | 'SHA-512',
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  checkPbkdf2Args(password, salt, iterations, length);
  const k = await subtle().importKey('raw', bs(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle().deriveBits(
    { name: 'PBKDF2', hash, salt: bs(salt), iterations },
    k,
    length * 8,
  );
  return new Uint8Array(bits);
}

/**
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) with WebCrypto `deriveBits`.
 * @param password - the password bytes
 * @param salt - the salt bytes
 * @param iterations - iteration count, ≥ 1
 * @param length - output length in bytes (1..1024)
 * @returns the derived key
 * @throws TypeError / RangeError for bad arguments
 * @example
 * ```ts
 * const k = await pbkdf2Sha256(utf8ToBytes('pw'), salt, 600_000, 32);
 * ```
 */
export async function pbkdf2Sha256(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  return pbkdf2With('SHA-256', password, salt, iterations, length);
}

/**
 * PBKDF2-HMAC-SHA-512 (RFC 8018 §5.2) with WebCrypto `deriveBits`: the BIP39 seed function.
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
  return pbkdf2With('SHA-512', password, salt, iterations, length);
}

/**
 * Runs `input` through a WHATWG transform stream and yields its output. A concurrent
 * pump writes one slice at a time; a failure of the source aborts the transform with
 * the same error, which the reader then throws (a write's own failure does too).
 */
async function* through(
  ts: ReadableWritablePair<Uint8Array, BufferSource>,
  input: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const writer = ts.writable.getWriter();
  const reader = ts.readable.getReader();
  let stopped = false; // set when the consumer is gone: stop pulling the source
  const pump = (async () => {
    try {
      for await (const part of input) {
        if (stopped) return;
        // One slice in flight: its write settles once the engine has taken all of it,
        // which backpressure delays until the reader has drained most of its output.
        // (`writer.ready` alone does not pace Node 20's DecompressionStream.)
        await writer.write(bs(part));
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => {});
    }
  })();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      yield r.value;
    }
    done = true;
  } finally {
    stopped = true;
    if (!done) await reader.cancel().catch(() => {});
    await pump;
  }
}

/**
 * zlib "deflate" (RFC 1950) compression with CompressionStream. The Compression Standard
 * has no level: `opts.level` is checked, like the Node platform's, and then ignored (the
 * engine's default, level 6 in browsers' and Node's zlib).
 * @param source - the bytes to compress, in chunks of any size
 * @param opts - `level`: 1..9, checked and ignored
 * @returns the compressed stream
 * @throws RangeError / TypeError (at call time) for a bad level; whatever `source` throws
 * @example
 * ```ts
 * const z = await collect(deflate(fromBytes(data)));
 * ```
 */
export function deflate(
  source: AsyncIterable<Uint8Array>,
  opts?: DeflateOptions,
): AsyncGenerator<Uint8Array> {
  checkLevel(opts?.level);
  return through(new CompressionStream('deflate'), rechunk(source, DEFLATE_SLICE));
}

/**
 * zlib "deflate" (RFC 1950) decompression with DecompressionStream and an output cap.
 * Browsers decompress a whole written chunk at once, so input is fed in slices sized
 * from the remaining budget: one slice can never overshoot the cap by more than 66 KiB.
 * @param source - the compressed stream
 * @param opts - `maxOutputBytes`: the cap on decompressed bytes
 * @returns the decompressed bytes
 * @throws LimitExceededError past the cap (having yielded at most the cap); Error for
 *   a corrupt or truncated stream or data after its end; whatever `source` throws
 * @example
 * ```ts
 * const data = await collect(inflate(fromBytes(z), { maxOutputBytes: 1 << 20 }));
 * ```
 */
export async function* inflate(
  source: AsyncIterable<Uint8Array>,
  opts: InflateOptions,
): AsyncGenerator<Uint8Array> {
  const max = opts?.maxOutputBytes;
  checkCap(max);
  let produced = 0;
  let adler = 1;
  const tail = new Uint8Array(4);
  let tailLength = 0;
  async function* tap(): AsyncGenerator<Uint8Array> {
    for await (const part of slices(source, () => inflateSliceSize(max - produced), { fed: 0 })) {
      tailLength = updateTail(tail, tailLength, part);
      yield part;
    }
  }
  for await (const out of through(new DecompressionStream('deflate'), tap())) {
    produced = checkOutput(produced, out.length, max);
    adler = adler32(adler, out);
    yield out;
  }
  // The engine verified the stream's own ADLER32 trailer (RFC 1950 §2.2). Not every
  // engine rejects bytes after it (the Compression spec says to; Node 20 does not), so
  // check that the input ends exactly with that trailer (FORMAT.md §5).
  if (tailLength < 4 || readU32(tail) !== adler)
    throw new Error('zlib: data after the end of the stream');
}

/** Strict base64 decoding (portable: `atob` after a strict check). */
export const base64Decode = base64DecodePortable;
/** Standard padded base64 encoding (portable: `btoa` over slices). */
export const base64Encode = base64EncodePortable;

export { hmacSha256, sha256, zstdCompress, zstdCompressAvailable, zstdDecompress };

/** The web platform as one object. */
export const platform: Platform = {
  name: 'web',
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
