/**
 * STREAM chunked encryption (FORMAT.md §5.4), the shape of age's payload and C2SP's
 * chunked encryption: fixed 256 KiB chunks, AES-256-GCM, nonce = 11-byte big-endian
 * counter || last-chunk flag. The decoder reads one byte ahead to know the last chunk.
 * @module
 */
import { abytes } from '../bytes.ts';
import { DecryptionError } from '../errors.ts';
import type { AesGcm } from '../platform/types.ts';
import type { ByteReader } from '../stream.ts';
import { V2_CHUNK_SIZE, V2_MAX_CHUNKS, V2_SEALED_CHUNK_SIZE, V2_TAG_SIZE } from './constants.ts';

const EMPTY = new Uint8Array(0);

/**
 * The nonce of chunk `counter`: counter as 11 bytes big-endian || 0x01 if last else 0x00.
 * @param out - 12 bytes to write it into (a fresh buffer if absent)
 * @throws RangeError once `counter` reaches `max` (never wrap a counter)
 */
export function chunkNonce(
  counter: number,
  last: boolean,
  max = V2_MAX_CHUNKS,
  out = new Uint8Array(12),
): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0 || counter >= max)
    throw new RangeError(`chunk counter out of range (at most ${max} chunks)`);
  // counter < 2^53, so bytes 0..3 stay zero: bytes 4..6 take the high 21 bits.
  const high = Math.floor(counter / 2 ** 32);
  const low = counter >>> 0;
  out[0] = out[1] = out[2] = 0;
  out[3] = high >>> 24;
  out[4] = (high >>> 16) & 0xff;
  out[5] = (high >>> 8) & 0xff;
  out[6] = high & 0xff;
  out[7] = low >>> 24;
  out[8] = (low >>> 16) & 0xff;
  out[9] = (low >>> 8) & 0xff;
  out[10] = low & 0xff;
  out[11] = last ? 1 : 0;
  return out;
}

/**
 * Cuts the payload into 256 KiB chunks and seals them (FORMAT.md §5.4). A chunk that lies
 * inside one source chunk is sealed from a subarray of it; only chunks that straddle
 * source chunks are assembled in a buffer. Holds one full chunk back to know which one is
 * last. With a synchronous engine (`gcm.sealSync`), every whole chunk of a source chunk is
 * sealed in the same step, with one nonce buffer.
 * @param payload - the payload, in chunks of any size
 * @param gcm - AES-256-GCM under the payload key
 * @param maxChunks - the counter limit (a parameter for tests; FORMAT.md §5.4)
 */
export async function* sealChunks(
  payload: AsyncIterable<Uint8Array>,
  gcm: AesGcm,
  maxChunks = V2_MAX_CHUNKS,
): AsyncGenerator<Uint8Array> {
  const nonce = new Uint8Array(12);
  let counter = 0;
  const seal = (chunk: Uint8Array, last: boolean) =>
    gcm.sealSync
      ? gcm.sealSync(chunkNonce(counter++, last, maxChunks, nonce), chunk)
      : gcm.seal(chunkNonce(counter++, last, maxChunks), chunk);
  const cutter = chunkCutter();
  for await (const input of payload) {
    for (const chunk of cutter.cut(input)) {
      const sealed = seal(chunk, false);
      const { ciphertext, tag } = sealed instanceof Promise ? await sealed : sealed;
      yield ciphertext;
      yield tag;
    }
  }
  // An empty final chunk only when the whole payload is empty.
  const sealed = seal(cutter.rest(), true);
  const { ciphertext, tag } = sealed instanceof Promise ? await sealed : sealed;
  if (ciphertext.length > 0) yield ciphertext;
  yield tag;
}

/**
 * Cuts a stream into 256 KiB chunks, holding the latest full one back until more data
 * follows it. `cut` returns the chunks now known not to be last; `rest` the final one.
 */
function chunkCutter() {
  let pending: Uint8Array | undefined; // a full chunk; not last once more data follows
  let buf: Uint8Array | undefined; // a chunk being assembled across source chunks
  let fill = 0;
  const out: Uint8Array[] = [];
  const full = (chunk: Uint8Array) => {
    if (pending) out.push(pending);
    pending = chunk;
  };
  return {
    cut(input: Uint8Array): Uint8Array[] {
      abytes('chunk', input);
      out.length = 0;
      let off = 0;
      if (buf) {
        off = Math.min(V2_CHUNK_SIZE - fill, input.length);
        buf.set(input.subarray(0, off), fill);
        fill += off;
        if (fill < V2_CHUNK_SIZE) return out;
        full(buf);
        buf = undefined;
        fill = 0;
      }
      for (; input.length - off >= V2_CHUNK_SIZE; off += V2_CHUNK_SIZE)
        full(input.subarray(off, off + V2_CHUNK_SIZE));
      if (off < input.length) {
        if (pending) out.push(pending);
        pending = undefined;
        buf = new Uint8Array(V2_CHUNK_SIZE);
        fill = input.length - off;
        buf.set(input.subarray(off));
      }
      return out;
    },
    rest(): Uint8Array {
      return buf ? buf.subarray(0, fill) : (pending ?? EMPTY);
    },
  };
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
  const nonce = new Uint8Array(12);
  const open = (counter: number, last: boolean, sealed: Uint8Array) =>
    gcm.decryptSync
      ? gcm.decryptSync(chunkNonce(counter, last, maxChunks, nonce), sealed)
      : gcm.decrypt(chunkNonce(counter, last, maxChunks), sealed);
  // A sealed chunk split across source chunks (a download's arrive in 16-64 KiB) is
  // assembled here: its bytes are dead once `open` returns, since decrypt copies them out
  // (AesGcm.decrypt returns a new buffer), so one buffer serves every chunk.
  let scratch: Uint8Array | undefined;
  for (let counter = 0; ; counter++) {
    if (counter >= maxChunks) throw new DecryptionError();
    // Fast path: a full chunk and the byte after it already buffered, so it is not last.
    let sealed = reader.readBuffered(V2_SEALED_CHUNK_SIZE, 1);
    let last = false;
    if (!sealed) {
      scratch ??= new Uint8Array(V2_SEALED_CHUNK_SIZE);
      sealed = await reader.read(V2_SEALED_CHUNK_SIZE, scratch);
      // One byte of look-ahead: a full chunk is the last one only if nothing follows it.
      last = sealed.length < V2_SEALED_CHUNK_SIZE || (await reader.atEnd());
    }
    if (sealed.length < V2_TAG_SIZE) throw new DecryptionError(); // missing final chunk
    if (last && sealed.length === V2_TAG_SIZE && counter > 0) throw new DecryptionError();
    let plaintext: Uint8Array;
    try {
      const opened = open(counter, last, sealed);
      plaintext = opened instanceof Promise ? await opened : opened;
    } catch {
      throw new DecryptionError();
    }
    yield plaintext;
    if (last) return;
  }
}
