/**
 * The platform on a node:crypto-compatible module (react-native-quick-crypto on React
 * Native: OpenSSL through JSI) for AES-256-GCM, PBKDF2, SHA-256 and HMAC, with pako for
 * deflate (Hermes has no CompressionStream), fzstd to read zstd, and no zstd compressor
 * (no maintained React Native zstd module exists; writers use deflate, FORMAT.md §5.4).
 * `react-native.ts` binds it to the real module; tests bind it to node:crypto, whose API
 * react-native-quick-crypto reproduces for these calls (docs/REACT-NATIVE.md).
 * @module
 */
import { abytes, wipe } from '../bytes.ts';
import {
  checkGcmArgs,
  checkHmacKey,
  checkPagesArgs,
  checkPbkdf2Args,
  openGcm,
  syncAesGcm,
} from './common.ts';
import { base64DecodeJs, base64EncodeJs } from './js-base64.ts';
import { deflate, inflate } from './pako-zlib.ts';
import type { AesGcm, HashStream, HmacSha256, Platform } from './types.ts';
import { noZstdCompressor, zstdCompressAvailable, zstdDecompress } from './web-zstd.ts';

/** A cipher or decipher of the engine (node:crypto's shape). */
interface EngineCipher {
  setAAD(aad: Uint8Array): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}

/** The node:crypto calls this platform makes; returned buffers are Uint8Array subclasses. */
export interface CryptoEngine {
  createCipheriv(
    algorithm: 'aes-256-gcm',
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): EngineCipher & { getAuthTag(): Uint8Array };
  createDecipheriv(
    algorithm: 'aes-256-gcm',
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): EngineCipher & { setAuthTag(tag: Uint8Array): unknown };
  pbkdf2(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    keylen: number,
    digest: 'sha256' | 'sha512',
    callback: (err: Error | null, derivedKey?: Uint8Array) => void,
  ): void;
  createHmac(algorithm: 'sha256', key: Uint8Array): EngineHash;
  createHash(algorithm: 'sha256'): EngineHash;
}

/** A hash or HMAC of the engine. */
interface EngineHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

const TAG = 16;

/** A plain Uint8Array view of an engine's Buffer (a Uint8Array subclass); no copy. */
function view(buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** An engine Hash or Hmac as a {@link HashStream}; refuses use after `digest()`. */
function stream(h: EngineHash): HashStream {
  let done = false;
  const self: HashStream = {
    update(data) {
      abytes('data', data);
      if (done) throw new Error('update() after digest()');
      h.update(data);
      return self;
    },
    digest() {
      if (done) throw new Error('digest() was already called');
      done = true;
      return view(h.digest());
    },
  };
  return self;
}

/**
 * A platform on a node:crypto-compatible engine.
 * @param engine - react-native-quick-crypto, or node:crypto in tests
 * @param name - the platform's name
 * @returns the platform
 * @example
 * ```ts
 * import * as QuickCrypto from 'react-native-quick-crypto';
 * const platform = enginePlatform(QuickCrypto, 'react-native');
 * ```
 */
export function enginePlatform(engine: CryptoEngine, name: Platform['name']): Platform {
  /**
   * AES-256-GCM (FORMAT.md §1). The key is copied; the engine copies it again into each
   * cipher. Its ciphers are synchronous, so `sealSync` and `decryptSync` are offered.
   */
  function aesGcm(key: Uint8Array): AesGcm {
    abytes('key', key, 32);
    const k = key.slice();
    const sealSync = (nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array) => {
      checkGcmArgs(nonce, plaintext, aad);
      const cipher = engine.createCipheriv('aes-256-gcm', k, nonce, { authTagLength: TAG });
      if (aad) cipher.setAAD(aad);
      const body = cipher.update(plaintext);
      const rest = cipher.final(); // empty for GCM, a stream mode
      if (body.length + rest.length !== plaintext.length)
        throw new Error('AES-GCM produced an unexpected ciphertext length');
      let ciphertext = view(body);
      if (rest.length > 0) {
        ciphertext = new Uint8Array(plaintext.length);
        ciphertext.set(body);
        ciphertext.set(rest, body.length);
      }
      return { ciphertext, tag: view(cipher.getAuthTag()) };
    };
    const decryptSync = (nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array) => {
      checkGcmArgs(nonce, sealed, aad, TAG);
      const decipher = engine.createDecipheriv('aes-256-gcm', k, nonce, { authTagLength: TAG });
      return view(openGcm(decipher, sealed, aad, TAG));
    };
    const encrypt: AesGcm['encrypt'] = async (nonce, plaintext, aad) => {
      const { ciphertext, tag } = sealSync(nonce, plaintext, aad);
      const out = new Uint8Array(plaintext.length + TAG);
      out.set(ciphertext);
      out.set(tag, plaintext.length);
      return out;
    };
    return syncAesGcm(encrypt, { sealSync, decryptSync });
  }

  /** PBKDF2-HMAC (RFC 8018 §5.2) off the JavaScript thread; the result is our own copy. */
  function pbkdf2With(hash: 'sha256' | 'sha512') {
    return async (password: Uint8Array, salt: Uint8Array, iterations: number, length: number) => {
      checkPbkdf2Args(password, salt, iterations, length);
      return new Promise<Uint8Array>((resolve, reject) => {
        engine.pbkdf2(password, salt, iterations, length, hash, (err, key) => {
          if (err || !key) return reject(err ?? new Error('PBKDF2 returned no key'));
          const out = Uint8Array.from(key);
          wipe(key);
          resolve(out);
        });
      });
    };
  }

  /**
   * HMAC-SHA-256 (FORMAT.md §8.3). The key is copied and kept for the binding's life:
   * the engine takes raw key bytes for every message.
   */
  function hmacSha256(key: Uint8Array): HmacSha256 {
    checkHmacKey(key);
    const k = key.slice();
    return {
      async pages(data, pageSize, outLength) {
        const n = checkPagesArgs(data, pageSize, outLength);
        const out = new Uint8Array(n * outLength);
        for (let i = 0, off = 0; i < n; i++, off += pageSize) {
          const mac = engine.createHmac('sha256', k);
          mac.update(data.subarray(off, off + pageSize));
          out.set(mac.digest().subarray(0, outLength), i * outLength);
        }
        return out;
      },
      create: () => stream(engine.createHmac('sha256', k)),
    };
  }

  return {
    name,
    aesGcm,
    pbkdf2Sha256: pbkdf2With('sha256'),
    pbkdf2Sha512: pbkdf2With('sha512'),
    deflate,
    inflate,
    // No maintained React Native zstd module exists: writers use deflate (FORMAT.md §5.4).
    zstdCompress: noZstdCompressor(name === 'react-native' ? 'React Native' : name),
    zstdCompressAvailable,
    zstdDecompress,
    // Hermes has no TextDecoder: base64 in plain JavaScript.
    base64Decode: base64DecodeJs,
    base64Encode: base64EncodeJs,
    hmacSha256,
    sha256: () => stream(engine.createHash('sha256')),
  };
}
