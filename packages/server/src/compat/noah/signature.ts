/**
 * The login signature of Noah's app (docs/API.md "Noah compatibility"): ECDSA over
 * secp256k1 of the Bitcoin signed-message hash of the k1 text,
 * `SHA256d("\x18Bitcoin Signed Message:\n" ‖ varint(len) ‖ k1)`, DER-encoded hex, by the
 * key the app derives at m/350/0 of its BIP39 seed; the key is its 33-byte compressed
 * public key in hex. Like libsecp256k1 (what Noah's server verifies with), a high-S
 * signature is refused.
 * @module
 */
import { createHash, createPublicKey, ECDH, verify } from 'node:crypto';

const PREFIX = Buffer.from('\x18Bitcoin Signed Message:\n', 'latin1');
/** secp256k1's group order n, and n / 2 (the low-S bound). */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

function varint(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32LE(n, 1);
  return b;
}

/** The message bytes whose SHA-256 is hashed again to give the signed-message hash. */
function framed(message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  return Buffer.concat([PREFIX, varint(text.length), text]);
}

/** The S value of a DER ECDSA signature, or null when it is not DER. */
function derS(sig: Buffer): bigint | null {
  // SEQUENCE { INTEGER r, INTEGER s }, short lengths only (a secp256k1 signature fits).
  if (sig.length < 8 || sig[0] !== 0x30 || sig[1] !== sig.length - 2 || sig[2] !== 0x02)
    return null;
  const rLen = sig[3]!;
  const sAt = 4 + rLen;
  if (sig[sAt] !== 0x02) return null;
  const sLen = sig[sAt + 1]!;
  if (sAt + 2 + sLen !== sig.length || sLen === 0 || sLen > 33) return null;
  return BigInt(`0x${sig.subarray(sAt + 2).toString('hex')}`);
}

/**
 * Verifies a login of Noah's app. Never throws: anything malformed gives false.
 *
 * @param message - the k1 exactly as the server issued it
 * @param sigHex - DER signature, hex
 * @param keyHex - 33-byte compressed public key, hex
 * @returns true only for a valid low-S signature of the message's signed-message hash
 */
export function verifySignedMessage(message: string, sigHex: string, keyHex: string): boolean {
  try {
    if (!/^[0-9a-fA-F]+$/.test(sigHex) || sigHex.length % 2 !== 0) return false;
    if (!/^0[23][0-9a-fA-F]{64}$/.test(keyHex)) return false;
    const sig = Buffer.from(sigHex, 'hex');
    const s = derS(sig);
    if (s === null || s === 0n || s > HALF_N) return false;
    const point = ECDH.convertKey(
      Buffer.from(keyHex, 'hex'),
      'secp256k1',
      undefined,
      undefined,
      'uncompressed',
    ) as Buffer;
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'secp256k1',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    // verify('sha256', x) hashes x once more: SHA-256 of SHA-256(framed) is the
    // signed-message hash the app signed.
    const once = createHash('sha256').update(framed(message)).digest();
    return verify('sha256', once, { key, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}
