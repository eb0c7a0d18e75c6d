/**
 * The v2 header (FORMAT.md §5.3): encoding, keyless parsing, and the header MAC that
 * commits to the key (FORMAT.md §5.2, §6.2).
 * @module
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, equalBytes, utf8ToBytes, wipe } from '../bytes.ts';
import {
  NotABackupError,
  UnsupportedPayloadKindError,
  UnsupportedVersionError,
} from '../errors.ts';
import {
  V2_HEADER_LABEL,
  V2_HEADER_LENGTH,
  V2_HEADER_MAC_OFFSET,
  V2_MAGIC,
  V2_MAX_CREATED_AT,
  V2_PAYLOAD_LABEL,
  V2_VERSION,
} from './constants.ts';

/**
 * What a one-object backup's payload is, so a restore knows how to unpack it (FORMAT.md
 * §5.3).
 */
export type PayloadKind = 'raw' | 'tar' | 'zip';
/**
 * Every payload kind of a v2 file: a one-object backup's, or an incremental backup's
 * pack or manifest (FORMAT.md §5.3, §8.1).
 */
export type V2PayloadKind = PayloadKind | 'pack' | 'manifest';
/** How the payload was compressed before encryption. */
export type V2Compression = 'none' | 'deflate' | 'zstd';

/** A parsed v2 header. Authenticated only when it came from `openV2`. */
export interface V2Header {
  version: 2;
  compression: V2Compression;
  payloadKind: V2PayloadKind;
  /** When the backup was made (millisecond precision). */
  createdAt: Date;
  /** The writer's backup counter, for rollback detection (FORMAT.md §6.6). */
  sequence: bigint;
  /** The per-file 32-byte nonce (a copy). */
  nonce: Uint8Array;
  /** Bytes the header occupies at the start of the file. */
  headerLength: number;
}

/** The fields a writer chooses. */
export interface V2HeaderFields {
  compression: V2Compression;
  payloadKind: V2PayloadKind;
  createdAt: number;
  sequence: bigint;
}

// FORMAT.md §5.3: the compression byte's values, in order.
const COMPRESSION: readonly V2Compression[] = ['none', 'deflate', 'zstd'];
/** FORMAT.md §5.3: the payload kind byte's values, in order. */
export const V2_PAYLOAD_KINDS: readonly V2PayloadKind[] = ['raw', 'tar', 'zip', 'pack', 'manifest'];

/**
 * True if `prefix` starts with the v2 magic (whatever the version byte says: a newer
 * version is still "v2-shaped" and `openV2` then throws UnsupportedVersionError).
 * @param prefix - the first bytes of a file (at least 8 to answer true)
 * @returns whether the magic matches
 * @throws TypeError if `prefix` is not a Uint8Array
 * @example
 * ```ts
 * if (isV2(firstBytes)) await openV2(source, { key });
 * ```
 */
export function isV2(prefix: Uint8Array): boolean {
  abytes('prefix', prefix);
  return prefix.length >= V2_MAGIC.length && equalBytes(prefix.subarray(0, 8), V2_MAGIC);
}

/**
 * Checks magic and version: the two checks made before anything is authenticated.
 * @throws NotABackupError for a wrong or short magic; UnsupportedVersionError for
 *   another version byte
 */
export function checkMagicAndVersion(bytes: Uint8Array): void {
  if (!isV2(bytes)) throw new NotABackupError();
  const version = bytes[8];
  if (version !== undefined && version !== V2_VERSION) throw new UnsupportedVersionError(version);
}

/**
 * Decodes the fields of a whole header (FORMAT.md §5.3, §5.6 checks 4–7). No MAC check.
 * @throws NotABackupError for a value this version does not define;
 *   UnsupportedPayloadKindError for a payload kind it does not define
 */
export function decodeHeader(bytes: Uint8Array): V2Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, V2_HEADER_LENGTH);
  const compression = COMPRESSION[bytes[9]!];
  const payloadKind = V2_PAYLOAD_KINDS[bytes[10]!];
  const createdAt = view.getBigUint64(12);
  const malformed = (what: string) => new NotABackupError(`malformed v2 header: ${what}`);
  if (!compression) throw malformed('unknown compression');
  // A kind this version does not define was written by a newer writer holding the key.
  if (!payloadKind) throw new UnsupportedPayloadKindError(bytes[10]!);
  if (bytes[11] !== 0) throw malformed('reserved byte is not zero');
  if (createdAt > BigInt(V2_MAX_CREATED_AT)) throw malformed('created_at out of range');
  return {
    version: 2,
    compression,
    payloadKind,
    createdAt: new Date(Number(createdAt)),
    sequence: view.getBigUint64(20),
    nonce: bytes.slice(28, 60),
    headerLength: V2_HEADER_LENGTH,
  };
}

/**
 * Parses a v2 header without a key, for `inspect`. Nothing in it is authenticated until
 * `openV2` has verified the MAC.
 * @param bytes - the start of a v2 file (at least 92 bytes; more is ignored)
 * @returns the header fields
 * @throws NotABackupError (wrong magic, short or malformed header);
 *   UnsupportedVersionError (another version byte); TypeError if not a Uint8Array
 * @example
 * ```ts
 * const { createdAt, sequence } = parseV2Header(firstBytes);
 * ```
 */
export function parseV2Header(bytes: Uint8Array): V2Header {
  abytes('bytes', bytes);
  checkMagicAndVersion(bytes);
  if (bytes.length < V2_HEADER_LENGTH) throw new NotABackupError('v2 header is truncated');
  return decodeHeader(bytes);
}

/** The per-file keys (FORMAT.md §5.2). The caller owns and wipes them. */
export function deriveFileKeys(
  rootKey: Uint8Array,
  nonce: Uint8Array,
): { headerKey: Uint8Array; payloadKey: Uint8Array } {
  return {
    headerKey: hkdf(sha256, rootKey, nonce, utf8ToBytes(V2_HEADER_LABEL), 32),
    payloadKey: hkdf(sha256, rootKey, nonce, utf8ToBytes(V2_PAYLOAD_LABEL), 32),
  };
}

/** HMAC(header_key, header[0..60)) (FORMAT.md §5.3). */
function headerMac(headerKey: Uint8Array, header: Uint8Array): Uint8Array {
  return hmac(sha256, headerKey, header.subarray(0, V2_HEADER_MAC_OFFSET));
}

/**
 * Builds a complete header, MAC included.
 * @param headerKey - from {@link deriveFileKeys}
 */
export function encodeHeader(
  fields: V2HeaderFields,
  nonce: Uint8Array,
  headerKey: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(V2_HEADER_LENGTH);
  const view = new DataView(out.buffer);
  out.set(V2_MAGIC, 0);
  out[8] = V2_VERSION;
  out[9] = COMPRESSION.indexOf(fields.compression);
  out[10] = V2_PAYLOAD_KINDS.indexOf(fields.payloadKind);
  out[11] = 0; // reserved
  view.setBigUint64(12, BigInt(fields.createdAt));
  view.setBigUint64(20, fields.sequence);
  out.set(nonce, 28);
  out.set(headerMac(headerKey, out), V2_HEADER_MAC_OFFSET);
  return out;
}

/** Constant-time check of the header MAC (FORMAT.md §5.6 item 3). */
export function verifyHeaderMac(headerKey: Uint8Array, header: Uint8Array): boolean {
  const expected = headerMac(headerKey, header);
  const ok = equalBytes(expected, header.subarray(V2_HEADER_MAC_OFFSET, V2_HEADER_LENGTH));
  wipe(expected);
  return ok;
}
