/**
 * Key derivation from the wallet's BIP39 seedphrase (FORMAT.md §5.2). One keyring per
 * session: the BIP39 seed (PBKDF2-HMAC-SHA512, 2048 rounds) is computed once, and every
 * key is separated from the others by a distinct HKDF label or BIP32 path.
 *
 * JavaScript cannot wipe strings, so the seedphrase itself (and `legacySeedphrase`)
 * stays in memory until garbage-collected; the byte keys are zeroed by `destroy()`.
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { validateMnemonic as bip39Validate } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { abytes, astring, utf8ToBytes, wipe } from './bytes.ts';
import { InvalidMnemonicError } from './errors.ts';
import { legacyTrim } from './legacy.ts';
import { platform } from '#platform';

/** HKDF info label of the v2 root key (FORMAT.md §5.2). */
export const V2_ROOT_LABEL = 'noah-backup/v2/backup-root';
/** HKDF info label of the digest key of incremental backups (FORMAT.md §5.2, §8.3). */
export const DIGEST_LABEL = 'noah-backup/incremental/digest';

const WORD_COUNTS = [12, 15, 18, 21, 24];
const WORDS: ReadonlySet<string> = new Set(wordlist);

/**
 * Normalises a seedphrase (FORMAT.md §5.2): Unicode NFKD, trimmed, runs of whitespace
 * collapsed to one ASCII space, then ASCII letters A–Z folded to lower case. The BIP39
 * English wordlist is lower case and phone keyboards capitalise the first word, so
 * `Abandon` is `abandon`; nothing a BIP39 wallet could have derived keys from changes.
 * @param mnemonic - the seedphrase as typed
 * @returns the normalised seedphrase
 * @throws TypeError if `mnemonic` is not a string
 * @example
 * ```ts
 * normalizeMnemonic('  Abandon\u3000abandon\n ABOUT ') // 'abandon abandon about'
 * ```
 */
export function normalizeMnemonic(mnemonic: string): string {
  astring('mnemonic', mnemonic);
  const s = mnemonic.normalize('NFKD').trim();
  if (s === '') return '';
  return s
    .split(/\s+/u)
    .join(' ')
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Why a mnemonic is invalid, without ever echoing its words. */
function mnemonicProblem(words: string[]): string | undefined {
  if (!WORD_COUNTS.includes(words.length))
    return `a BIP39 seedphrase has 12, 15, 18, 21 or 24 words, got ${words.length}`;
  const bad = words.findIndex((w) => !WORDS.has(w));
  if (bad >= 0) return `word ${bad + 1} is not in the BIP39 English wordlist`;
  // BIP39: the last ENT/32 bits are SHA-256(entropy)[0..ENT/32]; @scure/bip39 checks it.
  if (!bip39Validate(words.join(' '), wordlist))
    return 'the BIP39 checksum does not match (a word is wrong or the words are out of order)';
  return undefined;
}

/**
 * Normalises and validates a BIP39 English seedphrase (wordlist and checksum).
 * @param mnemonic - the seedphrase as typed
 * @returns the normalised seedphrase ({@link normalizeMnemonic})
 * @throws InvalidMnemonicError (the message names the problem, never a word);
 *   TypeError if `mnemonic` is not a string
 * @example
 * ```ts
 * const m = validateMnemonic(input); // throws on a typo
 * ```
 */
export function validateMnemonic(mnemonic: string): string {
  const normalized = normalizeMnemonic(mnemonic);
  const problem = mnemonicProblem(normalized === '' ? [] : normalized.split(' '));
  if (problem) throw new InvalidMnemonicError(`the seedphrase is not valid: ${problem}`);
  return normalized;
}

/**
 * The 64-byte BIP39 seed of a valid seedphrase, with the empty passphrase
 * (PBKDF2-HMAC-SHA512, 2048 iterations, salt "mnemonic").
 * @param mnemonic - the seedphrase
 * @returns 64 bytes; the caller owns (and should wipe) them
 * @throws InvalidMnemonicError; TypeError if `mnemonic` is not a string
 * @example
 * ```ts
 * const seed = await mnemonicToSeed(words);
 * ```
 */
export async function mnemonicToSeed(mnemonic: string): Promise<Uint8Array> {
  // BIP39: PBKDF2-HMAC-SHA512(NFKD(mnemonic), "mnemonic" || NFKD(passphrase), 2048, 64),
  // over the canonical phrase (FORMAT.md §5.2), with the platform's native PBKDF2
  // (JavaScript's took ~90 ms of every command).
  const words = validateMnemonic(mnemonic); // NFKD, single spaces, lower case
  return platform.pbkdf2Sha512(utf8ToBytes(words), utf8ToBytes('mnemonic'), 2048, 64);
}

/**
 * The v2 root key: HKDF-SHA-256(ikm = seed, salt = empty, info = "noah-backup/v2/backup-root",
 * L = 32) (FORMAT.md §5.2).
 * @param seed - the 64-byte BIP39 seed
 * @returns 32 bytes; the caller owns them
 * @throws TypeError / RangeError if `seed` is not 64 bytes
 * @example
 * ```ts
 * const root = deriveV2RootKey(await mnemonicToSeed(words));
 * ```
 */
export function deriveV2RootKey(seed: Uint8Array): Uint8Array {
  abytes('seed', seed, 64);
  return hkdf(sha256, seed, new Uint8Array(0), utf8ToBytes(V2_ROOT_LABEL), 32);
}

/**
 * The digest key of incremental backups: HKDF-SHA-256(ikm = seed, salt = empty,
 * info = "noah-backup/incremental/digest", L = 32) (FORMAT.md §5.2, §8.3). It keys the
 * page, file and database digests, so that they confirm nothing about the wallet's
 * content to anyone without the seedphrase.
 * @param seed - the 64-byte BIP39 seed
 * @returns 32 bytes; the caller owns them
 * @throws TypeError / RangeError if `seed` is not 64 bytes
 * @example
 * ```ts
 * const digestKey = deriveDigestKey(await mnemonicToSeed(words));
 * ```
 */
export function deriveDigestKey(seed: Uint8Array): Uint8Array {
  abytes('seed', seed, 64);
  return hkdf(sha256, seed, new Uint8Array(0), utf8ToBytes(DIGEST_LABEL), 32);
}

/** The keys of one seedphrase, derived once per session (see {@link createKeyring}). */
export interface Keyring {
  /**
   * The text a legacy writer feeds to PBKDF2 (FORMAT.md §3.1): the canonical phrase
   * (§5.2) when the seedphrase is valid BIP39, which is the phrase Noah's apps hold;
   * otherwise the text as given, trimmed (the legacy formats accept any passphrase).
   */
  readonly legacySeedphrase: string;
  /**
   * The texts a legacy reader tries, in order (FORMAT.md §3.1): {@link legacySeedphrase},
   * then the text as given, trimmed, when that differs (a backup made from the text as
   * typed stays readable). One or two entries.
   */
  readonly legacySeedphrases: readonly string[];
  /**
   * The 32-byte v2 root key. Owned by the keyring: do not modify; zeroed by `destroy()`.
   * @throws InvalidMnemonicError if the seedphrase is not valid BIP39; Error after destroy
   */
  v2Key(): Uint8Array;
  /**
   * The 64-byte BIP39 seed (for BIP32, e.g. the LNURL-auth linking key). Owned by the
   * keyring: do not modify; zeroed by `destroy()`.
   * @throws InvalidMnemonicError if the seedphrase is not valid BIP39; Error after destroy
   */
  seed(): Uint8Array;
  /**
   * The 32-byte digest key of incremental backups ({@link deriveDigestKey}). Owned by the
   * keyring: do not modify; zeroed by `destroy()`.
   * @throws InvalidMnemonicError if the seedphrase is not valid BIP39; Error after destroy
   */
  digestKey(): Uint8Array;
  /**
   * Zeroes the seed and the derived keys; later calls to `v2Key()`, `seed()` and
   * `digestKey()` throw.
   */
  destroy(): void;
}

/**
 * Builds the keyring of a seedphrase: validates it and, if it is valid BIP39, derives the
 * BIP39 seed and the v2 root key now. An invalid seedphrase still gives a keyring (the
 * legacy formats accept any passphrase); only `v2Key()` and `seed()` then throw.
 * @param mnemonic - the seedphrase as typed
 * @returns the keyring
 * @throws TypeError if `mnemonic` is not a string
 * @example
 * ```ts
 * const keyring = await createKeyring(words);
 * try { await encryptV2Bytes(data, { key: keyring.v2Key(), ... }); } finally { keyring.destroy(); }
 * ```
 */
export async function createKeyring(mnemonic: string): Promise<Keyring> {
  astring('mnemonic', mnemonic);
  let problem: string | undefined;
  let seed: Uint8Array | undefined;
  let root: Uint8Array | undefined;
  let canonical: string | undefined;
  let digest: Uint8Array | undefined;
  try {
    canonical = validateMnemonic(mnemonic);
    seed = await mnemonicToSeed(canonical);
    root = deriveV2RootKey(seed);
    digest = deriveDigestKey(seed);
  } catch (err) {
    if (!(err instanceof InvalidMnemonicError)) throw err;
    problem = err.message;
  }
  let destroyed = false;
  const get = (key: Uint8Array | undefined): Uint8Array => {
    if (destroyed) throw new Error('the keyring was destroyed');
    if (!key) throw new InvalidMnemonicError(problem);
    return key;
  };
  const asGiven = legacyTrim(mnemonic);
  const legacySeedphrases =
    canonical === undefined || canonical === asGiven ? [asGiven] : [canonical, asGiven];
  return {
    legacySeedphrase: legacySeedphrases[0]!,
    legacySeedphrases,
    v2Key: () => get(root),
    seed: () => get(seed),
    digestKey: () => get(digest),
    destroy() {
      destroyed = true;
      wipe(seed, root, digest);
    },
  };
}
