/**
 * The fs blob store's URL-signing key (blob/fs-sign.ts): BLOB_SIGNING_SECRET when the
 * operator sets one, else a key the server generates once and keeps in its data
 * directory (docs/OPERATIONS.md "Configuration reference"). Only the fs store signs its
 * own URLs; S3 signs with its credentials, so no key is made for it.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, restrictToOwner } from '../local-files.ts';

/** Name of the generated key's file in the data directory. */
export const SIGNING_KEY_FILE = 'blob-signing.key';

/**
 * Returns the signing key: `configured` when set, else the key kept at
 * `<dataDir>/blob-signing.key` (mode 0600, tightened if an older version left it open),
 * generated on first start. The file is created exclusively, so two processes starting
 * at once agree on one key.
 *
 * @param dataDir - the server's data directory
 * @param configured - BLOB_SIGNING_SECRET, or null
 * @returns the secret (64 hex characters when generated)
 * @throws Error when the key file exists but is unreadable or too short
 * @example
 * ```ts
 * const secret = loadOrCreateSigningSecret(config.dataDir, config.blobSigningSecret);
 * ```
 */
export function loadOrCreateSigningSecret(dataDir: string, configured: string | null): string {
  if (configured !== null) return configured;
  const file = join(dataDir, SIGNING_KEY_FILE);
  ensurePrivateDir(dataDir);
  try {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    restrictToOwner(file);
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32)
    throw new Error(`${file} must hold at least 32 characters; delete it to generate a new key`);
  return secret;
}
