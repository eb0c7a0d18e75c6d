/**
 * The key and signature of Noah's app, rebuilt from its source for the tests (docs/API.md
 * "Noah compatibility"): BIP39 seed (no passphrase), BIP32 master, normal children
 * m/350/0 (bark's `derive_keypair_from_mnemonic(mnemonic, network, 0)` and
 * `sign_messsage_with_mnemonic`), the public key as 33-byte compressed hex, and ECDSA
 * over the Bitcoin signed-message hash of the k1, DER hex, low-S (libsecp256k1 signs
 * low-S). Node's own crypto only, so it does not share the server's code.
 */
import {
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  pbkdf2Sync,
  sign,
} from 'node:crypto';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const toBig = (b: Buffer) => BigInt(`0x${b.toString('hex')}`);
const to32 = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

function publicOf(priv: Buffer): Buffer {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(priv);
  return ecdh.getPublicKey(null, 'compressed');
}

/** A key pair of Noah's app. */
export interface NoahKey {
  priv: Buffer;
  /** Compressed public key, lowercase hex: the user's identity. */
  pub: string;
}

/**
 * Derives the key Noah's app logs in with.
 *
 * @param mnemonic - the BIP39 words
 * @returns the key pair at m/350/0
 */
export function deriveNoahKey(mnemonic: string): NoahKey {
  const seed = pbkdf2Sync(mnemonic.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512');
  const master = createHmac('sha512', 'Bitcoin seed').update(seed).digest();
  let key = master.subarray(0, 32);
  let chain = master.subarray(32);
  for (const index of [350, 0]) {
    // BIP32 CKDpriv, normal child: HMAC-SHA512(c, serP(point(k)) ‖ ser32(i)).
    const i = Buffer.alloc(4);
    i.writeUInt32BE(index);
    const I = createHmac('sha512', chain)
      .update(Buffer.concat([publicOf(key), i]))
      .digest();
    key = to32((toBig(I.subarray(0, 32)) + toBig(key)) % N);
    chain = I.subarray(32);
  }
  return { priv: key, pub: publicOf(key).toString('hex') };
}

function varint(n: number): Buffer {
  return n < 0xfd ? Buffer.from([n]) : Buffer.from([0xfd, n & 0xff, n >> 8]);
}

/** DER of (r, s) with s made low, as libsecp256k1 produces. */
function lowS(der: Buffer): Buffer {
  const rLen = der[3]!;
  const r = der.subarray(4, 4 + rLen);
  let s = toBig(der.subarray(6 + rLen));
  if (s > N >> 1n) s = N - s;
  const int = (b: Buffer) => {
    let x = b;
    while (x.length > 1 && x[0] === 0 && !(x[1]! & 0x80)) x = x.subarray(1);
    if (x[0]! & 0x80) x = Buffer.concat([Buffer.from([0]), x]);
    return Buffer.concat([Buffer.from([0x02, x.length]), x]);
  };
  const body = Buffer.concat([int(r), int(to32(s))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/**
 * Signs a message as Noah's app signs the k1.
 *
 * @param message - the k1 text
 * @param key - the key from {@link deriveNoahKey}
 * @returns DER signature, hex
 */
export function signNoahMessage(message: string, key: NoahKey): string {
  const text = Buffer.from(message, 'utf8');
  const framed = Buffer.concat([
    Buffer.from('\x18Bitcoin Signed Message:\n', 'latin1'),
    varint(text.length),
    text,
  ]);
  const once = createHash('sha256').update(framed).digest();
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(key.priv);
  const point = ecdh.getPublicKey();
  const jwk = {
    kty: 'EC',
    crv: 'secp256k1',
    d: key.priv.toString('base64url'),
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  };
  const pk = createPrivateKey({ key: jwk, format: 'jwk' });
  // sign('sha256', x) hashes once more: the signed-message hash is SHA-256d(framed).
  return lowS(sign('sha256', once, { key: pk, dsaEncoding: 'der' })).toString('hex');
}
