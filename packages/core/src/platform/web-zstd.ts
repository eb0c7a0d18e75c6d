/**
 * Zstandard (RFC 8878) for the web and React Native platforms: decompression with fzstd,
 * a pure-JavaScript decoder (no WebAssembly, so it also runs where WebAssembly is not
 * allowed, Hermes included), and no compressor (these writers use deflate; FORMAT.md §5.4
 * lets writers choose).
 * @module
 */
import { Decompress } from 'fzstd';
import { abytes } from '../bytes.ts';
import { UnsupportedCompressionError } from '../errors.ts';
import { checkCap, checkOutput, slices, zstdSliceSize } from './common.ts';
import type { InflateOptions, ZstdOptions } from './types.ts';

/**
 * A zstd compressor for a platform that has none: its stream throws at its first step.
 * @param where - the platform, for the message ("the web platform")
 * @returns a `zstdCompress` that always throws UnsupportedCompressionError
 */
export function noZstdCompressor(
  where: string,
): (source: AsyncIterable<Uint8Array>, opts: ZstdOptions) => AsyncGenerator<Uint8Array> {
  // biome-ignore lint/correctness/useYield: a stream that fails at its first step, by design
  return async function* () {
    throw new UnsupportedCompressionError(
      `zstd compression is not available on ${where}: use deflate`,
    );
  };
}

/**
 * No zstd compressor on this platform: the stream throws at its first step.
 * @throws UnsupportedCompressionError always
 */
export const zstdCompress = noZstdCompressor('the web platform');

/** The web platform cannot compress with zstd. */
export async function zstdCompressAvailable(): Promise<boolean> {
  return false;
}

/**
 * zstd decompression of one or more concatenated frames, with an output cap. fzstd
 * decodes a pushed slice at once, so input is fed in slices sized from the remaining
 * budget (at most 16 KiB): what one slice can expand to stays bounded.
 * @param source - the compressed stream
 * @param opts - `maxOutputBytes`: the cap on decompressed bytes
 * @returns the decompressed bytes
 * @throws LimitExceededError past the cap (having yielded at most the cap); Error for a
 *   corrupt stream, one that ends inside a frame, or bytes that are not a frame;
 *   whatever `source` throws
 * @example
 * ```ts
 * const data = await collect(zstdDecompress(fromBytes(z), { maxOutputBytes: 1 << 20 }));
 * ```
 */
export async function* zstdDecompress(
  source: AsyncIterable<Uint8Array>,
  opts: InflateOptions,
): AsyncGenerator<Uint8Array> {
  const max = opts?.maxOutputBytes;
  checkCap(max);
  let produced = 0;
  let pending: Uint8Array[] = [];
  const d = new Decompress((chunk) => {
    pending.push(chunk);
  });
  const drain = function* () {
    const out = pending;
    pending = [];
    for (const chunk of out) {
      produced = checkOutput(produced, chunk.length, max);
      yield chunk;
    }
  };
  let seen = false;
  for await (const part of slices(source, () => zstdSliceSize(max - produced), { fed: 0 })) {
    abytes('chunk', part);
    if (part.length === 0) continue;
    seen = true;
    d.push(part);
    yield* drain();
  }
  if (!seen) throw new Error('zstd: empty stream (a payload holds at least one frame)');
  // fzstd throws "unexpected EOF" here for a stream that ends inside a frame.
  d.push(new Uint8Array(0), true);
  yield* drain();
}
