/**
 * Small helpers over `AsyncIterable<Uint8Array>`, the byte-stream shape every format in
 * `core` reads and writes. Chunks may have any size; helpers avoid copies where they can
 * (subarrays of the source's chunks), so a source must not modify a chunk after yielding
 * it (Node streams, `fetch` bodies and the generators here all satisfy this).
 * @module
 */
import { abytes, aint } from './bytes.ts';
import { LimitExceededError } from './errors.ts';

/**
 * Concatenates a whole stream into one buffer.
 * @param source - the stream
 * @param maxBytes - optional cap; past it, LimitExceededError
 * @returns all bytes, in order
 * @throws TypeError if a chunk is not a Uint8Array; LimitExceededError past `maxBytes`
 * @example
 * ```ts
 * const all = await collect(fromBytes(utf8ToBytes('abc'), 1)); // 61 62 63
 * ```
 */
export async function collect(
  source: AsyncIterable<Uint8Array>,
  maxBytes = Number.MAX_SAFE_INTEGER,
): Promise<Uint8Array> {
  aint('maxBytes', maxBytes, 0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    abytes('chunk', chunk);
    total += chunk.length;
    if (total > maxBytes) throw new LimitExceededError(`stream exceeds ${maxBytes} bytes`);
    parts.push(chunk);
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * A stream over one buffer, in subarrays of `chunkSize` bytes (no copies).
 * @param bytes - the data; an empty buffer gives an empty stream
 * @param chunkSize - bytes per chunk (default 64 KiB)
 * @returns an async generator of subarrays
 * @throws TypeError / RangeError for bad arguments
 * @example
 * ```ts
 * for await (const c of fromBytes(data, 4096)) send(c);
 * ```
 */
export function fromBytes(bytes: Uint8Array, chunkSize = 65536): AsyncGenerator<Uint8Array> {
  abytes('bytes', bytes);
  aint('chunkSize', chunkSize, 1);
  return (async function* () {
    for (let off = 0; off < bytes.length; off += chunkSize)
      yield bytes.subarray(off, Math.min(bytes.length, off + chunkSize));
  })();
}

/**
 * Re-chunks a stream into chunks of exactly `size` bytes; only the last chunk may be
 * shorter, and no chunk is empty. Chunks that lie inside one source chunk are subarrays
 * of it; others are assembled in a fresh buffer.
 * @param source - the stream
 * @param size - the chunk size in bytes
 * @returns an async generator of chunks
 * @throws TypeError if a source chunk is not a Uint8Array
 * @example
 * ```ts
 * for await (const c of rechunk(source, 65536)) seal(c);
 * ```
 */
export async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  aint('size', size, 1);
  let buf: Uint8Array | undefined;
  let fill = 0;
  for await (const chunk of source) {
    abytes('chunk', chunk);
    let off = 0;
    if (buf) {
      const n = Math.min(size - fill, chunk.length);
      buf.set(chunk.subarray(0, n), fill);
      fill += n;
      off = n;
      if (fill < size) continue;
      yield buf;
      buf = undefined;
      fill = 0;
    }
    for (; chunk.length - off >= size; off += size) yield chunk.subarray(off, off + size);
    if (off < chunk.length) {
      buf = new Uint8Array(size);
      buf.set(chunk.subarray(off));
      fill = chunk.length - off;
    }
  }
  if (buf) yield buf.subarray(0, fill);
}

/** Reads exact byte counts from a stream (see {@link byteReader}). */
export interface ByteReader {
  /**
   * Reads up to `n` bytes: exactly `n` unless the stream ends first. A subarray of the
   * source chunk when it holds all `n` bytes, otherwise a fresh buffer, or a view of
   * `into` when given (at least `n` bytes: a caller done with each read before the next
   * reuses one buffer instead of allocating one per read).
   */
  read(n: number, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * Reads `n` bytes without waiting, only if the current source chunk already holds them
   * and `ahead` more (then a subarray of it); otherwise reads nothing and returns
   * undefined. A decoder's fast path: no promise when the data is already there.
   */
  readBuffered(n: number, ahead?: number): Uint8Array | undefined;
  /** True when no byte is left (pulls one more source chunk if needed). */
  atEnd(): Promise<boolean>;
  /**
   * Drops buffered bytes and stops the source early (calls its `return`); later reads
   * see the end. Safe to call more than once.
   */
  close(): Promise<void>;
}

/**
 * Wraps a stream for exact-size reads and one-byte look-ahead, as chunked decoders need
 * (FORMAT.md §5.4: the decoder must know whether a chunk is the last one).
 * @param source - the stream; its iterator is taken once, now
 * @returns a {@link ByteReader}
 * @example
 * ```ts
 * const r = byteReader(source);
 * const header = await r.read(92);
 * const last = await r.atEnd();
 * ```
 */
export function byteReader(source: AsyncIterable<Uint8Array>): ByteReader {
  const it = source[Symbol.asyncIterator]();
  let cur: Uint8Array = new Uint8Array(0);
  let pos = 0;
  let ended = false;
  const pull = async (): Promise<boolean> => {
    while (!ended && pos >= cur.length) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      abytes('chunk', r.value);
      cur = r.value;
      pos = 0;
    }
    return pos < cur.length;
  };
  return {
    async read(n, into) {
      aint('n', n, 0);
      if (into !== undefined && !(into instanceof Uint8Array && into.length >= n))
        throw new RangeError(`into must be a Uint8Array of at least ${n} bytes`);
      if (!(await pull()) || n === 0) return new Uint8Array(0);
      if (cur.length - pos >= n) {
        const out = cur.subarray(pos, pos + n);
        pos += n;
        return out;
      }
      const out = into ?? new Uint8Array(n);
      let fill = 0;
      while (fill < n && (await pull())) {
        const k = Math.min(n - fill, cur.length - pos);
        out.set(cur.subarray(pos, pos + k), fill);
        pos += k;
        fill += k;
      }
      return fill === n ? out : out.subarray(0, fill);
    },
    readBuffered(n, ahead = 0) {
      if (cur.length - pos < n + ahead) return undefined;
      const out = cur.subarray(pos, pos + n);
      pos += n;
      return out;
    },
    async atEnd() {
      return !(await pull());
    },
    async close() {
      cur = new Uint8Array(0);
      pos = 0;
      if (ended) return;
      ended = true;
      await it.return?.();
    },
  };
}
