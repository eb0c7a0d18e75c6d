/**
 * Zstandard (RFC 8878) for the Node.js platform, through the `zstd-napi` addon (libzstd,
 * built from source at install time): streaming compression with zstd's own worker
 * threads, and streaming decompression with a bounded output buffer and a window limit.
 * FORMAT.md §5.4: a zstd payload is one or more zstd frames. Part of the Node platform
 * (with `node.ts` and `node-deflate.ts`, the only files in `core` that may touch Node).
 *
 * The addon is loaded on first use, so a process that never touches zstd never loads it,
 * and an install where it failed to build still reads and writes deflate and stored
 * payloads (`zstdCompressAvailable` answers false; zstd itself fails with a clear error).
 * @module
 */
import { createRequire } from 'node:module';
import { abytes, aint } from '../bytes.ts';
import { UnsupportedCompressionError } from '../errors.ts';
import { checkCap, checkOutput } from './common.ts';
import type { InflateOptions, ZstdOptions } from './types.ts';

type Binding = typeof import('zstd-napi/binding');
type CCtx = InstanceType<Binding['CCtx']>;
type DCtx = InstanceType<Binding['DCtx']>;

/**
 * zstd worker threads per compression: both cores of a phone or a small server, the
 * fastest count there (`npm run bench -- format`, bench/format.bench.ts). Output does not
 * depend on the count among counts ≥ 1 (0, compressing on the calling thread, gives
 * other, equally valid bytes).
 */
export const ZSTD_WORKERS = 2;
/** Output buffer of one engine call: a v2 chunk's worth (FORMAT.md §5.4). */
const OUT = 256 * 1024;

/**
 * log2 of the largest window a decoder accepts (FORMAT.md §5.4: 8 MiB). Levels 1..19 use
 * at most this; the limit keeps a hostile frame from making the decoder allocate more.
 */
export const ZSTD_WINDOW_LOG_MAX = 23;

/**
 * A buffer for the engine to fill: not zeroed (every byte handed out is one the engine
 * wrote) and outside Node's small-buffer pool, as a plain `Uint8Array` view.
 */
function outputBuffer(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * What to yield of `out` after the engine wrote `n` bytes into it, and the buffer for the
 * next call. A full buffer is handed out whole and replaced; a partly filled one (most
 * calls end on an input chunk's end) is copied out at its size and kept: a 256 KiB
 * buffer per call, mostly empty, was garbage that grew the heap between collections
 * (the restore of a 100 MiB wallet allocated about 3 of them per v2 chunk).
 */
function handOut(out: Uint8Array, n: number): [chunk: Uint8Array, next: Uint8Array] {
  if (n === out.length) return [out, outputBuffer(out.length)];
  return [out.slice(0, n), out];
}
let binding: Binding | null | undefined;
let loadError: unknown;

/** The addon, loaded once; null (with `loadError` set) if it cannot be loaded. */
function load(): Binding | null {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)('zstd-napi/binding') as Binding;
    } catch (err) {
      binding = null;
      loadError = err;
    }
  }
  return binding;
}

function need(): Binding {
  const b = load();
  if (!b)
    throw new UnsupportedCompressionError(
      'zstd is not available here: the zstd-napi addon did not load (reinstall with a C++ toolchain)',
      { cause: loadError },
    );
  return b;
}

/**
 * Whether this process can compress with zstd (the addon loads).
 * @returns true on a working install
 */
export async function zstdCompressAvailable(): Promise<boolean> {
  return load() !== null;
}

/** Idle compression contexts: their worker threads are kept for the next stream. */
const idle: CCtx[] = [];

/**
 * zstd compression of an async byte stream as one zstd frame, compressed by
 * {@link ZSTD_WORKERS} libzstd threads while this thread reads and encrypts. Memory is
 * constant at any input size (a few MiB of libzstd buffers). Each call to the engine
 * may block this thread until a worker has room: it waits, it does not spin.
 * @param source - the bytes to compress, in chunks of any size
 * @param opts - `level`: 1 (fastest) to 19; `workers`: libzstd threads, default
 *   {@link ZSTD_WORKERS}, 0 to compress on this thread (about 15 MiB less memory)
 * @returns the compressed frame, in chunks that are never reused
 * @throws RangeError / TypeError (at call time) for a bad worker count;
 *   UnsupportedCompressionError if the addon is missing (at the first step); whatever
 *   `source` throws
 * @example
 * ```ts
 * const z = await collect(zstdCompress(fromBytes(data), { level: 1 }));
 * ```
 */
export function zstdCompress(
  source: AsyncIterable<Uint8Array>,
  opts: ZstdOptions,
): AsyncGenerator<Uint8Array> {
  const level = opts.level;
  const workers = opts.workers ?? ZSTD_WORKERS;
  aint('workers', workers, 0, 8);
  return (async function* () {
    const b = need();
    const cctx = idle.pop() ?? new b.CCtx();
    let clean = false;
    try {
      cctx.setParameter(b.CParameter.compressionLevel, level);
      cctx.setParameter(b.CParameter.nbWorkers, workers);
      let out = outputBuffer(OUT);
      for await (const chunk of source) {
        abytes('chunk', chunk);
        let src = chunk;
        while (src.length > 0) {
          const [, produced, consumed] = cctx.compressStream2(out, src, b.EndDirective.continue);
          src = src.subarray(consumed);
          if (produced > 0) {
            const [chunk, next] = handOut(out, produced);
            out = next;
            yield chunk;
          }
        }
      }
      for (;;) {
        const [left, produced] = cctx.compressStream2(out, EMPTY, b.EndDirective.end);
        if (produced > 0) {
          const [chunk, next] = handOut(out, produced);
          out = next;
          yield chunk;
        }
        if (left === 0) break;
      }
      clean = true;
    } finally {
      // Only a context whose frame ended goes back to the pool. An abandoned stream
      // leaves libzstd's workers busy with its jobs, and libzstd 1.5.7 crashes the
      // process (SIGSEGV in a worker, ZSTDMT_compressionJob) when such a context is
      // reset and reused: 50 abandon-and-reuse cycles crashed every run here. The
      // dropped context is freed by the garbage collector, and ZSTD_freeCCtx lets its
      // workers finish before it frees their buffers.
      if (clean && idle.length < 2) idle.push(cctx);
    }
  })();
}

const EMPTY = new Uint8Array(0);

/**
 * Idle decompression contexts, at most {@link MAX_IDLE_DCTX}: a context keeps its window
 * and input buffers, so reusing one spares libzstd an allocation per stream. A fresh
 * context per stream (a restore opens one per pack, four at a time) was freed only when
 * the garbage collector got to it: on a 1 GiB restore that left dozens alive at once
 * (60 MiB more RSS after 64 sequential 4 MiB frames than with one context reused).
 */
const idleD: DCtx[] = [];
/** As many as a restore's concurrent downloads (docs/FORMAT.md §8.7: four packs at once). */
const MAX_IDLE_DCTX = 4;

/**
 * zstd decompression (RFC 8878) of one or more concatenated frames, with an output cap.
 * Output comes in buffers of at most 256 KiB however far a frame expands, so memory stays
 * bounded even for a decompression bomb; a frame asking for a window over 8 MiB is refused.
 * With `transient`, every chunk is a view of one buffer, valid until the next is asked for.
 * @param source - the compressed stream
 * @param opts - `maxOutputBytes`: the cap on decompressed bytes; `transient`: reuse one
 *   output buffer (see {@link InflateOptions})
 * @returns the decompressed bytes
 * @throws LimitExceededError past the cap (having yielded at most the cap);
 *   UnsupportedCompressionError if the addon is missing; Error for a corrupt stream,
 *   one that ends inside a frame, or bytes that are not a frame; whatever `source` throws
 * @example
 * ```ts
 * const data = await collect(zstdDecompress(fromBytes(z), { maxOutputBytes: 1 << 20 }));
 * ```
 */
export async function* zstdDecompress(
  source: AsyncIterable<Uint8Array>,
  opts: InflateOptions,
): AsyncGenerator<Uint8Array> {
  checkCap(opts?.maxOutputBytes);
  const b = need();
  let dctx = idleD.pop();
  if (!dctx) {
    dctx = new b.DCtx();
    dctx.setParameter(b.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  }
  let clean = false;
  try {
    yield* decompressWith(dctx, source, opts);
    clean = true;
  } finally {
    // Only a context that ended on a frame boundary goes back (an abandoned or failed
    // stream's is dropped); the reset keeps its parameters (the window limit).
    if (clean && idleD.length < MAX_IDLE_DCTX) {
      dctx.reset(b.ResetDirective.sessionOnly);
      idleD.push(dctx);
    }
  }
}

/** The body of {@link zstdDecompress} on one context. */
async function* decompressWith(
  dctx: DCtx,
  source: AsyncIterable<Uint8Array>,
  opts: InflateOptions,
): AsyncGenerator<Uint8Array> {
  const max = opts?.maxOutputBytes;
  let produced = 0;
  // libzstd's hint: 0 exactly when the input so far ends on a frame boundary.
  let hint = 0;
  let seen = false;
  let out = outputBuffer(OUT);
  for await (const chunk of source) {
    abytes('chunk', chunk);
    let src = chunk;
    // Until the input is used up and the last call left room in `out` (nothing pending).
    for (let full = true; src.length > 0 || full; ) {
      if (src.length > 0) seen = true;
      const [next, n, consumed] = dctx.decompressStream(out, src);
      // A call that moved nothing says nothing of the frame (after a frame's end, an
      // empty call already answers for the next frame's header).
      if (n > 0 || consumed > 0) hint = next;
      src = src.subarray(consumed);
      full = n === out.length;
      if (n > 0) {
        produced = checkOutput(produced, n, max);
        if (opts.transient) {
          yield out.subarray(0, n); // the consumer is done with it before the next call
        } else {
          const [chunk, next] = handOut(out, n);
          out = next;
          yield chunk;
        }
      } else if (consumed === 0 && src.length > 0) {
        throw new Error('zstd: the decoder made no progress');
      }
    }
  }
  if (!seen) throw new Error('zstd: empty stream (a payload holds at least one frame)');
  if (hint !== 0) throw new Error('zstd: the stream ends inside a frame');
}
