/**
 * STREAM chunked encryption (FORMAT.md §5.4), the shape of age's payload and C2SP's
 * chunked encryption: fixed 64 KiB chunks, AES-256-GCM, nonce = 11-byte big-endian
 * counter || last-chunk flag. The decoder reads one byte ahead to know the last chunk.
 * @module
 */
import { DecryptionError } from '../errors.ts';
import type { AesGcm } from '../platform/types.ts';
import type { ByteReader } from '../stream.ts';
import { V2_MAX_CHUNKS, V2_SEALED_CHUNK_SIZE, V2_TAG_SIZE } from './constants.ts';

const EMPTY = new Uint8Array(0);

/**
 * The nonce of chunk `counter`: counter as 11 bytes big-endian || 0x01 if last else 0x00.
 * @throws RangeError once `counter` reaches `max` (never wrap a counter)
 */
export function chunkNonce(counter: number, last: boolean, max = V2_MAX_CHUNKS): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0 || counter >= max)
    throw new RangeError(`chunk counter out of range (at most ${max} chunks)`);
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  // counter < 2^53, so bytes 0..3 stay zero: bytes 4..6 take the high 21 bits.
  view.setUint32(3, Math.floor(counter / 2 ** 32));
  view.setUint32(7, counter >>> 0);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Seals a stream already cut into chunks of exactly 64 KiB (the last may be shorter or
 * absent). Holds one chunk back to know which one is last.
 * @param chunks - from `rechunk(payload, V2_CHUNK_SIZE)`
 * @param gcm - AES-256-GCM under the payload key
 * @param maxChunks - the counter limit (a parameter for tests; FORMAT.md §5.4)
 */
export async function* sealChunks(
  chunks: AsyncIterable<Uint8Array>,
  gcm: AesGcm,
  maxChunks = V2_MAX_CHUNKS,
): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array | undefined;
  let counter = 0;
  for await (const chunk of chunks) {
    if (pending) yield* parts(await gcm.seal(chunkNonce(counter++, false, maxChunks), pending));
    pending = chunk;
  }
  // An empty final chunk only when the whole payload is empty.
  yield* parts(await gcm.seal(chunkNonce(counter, true, maxChunks), pending ?? EMPTY));
}

/** A sealed chunk as its ciphertext then its tag: the same bytes, without joining them. */
function* parts(sealed: { ciphertext: Uint8Array; tag: Uint8Array }): Generator<Uint8Array> {
  if (sealed.ciphertext.length > 0) yield sealed.ciphertext;
  yield sealed.tag;
}

/**
 * Opens sealed chunks from `reader` (positioned after the header) and yields each
 * plaintext chunk only after its tag verified. Every failure, including truncation,
 * trailing data, a non-first empty final chunk and counter overflow, is the one opaque
 * DecryptionError (FORMAT.md §5.6); errors from the source itself pass through.
 * @param reader - the file's byte reader
 * @param gcm - AES-256-GCM under the payload key
 * @param maxChunks - the counter limit (a parameter for tests)
 */
export async function* openChunks(
  reader: ByteReader,
  gcm: AesGcm,
  maxChunks = V2_MAX_CHUNKS,
): AsyncGenerator<Uint8Array> {
  for (let counter = 0; ; counter++) {
    if (counter >= maxChunks) throw new DecryptionError();
    const sealed = await reader.read(V2_SEALED_CHUNK_SIZE);
    // One byte of look-ahead: a full chunk is the last one only if nothing follows it.
    const last = sealed.length < V2_SEALED_CHUNK_SIZE || (await reader.atEnd());
    if (sealed.length < V2_TAG_SIZE) throw new DecryptionError(); // missing final chunk
    if (last && sealed.length === V2_TAG_SIZE && counter > 0) throw new DecryptionError();
    let plaintext: Uint8Array;
    try {
      plaintext = await gcm.decrypt(chunkNonce(counter, last, maxChunks), sealed);
    } catch {
      throw new DecryptionError();
    }
    yield plaintext;
    if (last) return;
  }
}
