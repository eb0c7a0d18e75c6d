/**
 * Size arithmetic of the v2 format (FORMAT.md §5.5), for payloads stored uncompressed
 * (with compression the payload is the compressed stream, whose length is known only
 * after).
 * @module
 */
import { aint } from '../bytes.ts';
import {
  V2_CHUNK_SIZE,
  V2_HEADER_LENGTH,
  V2_MAX_CHUNKS,
  V2_SEALED_CHUNK_SIZE,
  V2_TAG_SIZE,
} from './constants.ts';

/** Largest payload a v2 file can carry: 2^32 full chunks (2^50 bytes). */
export const V2_MAX_PAYLOAD = V2_MAX_CHUNKS * V2_CHUNK_SIZE;

/**
 * Number of chunks for a payload: ⌈n / 262144⌉, and 1 for the empty payload.
 * @param payloadLength - payload bytes (after compression, if any)
 * @returns the chunk count
 * @throws RangeError past {@link V2_MAX_PAYLOAD}; TypeError if not an integer
 * @example
 * ```ts
 * v2ChunkCount(262145) // 2
 * ```
 */
export function v2ChunkCount(payloadLength: number): number {
  aint('payloadLength', payloadLength, 0, V2_MAX_PAYLOAD);
  return Math.max(1, Math.ceil(payloadLength / V2_CHUNK_SIZE));
}

/**
 * Total file size for a payload: 92 + n + 16 · chunks(n).
 * @param payloadLength - payload bytes (after compression, if any)
 * @returns the v2 file size in bytes
 * @throws RangeError past {@link V2_MAX_PAYLOAD}; TypeError if not an integer
 * @example
 * ```ts
 * v2CiphertextSize(0) // 108: header + one empty chunk's tag
 * ```
 */
export function v2CiphertextSize(payloadLength: number): number {
  return V2_HEADER_LENGTH + payloadLength + V2_TAG_SIZE * v2ChunkCount(payloadLength);
}

/**
 * The payload size a v2 file of this size carries (inverse of {@link v2CiphertextSize}).
 * @param fileLength - the file size in bytes
 * @returns the payload size
 * @throws RangeError if no valid v2 file has this size; TypeError if not an integer
 * @example
 * ```ts
 * v2PayloadSize(108) // 0
 * ```
 */
export function v2PayloadSize(fileLength: number): number {
  aint('fileLength', fileLength, 0);
  const body = fileLength - V2_HEADER_LENGTH;
  const full = Math.floor(body / V2_SEALED_CHUNK_SIZE);
  const rest = body - full * V2_SEALED_CHUNK_SIZE;
  // FORMAT.md §5.4: at least one chunk; a chunk is ≥ 16 bytes; only a lone chunk is empty.
  const valid =
    body >= V2_TAG_SIZE &&
    (rest === 0 || rest > V2_TAG_SIZE || (rest === V2_TAG_SIZE && full === 0)) &&
    full + (rest > 0 ? 1 : 0) <= V2_MAX_CHUNKS;
  if (!valid) throw new RangeError(`${fileLength} bytes is not the size of a v2 file`);
  return full * V2_CHUNK_SIZE + Math.max(0, rest - V2_TAG_SIZE);
}
