/**
 * zlib "deflate" (RFC 1950) in JavaScript, for engines that have neither node:zlib nor
 * CompressionStream (React Native's Hermes): pako's port of zlib, driven through its
 * low-level z_stream API so that the end of the stream, the ADLER32 check and any byte
 * after it are zlib's own verdicts (FORMAT.md §5). pako's default match finder gives the
 * same bytes as Node's zlib at every level (checked in the React Native package's tests),
 * so writers here produce what the Node platform would for one stream.
 * @module
 */
import {
  Z_FINISH,
  Z_NO_FLUSH,
  Z_OK,
  Z_STREAM_END,
  ZStream,
  zlibDeflate,
  zlibDeflateEnd,
  zlibDeflateInit2,
  zlibInflate,
  zlibInflateEnd,
  zlibInflateInit2,
} from 'pako';
import {
  checkCap,
  checkLevel,
  checkOutput,
  DEFLATE_SLICE,
  inflateSliceSize,
  slices,
} from './common.ts';
import type { DeflateOptions, InflateOptions } from './types.ts';

/** Output buffer per engine step: what one step can add to memory. */
const OUT_CHUNK = 64 * 1024;
/** windowBits 15 with no +32: the zlib wrapper only (a gzip header is refused). */
const ZLIB_WINDOW_BITS = 15;
/** zlib's Z_DEFLATED method and default memLevel (8), as node:zlib uses them. */
const Z_DEFLATED = 8;
const MEM_LEVEL = 8;
const Z_DEFAULT_STRATEGY = 0;
/** zlib's Z_BUF_ERROR: no progress possible (not an error when the input is drained). */
const Z_BUF_ERROR = -5;

/** Runs the engine over `strm`'s current input; returns every full or final output. */
function drain(strm: ZStream, step: (s: ZStream) => number, out: Uint8Array[]): { status: number } {
  for (;;) {
    if (strm.avail_out === 0) {
      strm.output = new Uint8Array(OUT_CHUNK);
      strm.next_out = 0;
      strm.avail_out = OUT_CHUNK;
    }
    const status = step(strm);
    if (strm.avail_out === 0 || (status === Z_STREAM_END && strm.next_out > 0)) {
      out.push(strm.output.subarray(0, strm.next_out));
      strm.avail_out = 0;
    }
    if (status === Z_STREAM_END) return { status };
    if (status !== Z_OK && status !== Z_BUF_ERROR) return { status };
    // More output pending only while the buffer filled up; otherwise the input is spent.
    if (strm.avail_out !== 0 && strm.avail_in === 0) return { status };
    if (status === Z_BUF_ERROR && strm.avail_out !== 0) return { status };
  }
}

/**
 * zlib "deflate" (RFC 1950) compression as an async transform, one zlib stream.
 * @param source - the bytes to compress, in chunks of any size
 * @param opts - `level`: 1 (fastest) to 9 (smallest), default 6
 * @returns the compressed stream
 * @throws RangeError / TypeError (at call time) for a bad level; whatever `source` throws
 * @example
 * ```ts
 * const z = await collect(deflate(fromBytes(data), { level: 6 }));
 * ```
 */
export function deflate(
  source: AsyncIterable<Uint8Array>,
  opts?: DeflateOptions,
): AsyncGenerator<Uint8Array> {
  const level = checkLevel(opts?.level);
  return (async function* () {
    const strm = new ZStream();
    const init = zlibDeflateInit2(
      strm,
      level,
      Z_DEFLATED,
      ZLIB_WINDOW_BITS,
      MEM_LEVEL,
      Z_DEFAULT_STRATEGY,
    );
    if (init !== Z_OK) throw new Error(`zlib: deflate init failed (${strm.msg || init})`);
    strm.avail_out = 0;
    try {
      const out: Uint8Array[] = [];
      for await (const part of slices(source, () => DEFLATE_SLICE, { fed: 0 })) {
        strm.input = part;
        strm.next_in = 0;
        strm.avail_in = part.length;
        const { status } = drain(strm, (s) => zlibDeflate(s, Z_NO_FLUSH), out);
        if (status !== Z_OK && status !== Z_BUF_ERROR) throw new Error(`zlib: ${strm.msg}`);
        yield* out.splice(0);
      }
      strm.input = new Uint8Array(0);
      strm.next_in = 0;
      strm.avail_in = 0;
      const { status } = drain(strm, (s) => zlibDeflate(s, Z_FINISH), out);
      if (status !== Z_STREAM_END) throw new Error(`zlib: deflate did not finish (${strm.msg})`);
      yield* out.splice(0);
    } finally {
      zlibDeflateEnd(strm);
    }
  })();
}

/**
 * zlib "deflate" (RFC 1950) decompression with an output cap. The engine decodes a whole
 * slice at a time, so input is fed in slices sized from the remaining budget: one slice
 * can never overshoot the cap by more than 66 KiB.
 * @param source - the compressed stream
 * @param opts - `maxOutputBytes`: the cap on decompressed bytes
 * @returns the decompressed bytes
 * @throws LimitExceededError past the cap (having yielded at most the cap); Error for a
 *   corrupt or truncated stream, a gzip or raw stream, or data after its end; whatever
 *   `source` throws
 * @example
 * ```ts
 * const data = await collect(inflate(fromBytes(z), { maxOutputBytes: 1 << 20 }));
 * ```
 */
export async function* inflate(
  source: AsyncIterable<Uint8Array>,
  opts: InflateOptions,
): AsyncGenerator<Uint8Array> {
  const max = opts?.maxOutputBytes;
  checkCap(max);
  const strm = new ZStream();
  const init = zlibInflateInit2(strm, ZLIB_WINDOW_BITS);
  if (init !== Z_OK) throw new Error(`zlib: inflate init failed (${strm.msg || init})`);
  strm.avail_out = 0;
  let produced = 0;
  let ended = false;
  try {
    const out: Uint8Array[] = [];
    for await (const part of slices(source, () => inflateSliceSize(max - produced), { fed: 0 })) {
      // RFC 1950 allows nothing after ADLER32; FORMAT.md §5 makes decoders reject it.
      if (ended) throw new Error('zlib: data after the end of the stream');
      strm.input = part;
      strm.next_in = 0;
      strm.avail_in = part.length;
      const { status } = drain(strm, (s) => zlibInflate(s, Z_NO_FLUSH), out);
      for (const chunk of out.splice(0)) {
        produced = checkOutput(produced, chunk.length, max);
        yield chunk;
      }
      if (status === Z_STREAM_END) {
        ended = true;
        if (strm.avail_in > 0) throw new Error('zlib: data after the end of the stream');
      } else if (status !== Z_OK && status !== Z_BUF_ERROR)
        throw new Error(`zlib: ${strm.msg || 'corrupt stream'}`);
    }
    if (!ended) throw new Error('zlib: unexpected end of the stream');
  } finally {
    zlibInflateEnd(strm);
  }
}
