/**
 * Negative v2 test vectors (docs/FORMAT.md §5.6, §7): each breaks one thing of a
 * positive vector. Crafted ones (a valid MAC over a bad header, wrong chunk flags, a bad
 * zlib stream) use the format's own parts under the vectors' key.
 * @module
 */
import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../packages/core/src/bytes.ts';
import type { Keyring } from '../../packages/core/src/keys.ts';
import { platform } from '../../packages/core/src/platform/node.ts';
import { chunkNonce } from '../../packages/core/src/v2/chunks.ts';
import {
  V2_CHUNK_SIZE as C,
  V2_HEADER_LENGTH as H,
  V2_SEALED_CHUNK_SIZE as S,
} from '../../packages/core/src/v2/constants.ts';
import {
  deriveFileKeys,
  encodeHeader,
  type V2HeaderFields,
} from '../../packages/core/src/v2/header.ts';
import {
  BAD_CHECKSUM_MNEMONIC,
  CREATED_AT,
  flipBit,
  MNEMONIC,
  OTHER_MNEMONIC,
  type Vector,
} from './common.ts';

/** libzstd's one-shot compressor (single-threaded, default level): frames not made by our writer. */
const zstdOneShot = (
  createRequire(import.meta.url)('zstd-napi') as { compress(data: Uint8Array): Uint8Array }
).compress;

/** The positive v2 vectors, by name. */
export type Positives = Map<string, Vector>;

/** A negative vector derived from a positive one. */
function derive(
  base: Vector,
  name: string,
  expect: Vector['expect'],
  blob: Uint8Array,
  mutation: string,
  extra: Partial<Vector> = {},
): Vector {
  return {
    name,
    format: 'v2',
    expect,
    mnemonic: MNEMONIC,
    note: mutation,
    plaintext: base.plaintext,
    blob,
    base: base.name,
    mutation,
    maxReleasedBytes: 0,
    ...extra,
  };
}

/** Splits a v2 file into header and sealed chunks (FORMAT.md §5.4). */
function chunksOf(file: Uint8Array): { head: Uint8Array; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  for (let off = H; off < file.length; off += S)
    chunks.push(file.subarray(off, Math.min(file.length, off + S)));
  return { head: file.subarray(0, H), chunks };
}

/** The writer's parts, under the base vector's file nonce, for files no honest writer makes. */
function crafter(keyring: Keyring, base: Vector) {
  const nonce = base.blob.slice(28, 60);
  const { headerKey, payloadKey } = deriveFileKeys(keyring.v2Key(), nonce);
  const gcm = platform.aesGcm(payloadKey);
  const fields: V2HeaderFields = {
    compression: 'none',
    payloadKind: 'raw',
    createdAt: CREATED_AT.getTime(),
    sequence: 1n,
  };
  return {
    header: (f: Partial<V2HeaderFields> = {}) =>
      encodeHeader({ ...fields, ...f }, nonce, headerKey),
    /** HMAC-SHA-256(header_key, header[0..60)) into bytes 60..92 (FORMAT.md §5.3). */
    remac(header: Uint8Array): Uint8Array {
      const out = header.slice();
      out.set(hmac(sha256, headerKey, out.subarray(0, 60)), 60);
      return out;
    },
    seal: (counter: number, last: boolean, chunk: Uint8Array) =>
      gcm.encrypt(chunkNonce(counter, last), chunk),
  };
}

export function headerNegatives(keyring: Keyring, p: Positives): Vector[] {
  const base = p.get('v2-none-1')!;
  const b = base.blob;
  const flip = (name: string, expect: Vector['expect'], off: number, field: string) =>
    derive(base, name, expect, flipBit(b, off), `flipped bit 0 of byte ${off} (${field})`);
  const craft = crafter(keyring, base);
  const withByte = (i: number, v: number) => {
    const h = b.slice(0, H);
    h[i] = v;
    return concatBytes(craft.remac(h), b.subarray(H));
  };
  return [
    flip('v2-flip-magic', 'not_a_backup', 1, 'magic'),
    flip('v2-flip-version', 'unsupported_version', 8, 'version 2 -> 3'),
    flip('v2-flip-compression', 'decryption_failed', 9, 'compression'),
    flip('v2-flip-payload-kind', 'decryption_failed', 10, 'payload kind'),
    flip('v2-flip-reserved', 'decryption_failed', 11, 'reserved'),
    flip('v2-flip-created-at', 'decryption_failed', 19, 'created_at, last byte'),
    flip('v2-flip-sequence', 'decryption_failed', 27, 'sequence, last byte'),
    flip('v2-flip-nonce', 'decryption_failed', 28, 'file nonce, first byte'),
    flip('v2-flip-mac', 'decryption_failed', 91, 'header MAC, last byte'),
    flip('v2-flip-ciphertext', 'decryption_failed', H, 'ciphertext of chunk 0'),
    flip('v2-flip-tag', 'decryption_failed', -1, 'tag of chunk 0, last byte'),
    derive(
      base,
      'v2-reserved-valid-mac',
      'not_a_backup',
      withByte(11, 1),
      'reserved byte set to 1 and the header MAC recomputed with the key: a malformed header',
    ),
    derive(
      base,
      'v2-compression-valid-mac',
      'not_a_backup',
      withByte(9, 3),
      'compression byte set to 3 (undefined) and the header MAC recomputed with the key',
    ),
    derive(
      base,
      'v2-truncated-header',
      'decryption_failed',
      b.slice(0, 50),
      'truncated to 50 bytes, inside the header',
    ),
    derive(
      base,
      'v2-trailing-byte',
      'decryption_failed',
      concatBytes(b, Uint8Array.of(0)),
      'one 0x00 byte appended',
    ),
    derive(
      base,
      'v2-wrong-seedphrase',
      'decryption_failed',
      b,
      'read with another valid seedphrase',
      {
        mnemonic: OTHER_MNEMONIC,
      },
    ),
    derive(
      base,
      'v2-invalid-mnemonic',
      'invalid_mnemonic',
      b,
      'read with 12 words whose BIP39 checksum is wrong',
      {
        mnemonic: BAD_CHECKSUM_MNEMONIC,
      },
    ),
  ];
}

export async function chunkNegatives(keyring: Keyring, p: Positives): Promise<Vector[]> {
  const two = p.get(`v2-none-${C + 1}`)!; // chunks: full (not last), 1 byte (last)
  const three = p.get(`v2-none-${2 * C + 1}`)!; // full, full, 1 byte (last)
  const full = p.get(`v2-none-${C}`)!; // one full chunk (last)
  const t2 = chunksOf(two.blob);
  const t3 = chunksOf(three.blob);
  const [a, b, c] = [t3.chunks[0]!, t3.chunks[1]!, t3.chunks[2]!];
  const craft = crafter(keyring, two);
  const pt = two.plaintext;
  const crafted = async (parts: [number, boolean, Uint8Array][]) =>
    concatBytes(craft.header(), ...(await Promise.all(parts.map((x) => craft.seal(...x)))));
  return [
    derive(
      two,
      'v2-truncated-mid-chunk',
      'decryption_failed',
      two.blob.slice(0, H + 30000),
      'truncated inside chunk 0',
    ),
    derive(
      two,
      'v2-truncated-at-chunk-boundary',
      'decryption_failed',
      concatBytes(t2.head, t2.chunks[0]!),
      'cut after chunk 0: the final chunk is missing, chunk 0 is not marked last',
    ),
    derive(
      two,
      'v2-truncated-final-chunk',
      'decryption_failed',
      two.blob.slice(0, -1),
      'last byte removed: the final chunk is a lone tag',
      { maxReleasedBytes: C },
    ),
    derive(
      three,
      'v2-dropped-final-chunk',
      'decryption_failed',
      concatBytes(t3.head, a, b),
      'final chunk (2) dropped',
      { maxReleasedBytes: C },
    ),
    derive(
      three,
      'v2-chunks-reordered',
      'decryption_failed',
      concatBytes(t3.head, b, a, c),
      'chunks 0 and 1 swapped',
    ),
    derive(
      three,
      'v2-chunk-dropped',
      'decryption_failed',
      concatBytes(t3.head, a, c),
      'chunk 1 dropped',
      { maxReleasedBytes: C },
    ),
    derive(
      two,
      'v2-chunk-duplicated',
      'decryption_failed',
      concatBytes(t2.head, t2.chunks[0]!, t2.chunks[0]!, t2.chunks[1]!),
      'chunk 0 repeated',
      { maxReleasedBytes: C },
    ),
    derive(
      full,
      'v2-trailing-empty-chunk',
      'decryption_failed',
      concatBytes(full.blob, new Uint8Array(16)),
      '16 zero bytes appended after the final chunk',
    ),
    derive(
      two,
      'v2-missing-final-flag',
      'decryption_failed',
      await crafted([
        [0, false, pt.subarray(0, C)],
        [1, false, pt.subarray(C)],
      ]),
      'crafted: no chunk carries the last-chunk flag',
      { maxReleasedBytes: C },
    ),
    derive(
      two,
      'v2-early-final-flag',
      'decryption_failed',
      await crafted([
        [0, true, pt.subarray(0, C)],
        [1, true, pt.subarray(C)],
      ]),
      'crafted: chunk 0 carries the last-chunk flag and more chunks follow',
    ),
    derive(
      two,
      'v2-empty-final-chunk',
      'decryption_failed',
      await crafted([
        [0, false, pt.subarray(0, C)],
        [1, true, new Uint8Array(0)],
      ]),
      'crafted: a full chunk followed by an empty final chunk (only an empty payload may end so)',
      { maxReleasedBytes: C },
    ),
  ];
}

export async function compressionNegatives(keyring: Keyring, p: Positives): Promise<Vector[]> {
  const base = p.get('v2-none-1')!;
  const craft = crafter(keyring, base);
  const deflated = (payload: Uint8Array) =>
    craft
      .seal(0, true, payload)
      .then((c) => concatBytes(craft.header({ compression: 'deflate' }), c));
  const zstded = (payload: Uint8Array) =>
    craft.seal(0, true, payload).then((c) => concatBytes(craft.header({ compression: 'zstd' }), c));
  const z = new Uint8Array(deflateSync(base.plaintext));
  const zs = new Uint8Array(zstdOneShot(base.plaintext));
  const bomb = p.get(`v2-deflate-zeros-${4 * C}`)!;
  const zstdBomb = p.get(`v2-zstd-zeros-${4 * C}`)!;
  return [
    derive(
      base,
      'v2-deflate-corrupt',
      'decryption_failed',
      await deflated(Uint8Array.of(1, 2, 3, 4)),
      'crafted: the compression flag is set but the authenticated payload is not a zlib stream',
    ),
    derive(
      base,
      'v2-deflate-trailing-data',
      'decryption_failed',
      await deflated(concatBytes(z, Uint8Array.of(0))),
      'crafted: one byte after the end of the zlib stream, inside the authenticated payload',
      { maxReleasedBytes: 1 },
    ),
    derive(
      base,
      'v2-zstd-corrupt',
      'decryption_failed',
      await zstded(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)),
      'crafted: the compression byte says zstd but the authenticated payload is not a zstd frame',
    ),
    derive(
      base,
      'v2-zstd-truncated-frame',
      'decryption_failed',
      await zstded(zs.subarray(0, zs.length - 1)),
      'crafted: a zstd frame missing its last byte, inside the authenticated payload',
      { maxReleasedBytes: 1 },
    ),
    derive(
      base,
      'v2-zstd-trailing-data',
      'decryption_failed',
      await zstded(concatBytes(zs, Uint8Array.of(0))),
      'crafted: one byte after the end of the zstd frame, inside the authenticated payload',
      { maxReleasedBytes: 1 },
    ),
    derive(
      zstdBomb,
      'v2-zstd-over-cap',
      'limit_exceeded',
      zstdBomb.blob,
      `zstd: decompresses to ${4 * C} bytes, read with a cap of ${C}`,
      { maxPlaintextBytes: C, maxReleasedBytes: C },
    ),
    derive(
      bomb,
      'v2-over-cap',
      'limit_exceeded',
      bomb.blob,
      `decompresses to ${4 * C} bytes, read with a cap of ${C}`,
      { maxPlaintextBytes: C, maxReleasedBytes: C },
    ),
  ];
}
