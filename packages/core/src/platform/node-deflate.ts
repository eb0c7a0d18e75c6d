/**
 * Parallel zlib compression for the Node.js platform, as pigz does it: the input is cut
 * into segments, each deflated on libuv's thread pool with the previous 32 KiB of input
 * as its dictionary and ended by a sync flush (the last by Z_FINISH), and the raw DEFLATE
 * pieces are joined behind one zlib header and followed by the Adler-32 of the whole
 * input. The result is one ordinary RFC 1950 stream (FORMAT.md §5.4): any inflater reads
 * it. Part of the Node platform (with `node.ts`, the only files in `core` that may touch
 * Node APIs).
 * @module
 */
import {
  constants,
  deflate as deflateCb,
  deflateRaw as deflateRawCb,
  type ZlibOptions,
} from 'node:zlib';
import { abytes } from '../bytes.ts';
import { adler32, checkLevel } from './common.ts';
import type { DeflateOptions } from './types.ts';

/**
 * Input bytes per segment: the smallest size with the lowest time and CPU time on a
 * wallet's tar (`npm run bench -- format`, bench/format.bench.ts); larger segments only
 * add memory in flight. An input of at most one segment is
 * compressed in one piece, byte for byte as `zlib.deflateSync(data, { level })`.
 */
export const DEFLATE_SEGMENT = 1024 * 1024;
/**
 * Segments being compressed at once: enough to keep 2–3 cores busy (fewer is slower on
 * 2 cores, more gains nothing: bench/format.bench.ts), libuv's default pool of 4 threads
 * keeping one for file I/O. Memory in flight: about 2 MiB per segment.
 */
export const DEFLATE_IN_FLIGHT = 3;
/** DEFLATE's window (RFC 1951 §2): how far back a segment's matches may reach. */
const WINDOW = 32 * 1024;

/** One segment compressed: the parts to yield, in order. */
type Job = Promise<Uint8Array[]>;

function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Runs one node:zlib one-shot call on the thread pool. */
function zlibJob(fn: typeof deflateCb, input: Uint8Array, opts: ZlibOptions): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    fn(input, opts, (err, out) => (err ? reject(err) : resolve(view(out))));
  });
}

/**
 * The zlib header (RFC 1950 §2.2) zlib itself writes for `level`: CM = 8 with a 32 KiB
 * window (CMF 0x78), FLEVEL as in zlib's deflate.c, FCHECK making CMF·256 + FLG a
 * multiple of 31, FDICT = 0 (the segments' dictionaries are internal to the stream).
 */
export function zlibHeader(level: number): Uint8Array {
  const flevel = level < 2 ? 0 : level < 6 ? 1 : level === 6 ? 2 : 3;
  const cmf = 0x78;
  let flg = flevel << 6;
  flg += 31 - ((cmf * 256 + flg) % 31);
  return Uint8Array.of(cmf, flg);
}

/** ADLER32 as the stream trailer: big-endian (RFC 1950 §2.2). */
function trailer(adler: number): Uint8Array {
  return Uint8Array.of(adler >>> 24, (adler >>> 16) & 0xff, (adler >>> 8) & 0xff, adler & 0xff);
}

/**
 * Cuts the source into segment-size buffers (never empty; the last may be short), taken
 * from `pool` when it has one. Always copies: a segment outlives the source chunk it came
 * from (it is compressed on another thread).
 */
async function* segments(
  source: AsyncIterable<Uint8Array>,
  size: number,
  pool: Uint8Array[],
): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array | undefined;
  let fill = 0;
  for await (const chunk of source) {
    abytes('chunk', chunk);
    for (let off = 0; off < chunk.length; ) {
      buf ??= pool.pop() ?? new Uint8Array(size);
      const n = Math.min(size - fill, chunk.length - off);
      buf.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        buf = undefined;
        fill = 0;
      }
    }
  }
  if (buf) yield buf.subarray(0, fill);
}

/**
 * zlib "deflate" (RFC 1950) compression of an async byte stream, segments in parallel
 * on libuv's thread pool, at most {@link DEFLATE_IN_FLIGHT} at once: memory is constant
 * at any input size. Output is in input order. An input of at most one segment gives
 * exactly `zlib.deflateSync(data, { level })`; a longer one differs from single-stream
 * zlib (a sync-flush marker per segment, matches never reaching into the segment before
 * the previous one's last 32 KiB) but inflates to the same bytes everywhere.
 * @param source - the bytes to compress, in chunks of any size
 * @param opts - `level`: 1 (fastest) to 9 (smallest), default 6
 * @returns the compressed stream, one or more chunks per segment
 * @throws RangeError / TypeError (at call time) for a bad level; whatever `source`
 *   throws (after the segments in flight have finished, so nothing keeps running)
 * @example
 * ```ts
 * const z = await collect(deflate(fromBytes(data), { level: 1 }));
 * ```
 */
export function deflate(
  source: AsyncIterable<Uint8Array>,
  opts?: DeflateOptions,
): AsyncGenerator<Uint8Array> {
  const level = checkLevel(opts?.level);
  // Segment buffers go back to the pool once compressed: a few 1 MiB buffers for the
  // whole input instead of one per MiB, which the garbage collector frees late (buffers
  // that live through two scavenges wait for a full collection): ~10 MiB less peak RSS.
  const pool: Uint8Array[] = [];
  return deflateSegments(segments(source, DEFLATE_SEGMENT, pool), level, (seg) => {
    if (seg.length === DEFLATE_SEGMENT && pool.length <= DEFLATE_IN_FLIGHT) pool.push(seg);
  });
}

async function* deflateSegments(
  segs: AsyncGenerator<Uint8Array>,
  level: number,
  release: (seg: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  const jobs: Job[] = [];
  let adler = 1;
  let index = 0;
  let dictionary: Uint8Array | undefined;

  /** Starts compressing one segment; `last` once the source has ended after it. */
  const launch = (seg: Uint8Array, last: boolean) => {
    let job: Job;
    if (index === 0 && last) {
      // The whole input in one piece: zlib's own stream, header and trailer included.
      job = zlibJob(deflateCb, seg, { level, chunkSize: outputSize(seg.length) }).then((z) => [z]);
    } else {
      const body = zlibJob(deflateRawCb, seg, {
        level,
        chunkSize: outputSize(seg.length),
        finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        ...(dictionary ? { dictionary } : {}),
      });
      // Adler-32 on this thread while the pool compresses (about 1 ms per MiB).
      adler = adler32(adler, seg);
      const head = index === 0 ? [zlibHeader(level)] : [];
      const tail = last ? [trailer(adler)] : [];
      job = body.then((z) => [...head, z, ...tail]);
    }
    job.catch(() => {}); // awaited in order below, or abandoned by finally
    jobs.push(job);
    // zlib has read the dictionary at init; this one is a copy, as `seg` goes back to
    // the pool (and is refilled) as soon as its job is done.
    dictionary = seg.slice(Math.max(0, seg.length - WINDOW));
    job.then(
      () => release(seg),
      () => {},
    );
    index++;
  };

  let ended = false;
  let finished = false;
  try {
    // One segment is held back until the next one starts (or the source ends): only
    // then is it known whether it is the last.
    let held: Uint8Array | undefined;
    while (!ended || jobs.length > 0) {
      while (!ended && jobs.length < DEFLATE_IN_FLIGHT) {
        const r = await segs.next();
        if (r.done) {
          ended = true;
          launch(held ?? new Uint8Array(0), true);
        } else {
          if (held) launch(held, false);
          held = r.value;
        }
      }
      const parts = await jobs.shift()!;
      for (const part of parts) if (part.length > 0) yield part;
    }
    finished = true;
  } finally {
    if (!finished) {
      // A source error, a zlib error or the consumer's early return: close the source
      // (a no-op once it has ended) and let the segments on the pool finish unobserved.
      await segs.return(undefined).catch(() => {});
      await Promise.allSettled(jobs);
    }
  }
}

/**
 * node:zlib's output buffer for one segment: DEFLATE's worst case (zlib's deflateBound,
 * plus a sync-flush marker and the header), so one pool job compresses the whole segment
 * without a round trip to this thread per buffer filled.
 */
function outputSize(n: number): number {
  return n + (n >>> 12) + (n >>> 14) + 64;
}
