/**
 * The platform seam: the few primitives `core` takes from the host instead of pure
 * JavaScript, because the host's native code is much faster (AES-GCM, PBKDF2, zlib).
 * Four implementations share this shape: `node.ts` (node:crypto, node:zlib), `web.ts`
 * (WebCrypto, CompressionStream), `react-native.ts` (react-native-quick-crypto, pako) and
 * `js.ts` (pure JavaScript, for any engine). `#platform` picks the first three by export
 * condition (`react-native`, then `node`, else web); nothing selects `js.ts` implicitly.
 * @module
 */

/**
 * AES-256-GCM bound to one key (FORMAT.md §1: 12-byte nonce, 16-byte tag). The key is
 * imported once, on first use, so each message costs little more than the cipher itself.
 */
export interface AesGcm {
  /**
   * Encrypts one message.
   * @param nonce - 12 bytes; never reuse one with the same key
   * @param plaintext - the message; not modified
   * @param aad - optional additional authenticated data
   * @returns a new buffer `ciphertext || tag(16)`
   */
  encrypt(nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  /**
   * Encrypts one message like `encrypt`, but returns ciphertext and tag apart, so a
   * writer that streams them need not join them (a copy and an allocation per message:
   * about a third of v2's encryption time on Node).
   * @returns `{ ciphertext, tag(16) }`, new buffers or views of one new buffer
   */
  seal(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad?: Uint8Array,
  ): Promise<{ ciphertext: Uint8Array; tag: Uint8Array }>;
  /**
   * Decrypts and verifies one message.
   * @param nonce - 12 bytes
   * @param sealed - `ciphertext || tag(16)`; not modified
   * @param aad - optional additional authenticated data
   * @returns a new buffer with the plaintext, only once the tag verified
   * @throws Error when the tag does not verify (callers map it to DecryptionError)
   */
  decrypt(nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  /**
   * `seal`, synchronously: present only where the engine is synchronous (node:crypto).
   * Streaming writers use it when present, saving a promise per chunk. The nonce is
   * copied before this returns, so the caller may reuse its buffer.
   */
  sealSync?(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad?: Uint8Array,
  ): { ciphertext: Uint8Array; tag: Uint8Array };
  /** `decrypt`, synchronously, where the engine allows it (as `sealSync`). */
  decryptSync?(nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Uint8Array;
}

/** Options for {@link Platform.inflate}. */
export interface InflateOptions {
  /** Throw LimitExceededError as soon as the output would exceed this many bytes. */
  maxOutputBytes: number;
  /**
   * The consumer is done with each output chunk before it asks for the next one (it
   * copies what it keeps): the engine may then hand out views of one reused buffer
   * instead of a fresh buffer per chunk. An engine that cannot ignores it.
   */
  transient?: boolean;
}

/** Options for {@link Platform.deflate}. */
export interface DeflateOptions {
  /**
   * zlib compression level, 1 (fastest) to 9 (smallest); default 6. The web platform's
   * CompressionStream has no level and ignores it (after checking it).
   */
  level?: number;
}

/** Options for {@link Platform.zstdCompress}. */
export interface ZstdOptions {
  /** zstd compression level, 1 (fastest) to 19; checked by the caller (`checkZstdLevel`). */
  level: number;
  /**
   * Worker threads of the compressor where the engine has them (Node: libzstd's own;
   * default 2, 0 compresses on the calling thread). Output bytes do not depend on it
   * among counts ≥ 1. The web platform has no zstd compressor.
   */
  workers?: number;
}

/**
 * One message hashed or MACed in pieces (SHA-256, HMAC-SHA-256). Synchronous: both
 * engines hash in the calling thread (WebCrypto has no streaming digest, so the web
 * platform uses @noble/hashes here).
 */
export interface HashStream {
  /**
   * Absorbs the next piece of the message.
   * @param data - any length; not modified, and not kept after the call
   * @returns this stream
   * @throws TypeError if `data` is not a Uint8Array; Error after `digest()`
   */
  update(data: Uint8Array): HashStream;
  /**
   * Finishes the message.
   * @returns the 32-byte digest, a new buffer
   * @throws Error when called twice
   */
  digest(): Uint8Array;
}

/**
 * HMAC-SHA-256 (RFC 2104) bound to one key: the keyed digests of incremental backups
 * (FORMAT.md §8.3). The key is copied; the caller may wipe its buffer after the call.
 */
export interface HmacSha256 {
  /**
   * MACs each `pageSize`-byte page of `data` as its own message and keeps the first
   * `outLength` bytes of each MAC. One call over many pages lets an engine whose MAC is
   * asynchronous per message (WebCrypto) run them together.
   * @param data - whole pages: a multiple of `pageSize` bytes (0 gives an empty result)
   * @param pageSize - bytes per page, at least 1
   * @param outLength - bytes kept of each MAC, 1..32
   * @returns `data.length / pageSize · outLength` bytes, page by page
   * @throws TypeError / RangeError (as a rejected promise) for bad arguments
   */
  pages(data: Uint8Array, pageSize: number, outLength: number): Promise<Uint8Array>;
  /** A streaming MAC of one message (a file of any size). */
  create(): HashStream;
}

/** What each platform file exports (also as a `platform` object of this type). */
export interface Platform {
  /** Engine name, for diagnostics and the differential test. */
  readonly name: 'node' | 'web' | 'react-native' | 'js';
  /**
   * Binds AES-256-GCM to a 32-byte key. The key bytes are copied; the caller may wipe
   * its own buffer right after the call.
   */
  aesGcm(key: Uint8Array): AesGcm;
  /** PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2), native and asynchronous. */
  pbkdf2Sha256(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Promise<Uint8Array>;
  /** PBKDF2-HMAC-SHA-512 (RFC 8018 §5.2), native and asynchronous (the BIP39 seed). */
  pbkdf2Sha512(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Promise<Uint8Array>;
  /**
   * zlib "deflate" (RFC 1950) compression as an async transform: one valid zlib stream,
   * whose exact bytes depend on the engine (node: segments compressed in parallel).
   * @throws RangeError / TypeError (at call time) for a level that is not an integer 1..9
   */
  deflate(source: AsyncIterable<Uint8Array>, opts?: DeflateOptions): AsyncGenerator<Uint8Array>;
  /**
   * zlib "deflate" (RFC 1950) decompression as an async transform. Throws on a corrupt
   * or truncated stream and on any byte after the end of the zlib stream; throws
   * LimitExceededError (having yielded at most `maxOutputBytes`) past the cap.
   */
  inflate(source: AsyncIterable<Uint8Array>, opts: InflateOptions): AsyncGenerator<Uint8Array>;
  /**
   * Zstandard (RFC 8878) compression as an async transform: one zstd frame (FORMAT.md
   * §5.4). Only where {@link Platform.zstdCompressAvailable} says so (Node with its addon);
   * elsewhere the stream throws at its first step.
   */
  zstdCompress(source: AsyncIterable<Uint8Array>, opts: ZstdOptions): AsyncGenerator<Uint8Array>;
  /** Whether {@link Platform.zstdCompress} works here. */
  zstdCompressAvailable(): Promise<boolean>;
  /**
   * Zstandard decompression of one or more concatenated frames, with the same contract
   * as `inflate`: throws on a corrupt stream, one that ends inside a frame, or bytes that
   * are not a frame; LimitExceededError (having yielded at most `maxOutputBytes`) past
   * the cap. Every platform has it (web: the pure-JavaScript fzstd).
   */
  zstdDecompress(
    source: AsyncIterable<Uint8Array>,
    opts: InflateOptions,
  ): AsyncGenerator<Uint8Array>;
  /**
   * Binds HMAC-SHA-256 to a key of at least one byte (WebCrypto refuses an empty one;
   * Noah's digest key is 32 bytes).
   * @throws TypeError if `key` is not a Uint8Array; RangeError if it is empty
   */
  hmacSha256(key: Uint8Array): HmacSha256;
  /** A streaming SHA-256 (FORMAT.md §8.2: the hash of each pack's ciphertext). */
  sha256(): HashStream;
  /**
   * Strict base64 decoding (RFC 4648 §4): standard alphabet, `=` padding, canonical pad
   * bits; nothing else, not even whitespace (FORMAT.md §3.3).
   * @param text - the text as ASCII bytes
   * @throws SyntaxError for anything else
   */
  base64Decode(text: Uint8Array): Uint8Array;
  /** Standard padded base64 (RFC 4648 §4), no line breaks, as ASCII bytes. */
  base64Encode(bytes: Uint8Array): Uint8Array;
}
