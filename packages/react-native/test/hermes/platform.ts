/**
 * The Hermes runner's `#platform`: the pure-JavaScript platform (core's `js.ts`), except
 * that PBKDF2-SHA-256 of 100,000 rounds or more (noah-v1's 600,000: about 75 s each in
 * Hermes 0.12, docs/REACT-NATIVE.md) comes from the host for the exact password and salt
 * the runner computed. The same noble PBKDF2 code runs in Hermes for seed-v0 (10,000
 * rounds) and the BIP39 seed (2,048 rounds of SHA-512); a password or salt the host did
 * not see fails the vector.
 * @module
 */
import { bytesToHex, hexToBytes } from '../../../core/src/bytes.ts';
import { checkPbkdf2Args } from '../../../core/src/platform/common.ts';
import * as js from '../../../core/src/platform/js.ts';
import type { Platform } from '../../../core/src/platform/types.ts';
import { pbkdf2Key } from './protocol.ts';

export * from '../../../core/src/platform/js.ts';

declare const NOAH_HOST: { pbkdf2Sha256(key: string): string };

/** From this many rounds on, PBKDF2-SHA-256 is the host's. */
export const HOST_ROUNDS = 100_000;

/** PBKDF2-HMAC-SHA-256: noble below {@link HOST_ROUNDS}, the host's table from there. */
export async function pbkdf2Sha256(
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  length: number,
): Promise<Uint8Array> {
  if (iterations < HOST_ROUNDS) return js.pbkdf2Sha256(password, salt, iterations, length);
  checkPbkdf2Args(password, salt, iterations, length);
  const key = pbkdf2Key(bytesToHex(password), bytesToHex(salt), iterations, length);
  return hexToBytes(NOAH_HOST.pbkdf2Sha256(key));
}

/** The runner's platform as one object. */
export const platform: Platform = { ...js.platform, pbkdf2Sha256 };
