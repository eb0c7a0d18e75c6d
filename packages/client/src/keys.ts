/**
 * The keys of one session, derived once from the mnemonic (docs/FORMAT.md §5.2): the
 * keyring that encrypts and decrypts backups, and the LNURL-auth linking key for one server
 * (LUD-05), kept strictly apart. The backup key never signs, the linking key never
 * encrypts. `destroy()` zeroes what JavaScript lets us zero.
 * @module
 */
import { bytesToHex, wipe } from '@noah-backup/core/bytes';
import { createKeyring, type Keyring } from '@noah-backup/core/keys';
import { deriveLinkingKey, signK1 } from '@noah-backup/core/lnurl';
import type { LoginSigner } from './api-client.ts';

/** A session's keys. */
export interface SessionKeys {
  /** Backup encryption keys (v2 root key, legacy seedphrase). Owned by this object. */
  readonly keyring: Keyring;
  /** Signs the server's login challenges with the linking key for {@link domain}. */
  readonly signer: LoginSigner;
  /** The LUD-05 domain the linking key belongs to (the server URL's host name). */
  readonly domain: string;
  /** Zeroes the linking private key and the keyring; later use throws. Idempotent. */
  destroy(): void;
}

/**
 * The LUD-05 service domain of a server URL: its host name without the port. (LUD-05
 * hashes the "full domain name"; a port is not part of it, so a server reached on
 * another port or behind a proxy keeps the same identity.)
 *
 * @example
 * ```ts
 * serviceDomain('https://Backup.Example.com:8443/api'); // 'backup.example.com'
 * ```
 */
export function serviceDomain(serverUrl: string): string {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new TypeError('serverUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError('serverUrl must be an absolute http(s) URL');
  return url.hostname;
}

/**
 * Derives a session's keys from the seedphrase: the keyring (core `createKeyring`) and
 * the LUD-05 linking key for the server's domain (from the BIP39 seed at m/138'/…).
 *
 * @param mnemonic - the BIP39 seedphrase (never logged, never in an error)
 * @param serverUrl - the server's base URL; its host name is the LNURL-auth domain
 * @returns the keys; call `destroy()` when the session ends
 * @throws InvalidMnemonicError if the seedphrase is not valid BIP39 (login needs the seed);
 *   TypeError for a URL that is not http(s)
 * @example
 * ```ts
 * const keys = await createSessionKeys(words, 'https://backup.example.com');
 * try { const api = createApiClient({ baseUrl, signer: keys.signer }); … } finally { keys.destroy(); }
 * ```
 */
export async function createSessionKeys(mnemonic: string, serverUrl: string): Promise<SessionKeys> {
  const domain = serviceDomain(serverUrl);
  const keyring = await createKeyring(mnemonic);
  let linking: { privateKey: Uint8Array; publicKey: Uint8Array };
  try {
    // LUD-05: linking key = m/138'/<HMAC-SHA256(m/138'/0, domain) indexes>.
    linking = deriveLinkingKey(keyring.seed(), domain);
  } catch (err) {
    keyring.destroy();
    throw err;
  }
  const linkingKey = bytesToHex(linking.publicKey);
  let destroyed = false;
  return {
    keyring,
    domain,
    signer: {
      linkingKey,
      signK1(k1Hex) {
        if (destroyed) throw new Error('the session keys were destroyed');
        return signK1(k1Hex, linking.privateKey);
      },
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      wipe(linking.privateKey);
      keyring.destroy();
    },
  };
}
