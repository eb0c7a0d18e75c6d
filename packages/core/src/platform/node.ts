/**
 * The Node.js platform (export condition `node` of `#platform`): node:crypto for
 * AES-256-GCM, PBKDF2, SHA-256 and HMAC (`node-hash.ts`), node:zlib for deflate (in
 * parallel segments: `node-deflate.ts`) and inflate, libzstd (`node-zstd.ts`). These
 * files are the only ones in `core` that may touch Node APIs and `Buffer`; everything
 * they return is a plain `Uint8Array` view.
 * @module
 */
import { createCipheriv, createDecipheriv, createSecretKey, pbkdf2 as pbkdf2Cb } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { createInflate } from 'node:zlib';
import { abytes, wipe } from '../bytes.ts';
import {
  checkCap,
  checkGcmArgs,
  checkOutput,
  checkPbkdf2Args,
  inflateSliceSize,
  openGcm,
  slices,
  syncAesGcm,
} from './common.ts';
import { checkBase64 } from './base64.ts';
import { deflate } from './node-deflate.ts';
import { hmacSha256, sha256 } from './node-hash.ts';
import { zstdCompress, zstdCompressAvailable, zstdDecompress } from './node-zstd.ts';
import type { AesGcm, InflateOptions, Platform } from './types.ts';

const TAG = 16;
/**
 * node:zlib's inflate output buffer size. Each buffer filled is one thread-pool round
 * trip, so the default 16 KiB leaves a large restore latency-bound; at 256 KiB it
 * inflates as fast as one `inflateSync` call (bench/backup-restore.bench.ts).
 */
const ZLIB_CHUNK = 256 * 1024;

/** A `Uint8Array` view of a Buffer's bytes (no copy, and no `Buffer` methods leak out). */
function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Tears a pipeline down and waits until the source has been closed (its `return`). */
async function stop(input: Readable, z: Readable, slicer: AsyncGenerator<Uint8Array>) {
  input.destroy();
  z.destroy();
  await slicer.return(undefined).catch(() => {});
}

/**
 * Binds AES-256-GCM to a key (FORMAT.md §1). The key is copied into a node:crypto
 * KeyObject once; the caller may wipe its buffer after this call.
 * @param key - 32 bytes
 * @returns `{ encrypt, seal, decrypt }`, each returning new buffers, and their
 *   synchronous forms `sealSync`, `decryptSync` (node:crypto does not block on I/O)
 * @throws TypeError / RangeError for a key that is not 32 bytes
 * @example
 * ```ts
 * const gcm = aesGcm(key);
 * const sealed = await gcm.encrypt(nonce12, utf8ToBytes('hi')); // ciphertext || tag
 * ```
 */
export function aesGcm(key: Uint8Array): AesGcm {
  abytes('key', key, 32);
  const keyObject = createSecretKey(key);
  // node:crypto copies the nonce into the cipher, so callers may reuse their nonce buffer.
  const sealSync = (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array) => {
    checkGcmArgs(nonce, plaintext, aad);
    const cipher = createCipheriv('aes-256-gcm', keyObject, nonce, { authTagLength: TAG });
    if (aad) cipher.setAAD(aad);
    const body = cipher.update(plaintext);
    const rest = cipher.final(); // empty for GCM, a stream mode
    if (body.length + rest.length !== plaintext.length)
      throw new Error('AES-GCM produced an unexpected ciphertext length');
    // node:crypto's outputs are fresh, unpooled buffers: hand them out without a copy.
    const ciphertext = rest.length === 0 ? owned(body) : Buffer.concat([body, rest]);
    return { ciphertext, tag: owned(cipher.getAuthTag()) };
  };
  const decryptSync = (nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array) => {
    checkGcmArgs(nonce, sealed, aad, TAG);
    const decipher = createDecipheriv('aes-256-gcm', keyObject, nonce, { authTagLength: TAG });
    return view(openGcm<Buffer>(decipher, sealed, aad, TAG));
  };
  const encrypt: AesGcm['encrypt'] = async (nonce, plaintext, aad) => {
    const { ciphertext, tag } = sealSync(nonce, plaintext, aad);
    // One output buffer per message, ciphertext || tag; no zero-fill, as every byte of
    // it is written right here.
    const out = Buffer.allocUnsafeSlow(plaintext.length + TAG);
    out.set(ciphertext);
    out.set(tag, plaintext.length);
    return view(out);
  };
  return syncAesGcm(encrypt, { sealSync, decryptSync });
}

/** PBKDF2-HMAC with `hash` on libuv's thread pool; the result is our own copy. */
function pbkdf2With(
  hash: 'sha256' | 'sha512',
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  checkPbkdf2Args(password, salt, iterations, length);
  return new Promise((resolve, reject) => {
    pbkdf2Cb(password, salt, iterations, length, hash, (err, key) => {
      if (err) return reject(err);
      const out = Uint8Array.from(key); // own copy outside Node's buffer pool
      wipe(key);
      resolve(out);
    });
  });
}

/**
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) on libuv's thread pool.
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
  return pbkdf2With('sha256', password, salt, iterations, length);
}

/**
 * PBKDF2-HMAC-SHA-512 (RFC 8018 §5.2) on libuv's thread pool: the BIP39 seed function,
 * natively (about 30x faster than the same in JavaScript).
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
  return pbkdf2With('sha512', password, salt, iterations, length);
}

/**
 * zlib "deflate" (RFC 1950) decompression with an output cap. Input is fed in small
 * slices and node:zlib applies backpressure inside a slice, so at most a few 256 KiB
 * chunks are ever buffered beyond what the consumer has taken.
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
  const counter = { fed: 0 };
  const z = createInflate({ chunkSize: ZLIB_CHUNK });
  const slicer = slices(source, () => inflateSliceSize(max - produced), counter);
  const input = Readable.from(slicer);
  pipeline(input, z, () => {});
  try {
    for await (const out of z) {
      produced = checkOutput(produced, (out as Buffer).length, max);
      yield view(out as Buffer);
    }
    // node:zlib ends its readable side either after our end() (complete stream) or as
    // soon as input arrives after the end of the zlib stream, which it then ignores:
    // bytesWritten counts only the bytes the engine consumed. RFC 1950 allows nothing
    // after ADLER32; FORMAT.md §5 makes decoders reject it.
    if (z.bytesWritten !== counter.fed) throw new Error('zlib: data after the end of the stream');
  } finally {
    await stop(input, z, slicer);
  }
}

/** A Uint8Array that owns its memory: small Buffers live in Node's shared pool. */
function owned(buf: Buffer): Uint8Array {
  return buf.byteLength === buf.buffer.byteLength ? view(buf) : new Uint8Array(buf);
}

/**
 * Strict base64 decoding (RFC 4648 §4, FORMAT.md §3.3) with Node's native codec. Node's
 * decoder alone is lenient (it skips junk, accepts the URL-safe alphabet and missing
 * padding), but canonical padded base64 is the one text that encodes its bytes: so the
 * input is strict exactly when encoding the decoded bytes gives it back. Two native
 * passes; several times faster than a regular expression over the text.
 * @param text - the text as ASCII bytes
 * @returns the decoded bytes
 * @throws SyntaxError for anything but canonical padded base64; TypeError for a non-Uint8Array
 * @example
 * ```ts
 * base64Decode(utf8ToBytes('AQID')); // Uint8Array [1, 2, 3]
 * ```
 */
export function base64Decode(text: Uint8Array): Uint8Array {
  abytes('text', text);
  const s = Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  const out = Buffer.from(s, 'base64');
  if (out.toString('base64') !== s) {
    checkBase64(s); // names the rule broken
    throw new SyntaxError('base64: not canonical padded base64');
  }
  return owned(out);
}

/**
 * Standard padded base64 encoding (RFC 4648 §4), no line breaks, with Node's encoder.
 * @param bytes - the data
 * @returns the text as ASCII bytes
 * @throws TypeError for a non-Uint8Array
 * @example
 * ```ts
 * base64Encode(Uint8Array.of(1, 2, 3)); // bytes of "AQID"
 * ```
 */
export function base64Encode(bytes: Uint8Array): Uint8Array {
  abytes('bytes', bytes);
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return owned(Buffer.from(s, 'latin1'));
}

export { deflate, hmacSha256, sha256, zstdCompress, zstdCompressAvailable, zstdDecompress };

/** The Node.js platform as one object. */
export const platform: Platform = {
  name: 'node',
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
