/**
 * The server's VAPID identity (RFC 8292; docs/PUSH.md "Encryption"): a P-256 key pair
 * that signs the JWT of every Web Push request, and the contact (`sub`) in it. A push
 * service may bind a subscription to the public key the app registered it with, so the
 * key must stay the same across restarts and instances: `VAPID_PRIVATE_KEY` when set
 * (every instance of a deployment sets the same), else a key generated on first start
 * and kept in `<DATA_DIR>/vapid-private.key` (mode 0600), as the blob signing key is.
 * @module
 */
import { createECDH } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, restrictToOwner } from '../local-files.ts';

/** A VAPID key pair, base64url without padding, and the JWT's contact. */
export interface VapidKeys {
  /** The uncompressed P-256 public key (65 bytes): what apps give their distributor. */
  publicKey: string;
  /** The private scalar (32 bytes): a secret. */
  privateKey: string;
  /** `mailto:` or `https:` contact (RFC 8292 §2.1 `sub`). */
  subject: string;
}

/** File name of the generated key in the data directory. */
export const VAPID_KEY_FILE = 'vapid-private.key';

/**
 * The public key of a private scalar.
 *
 * @param privateKey - 32 bytes, base64url
 * @returns the 65-byte uncompressed public key, base64url
 * @throws RangeError when the value is not a valid P-256 private key
 */
export function vapidPublicKey(privateKey: string): string {
  const bytes = Buffer.from(privateKey, 'base64url');
  if (!/^[A-Za-z0-9_-]{43}$/.test(privateKey) || bytes.length !== 32)
    throw new RangeError('a VAPID private key is 32 bytes, base64url without padding');
  const ecdh = createECDH('prime256v1');
  try {
    ecdh.setPrivateKey(bytes);
  } catch {
    throw new RangeError('not a P-256 private key');
  }
  return ecdh.getPublicKey().toString('base64url');
}

/** A new P-256 private key, base64url (always 32 bytes: the scalar is left-padded). */
function generatePrivateKey(): string {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return ecdh.getPrivateKey().toString('base64url').padStart(43, 'A');
}

/**
 * The server's VAPID keys: `privateKey` when given (VAPID_PRIVATE_KEY), else the key in
 * `<dataDir>/vapid-private.key`, generated on first use. The file is created exclusively,
 * so two processes starting at once agree on one key; one an older version left open is
 * tightened to 0600.
 *
 * @param opts.dataDir - the data directory
 * @param opts.privateKey - VAPID_PRIVATE_KEY, or null
 * @param opts.subject - the JWT's contact
 * @returns the key pair and subject
 * @throws Error when the key file exists but does not hold a valid key
 * @example
 * ```ts
 * const vapid = loadOrCreateVapidKeys({ dataDir, privateKey: null, subject: 'mailto:ops@example.com' });
 * ```
 */
export function loadOrCreateVapidKeys(opts: {
  dataDir: string;
  privateKey: string | null;
  subject: string;
}): VapidKeys {
  let privateKey = opts.privateKey;
  if (privateKey === null) {
    const file = join(opts.dataDir, VAPID_KEY_FILE);
    ensurePrivateDir(opts.dataDir);
    try {
      writeFileSync(file, `${generatePrivateKey()}\n`, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      restrictToOwner(file);
    }
    privateKey = readFileSync(file, 'utf8').trim();
    try {
      return { publicKey: vapidPublicKey(privateKey), privateKey, subject: opts.subject };
    } catch (err) {
      throw new Error(
        `${file}: ${(err as Error).message}; delete it to generate a new key (devices then register again)`,
      );
    }
  }
  return { publicKey: vapidPublicKey(privateKey), privateKey, subject: opts.subject };
}
