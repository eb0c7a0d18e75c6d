/**
 * The React Native platform (export condition `react-native` of `#platform`, which Metro
 * sets): `quick-crypto.ts` bound to react-native-quick-crypto, whose AES-GCM, PBKDF2,
 * SHA-256 and HMAC run natively (OpenSSL through JSI). The app installs the module and
 * its peers (docs/REACT-NATIVE.md); this is the only file in `core` that imports it.
 * @module
 */
import * as QuickCrypto from 'react-native-quick-crypto';
import { enginePlatform } from './quick-crypto.ts';
import type { Platform } from './types.ts';

/** The React Native platform as one object. */
export const platform: Platform = enginePlatform(QuickCrypto, 'react-native');

export const {
  aesGcm,
  pbkdf2Sha256,
  pbkdf2Sha512,
  deflate,
  inflate,
  zstdCompress,
  zstdCompressAvailable,
  zstdDecompress,
  base64Decode,
  base64Encode,
  hmacSha256,
  sha256,
} = platform;
