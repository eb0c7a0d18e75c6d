/**
 * The two legacy backup formats, byte-compatible with the original
 * Swift/Kotlin code (`seed-v0`, docs/FORMAT.md §3) and with what Noah's apps shipped
 * later (`noah-v1`). Both are one base64 text holding one AES-256-GCM message, so they
 * hold the whole file in memory by nature (FORMAT.md §3, §4, §6.10.4); new backups should
 * use v2.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { aesGcm, pbkdf2Sha256 } from '#platform';
import { abytes, astring, concatBytes, utf8ToBytes, wipe } from './bytes.ts';
import { type RandomBytes, secureRandom } from './clock.ts';
import { DecryptionError, NotABackupError } from './errors.ts';
import { base64TextLength, decodeLegacyText, encodeLegacyText } from './legacy-text.ts';

export { base64TextLength, decodeLegacyText, encodeLegacyText };

/** PBKDF2 iterations of seed-v0 (FORMAT.md §3.2). */
export const SEED_V0_ITERATIONS = 10_000;
/** PBKDF2 iterations of noah-v1 (FORMAT.md §4.2). */
export const NOAH_V1_ITERATIONS = 600_000;
/** First byte of a decoded noah-v1 blob (FORMAT.md §4.1). */
export const NOAH_V1_VERSION = 0x01;

const IV_LEN = 12;
const SALT_LEN = 16;
const TAG_LEN = 16;
const KEY_LEN = 32;
/** Smallest decoded sizes: an empty plaintext still has IV and tag (and version, salt). */
const SEED_V0_MIN = IV_LEN + TAG_LEN;
const NOAH_V1_MIN = 1 + SALT_LEN + IV_LEN + TAG_LEN;

/** Options for the legacy encrypt functions. */
export interface LegacyEncryptOptions {
  /** Source of the IV (and noah-v1 salt). Defaults to the platform CSPRNG. */
  random?: RandomBytes;
}

/** Options that let seed-v0 reuse its derived key (see {@link createSeedV0KeyCache}). */
export interface SeedV0Options {
  /** A cache of derived seed-v0 keys; without one every call runs PBKDF2. */
  keyCache?: SeedV0KeyCache;
}

/**
 * Derived seed-v0 keys, one per seedphrase. seed-v0's salt is a function of the
 * seedphrase, so its key is too and may be cached; noah-v1's salt is random per file, so
 * each noah-v1 encrypt or decrypt runs all 600,000 PBKDF2 iterations (about 0.2–1 s
 * natively) and nothing can be cached.
 */
export interface SeedV0KeyCache {
  /** The seed-v0 key for `seedphrase` (derived on first use). Do not wipe it: the cache owns it. */
  get(seedphrase: string): Promise<Uint8Array>;
  /** Wipes every cached key and empties the cache. */
  destroy(): void;
}

/**
 * Creates a cache of seed-v0 keys; scope it to one keyring and destroy it with the keyring.
 *
 * @returns an empty cache
 * @example
 * ```ts
 * const keyCache = createSeedV0KeyCache();
 * const a = await decryptSeedV0(blob1, phrase, { keyCache });
 * const b = await decryptSeedV0(blob2, phrase, { keyCache }); // no second PBKDF2
 * keyCache.destroy();
 * ```
 */
export function createSeedV0KeyCache(): SeedV0KeyCache {
  const keys = new Map<string, Promise<Uint8Array>>();
  const settled: Uint8Array[] = [];
  let destroyed = false;
  return {
    get(seedphrase) {
      astring('seedphrase', seedphrase);
      if (destroyed) throw new Error('seed-v0 key cache was destroyed');
      let key = keys.get(seedphrase);
      if (key === undefined) {
        key = deriveSeedV0Key(seedphrase).then((k) => {
          // A derivation that finishes after destroy() is wiped at once.
          if (destroyed) wipe(k);
          else settled.push(k);
          return k;
        });
        keys.set(seedphrase, key);
        key.catch(() => keys.delete(seedphrase));
      }
      return key;
    },
    destroy() {
      destroyed = true;
      wipe(...settled);
      settled.length = 0;
      keys.clear();
    },
  };
}

/**
 * The PBKDF2 password of both legacy formats: the seedphrase exactly as given after
 * trimming surrounding Unicode White_Space, as UTF-8. No NFKD normalisation and no BIP39
 * validation: the native apps do neither (FORMAT.md §3.1).
 *
 * @param seedphrase - the seedphrase text (e.g. `keyring.legacySeedphrase`)
 * @returns UTF-8 bytes of the trimmed seedphrase; the caller owns and should wipe them
 * @throws TypeError if `seedphrase` is not a string; RangeError if nothing is left after trimming
 * @example
 * ```ts
 * legacyPassword('  word1 word2\n'); // UTF-8 of "word1 word2"
 * ```
 */
export function legacyPassword(seedphrase: string): Uint8Array {
  const trimmed = legacyTrim(seedphrase);
  if (trimmed.length === 0) throw new RangeError('seedphrase must not be empty');
  return utf8ToBytes(trimmed);
}

/**
 * The `trim` of FORMAT.md §3.1, its White_Space list spelled out: Hermes (React Native)
 * cannot parse the `\p{White_Space}` property escape. Every code point listed is in the
 * BMP, so no `u` flag is needed; test/legacy-trim.test.ts proves the class equals both
 * the property and the list in FORMAT.md over every code point.
 */
const LEGACY_TRIM =
  /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/**
 * The `trim` of FORMAT.md §3.1: removes leading and trailing Unicode White_Space and
 * nothing else (unlike `String.prototype.trim`, which also removes U+FEFF).
 *
 * @param seedphrase - the seedphrase text
 * @returns the trimmed text (may be empty)
 * @throws TypeError if `seedphrase` is not a string
 * @example
 * ```ts
 * legacyTrim('\u3000word1 word2\n'); // 'word1 word2'
 * ```
 */
export function legacyTrim(seedphrase: string): string {
  astring('seedphrase', seedphrase);
  return seedphrase.replace(LEGACY_TRIM, '');
}

/**
 * Derives the seed-v0 key: PBKDF2-HMAC-SHA256(password, SHA-256(password)[0..16],
 * 10,000 iterations, 32 bytes) with `password = legacyPassword(seedphrase)`.
 *
 * @param seedphrase - the seedphrase text
 * @returns the 32-byte key; the caller owns and should wipe it
 * @throws TypeError / RangeError as {@link legacyPassword}
 * @example
 * ```ts
 * const key = await deriveSeedV0Key(keyring.legacySeedphrase);
 * ```
 */
export async function deriveSeedV0Key(seedphrase: string): Promise<Uint8Array> {
  const password = legacyPassword(seedphrase);
  const digest = sha256(password);
  try {
    // FORMAT.md §3.2: salt = SHA-256(UTF8(seedphrase))[0..16]
    return await pbkdf2Sha256(password, digest.slice(0, SALT_LEN), SEED_V0_ITERATIONS, KEY_LEN);
  } finally {
    wipe(password, digest);
  }
}

async function seedV0Key(seedphrase: string, opts: SeedV0Options | undefined) {
  if (opts?.keyCache) return { key: await opts.keyCache.get(seedphrase), owned: false };
  return { key: await deriveSeedV0Key(seedphrase), owned: true };
}

async function noahV1Key(seedphrase: string, salt: Uint8Array): Promise<Uint8Array> {
  const password = legacyPassword(seedphrase);
  try {
    // FORMAT.md §4.2: key = PBKDF2(UTF8(seedphrase), salt, 600,000, 32)
    return await pbkdf2Sha256(password, salt, NOAH_V1_ITERATIONS, KEY_LEN);
  } finally {
    wipe(password);
  }
}

async function openOrThrow(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array) {
  try {
    return await aesGcm(key).decrypt(iv, sealed);
  } catch {
    // One opaque error for every authentication failure (FORMAT.md §2.2, §6.10.5).
    throw new DecryptionError();
  }
}

function freshBytes(random: RandomBytes, n: number, name: string): Uint8Array {
  const out = random(n);
  abytes(name, out, n);
  return out;
}

/**
 * Encrypts a whole backup as seed-v0: `base64(IV[12] || AES-256-GCM(key, IV, plaintext)
 * || tag[16])` (FORMAT.md §3). Holds the whole file in memory.
 *
 * @param plaintext - the backup bytes
 * @param seedphrase - the seedphrase text, e.g. `keyring.legacySeedphrase`
 * @param opts - `random` for the IV; `keyCache` to reuse the derived key
 * @returns the base64 text as ASCII bytes (no line breaks, no trailing newline)
 * @throws TypeError / RangeError for bad arguments (an empty seedphrase included)
 * @example
 * ```ts
 * const text = await encryptSeedV0(bytes, keyring.legacySeedphrase);
 * ```
 */
export async function encryptSeedV0(
  plaintext: Uint8Array,
  seedphrase: string,
  opts: LegacyEncryptOptions & SeedV0Options = {},
): Promise<Uint8Array> {
  abytes('plaintext', plaintext);
  const iv = freshBytes(opts.random ?? secureRandom, IV_LEN, 'random IV');
  const { key, owned } = await seedV0Key(seedphrase, opts);
  try {
    const sealed = await aesGcm(key).encrypt(iv, plaintext);
    return encodeLegacyText(concatBytes(iv, sealed));
  } finally {
    if (owned) wipe(key);
  }
}

/**
 * Splits a decoded seed-v0 blob into IV and `ciphertext || tag` (FORMAT.md §3.4, §3.5).
 *
 * @param blob - the base64-decoded file
 * @returns subarrays of `blob` (no copies)
 * @throws NotABackupError if it is too short to hold IV and tag
 * @example
 * ```ts
 * const { iv, sealed } = splitSeedV0(decodeLegacyText(text));
 * ```
 */
export function splitSeedV0(blob: Uint8Array): { iv: Uint8Array; sealed: Uint8Array } {
  if (blob.length < SEED_V0_MIN) throw new NotABackupError('not a backup: too short');
  return { iv: blob.subarray(0, IV_LEN), sealed: blob.subarray(IV_LEN) };
}

/**
 * Splits a decoded noah-v1 blob into salt, IV and `ciphertext || tag` (FORMAT.md §4.1).
 *
 * @param blob - the base64-decoded file
 * @returns subarrays of `blob` (no copies)
 * @throws NotABackupError if it is too short or its first byte is not 0x01
 * @example
 * ```ts
 * const { salt, iv, sealed } = splitNoahV1(decodeLegacyText(text));
 * ```
 */
export function splitNoahV1(blob: Uint8Array): {
  salt: Uint8Array;
  iv: Uint8Array;
  sealed: Uint8Array;
} {
  if (blob.length < NOAH_V1_MIN) throw new NotABackupError('not a backup: too short');
  if (blob[0] !== NOAH_V1_VERSION) throw new NotABackupError('not a noah-v1 backup');
  return {
    salt: blob.subarray(1, 1 + SALT_LEN),
    iv: blob.subarray(1 + SALT_LEN, 1 + SALT_LEN + IV_LEN),
    sealed: blob.subarray(1 + SALT_LEN + IV_LEN),
  };
}

/**
 * Decrypts a decoded seed-v0 blob (FORMAT.md §3.5); the facade's entry point once it has
 * decoded the text.
 *
 * @param blob - the base64-decoded file
 * @param seedphrase - the seedphrase text
 * @param opts - `keyCache` to reuse the derived key
 * @returns the plaintext, only after the tag verified
 * @throws NotABackupError if too short; DecryptionError on authentication failure
 * @example
 * ```ts
 * const pt = await openSeedV0Blob(decodeLegacyText(text), keyring.legacySeedphrase);
 * ```
 */
export async function openSeedV0Blob(
  blob: Uint8Array,
  seedphrase: string,
  opts?: SeedV0Options,
): Promise<Uint8Array> {
  const { iv, sealed } = splitSeedV0(blob);
  const { key, owned } = await seedV0Key(seedphrase, opts);
  try {
    return await openOrThrow(key, iv, sealed);
  } finally {
    if (owned) wipe(key);
  }
}

/**
 * Decrypts a decoded noah-v1 blob (FORMAT.md §4.3); runs 600,000 PBKDF2 iterations.
 *
 * @param blob - the base64-decoded file
 * @param seedphrase - the seedphrase text
 * @returns the plaintext, only after the tag verified
 * @throws NotABackupError if too short or not version 0x01; DecryptionError on
 *   authentication failure
 * @example
 * ```ts
 * const pt = await openNoahV1Blob(decodeLegacyText(text), keyring.legacySeedphrase);
 * ```
 */
export async function openNoahV1Blob(blob: Uint8Array, seedphrase: string): Promise<Uint8Array> {
  const { salt, iv, sealed } = splitNoahV1(blob);
  const key = await noahV1Key(seedphrase, salt);
  try {
    return await openOrThrow(key, iv, sealed);
  } finally {
    wipe(key);
  }
}

/**
 * Decrypts a seed-v0 backup (FORMAT.md §3). Holds the whole file in memory.
 *
 * @param data - the backup file's bytes: base64 text, optionally ending in whitespace
 * @param seedphrase - the seedphrase text
 * @param opts - `keyCache` to reuse the derived key
 * @returns the plaintext
 * @throws NotABackupError for invalid base64 or a blob too short to hold IV and tag;
 *   DecryptionError for a wrong seedphrase or any modification
 * @example
 * ```ts
 * const bytes = await decryptSeedV0(await readFile(path), keyring.legacySeedphrase);
 * ```
 */
export async function decryptSeedV0(
  data: Uint8Array,
  seedphrase: string,
  opts?: SeedV0Options,
): Promise<Uint8Array> {
  astring('seedphrase', seedphrase);
  return openSeedV0Blob(decodeLegacyText(data), seedphrase, opts);
}

/**
 * Encrypts a whole backup as noah-v1: `base64(0x01 || salt[16] || IV[12] ||
 * AES-256-GCM(key, IV, plaintext) || tag[16])`, key = PBKDF2(seedphrase, salt, 600,000)
 * (FORMAT.md §4). Holds the whole file in memory; costs one 600k-iteration PBKDF2.
 *
 * @param plaintext - the backup bytes
 * @param seedphrase - the seedphrase text
 * @param opts - `random` for salt and IV
 * @returns the base64 text as ASCII bytes
 * @throws TypeError / RangeError for bad arguments
 * @example
 * ```ts
 * const text = await encryptNoahV1(bytes, keyring.legacySeedphrase);
 * ```
 */
export async function encryptNoahV1(
  plaintext: Uint8Array,
  seedphrase: string,
  opts: LegacyEncryptOptions = {},
): Promise<Uint8Array> {
  abytes('plaintext', plaintext);
  const random = opts.random ?? secureRandom;
  const salt = freshBytes(random, SALT_LEN, 'random salt');
  const iv = freshBytes(random, IV_LEN, 'random IV');
  const key = await noahV1Key(seedphrase, salt);
  try {
    const sealed = await aesGcm(key).encrypt(iv, plaintext);
    return encodeLegacyText(concatBytes(Uint8Array.of(NOAH_V1_VERSION), salt, iv, sealed));
  } finally {
    wipe(key);
  }
}

/**
 * Decrypts a noah-v1 backup (FORMAT.md §4). Holds the whole file in memory.
 *
 * @param data - the backup file's bytes: base64 text, optionally ending in whitespace
 * @param seedphrase - the seedphrase text
 * @returns the plaintext
 * @throws NotABackupError for invalid base64, a blob too short, or a first byte other
 *   than 0x01; DecryptionError for a wrong seedphrase or any modification
 * @example
 * ```ts
 * const bytes = await decryptNoahV1(text, keyring.legacySeedphrase);
 * ```
 */
export async function decryptNoahV1(data: Uint8Array, seedphrase: string): Promise<Uint8Array> {
  astring('seedphrase', seedphrase);
  return openNoahV1Blob(decodeLegacyText(data), seedphrase);
}

/**
 * Whether a file is the binary form of noah-v1 (FORMAT.md §2.1, §4.4): its first byte is
 * the version 0x01, which is neither a base64 character nor v2's magic.
 *
 * @param prefix - the file's first bytes (at least one)
 * @returns true for a binary noah-v1 file
 * @throws TypeError if `prefix` is not a Uint8Array
 * @example
 * ```ts
 * isBinaryNoahV1(Uint8Array.of(1, 0x9c)); // true
 * ```
 */
export function isBinaryNoahV1(prefix: Uint8Array): boolean {
  abytes('prefix', prefix);
  return prefix.length > 0 && prefix[0] === NOAH_V1_VERSION;
}

/** What can be read from a legacy backup without the seedphrase. */
export interface LegacyInfo {
  /**
   * `seed-v0` when certain; `noah-v1` for the binary form, which only noah-v1 has;
   * `legacy` when the decoded first byte of a text is 0x01, which every noah-v1 blob and
   * one seed-v0 blob in 256 have (FORMAT.md §2.2).
   */
  format: 'seed-v0' | 'noah-v1' | 'legacy';
  /** `base64` text (both formats), or the `binary` blob (noah-v1 exported by Noah's app). */
  encoding: 'base64' | 'binary';
  /** Formats that could hold this blob, in the order a reader tries them. */
  candidates: ('noah-v1' | 'seed-v0')[];
  /** Base64 characters in the text (line breaks and trailing whitespace not counted); 0 if binary. */
  encodedLength: number;
  /** Length of the decoded blob (the file itself if binary). */
  decodedLength: number;
  /** Field sizes if read as seed-v0 (IV 12, tag 16), or null when it cannot be one. */
  seedV0: { ivLength: number; tagLength: number; ciphertextLength: number } | null;
  /** Field sizes if read as noah-v1, or null when it cannot be one. */
  noahV1: {
    saltLength: number;
    ivLength: number;
    tagLength: number;
    ciphertextLength: number;
  } | null;
}

/**
 * Describes a legacy backup without decrypting it.
 *
 * @param data - the backup file's bytes: base64 text, or a binary noah-v1 blob
 * @returns sizes and the candidate formats
 * @throws NotABackupError for invalid base64 or a blob too short for its format
 * @example
 * ```ts
 * inspectLegacy(text).candidates; // ['noah-v1', 'seed-v0'] or ['seed-v0']
 * ```
 */
export function inspectLegacy(data: Uint8Array): LegacyInfo {
  const binary = isBinaryNoahV1(data);
  if (binary) splitNoahV1(data);
  const blob = binary ? data : decodeLegacyText(data);
  splitSeedV0(blob);
  const maybeV1 = blob.length >= NOAH_V1_MIN && blob[0] === NOAH_V1_VERSION;
  return {
    format: binary ? 'noah-v1' : maybeV1 ? 'legacy' : 'seed-v0',
    encoding: binary ? 'binary' : 'base64',
    candidates: binary ? ['noah-v1'] : maybeV1 ? ['noah-v1', 'seed-v0'] : ['seed-v0'],
    encodedLength: binary ? 0 : base64TextLength(data),
    decodedLength: blob.length,
    seedV0: binary
      ? null
      : { ivLength: IV_LEN, tagLength: TAG_LEN, ciphertextLength: blob.length - SEED_V0_MIN },
    noahV1: maybeV1
      ? {
          saltLength: SALT_LEN,
          ivLength: IV_LEN,
          tagLength: TAG_LEN,
          ciphertextLength: blob.length - NOAH_V1_MIN,
        }
      : null,
  };
}
