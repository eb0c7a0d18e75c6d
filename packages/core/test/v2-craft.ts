/**
 * Builds v2 files by hand, with the key, for negative cases an honest writer never
 * produces (a valid MAC over a bad header, a bad zlib stream inside valid chunks…).
 * Uses the format's own parts, so each crafted file breaks exactly one rule.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { platform } from '#platform';
import { concatBytes } from '../src/bytes.ts';
import { collect, fromBytes, rechunk } from '../src/stream.ts';
import { chunkNonce, sealChunks } from '../src/v2/chunks.ts';
import { V2_CHUNK_SIZE, V2_HEADER_LENGTH, V2_SEALED_CHUNK_SIZE } from '../src/v2/constants.ts';
import { deriveFileKeys, encodeHeader, type V2HeaderFields } from '../src/v2/header.ts';
import { CREATED_AT, KEY } from './v2-helpers.ts';

export const NONCE = new Uint8Array(32).fill(0x5a);

export const FIELDS: V2HeaderFields = {
  compression: 'none',
  payloadKind: 'raw',
  createdAt: CREATED_AT.getTime(),
  sequence: 9n,
};

/** A header with a valid MAC under KEY. */
export function header(fields: Partial<V2HeaderFields> = {}): Uint8Array {
  const { headerKey } = deriveFileKeys(KEY, NONCE);
  return encodeHeader({ ...FIELDS, ...fields }, NONCE, headerKey);
}

/** Recomputes the MAC of a (modified) header under KEY. */
export function remac(h: Uint8Array): Uint8Array {
  const out = h.slice();
  const { headerKey } = deriveFileKeys(KEY, out.subarray(28, 60));
  out.set(hmac(sha256, headerKey, out.subarray(0, 60)), 60);
  return out;
}

/** AES-GCM under the payload key of NONCE. */
export function payloadGcm() {
  return platform.aesGcm(deriveFileKeys(KEY, NONCE).payloadKey);
}

/** Seals `payload` as the honest writer would (no compression applied here). */
export async function sealed(payload: Uint8Array): Promise<Uint8Array> {
  return collect(sealChunks(rechunk(fromBytes(payload), V2_CHUNK_SIZE), payloadGcm()));
}

/** Seals one chunk with an explicit counter and last flag. */
export function sealOne(counter: number, last: boolean, chunk: Uint8Array): Promise<Uint8Array> {
  return payloadGcm().encrypt(chunkNonce(counter, last), chunk);
}

/** A whole file: a valid header with these fields and `payload` sealed honestly. */
export async function craft(
  payload: Uint8Array,
  fields: Partial<V2HeaderFields> = {},
): Promise<Uint8Array> {
  return concatBytes(header(fields), await sealed(payload));
}

/** Splits a file into header and sealed chunks. */
export function split(file: Uint8Array): { head: Uint8Array; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  for (let off = V2_HEADER_LENGTH; off < file.length; off += V2_SEALED_CHUNK_SIZE)
    chunks.push(file.subarray(off, Math.min(file.length, off + V2_SEALED_CHUNK_SIZE)));
  return { head: file.subarray(0, V2_HEADER_LENGTH), chunks };
}
