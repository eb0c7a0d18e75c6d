/**
 * LNURL-auth for the Noah Backup API: the per-domain linking key (LUD-05) and the
 * signature over the server's `k1` challenge (LUD-04). The client derives a key and
 * signs; the server parses the key and verifies.
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HARDENED_OFFSET, HDKey } from '@scure/bip32';
import { abytes, astring, bytesToHex, hexToBytes, utf8ToBytes, wipe } from './bytes.ts';

/** A domain-specific LNURL-auth key pair (LUD-05). */
export interface LinkingKey {
  /** 32-byte secp256k1 private key. Secret: wipe it when done. */
  privateKey: Uint8Array;
  /** 33-byte compressed public key: the user's identity at this domain (LUD-04 `key`). */
  publicKey: Uint8Array;
}

/** LUD-05: the hashing key lives at m/138'/0 (profile index 0). */
const PURPOSE = 138;
const PROFILE_INDEX = 0;
/** Characters a URL hostname can hold once IDNs are in punycode (LUD-05 "full domain name"). */
const HOST_RE = /^[A-Za-z0-9._\-[\]:]+$/;

/**
 * Normalises a service domain as LUD-05 defines it: the full domain name with the last
 * full stop omitted. ASCII letters are lowercased because DNS names are case-insensitive
 * and URL parsers (`new URL(u).hostname`) lowercase them, so every wallet hashes the same
 * bytes.
 */
function normaliseDomain(domain: string): string {
  astring('domain', domain);
  // LUD-05 step 2: "FQDN with last full-stop omitted".
  const d = (domain.endsWith('.') ? domain.slice(0, -1) : domain).toLowerCase();
  if (d.length === 0 || d.length > 253 || !HOST_RE.test(d))
    throw new RangeError('domain must be a host name (e.g. "auth.example.com"), not a URL');
  return d;
}

/**
 * The four LUD-05 path indexes for `domain`: the first 16 bytes of
 * `HMAC-SHA256(hashingKey, UTF8(domain))` read as four big-endian u32 values.
 *
 * @param hashingKey - 32-byte private key at m/138'/0
 * @param domain - service host name (normalised as in {@link deriveLinkingKey})
 * @returns the indexes `[long1, long2, long3, long4]`, each in [0, 2^32)
 * @throws TypeError / RangeError for a wrong-sized key or a domain that is not a host
 * @example
 * ```ts
 * linkingPathSuffix(hexToBytes('7d417a6a…'), 'site.com'); // [1588488367, 2659270754, 38110259, 4136336762]
 * ```
 */
export function linkingPathSuffix(
  hashingKey: Uint8Array,
  domain: string,
): [number, number, number, number] {
  abytes('hashingKey', hashingKey, 32);
  // LUD-05 step 2: derivationMaterial = hmacSha256(hashingKey, full service domain name).
  const material = hmac(sha256, hashingKey, utf8ToBytes(normaliseDomain(domain)));
  const view = new DataView(material.buffer, material.byteOffset, material.byteLength);
  // LUD-05 step 3: "first 16 bytes … turned into a sequence of 4 Long values" (u32 BE).
  const out: [number, number, number, number] = [
    view.getUint32(0, false),
    view.getUint32(4, false),
    view.getUint32(8, false),
    view.getUint32(12, false),
  ];
  wipe(material);
  return out;
}

/**
 * Derives the LNURL-auth linking key for a service domain from a BIP39 seed (LUD-05).
 *
 * hashingKey = BIP32 m/138'/0 private key; the linking key is at
 * m/138'/<long1>/<long2>/<long3>/<long4>. The four indexes are used as raw BIP32 child
 * numbers, exactly as LUD-05's reference code passes them to `derivePrivateKey`: an
 * index below 2^31 is a normal child, one at or above 2^31 is, by BIP32's own rule, a
 * hardened child. (A path string cannot say that, so we call `deriveChild` per index.)
 *
 * @param seed - the 16–64-byte BIP32 master seed (Noah: the 64-byte BIP39 seed,
 *   `keyring.seed()`); not modified
 * @param domain - the service's host name, e.g. `"backup.noah.example"`; a trailing dot
 *   is dropped and ASCII letters lowercased (LUD-05 "full domain name")
 * @returns the key pair; the caller owns `privateKey` and should wipe it
 * @throws TypeError if `seed` is not a Uint8Array or `domain` not a string; RangeError for
 *   a seed of the wrong size or a domain that is not a host name
 * @example
 * ```ts
 * const { privateKey, publicKey } = deriveLinkingKey(keyring.seed(), 'backup.noah.example');
 * const sig = signK1(k1, privateKey);
 * wipe(privateKey);
 * ```
 */
export function deriveLinkingKey(seed: Uint8Array, domain: string): LinkingKey {
  abytes('seed', seed);
  if (seed.length < 16 || seed.length > 64)
    throw new RangeError(`seed must be 16 to 64 bytes, got ${seed.length}`);
  smallBaseTable();
  const host = normaliseDomain(domain);
  const master = HDKey.fromMasterSeed(seed);
  const purpose = master.deriveChild(PURPOSE + HARDENED_OFFSET);
  const hashing = purpose.deriveChild(PROFILE_INDEX);
  const suffix = linkingPathSuffix(hashing.privateKey!, host);
  let node = purpose;
  const visited: HDKey[] = [master, purpose, hashing];
  for (const index of suffix) {
    node = node.deriveChild(index);
    visited.push(node);
  }
  const privateKey = Uint8Array.from(node.privateKey!);
  const publicKey = Uint8Array.from(node.publicKey!);
  for (const k of visited) k.wipePrivateData();
  return { privateKey, publicKey };
}

let baseTable = false;

/**
 * A client derives one linking key and signs a few challenges per process, so it wants
 * noble's table of multiples of G small: noble builds a window-8 table on first use,
 * which costs more than the few multiplications of a session (a cold derivation and
 * signature take about half as long with the window-4 table built once here). Verifiers
 * (the server) never call this and keep the default, faster per verification. Changes
 * only speed, never a result.
 */
function smallBaseTable(): void {
  if (baseTable) return;
  baseTable = true;
  secp256k1.Point.BASE.precompute(4, false);
}

/** Decodes hex strictly (even length, hex digits only); null when it is not hex. */
function tryHex(hex: unknown): Uint8Array | null {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  return hexToBytes(hex);
}

/** Decodes a 32-byte k1 challenge or throws (LUD-04: "randomly generated 32 bytes"). */
function k1Bytes(k1Hex: string): Uint8Array {
  astring('k1Hex', k1Hex);
  const k1 = tryHex(k1Hex);
  if (k1 === null) throw new TypeError('k1Hex must be a hex string');
  if (k1.length !== 32) throw new RangeError(`k1Hex must encode 32 bytes, got ${k1.length}`);
  return k1;
}

/**
 * Parses a LUD-04 linking key: hex of a 33-byte compressed secp256k1 point.
 *
 * @param hex - the `key` parameter of an LNURL-auth login (either hex case)
 * @returns the 33 key bytes, validated to be a point on the curve
 * @throws TypeError if `hex` is not a hex string; RangeError if it is not a valid
 *   33-byte compressed point (uncompressed keys are rejected: LUD-04 says compressed)
 * @example
 * ```ts
 * const key = parseLinkingKey(body.key); // throws on garbage
 * const id = bytesToHex(key);
 * ```
 */
export function parseLinkingKey(hex: string): Uint8Array {
  astring('hex', hex);
  const key = tryHex(hex);
  if (key === null) throw new TypeError('linking key must be a hex string');
  if (key.length !== 33 || (key[0] !== 0x02 && key[0] !== 0x03))
    throw new RangeError('linking key must be a 33-byte compressed secp256k1 public key');
  if (!secp256k1.utils.isValidPublicKey(key, true))
    throw new RangeError('linking key is not a point on secp256k1');
  return key;
}

/**
 * Signs an LNURL-auth challenge (LUD-04 step 3): ECDSA over secp256k1 of the raw 32 `k1`
 * bytes (no hashing: k1 already has a hash's size), DER-encoded. Deterministic
 * (RFC 6979) and always low-S.
 *
 * @param k1Hex - the server's challenge, 64 hex characters
 * @param privateKey - 32-byte linking private key from {@link deriveLinkingKey}; not modified
 * @returns the DER signature as lowercase hex (LUD-04 `sig`)
 * @throws TypeError if `k1Hex` is not hex or `privateKey` not a Uint8Array; RangeError if
 *   k1 is not 32 bytes or the private key is not a valid secp256k1 scalar
 * @example
 * ```ts
 * const sig = signK1(k1, linking.privateKey);
 * await post('/v0/auth/login', { k1, sig, key: bytesToHex(linking.publicKey) });
 * ```
 */
export function signK1(k1Hex: string, privateKey: Uint8Array): string {
  const k1 = k1Bytes(k1Hex);
  abytes('privateKey', privateKey, 32);
  if (!secp256k1.utils.isValidSecretKey(privateKey))
    throw new RangeError('privateKey is not a valid secp256k1 private key');
  // LUD-04: sign(hexToBytes(k1), linkingPrivKey), DER-encoded.
  const sig = secp256k1.sign(k1, privateKey, { prehash: false, format: 'der', lowS: true });
  return bytesToHex(sig);
}

/**
 * Verifies an LNURL-auth login (LUD-04 "MUST … verify the signature using secp256k1").
 * Never throws: any malformed input (non-hex, k1 not 32 bytes, key not a compressed
 * point, signature not strict DER, r or s out of range) gives `false`.
 *
 * High-S signatures are accepted: LUD-04 does not require low-S, some wallets do not
 * normalise, and malleability is harmless here because each k1 is single-use and the
 * signature is never used as an identifier. {@link signK1} itself only produces low-S.
 *
 * @param k1Hex - the challenge the server issued (64 hex characters)
 * @param sigHex - DER-encoded ECDSA signature, hex
 * @param keyHex - 33-byte compressed linking key, hex
 * @returns true only if `sig` is a valid signature of the raw k1 bytes by `key`
 * @example
 * ```ts
 * if (!verifyK1(body.k1, body.sig, body.key)) throw unauthorized();
 * ```
 */
export function verifyK1(k1Hex: string, sigHex: string, keyHex: string): boolean {
  try {
    const k1 = tryHex(k1Hex);
    const sig = tryHex(sigHex);
    if (k1 === null || k1.length !== 32 || sig === null || sig.length === 0) return false;
    const key = parseLinkingKey(keyHex);
    return secp256k1.verify(sig, k1, key, { prehash: false, format: 'der', lowS: false });
  } catch {
    return false;
  }
}
